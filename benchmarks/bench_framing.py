"""How far the face tracker's crop (core.track.crop_from_landmarks) sits from the crop the network was trained on, and
the tracker constants that would remove the gap. Prints JSON and writes benchmarks/results/framing.json.

    python benchmarks/bench_framing.py [--seeds 5 7 11 12] [--frames 32] [--footage ../shared/footage]

The bake's re-framing (core.framing.Reframer) moves each batch's crops from the tracker's boxes to the training
framing of the head pose and carries that offset (centre shift x, y in tracker-crop sides, log side ratio) to the
next batch. This script records the offset each batch ends with:
  * on held-out synthetic clips (rendered with training.synth, needs torch) with the renderer's exact depth and
    canonical maps in place of the network (bench_e2e's "ground truth maps"), so the pose, and hence the
    training framing, is the true one;
  * on the real clips with the bundled network (no truth there; the framing the network's own poses converge to).
Suggested constants: CROP_SCALE * exp(median log ratio) and CROP_CENTER_Y + median y shift * CROP_SCALE (both
constants are in units of the landmarks' spread, and the crop side is CROP_SCALE of it; the face's downward
direction is close to the image's on these clips). The x shift is reported only (left/right turns cancel).
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
sys.path.insert(0, str(ROOT / "benchmarks"))

from core import framing, head_model, track  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402
from shared_clips import FOOTAGE  # noqa: E402


def recorded_offsets(fn) -> np.ndarray:
    """Run ``fn()`` and return the offset every Reframer.run call ended with, (N, 3)."""
    rec = []
    orig = framing.Reframer.run

    def run(self, items, stage=None):
        out = orig(self, items, stage)
        rec.append(self.offset.copy())
        return out
    framing.Reframer.run = run
    try:
        fn()
    finally:
        framing.Reframer.run = orig
    return np.array(rec).reshape(-1, 3)


def synthetic(seed: int, frames: int, head) -> np.ndarray:
    import cv2
    import bench_e2e
    from training.synth import SynthConfig, make_sequence
    seq = make_sequence(SynthConfig(), frames, seed, 512, 512)
    folder = Path(tempfile.mkdtemp(prefix="framing_"))
    for i, img in enumerate(seq["image"]):
        cv2.imwrite(str(folder / f"frame_{i:04d}.png"), img[..., ::-1])
    return recorded_offsets(lambda: bench_e2e.run(seq, head, folder, float(seq["K"][0, 0]), "default", True))


def real(clip: Path, frames: int) -> np.ndarray:
    from bake.pipeline import ReconConfig, reconstruct
    return recorded_offsets(lambda: reconstruct(ReconConfig(source=str(clip), end=frames)))


def summary(offsets: np.ndarray) -> dict:
    med = np.median(offsets, 0)
    return dict(batches=len(offsets), shift_x=float(med[0]), shift_y=float(med[1]), side_ratio=float(np.exp(med[2])))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[5, 7, 11, 12])
    ap.add_argument("--frames", type=int, default=32, help="frames per synthetic clip")
    ap.add_argument("--real-frames", type=int, default=160, help="frames per real clip")
    ap.add_argument("--footage", default=str(FOOTAGE))
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "framing.json"))
    a = ap.parse_args()
    head = head_model.load()
    res = dict(machine=describe_machine(), crop_scale=track.CROP_SCALE,
               crop_center_y=track.CROP_CENTER_Y, synthetic_ground_truth={}, real_network={})
    per_clip = []
    for seed in a.seeds:
        o = synthetic(seed, a.frames, head)
        res["synthetic_ground_truth"][str(seed)] = summary(o)
        per_clip.append(np.median(o, 0))
    for clip in sorted(Path(a.footage).glob("*.mp4")) if Path(a.footage).is_dir() else []:
        o = real(clip, a.real_frames)
        res["real_network"][clip.name] = summary(o)
        per_clip.append(np.median(o, 0))
    if per_clip:
        med = np.median(per_clip, 0)        # each clip counts once
        res["median_over_clips"] = dict(shift_x=float(med[0]), shift_y=float(med[1]), side_ratio=float(np.exp(med[2])))
        res["suggested"] = dict(CROP_SCALE=round(track.CROP_SCALE * float(np.exp(med[2])), 3),
                                CROP_CENTER_Y=round(track.CROP_CENTER_Y + float(med[1]) * track.CROP_SCALE, 3))
    print(json.dumps(res, indent=1))
    write_result(a.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
