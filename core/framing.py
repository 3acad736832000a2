"""The crop framing the network is trained on, and the same framing recovered from a head pose.

The network sees a square crop centred on the projection of the canonical point ``CROP_ANCHOR`` (nose area) whose
side covers ``CROP_SIDE_MM`` at the camera depth of the head-frame origin (training/synth/ renders its training
samples that way, with some jitter). The face tracker only approximates it from a 2D face box; on turned heads, and
where the detector boxes a part of the face, its box can be far off (half the size and a quarter of a side away on a
3/4 profile with sunglasses), and the network then answers badly. Once a prediction has given a head pose (the PnP
anchor of core.points), ``pose_crop_box`` gives the crop the network expects for that pose; running the network
again on it (bake.pipeline's re-framing passes) moves the crop to where training put it.

``predict_reframed`` runs those passes for a batch of crops; ``Reframer`` carries the result from batch to batch
(used by bake.pipeline and training.eval real).
numpy + OpenCV; no torch, no bpy.
"""
from __future__ import annotations

import time
from typing import Callable

import cv2
import numpy as np

from .types import CropBox

CROP_ANCHOR = (0.0, -10.0, 70.0)     # head-frame mm (core.head_model axes): crop centre
CROP_SIDE_MM = 260.0                 # crop side at the depth of the head-frame origin


def pose_crop_box(rvec: np.ndarray, tvec: np.ndarray, K: np.ndarray) -> CropBox | None:
    """Crop box (frame pixels) of the training framing for the head pose ``rvec, tvec`` (template mm -> OpenCV
    camera, as cv2.solvePnP returns it) seen through ``K``; None when the pose puts the head behind the camera."""
    R = cv2.Rodrigues(np.asarray(rvec, np.float64).reshape(3, 1))[0]
    t = np.asarray(tvec, np.float64).reshape(3)
    p = R @ np.asarray(CROP_ANCHOR) + t
    if not (np.isfinite(p).all() and t[2] > 1.0 and p[2] > 1.0):
        return None
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    side = CROP_SIDE_MM * np.sqrt(fx * fy) / t[2]
    u, v = cx + fx * p[0] / p[2], cy + fy * p[1] / p[2]
    return CropBox(float(u - 0.5 * side), float(v - 0.5 * side), float(side))


def box_offset(base: CropBox, box: CropBox) -> np.ndarray:
    """``box`` relative to ``base``: (centre shift x, centre shift y) in base sides and log(side ratio)."""
    return np.array([(box.x0 + 0.5 * box.size - base.x0 - 0.5 * base.size) / base.size,
                     (box.y0 + 0.5 * box.size - base.y0 - 0.5 * base.size) / base.size,
                     np.log(box.size / base.size)])


def box_change(a: CropBox, b: CropBox) -> float:
    """How different two crops are, scale-free: the larger of the centre shift over the mean side and the
    absolute log ratio of the sides (0.05 ~ a 5 % shift or size change)."""
    dx, dy, log_ratio = box_offset(a, b)
    return float(max(np.hypot(dx, dy) * a.size / (0.5 * (a.size + b.size)), abs(log_ratio)))


def apply_offset(base: CropBox, offset: np.ndarray) -> CropBox:
    """The inverse of ``box_offset``: the box at ``offset`` from ``base``, turned as ``base`` is (re-framing moves
    and sizes the tracker's crop; its turn is the tracker's, core.track.crop_from_landmarks)."""
    side = base.size * float(np.exp(offset[2]))
    cx = base.x0 + base.size * (0.5 + float(offset[0]))
    cy = base.y0 + base.size * (0.5 + float(offset[1]))
    return CropBox(cx - 0.5 * side, cy - 0.5 * side, side, base.angle)


FACE_SIDE = 0.6           # of a crop's side, the middle its face fills (a head about 160 mm wide in CROP_SIDE_MM)


def box_between(before: CropBox, after: CropBox, share: float) -> CropBox:
    """The box ``share`` (0-1) of the way from ``before`` to ``after``: its centre, side and turn each so far (the turn
    the shorter way round)."""
    t = float(share)
    side = (1 - t) * before.size + t * after.size
    centre = (1 - t) * before.centre + t * after.centre
    turn = (after.angle - before.angle + np.pi) % (2 * np.pi) - np.pi
    return CropBox(float(centre[0] - 0.5 * side), float(centre[1] - 0.5 * side), float(side),
                   float(before.angle + t * turn))


def face_inside(box: CropBox, width: float, height: float) -> float:
    """The share of ``box``'s face (its middle ``FACE_SIDE`` of the side, upright) that lies inside a frame ``width``
    x ``height`` pixels."""
    side = FACE_SIDE * box.size
    x0, y0 = box.centre - 0.5 * side
    inside_x = max(0.0, min(float(width), x0 + side) - max(0.0, x0))
    inside_y = max(0.0, min(float(height), y0 + side) - max(0.0, y0))
    return float(inside_x * inside_y / side ** 2) if side > 0 else 0.0


REFRAME_TOL = 0.05        # a pose's crop this close to the current one (box_change) is not re-run
REFRAME_MAX = 2.5         # nor one that moves more than this (side ratio, or centre shift in sides) off the first
REFRAME_SMOOTH = 9        # frames: the pose crops' offsets from the starting crops are median-filtered over this


def smooth_offsets(offsets: np.ndarray, window: int) -> np.ndarray:
    """Centred running median over rows of ``offsets`` (T, 3) (box_offset values in time order), ignoring NaN
    rows (frames without a pose); rows whose whole window is NaN stay NaN."""
    out = np.full_like(offsets, np.nan)
    half = max(0, int(window) // 2)
    for i in range(len(offsets)):
        w = offsets[max(0, i - half): i + half + 1]
        w = w[np.isfinite(w).all(1)]
        if len(w):
            out[i] = np.median(w, 0)
    return out


def predict_reframed(predictor, items: list, to_cloud: Callable, K: np.ndarray, passes: int,
                     stage: dict | None = None, smooth: int = REFRAME_SMOOTH, pool=None) -> tuple[list, list, list]:
    """Network + PnP point cloud for each (key, box, recrop) in ``items`` (``box`` in frame pixels, ``recrop(box)``
    the network crop of a box of that frame; ``to_cloud(prediction, box, key)`` is core.points.to_point_cloud with
    the rest bound). Then up to ``passes`` times: each frame's head pose gives a crop of the training framing
    (``pose_crop_box``); where that crop differs from the one used by more than REFRAME_TOL, the network runs again
    on it and its cloud replaces the previous one when its PnP succeeds.

    ``items`` are consecutive frames of one clip in time order: the pose crops' offsets from the starting boxes are
    median-filtered over ``smooth`` frames before use (a single frame's PnP pose is noisy, and a crop that jitters
    from frame to frame makes the network's answer jitter with it; 1 = no smoothing). Returns the clouds (None where
    no face), the boxes they were predicted in and those predictions (core.types.FramePrediction). ``stage``
    (optional) accumulates the seconds spent in "network" and "points". ``pool`` (an executor, optional) takes the
    second half of each network call's crops, network and point clouds, while this thread does the first: the same
    results, sooner where a core is free (the busy seconds of both halves are summed)."""
    stage = {} if stage is None else stage

    def part(crops, boxes, idx):
        t = time.perf_counter()
        preds = predictor.predict(np.stack(crops))
        t1 = time.perf_counter()
        out = [to_cloud(p, b, items[k][0]) for p, b, k in zip(preds, boxes, idx)]
        return out, preds, t1 - t, time.perf_counter() - t1

    def run(crops, boxes, idx):
        idx = list(idx)
        h = (len(crops) + 1) // 2 if pool is not None else len(crops)
        other = pool.submit(part, crops[h:], boxes[h:], idx[h:]) if h < len(crops) else None
        parts = [part(crops[:h], boxes[:h], idx[:h])] + ([other.result()] if other is not None else [])
        for _, _, net, pts in parts:
            stage["network"] = stage.get("network", 0.0) + net
            stage["points"] = stage.get("points", 0.0) + pts
        return [c for p in parts for c in p[0]], [q for p in parts for q in p[1]]

    starts = [it[1] for it in items]
    boxes = list(starts)
    clouds, preds = run([it[2](b) for it, b in zip(items, boxes)], boxes, range(len(items)))
    failed = set()                                        # frames whose re-run found no pose: not tried again
    for _ in range(passes):
        raw = np.full((len(items), 3), np.nan)
        for k, c in enumerate(clouds):
            nb = None if c is None else pose_crop_box(c.rvec, c.tvec, K)
            if nb is not None:
                raw[k] = box_offset(starts[k], nb)
        target = smooth_offsets(raw, smooth)
        again = []
        for k in range(len(items)):
            if k in failed or not np.isfinite(raw[k]).all():
                continue                                  # no pose in this frame (or its re-run had none)
            nb = apply_offset(starts[k], target[k])
            if box_change(nb, boxes[k]) < REFRAME_TOL:
                continue                                  # converged
            if box_change(nb, starts[k]) > np.log(REFRAME_MAX):
                continue                                  # a pose far off the first crop: not trusted
            again.append((k, nb))
        if not again:
            break
        new, new_preds = run([items[k][2](nb) for k, nb in again], [nb for _, nb in again], [k for k, _ in again])
        for (k, nb), c, p in zip(again, new, new_preds):
            if c is not None:
                boxes[k], clouds[k], preds[k] = nb, c, p
            else:
                failed.add(k)
    return clouds, boxes, preds


class Reframer:
    """Re-framing over a clip processed in batches (bake.pipeline, training.eval real): each batch's crops start at
    the tracker's boxes moved by the offset the previous batch ended with (the tracker's box sits off the training
    framing by a similar amount from frame to frame, so most frames then need no second pass), and the passes of
    ``predict_reframed`` follow (``pool`` as there). ``passes=0`` runs the network on the tracker's boxes only."""

    def __init__(self, predictor, to_cloud: Callable, K: np.ndarray, passes: int, smooth: int = REFRAME_SMOOTH,
                 pool=None):
        self.predictor, self.to_cloud, self.K = predictor, to_cloud, K
        self.passes, self.smooth, self.pool = int(passes), int(smooth), pool
        self.offset = np.zeros(3)      # re-framed crop relative to the tracker's box (box_offset)

    def run(self, items: list, stage: dict | None = None) -> tuple[list, list, list]:
        """``items``: (key, tracker box, recrop) of consecutive frames in time order; returns as predict_reframed."""
        if not items:
            return [], [], []
        start = [(key, apply_offset(box, self.offset), recrop) for key, box, recrop in items]
        clouds, boxes, preds = predict_reframed(self.predictor, start, self.to_cloud, self.K, self.passes, stage,
                                                self.smooth, self.pool)
        moved = [box_offset(it[1], b) for it, b, c in zip(items, boxes, clouds) if c is not None]
        if self.passes and moved:
            self.offset = np.median(moved, 0)
        return clouds, boxes, preds
