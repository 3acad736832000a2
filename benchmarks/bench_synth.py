"""Synthetic-data throughput: samples/s of core.train.synth.make_batch on CPU (2 threads) and CUDA if present.

    python benchmarks/bench_synth.py [--batch 32] [--repeats 3] [--sizes 128 256]

Prints one line per (device, size) and writes benchmarks/results/bench_synth.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from core.train import synth  # noqa: E402


def bench(device: str, size: int, batch: int, repeats: int) -> dict:
    cfg = synth.SynthConfig(size=size)
    synth.make_batch(cfg, batch, seed=999, device=device)          # warm-up (assets, allocator)
    if device == "cuda":
        torch.cuda.synchronize()
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        synth.make_batch(cfg, batch, seed=r, device=device)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    best, mean = min(times), sum(times) / len(times)
    return dict(device=device, size=size, batch=batch, repeats=repeats, samples_per_s_best=batch / best,
                samples_per_s_mean=batch / mean, samples_per_hour_mean=3600 * batch / mean)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bench_synth.json")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for dev in devices:
        for size in a.sizes:
            r = bench(dev, size, a.batch, a.repeats)
            rows.append(r)
            print(f"{dev:5s} size {size:4d} batch {a.batch:3d}: {r['samples_per_s_mean']:7.1f} samples/s "
                  f"(best {r['samples_per_s_best']:.1f}; {r['samples_per_hour_mean']:.0f}/h)", flush=True)
    meta = dict(machine=platform.machine(), processor=platform.processor(), cpu_threads=a.threads,
                torch=torch.__version__, cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(dict(meta=meta, results=rows), indent=1))
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
