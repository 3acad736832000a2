"""How the picture turned from one frame to the next, read off the background: a camera's roll.

A handheld camera rolls the whole picture, and the face's roll in the image with it. The pose filter keeps the
landmarks' quick roll as far as a second reading confirms it (bake.filter.follow_seen_roll), and that share is the
landmarks' Wiener gain: on a small face their eye line is about as noisy as a one-degree roll (the press clip's
handheld copy kept 0.69 of it). The background reads a camera's roll far steadier where it has texture: corners
tracked from the frame before (OpenCV's Shi-Tomasi corners and pyramidal Lucas-Kanade flow, on a copy ``SIDE`` px
across) outside the face and the body below it, and the turn of the similarity that maps most of them (RANSAC). A
rolled camera turns the background about the picture as much as the face, whatever their distances; a head that
rolls alone leaves the background still. The filter follows the camera's quick roll from these turns whole, and
shares out only what is left, the head's own. Where too few corners agree (a green screen, a blank wall, the first
frame) the turn is unread (NaN), and a close-up, whose face and body leave under ``MIN_BACKGROUND`` of the frame, is
not read at all (the corners cost 2.9 ms a frame on the press clip's tracking thread, the per-frame stage 1.07x its
wall time; benchmarks/bench_background.py). docs/MEASUREMENTS.md, "The background's turn".
"""
from __future__ import annotations

import cv2
import numpy as np

from .types import CropBox

SIDE = 640              # px: the long side the frames are read at
CORNERS = 300           # corners looked for per frame
MIN_AGREE = 20          # corners the turn must map within RANSAC_PX to count as read ...
MIN_SHARE = 0.5         # ... and this share of those tracked
RANSAC_PX = 1.0         # px at SIDE
AROUND_FACE = 0.3       # the face's box widened by this many of its sides each way, and down to the frame's bottom
                        # (the body), is left out: it moves with the head, not the camera
MIN_BACKGROUND = 0.25   # a frame with less of itself left (a close-up: the shared close-ups leave 0-3 %) is not read


class BackgroundTurn:
    """Fed every frame in order (``update``), gives each frame's turn since the one before: how far the angle of a
    line painted on the background grew (radians, image x right and y down, as the landmarks' eye line is read)."""

    def __init__(self):
        self._prev: tuple[np.ndarray, np.ndarray] | None = None

    def update(self, image: np.ndarray, face: CropBox | None) -> float:
        """The turn of ``image`` (H, W, 3 RGB) since the frame last given, ``face`` the box to leave out (None:
        none); NaN where unread."""
        h, w = image.shape[:2]
        s = min(1.0, SIDE / max(h, w))
        gray = cv2.cvtColor(cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))),
                                       interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        mask = np.full(gray.shape, 255, np.uint8)
        if face is not None:
            x0, y0, side = face.x0 * s, face.y0 * s, face.size * s
            cv2.rectangle(mask, (int(x0 - AROUND_FACE * side), int(y0 - AROUND_FACE * side)),
                          (int(x0 + (1 + AROUND_FACE) * side), gray.shape[0]), 0, -1)
        prev, self._prev = self._prev, (gray, mask)
        if prev is None or np.count_nonzero(mask) < MIN_BACKGROUND * mask.size:
            return np.nan
        return _turn(prev[0], gray, prev[1] & mask)


def _turn(before: np.ndarray, after: np.ndarray, mask: np.ndarray) -> float:
    corners = cv2.goodFeaturesToTrack(before, CORNERS, 0.01, 8, mask=mask)
    if corners is None or len(corners) < MIN_AGREE:
        return np.nan
    moved, found, _ = cv2.calcOpticalFlowPyrLK(before, after, corners, None)
    found = found[:, 0] == 1
    if found.sum() < MIN_AGREE:
        return np.nan
    M, agree = cv2.estimateAffinePartial2D(corners[found], moved[found], method=cv2.RANSAC,
                                           ransacReprojThreshold=RANSAC_PX)
    if M is None or agree.sum() < max(MIN_AGREE, MIN_SHARE * found.sum()):
        return np.nan
    return float(np.arctan2(M[1, 0], M[0, 0]))
