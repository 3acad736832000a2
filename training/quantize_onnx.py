"""The runtime form of an exported network: its MatMuls quantised to int8 (onnxruntime's dynamic quantisation).

    python -m training.quantize_onnx [--preset cpu]      # core/assets/<weights> -> core/assets/<runtime>

The ViT encoder's MatMuls are a third of the network's time on a CPU; with int8 weights (and activations quantised
per call) a crop costs about a fifth less (2-core AMD EPYC, ``benchmarks/bench_runtime.py``: 9.6 against 12.1 ms
at two threads, 16.6 against 21.7 at one; docs/MEASUREMENTS.md, "The runtime network"), and the network's answers
move by far less than its own error (``training.eval synthetic``: canonical and depth medians within 0.03 mm). The
convolutions stay float: onnxruntime's int8 convolutions are slower here than its float ones
(``benchmarks/bench_runtime.py --int8`` quantises everything, and is).

``reduce_range``: the weights use 7 of their 8 bits, so that x86 CPUs without VNNI (AVX2's u8 x s8 pair sums into
16 bits) cannot saturate; with VNNI nothing changes but a little precision, which the evaluation above includes.
The result is deterministic (the weights' scales come from the weights alone), so the committed runtime file is
the committed export quantised, byte for byte (``tests/test_runtime_network.py``). Needs ``onnx`` (in the dev environment,
not in the extension, which ships the result).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.presets import ASSETS, DEFAULT_PRESET, PRESETS

QUANTISED_OPS = ("MatMul",)


def quantize(src: str | Path, out: str | Path) -> Path:
    """Write ``src``'s MatMuls quantised to int8 into ``out`` (see the module docstring)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".partial")        # beside the target, so that the rename never crosses devices
    try:
        quantize_dynamic(str(src), str(part), weight_type=QuantType.QInt8, op_types_to_quantize=list(QUANTISED_OPS),
                         per_channel=False, reduce_range=True)
        part.replace(out)
    finally:
        part.unlink(missing_ok=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS))
    ap.add_argument("--src", default=None, help="exported network (default: core/assets/<the preset's weights>)")
    ap.add_argument("--out", default=None, help="runtime network (default: core/assets/<the preset's runtime>)")
    a = ap.parse_args(argv)
    p = PRESETS[a.preset]
    if p.runtime == p.weights and not a.out:
        raise SystemExit(f"preset {p.name} runs its export {p.weights} as it is (core.presets); nothing to quantise")
    src, out = Path(a.src or ASSETS / p.weights), Path(a.out or ASSETS / p.runtime)
    quantize(src, out)
    print(json.dumps(dict(src=str(src), out=str(out), bytes=out.stat().st_size)))


if __name__ == "__main__":
    main()
