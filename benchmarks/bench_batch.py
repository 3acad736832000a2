"""Batch throughput: clips/hour and frames/s of ``python -m bake.batch`` with 1 and 2 local workers and on a local
Ray instance.

    python benchmarks/bench_batch.py [--end 150] [--modes 1 2 ray] [--clips ../shared/footage/*.mp4]

Each mode bakes the same clips (the shared footage, the first ``--end`` frames of each; a .blend per clip) into a
fresh folder under /tmp and reads the manifest. Writes benchmarks/results/batch.json.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bake import batch  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402
from shared_clips import FOOTAGE  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "batch.json"


def run_mode(mode: str, clips: list[str], end: int) -> dict:
    out = Path(f"/tmp/fc_bench_batch_{mode}")
    shutil.rmtree(out, ignore_errors=True)
    argv = clips + ["--out-dir", str(out), "--end", str(end), "-q"]
    if mode == "ray":
        import ray
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
        argv += ["--ray", "auto", "--threads", "1"]
    else:
        argv += ["--workers", mode]
    t = time.perf_counter()
    try:
        code = batch.run(argv)
    finally:
        if mode == "ray":
            import ray
            ray.shutdown()
    wall = time.perf_counter() - t
    rows = batch.read_manifest(out / batch.MANIFEST).values()
    frames = sum(r["frames"] for r in rows)
    return {"mode": "ray (local, num_cpus = cores, 1 thread per task)" if mode == "ray" else f"{mode} local workers",
            "exit_code": code, "clips": len(rows), "frames": frames, "wall_s": round(wall, 1),
            "clips_per_hour": round(3600 * len(rows) / wall, 1), "frames_per_s": round(frames / wall, 2),
            "per_clip_s": {r["name"]: r["seconds"] for r in rows}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    footage = FOOTAGE
    ap.add_argument("--clips", nargs="*", default=sorted(str(p) for p in footage.glob("*.mp4")))
    ap.add_argument("--end", type=int, default=150)
    ap.add_argument("--modes", nargs="*", default=["1", "2", "ray"])
    a = ap.parse_args()
    rows = []
    for m in a.modes:
        r = run_mode(m, a.clips, a.end)
        rows.append(r)
        print(f"{r['mode']}: {r['clips']} clips, {r['frames']} frames in {r['wall_s']} s: {r['clips_per_hour']} "
              f"clips/hour, {r['frames_per_s']} frames/s", flush=True)
    write_result(RESULTS, {"machine": describe_machine("shared with other jobs"), "date": time.strftime("%Y-%m-%d"),
                           "clips": [Path(c).name for c in a.clips], "end": a.end, "rows": rows})


if __name__ == "__main__":
    main()
