"""Inference speed of the network with onnxruntime on this machine: the training export (fp32) and the runtime form
the bake loads (its MatMuls int8, training/quantize_onnx.py), and with --int8 everything quantised dynamically (the
convolutions too) for comparison. Prints JSON and writes it to --json (default benchmarks/results/runtime.json, which
training.model_card reads).

    python benchmarks/bench_runtime.py [--preset cpu] [--threads 2] [--batch 1] [--int8] [--json PATH]
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.presets import ASSETS, DEFAULT_PRESET, PRESETS  # noqa: E402
from core.runtime import Predictor  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402


def bench(model, threads, batch, n=30):
    p = Predictor(model, threads=threads)
    x = np.random.default_rng(0).integers(0, 255, (batch, p.size, p.size, 3), dtype=np.uint8)
    for _ in range(3):
        p.predict(x)
    t = []
    for _ in range(n):
        t0 = time.perf_counter()
        p.predict(x)
        t.append(time.perf_counter() - t0)
    return dict(ms_per_frame_median=1000 * float(np.median(t)) / batch, ms_per_frame_p90=1000 * float(np.quantile(t, 0.9)) / batch,
                batch=batch, threads=threads, size=p.size, model=str(p.path), model_mb=round(p.path.stat().st_size / 1e6, 2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--int8", action="store_true", help="also everything quantised dynamically (convolutions too)")
    ap.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results" / "runtime.json")
    a = ap.parse_args()
    export, runtime = ASSETS / PRESETS[a.preset].weights, ASSETS / PRESETS[a.preset].runtime
    res = dict(machine=describe_machine(), threads=a.threads)
    for name, path in (("export", export), ("runtime", runtime)):
        res[name] = bench(str(path), a.threads, a.batch)
        res[f"{name}_batch8"] = bench(str(path), a.threads, 8)
    if a.int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        q = Path(tempfile.mkdtemp()) / "int8.onnx"
        quantize_dynamic(str(export), str(q), weight_type=QuantType.QInt8)
        res["int8_all"] = bench(str(q), a.threads, a.batch)
    print(json.dumps(res, indent=1))
    write_result(a.json, res)


if __name__ == "__main__":
    main()
