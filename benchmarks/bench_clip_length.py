"""The whole path's speed against the clip's length: a real clip written forth and back to several lengths, each
baked from scratch by ``bench_real.py --no-oracle`` in a process of its own, as the README's speed figures are.

    python benchmarks/bench_clip_length.py [--clip ../shared/footage/press_wide_shot.mp4] [--times 1 2 4 8] [--runs 2]
        [--json benchmarks/results/clip_length.json]

A bake pays some work once per clip (set-up, the identity on spread frames, the solve's first frames) and the rest
per frame; a short clip's frames/s carries the first, a long one's shows the second. Written forth and back (the clip,
then reversed, ...), the copy moves on without a cut, so the tracker and the pose filter see one continuous take.
The copies are mp4v re-encodes in a temporary folder (``--times 1`` is the clip re-encoded too, so every length is
read through the same codec). Prints a line per run and writes every run's frames/s, seconds, CPU seconds, cores
busy and per-stage busy time to --json.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from machine import describe as describe_machine, write_result  # noqa: E402
from shared_clips import FOOTAGE  # noqa: E402


def bounced(clip: Path, times: int, out: Path) -> int:
    """``clip``'s frames written forth and back ``times`` times over into ``out`` (mp4v, the clip's rate); returns
    the copy's frame count."""
    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if not frames:
        raise SystemExit(f"{clip}: no frame decoded")
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for k in range(times):
        for frame in (frames if k % 2 == 0 else frames[::-1]):
            writer.write(frame)
    writer.release()
    return len(frames) * times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, default=FOOTAGE / "press_wide_shot.mp4")
    ap.add_argument("--times", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--runs", type=int, default=2, help="runs of every length, taken in turn")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "clip_length.json")
    a = ap.parse_args(argv)
    if not a.clip.is_file():
        print(f"{a.clip}: not found; nothing to measure", file=sys.stderr)
        return 0
    res = dict(machine=describe_machine(), clip=a.clip.name, runs=[])
    with tempfile.TemporaryDirectory() as tmp:
        copies = {}
        for n in a.times:
            path = Path(tmp) / f"{a.clip.stem}_x{n}.mp4"
            copies[n] = (path, bounced(a.clip, n, path))
        for run in range(a.runs):
            for n, (path, frames) in copies.items():
                out = Path(tmp) / "real.json"
                subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_real.py"), "--no-oracle",
                                "--json", str(out), str(path)], check=True, capture_output=True, text=True)
                clip = next(iter(json.loads(out.read_text())["clips"].values()))
                row = dict(run=run + 1, times=n, frames=clip["frames"], fps=clip["fps"], seconds=clip["seconds"],
                           cpu_seconds=clip["cpu_seconds"], cores_busy=clip["cores_busy"],
                           stage_ms_per_frame=clip["stage_ms_per_frame"])
                res["runs"].append(row)
                print(json.dumps(row), flush=True)
    write_result(a.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
