"""How much of the landmarks' quick motion ``bake.filter.quick_share`` calls shared, on synthetic readings whose truth
is known: with its sureness (``SHARE_DOUBT``, and other doubts given) and without it (``doubt=None``, the share as
first written).

    .venv/bin/python benchmarks/bench_share.py [--frames 300 20 12 8] [--draws 5] [--doubt 0 2 --doubt 0.5 2.5]
        [--json benchmarks/results/share.json]

Each draw: the landmarks' place of a face (x, y per frame) is white noise of std 1; the dense network's place is
white noise of std ``dense`` times that, handed over as its frame-to-frame steps, as bake.observations.image_steps
gives them. "still": nothing shared, a still face (every share is then the estimate's scatter: docs/MEASUREMENTS.md,
"A still face's share of noise"). "shake": both readings also carry the same white motion of std ``shake`` (a
handheld camera), where the share that best estimates the motion from the landmarks' quick moves is the Wiener gain
shake^2 / (shake^2 + 1). Figures: the mean share over frames and draws, per clip length, case and doubt; a clip of
F frames is drawn ``draws`` x ceil(300 / F) times, so every length sees about as many frames (short clips: the
sureness counts the products its Gaussian sums, fewer near a clip's ends, ``bake.filter._products_read``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bake.filter import SHARE_DOUBT, quick_share  # noqa: E402
from machine import describe, write_result  # noqa: E402  (benchmarks/, the script's folder)

STILL = (0.5, 1.0, 3.0, 10.0)                   # the dense place's noise over the landmarks'
SHAKES = ((1.0, 1.0), (1.0, 3.0), (3.0, 1.0), (3.0, 3.0), (6.0, 1.0), (6.0, 3.0))     # (shake, dense noise)


def readings(rng: np.random.Generator, frames: int, shake: float, dense: float) -> tuple[np.ndarray, np.ndarray]:
    """(seen (T, 2), dense steps (T, 2)) of one draw: a shared white motion of std ``shake`` plus each reading's own
    white noise (std 1 and ``dense``)."""
    motion = rng.normal(0.0, shake, (frames, 2)) if shake > 0 else np.zeros((frames, 2))
    seen = motion + rng.normal(0.0, 1.0, (frames, 2))
    place = motion + rng.normal(0.0, dense, (frames, 2))
    return seen, np.diff(place, axis=0, prepend=place[:1])


def measure(frames: int, draws: int, doubts: list) -> list[dict]:
    """One row per case: the clip's length, its shake and dense noise, the Wiener gain, and the mean share under each
    doubt over ``draws`` x ceil(300 / ``frames``) draws."""
    cases = [(0.0, d) for d in STILL] + list(SHAKES)
    rows = []
    for shake, dense in cases:
        rng = np.random.default_rng(int(100 * shake + 10 * dense))
        pairs = [readings(rng, frames, shake, dense) for _ in range(draws * -(-300 // frames))]
        row = dict(frames=frames, case="still" if shake == 0 else "shake", shake=shake, dense=dense,
                   wiener=shake ** 2 / (shake ** 2 + 1.0))
        for doubt in doubts:
            key = "none" if doubt is None else f"{doubt[0]:g}-{doubt[1]:g}"
            row[key] = float(np.mean([quick_share(s, d, doubt=doubt).mean() for s, d in pairs]))
        rows.append(row)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[300, 20, 12, 8], help="clip lengths")
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--doubt", type=float, nargs=2, action="append", default=[], metavar=("LOW", "HIGH"),
                    help="also measure the sureness with this doubt (standard errors; repeatable)")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "share.json"))
    a = ap.parse_args(argv)
    doubts = [None, tuple(SHARE_DOUBT)] + [tuple(d) for d in a.doubt]
    rows = [r for frames in a.frames for r in measure(frames, a.draws, doubts)]
    keys = [k for k in rows[0] if k not in ("frames", "case", "shake", "dense", "wiener")]
    print(f"{'frames':>6s} {'case':6s} {'shake':>5s} {'dense':>5s} {'wiener':>6s} "
          + " ".join(f"{k:>8s}" for k in keys))
    for r in rows:
        print(f"{r['frames']:6d} {r['case']:6s} {r['shake']:5g} {r['dense']:5g} {r['wiener']:6.2f} "
              + " ".join(f"{r[k]:8.3f}" for k in keys))
    out = dict(machine=describe(), frames=a.frames, draws=a.draws, share_doubt=list(SHARE_DOUBT), rows=rows)
    write_result(a.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
