"""A small face the right way up, on its side and upside down: how many frames the tracker reads the right way up.

    .venv/bin/python benchmarks/bench_turned.py [--footage ../shared/footage] [--frames 120]
        [--json benchmarks/results/turned_small.json]

The two close-ups re-shot with the face 32-60 px wide in a 1280x720 frame (``reshoots.reshoot``, "NNpx": the sizes
of ``rerun_readme.SMALL_SIZES``, through the video encoder as the README's copies are), their first ``--frames``
frames turned 0-3 quarter turns (``np.rot90``, in memory: a phone clip whose rotation tag is lost, a subject lying
down), read by MediaPipe's tracker as the bake reads it (``core.track.FaceTracker.states``: a trial's frames
followed backwards). A frame is read the right way up where its landmarks' eye line (outer corner to outer corner)
lies within 60 degrees of the upright face's turned the same way. Per set: frames, read, right, wrong; per turn, the
sums.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_real import CLOSE_UPS  # noqa: E402
from core.footage import open_footage  # noqa: E402
from core.track import FaceTracker  # noqa: E402
from machine import describe as describe_machine  # noqa: E402
from rerun_readme import SMALL_SIZES  # noqa: E402
from reshoots import reshoot  # noqa: E402
from shared_clips import FOOTAGE  # noqa: E402

EYE_LINE = {0: (1.0, 0.0), 1: (0.0, -1.0), 2: (-1.0, 0.0), 3: (0.0, 1.0)}   # (1, 0) as np.rot90 by k turns it
RIGHT_WAY_UP = 0.5                                                        # cos 60 degrees


def read_turned(images: list, quarters: int) -> dict:
    """Frames read and read the right way up of ``images`` turned by ``quarters`` (see the module docstring)."""
    states = FaceTracker().states(np.rot90(im, quarters) for im in images)
    want = np.array(EYE_LINE[quarters])
    right = []
    for s in states:
        if s is not None:
            v = s.landmarks[263, :2].astype(np.float64) - s.landmarks[33, :2]
            right.append(bool(v @ want > RIGHT_WAY_UP * np.hypot(*v)))
    return dict(frames=len(states), read=len(right), right=sum(right), wrong=len(right) - sum(right))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--footage", type=Path, default=FOOTAGE)
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results" / "turned_small.json")
    a = ap.parse_args(argv)
    if not a.footage.is_dir():
        print(f"footage folder {a.footage} is absent; nothing to measure", file=sys.stderr)
        return 1
    sets, folder = {}, Path(tempfile.mkdtemp(prefix="turned_"))
    for clip in CLOSE_UPS:
        for px in SMALL_SIZES:
            copy = reshoot(a.footage / clip, f"{px}px", folder)
            with open_footage(copy.path, end=a.frames) as f:
                images = [fr.image for fr in f]
            copy.path.unlink()
            for quarters in range(4):
                name = f"{Path(clip).stem} {px}px turned {90 * quarters}"
                sets[name] = read_turned(images, quarters)
                print(name, sets[name], flush=True)
    turns = {f"turned {90 * q}": {k: sum(s[k] for n, s in sets.items() if n.endswith(f" turned {90 * q}"))
                                  for k in ("frames", "read", "right", "wrong")} for q in range(4)}
    res = dict(machine=describe_machine(), frames_per_copy=a.frames, turns=turns, sets=sets)
    print(json.dumps(turns, indent=1))
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(res, indent=1))
    print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
