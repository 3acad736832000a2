"""Synthetic-data throughput: samples/s of training.synth.make_batch on CPU (2 threads) and CUDA if present.

    python benchmarks/bench_synth.py [--batch 32] [--repeats 3] [--sizes 128 256]

Prints one line per (device, size) and writes benchmarks/results/bench_synth.json.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from training import synth  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402


def bench(device: str, size: int, batch: int, repeats: int, render_threads: int) -> dict:
    cfg = synth.SynthConfig(size=size, cpu_threads=render_threads)
    synth.make_batch(cfg, batch, seed=999, device=device)          # warm-up (assets, allocator)
    if device == "cuda":
        torch.cuda.synchronize()
    times, cpu = [], []
    for r in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        synth.make_batch(cfg, batch, seed=r, device=device)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    best, mean = min(times), sum(times) / len(times)
    return dict(device=device, size=size, batch=batch, repeats=repeats, render_threads=render_threads,
                cpu_seconds_per_sample=sum(cpu) / len(cpu) / batch, samples_per_s_best=batch / best,
                samples_per_s_mean=batch / mean, samples_per_hour_mean=3600 * batch / mean)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads for the process")
    ap.add_argument("--render-threads", type=int, default=1,
                    help="SynthConfig.cpu_threads (threads while rendering; 1 is fastest on a shared machine)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bench_synth.json")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for dev in devices:
        for size in a.sizes:
            r = bench(dev, size, a.batch, a.repeats, a.render_threads)
            rows.append(r)
            print(f"{dev:5s} size {size:4d} batch {a.batch:3d}: {r['samples_per_s_mean']:7.1f} samples/s "
                  f"(best {r['samples_per_s_best']:.1f}; {r['samples_per_hour_mean']:.0f}/h; "
                  f"{r['cpu_seconds_per_sample'] * 1000:.0f} ms CPU/sample)", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    meta = dict(machine=describe_machine(), cpu_threads=a.threads,
                cpu_count=os.cpu_count(), load_average_1min=load,
                torch=torch.__version__, cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
    write_result(a.out, dict(meta=meta, results=rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
