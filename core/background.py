"""How the picture turned from one frame to the next, read off the background: a camera's roll, and its whole turn.

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

Given the camera's intrinsics, the background also gives the camera's whole turn (``BackgroundTurn.view``: pan, tilt
and roll against its first view): corners of a reference frame followed into each frame, and the rotation that best
carries the rays through those that agree on one homography onto where they went (Kabsch on unit rays). A camera that
turns on the spot moves every background point by it, whatever its distance; one that also moves sideways adds
parallax, which this reads as a little turn too. bake.camera_turn makes the views the exported camera's turn, so that
a handheld camera's motion goes on the camera and the head keeps its own (docs/MEASUREMENTS.md, "The camera's turn").
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
VIEW_SHARE = 0.3        # of the corners followed from the reference, the share that must agree on one turn of the
                        # camera for its view to count (less than MIN_SHARE: a caption scrolling across a broadcast
                        # takes a third of the press clip's; at 0.5 its handheld copy read 78 % of its frames)
MIN_BACKGROUND = 0.25   # a frame with less of itself left (a close-up: the shared close-ups leave 0-3 %) is not read


class BackgroundTurn:
    """Fed every frame in order (``update``), gives each frame's turn since the one before: how far the angle of a
    line painted on the background grew (radians, image x right and y down, as the landmarks' eye line is read).
    With the frames' camera matrix ``K`` (frame pixels), ``view`` then holds the camera's whole turn from its view
    on the first frame read (a rotation vector, ``camera_turn``'s; NaN where unread): read against a reference frame
    rather than chained from frame to frame, so that a still camera does not drift with the readings' small biases
    (chained over the press clip's 55 frames they turned a camera on a tripod 0.6 degrees). The reference is the first
    frame read, and the last frame read wherever too few of its corners still agree (a camera that has turned far)."""

    def __init__(self, K: np.ndarray | None = None):
        self._prev: tuple[np.ndarray, np.ndarray] | None = None
        self._K = None if K is None else np.asarray(K, np.float64)
        self._ref: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None   # gray, corners, its view (3, 3)
        self._last: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # the last frame read: gray, mask, view
        self.view = np.full(3, np.nan)

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
        enough = np.count_nonzero(mask) >= MIN_BACKGROUND * mask.size
        self.view = np.full(3, np.nan)
        if self._K is not None and enough:
            self.view = self._read_view(gray, mask, np.diag([s, s, 1.0]) @ self._K)
        if prev is None or not enough:
            return np.nan
        return _turn(prev[0], gray, prev[1] & mask)

    def _read_view(self, gray: np.ndarray, mask: np.ndarray, K: np.ndarray) -> np.ndarray:
        """The camera's view of ``gray`` against the first frame read (rotation vector; NaN where unread)."""
        def anchor(ref_gray, ref_mask, view):       # a new reference, where it has corners enough (else the old)
            corners = cv2.goodFeaturesToTrack(ref_gray, CORNERS, 0.01, 8, mask=ref_mask)
            if corners is None or len(corners) < MIN_AGREE:
                return False
            self._ref = (ref_gray, corners, view)
            return True
        if self._ref is None:
            if not anchor(gray, mask, np.eye(3)):
                return np.full(3, np.nan)
            self._last = (gray, mask, np.eye(3))
            return np.zeros(3)
        turn = _turn_from(self._ref[0], self._ref[1], gray, mask, K)
        if turn is None and self._last is not None and self._last[0] is not self._ref[0] \
                and anchor(*self._last):             # turned far from the reference: the last frame read is the next
            turn = _turn_from(self._ref[0], self._ref[1], gray, mask, K)
        if turn is None:
            return np.full(3, np.nan)
        view = self._ref[2] @ turn.T                 # this frame's camera -> the first frame's
        self._last = (gray, mask, view)
        return cv2.Rodrigues(view)[0].ravel()


def camera_turn(before: np.ndarray, after: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(3, 3) the camera's turn R (a direction in the camera before -> the same direction in the camera after; OpenCV
    camera axes: x right, y down, z forward) that best carries background points seen at pixels ``before`` (N, 2) to
    ``after`` (N, 2) through ``K``: Kabsch on their unit rays."""
    def rays(p):
        r = np.linalg.solve(K, np.c_[np.asarray(p, np.float64).reshape(-1, 2), np.ones(len(p))].T).T
        return r / np.linalg.norm(r, axis=1, keepdims=True)
    a, b = rays(before), rays(after)
    U, _, Vt = np.linalg.svd(a.T @ b)
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(Vt.T @ U.T))])
    return Vt.T @ D @ U.T


def turned_pixels(uv: np.ndarray, R: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(..., N, 2) where a camera turned by ``R`` (..., 3, 3; a direction in the camera before -> the same direction
    in the camera after, as ``camera_turn`` gives it) sees the rays that the camera before saw at pixels ``uv``
    (..., N, 2), both through ``K`` (NaN stays NaN)."""
    K = np.asarray(K, np.float64)
    uv = np.asarray(uv, np.float64)
    rays = np.linalg.solve(K, np.concatenate([uv, np.ones(uv.shape[:-1] + (1,))], -1)[..., None])[..., 0]
    p = np.einsum("ij,...jk,...nk->...ni", K, np.asarray(R, np.float64), rays)
    return p[..., :2] / p[..., 2:]


def _turn_from(ref: np.ndarray, corners: np.ndarray, gray: np.ndarray, mask: np.ndarray,
               K: np.ndarray) -> np.ndarray | None:
    """``camera_turn`` from the reference frame ``ref`` (its ``corners``) to ``gray``, on the corners that land
    outside ``mask``'s face and agree on one homography (a turning camera's map of the background); None where too
    few do."""
    moved, found, _ = cv2.calcOpticalFlowPyrLK(ref, gray, corners, None)
    found = found[:, 0] == 1
    at = np.round(moved[:, 0]).astype(int)
    inside = (at[:, 0] >= 0) & (at[:, 1] >= 0) & (at[:, 0] < gray.shape[1]) & (at[:, 1] < gray.shape[0])
    found &= inside
    found[found] = mask[at[found, 1], at[found, 0]] > 0
    if found.sum() < MIN_AGREE:
        return None
    H, agree = cv2.findHomography(corners[found], moved[found], cv2.RANSAC, RANSAC_PX)
    if H is None:
        return None
    before, after = corners[found][agree[:, 0] == 1, 0], moved[found][agree[:, 0] == 1, 0]
    R = camera_turn(before, after, K) if len(before) >= 3 else np.eye(3)
    # the corners a turn of the camera carries where they went: a homography that mixes two motions (a still
    # picture and a caption scrolling across it) is no turn
    turned = np.linalg.norm(turned_pixels(before, R, K) - after, axis=1) <= RANSAC_PX
    if turned.sum() < max(MIN_AGREE, VIEW_SHARE * found.sum()):
        return None
    return camera_turn(before[turned], after[turned], K)


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
