"""Peak memory and speed of the reconstruction against clip length (issue 20: flat memory for long clips).

    python benchmarks/bench_memory.py [--lengths 250 1000] [--clip ../shared/footage/expressions_office.mp4]
                                      [--height 1080] [--threads 0] [--label after] [--bake-only 1000 18000]
                                      [--residual-keys 2]

Footage: the shared clip played forwards and backwards (a ping-pong loop, so the face never jumps) and upscaled to
``--height`` (pillar-boxed to 16:9), written once per length under /tmp (never committed). Each length runs
``bake.pipeline.reconstruct`` in a fresh process; the parent reads the child's peak RSS (``ru_maxrss``, what
``/usr/bin/time -v`` reports as "Maximum resident set size") and the child reports frames/s.

``--bake-only N ...`` measures the clip-level bake alone (``bake.pipeline.bake_observations``: the per-frame
observations kept for the solve, the solve, the filter) on N frames of synthetic observations (the template under
a moving head pose seen by a 1080p camera), which reaches 18,000 frames in minutes where the network would take
hours on this machine. ``--residual-keys N`` bakes them with N residual keys (learned on spread frames on a long
clip).

Writes benchmarks/results/memory.json (rows appended per ``--label``).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from machine import describe as describe_machine, write_result  # benchmarks/, the script's folder
from shared_clips import FOOTAGE  # the same folder

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path("/tmp/fc_bench_memory")
RESULTS = ROOT / "benchmarks" / "results" / "memory.json"


def long_clip(src: Path, frames: int, height: int) -> Path:
    """``frames`` frames of ``src`` played as a ping-pong loop, scaled to ``height`` and pillar-boxed to 16:9."""
    import imageio_ffmpeg
    out = CACHE / f"{src.stem}_{frames}_{height}p.mp4"
    if out.is_file():
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    once = CACHE / f"{src.stem}_pingpong.mp4"
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    if not once.is_file():
        subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(src), "-filter_complex",
                        "[0:v]split[a][b];[b]reverse[r];[a][r]concat=n=2:v=1:a=0[v]", "-map", "[v]", "-an",
                        "-c:v", "libx264", "-crf", "18", "-preset", "veryfast", str(once)], check=True)
    w = (height * 16 // 9) // 2 * 2
    subprocess.run([ffmpeg, "-v", "error", "-y", "-stream_loop", "-1", "-i", str(once), "-frames:v", str(frames),
                    "-vf", f"scale=-2:{height},pad={w}:{height}:(ow-iw)/2:0", "-an", "-c:v", "libx264", "-crf", "20",
                    "-preset", "veryfast", str(out)], check=True)
    return out


CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from bake.pipeline import ReconConfig, reconstruct
t = time.perf_counter()
tracks, stats = reconstruct(ReconConfig(source={clip!r}, threads={threads}))
print("RESULT " + json.dumps({{"frames": stats.frames_total, "tracked": stats.frames_tracked,
                               "seconds": time.perf_counter() - t, "stage_seconds": stats.stage_seconds}}))
"""

CHILD_BAKE = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import numpy as np
from benchmarks.bench_memory import synthetic_bake
print("RESULT " + json.dumps(synthetic_bake({frames}, {residual_keys})))
"""


def synthetic_bake(T: int, residual_keys: int = 0) -> dict:
    """Bake T frames of synthetic observations (template vertices, slow head turn, 1080p camera), generated and kept
    frame by frame as the pipeline does; returns timing."""
    import numpy as np
    from bake.correspond import VertexObservation, default_vertex_mask
    from bake.pipeline import bake_observations
    from core import head_model
    from core.points import default_focal, intrinsics
    head = head_model.load()
    W, H = 1920, 1080
    K = intrinsics(W, H, default_focal(W, H, 35.0))
    mask = default_vertex_mask(head)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()

    def frames():
        for t in range(T):
            a = 0.4 * np.sin(t / 60.0)
            R = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
            X = head.vertices @ R.T + np.array([0.0, 0.0, 600.0])
            seen = mask
            pos = (X + rng.normal(0, 0.5, X.shape)).astype(np.float32)
            ray = (X / X[:, 2:3]).astype(np.float32)
            conf = np.where(seen, 1.0, 0.0).astype(np.float32)
            pos[~seen] = 0
            ray[~seen] = 0
            yield VertexObservation(t, pos, ray, conf, 600.0, np.zeros_like(pos))

    try:          # kept as the pipeline keeps them (before bake.observations: a list of full-template arrays)
        from bake.observations import ObservationStore
        kept = ObservationStore(head.n_vertices)
    except ImportError:
        kept = []
    for o in frames():
        kept.append(o)
    tracks, stats = bake_observations(kept, np.arange(T), 30.0, K, (W, H), head, residual_keys=residual_keys)
    return {"frames": T, "tracked": stats.frames_tracked, "seconds": time.perf_counter() - t0,
            "stage_seconds": stats.stage_seconds}


def run_child(code: str) -> dict:
    """Run ``code`` in a fresh Python; its RESULT line plus its own peak RSS (os.wait4's ru_maxrss, kB)."""
    import tempfile
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    if p.returncode != 0:
        raise RuntimeError(errors[-3000:])
    line = next(ln for ln in text.splitlines() if ln.startswith("RESULT "))
    r = json.loads(line[7:])
    r["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lengths", type=int, nargs="*", default=[250, 1000])
    ap.add_argument("--clip", type=Path, default=FOOTAGE / "expressions_office.mp4")
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--bake-only", type=int, nargs="*", default=[])
    ap.add_argument("--residual-keys", type=int, default=0, help="for --bake-only")
    ap.add_argument("--label", default="current")
    a = ap.parse_args()
    rows = []
    for n in sorted(a.bake_only):
        r = run_child(CHILD_BAKE.format(root=str(ROOT), frames=n, residual_keys=a.residual_keys))
        r.update(kind="bake-only (synthetic observations)", frames_per_s=round(r["frames"] / r["seconds"], 1),
                 residual_keys=a.residual_keys)
        rows.append(r)
        print(f"bake only {n:6d} frames: peak RSS {r['peak_rss_mb']:7.1f} MB, {r['seconds']:.1f} s "
              f"({r['frames_per_s']} frames/s)", flush=True)
    for n in sorted(a.lengths):
        clip = long_clip(a.clip, n, a.height)
        r = run_child(CHILD.format(root=str(ROOT), clip=str(clip), threads=a.threads))
        r.update(kind=f"reconstruct ({a.clip.name} ping-pong, {a.height}p)",
                 frames_per_s=round(r["frames"] / r["seconds"], 2))
        rows.append(r)
        print(f"reconstruct {n:6d} frames: peak RSS {r['peak_rss_mb']:7.1f} MB, {r['seconds']:.1f} s "
              f"({r['frames_per_s']} frames/s, {r['tracked']} tracked)", flush=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results[a.label] = {"machine": describe_machine(f"shared with other jobs, Python {platform.python_version()}"),
                        "date": time.strftime("%Y-%m-%d"), "rows": rows}
    write_result(RESULTS, results)


if __name__ == "__main__":
    main()
