"""The real-face models read on synthetic renders with exact ground truth (development only).

Shared by tools/landmark_template.py (where each landmark sits on the template) and tools/calibrate_blendshapes.py
(how far each blendshape score can be trusted): near-frontal heads from training.synth with random identities and
expressions and no occluders, blur or compression, so that what differs from a real face is the rendering alone.
"""
from __future__ import annotations

import sys
from typing import Iterator

import numpy as np

from core import face_models

# Near-frontal crops of 256 px (the landmark model's own input size) without occluders or sensor effects.
RENDER = dict(size=256, max_yaw=30.0, max_pitch=15.0, max_roll=12.0, crop_scale_sd=0.0, crop_shift=0.0,
              p_glasses=0.0, p_hand=0.0, p_mic=0.0, p_strands=0.0, p_blur=0.0, p_motion_blur=0.0, p_jpeg=0.0,
              p_lowres=0.0, noise_max=0.01)
MIN_PRESENCE = 0.5


def read_faces(count: int, seed: int, chunk: int = 16) -> Iterator[tuple[int, dict, int, np.ndarray]]:
    """(index, batch, i, landmarks (478, 3) px) for every render the models read a face on: detector ROI, then one
    refinement from the landmarks' own ROI (as the tracker follows a face). ``batch`` is training.synth's batch of
    the render's chunk (ground truth: canon, mask, arkit, R, ...) and ``i`` the render's place in it. Render k depends
    only on (seed, k)."""
    from training.synth import SynthConfig, _batch_range
    cfg = SynthConfig(**RENDER)
    models = face_models.default_models()
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        batch = _batch_range(cfg, start, n, seed, "train", "cpu")
        imgs = (batch["image"].permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
        for i in range(n):
            dets = models.detect_faces(imgs[i])
            if not dets:
                continue
            pts, _ = models.landmarks(imgs[i], face_models.roi_from_detection(dets[0]))
            pts, presence = models.landmarks(imgs[i], face_models.roi_from_landmarks(pts))
            if presence >= MIN_PRESENCE:
                yield start + i, batch, i, pts
        print(f"  {start + n}/{count} renders", file=sys.stderr)
