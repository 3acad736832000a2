"""Inference speed of the ONNX network with onnxruntime on this machine (fp32, and int8 dynamic
quantisation when --int8). Prints JSON and writes benchmarks/results/runtime.json.

    python benchmarks/bench_runtime.py [--model PATH] [--threads 2] [--batch 1] [--int8]
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.runtime import Predictor  # noqa: E402
from machine import describe as describe_machine  # noqa: E402


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
    ap.add_argument("--model", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--int8", action="store_true")
    a = ap.parse_args()
    res = dict(machine=describe_machine(), fp32=bench(a.model, a.threads, a.batch),
               fp32_batch8=bench(a.model, a.threads, 8))
    if a.int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from core.presets import default_model_path
        src = a.model or str(default_model_path())
        q = Path(tempfile.mkdtemp()) / "int8.onnx"
        quantize_dynamic(src, str(q), weight_type=QuantType.QInt8)
        res["int8"] = bench(str(q), a.threads, a.batch)
    print(json.dumps(res, indent=1))
    out = Path(__file__).resolve().parent / "results" / "runtime.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
