"""Canonical-linked point clouds from the network output of one crop, and the camera focal length.

A pixel of the crop with mask > ``min_mask`` becomes a point with
  * ``canon``: the predicted canonical coordinate in mm (``HeadModel.to_mm``),
  * ``pixel``: the frame pixel of its centre (crop pixel (i, j) has its centre at crop coordinate (j+.5, i+.5),
    frame coordinate ``x0 + (j + .5) * box.size / S``; of a turned crop, ``core.preprocess.crop_to_frame``'s),
  * ``cam_xyz``: the pixel unprojected at depth ``z_origin + depth * canon_scale`` along the crop's axis
    (``CropBox.view_axis``, core.types; OpenCV camera, mm),
  * ``weight``: mask * log2(1 + depth_conf) * log2(1 + canon_conf) (confidences are >= 1, so weight >= mask), times
    ``source_share`` where the crop was cut from fewer frame pixels than the network reads: a small face's crop is
    magnified, its pixels are not independent readings, and the frame's observations (the dense term, and the
    landmarks, which the fusion weighs as a share of it) tell that much less against the solve's priors. The talking
    clip re-shot 40 px wide in 720p (crops of 60 px for the network's 128; ``benchmarks/bench_real.py --small-face
    40``): the baked head's landmark error 0.100 -> 0.055 IOD, its jitter 0.046 -> 0.015 (docs/MEASUREMENTS.md, "A
    face smaller than the network's input").

The absolute anchor ``z_origin`` (camera depth of the head origin) is recovered by PnP: the canonical points, taken
as 3D points of the rigid template, against their frame pixels (``cv2.solvePnPRansac`` with EPnP in the RANSAC loop,
then ``cv2.solvePnPRefineLM`` on the inliers); ``z_origin = axis . tvec``, the origin's depth along the crop's axis.
On a head of another size than the template, the PnP distance is off by the size ratio; ``ray`` (the unprojection
direction with unit depth along that axis) is kept per point so the bake can correct ``z_origin`` per frame
(``cam_xyz(z0 + d) = cam_xyz(z0) + d * ray``) once the identity is known.

Why along the crop's axis and not the camera's: the network sees the crop alone, not where in the frame it was cut,
so for a face that looks frontal it can only answer the depths of a face turned towards the camera, wherever the
face sits. The shipped network, trained on depths along the camera's axis for heads up to 15 degrees off it, answers
a real face along the crop's axis (a model that carries part of the camera axis's tilt: ``tilt``,
core.runtime.OPTICAL_TILT). Read as depths along the camera's axis, its answers put a face off the axis turned part of
its angle away from the camera, its chin and mouth aside of where they are (the figures: docs/MEASUREMENTS.md, "The
network's depth along the crop's axis" and the sections after it).

Focal length: the user's value, else ``default_focal`` (a 35 mm full-frame-equivalent lens on the image diagonal).
``estimate_focal`` (several frames' point clouds, ``cv2.calibrateCamera`` with a fixed principal point) works when
the head matches the template and turns a lot, but on realistic clips it was no better than the default, so the
pipeline does not use it (measurements: ``bake.pipeline.ReconConfig.camera_matrix``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from .head_model import HeadModel
from .preprocess import crop_to_frame
from .types import DEFAULT_FOCAL_MM, CropBox, FramePrediction, PointCloud

log = logging.getLogger(__name__)

FULL_FRAME_DIAGONAL_MM = 43.2666   # diagonal of a 36 x 24 mm sensor
MIN_POINTS = 50                    # fewer valid pixels than this: no cloud for the frame
PNP_POINTS = 1500                  # points used by the PnP (a fixed, deterministic subsample)


def default_focal(width: int, height: int, focal_mm: float = DEFAULT_FOCAL_MM) -> float:
    """Focal length in pixels of a ``focal_mm`` full-frame-equivalent lens (default 35 mm).

    ``f_px = focal_mm / 43.2666 * hypot(width, height)`` (43.27 mm is the full-frame diagonal), so it does not depend
    on the orientation: 1920x1080 -> 1782 px (horizontal field of view 57 degrees). Phones' main cameras are about
    24-28 mm, webcams 28-35 mm, so the guess errs on the long side; give the real value when you know it.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    return float(focal_mm / FULL_FRAME_DIAGONAL_MM * np.hypot(width, height))


def intrinsics(width: int, height: int, focal_px: float | None = None) -> np.ndarray:
    """3x3 K with square pixels and the principal point at the image centre."""
    f = default_focal(width, height) if focal_px is None else float(focal_px)
    return np.array([[f, 0, width / 2.0], [0, f, height / 2.0], [0, 0, 1]], np.float64)


@dataclass(frozen=True, eq=False)
class AnchoredCloud(PointCloud):
    """A PointCloud plus what the bake needs to re-anchor it: ``ray`` (N, 3) = cam_xyz / its depth along the crop's
    axis, ``z_origin`` (mm, along that axis) used for cam_xyz, ``pose`` (rvec, tvec) of the PnP, ``inlier_ratio`` of
    its RANSAC."""
    ray: np.ndarray = None
    z_origin: float = 0.0
    rvec: np.ndarray = None
    tvec: np.ndarray = None
    inlier_ratio: float = 0.0


def _pnp(obj: np.ndarray, img: np.ndarray, K: np.ndarray, px_tol: float):
    ok, rvec, tvec, inl = cv2.solvePnPRansac(obj, img, K, None, iterationsCount=100, reprojectionError=px_tol,
                                             confidence=0.999, flags=cv2.SOLVEPNP_EPNP)
    if not ok or inl is None or len(inl) < 6:
        return None
    inl = inl[:, 0]
    rvec, tvec = cv2.solvePnPRefineLM(obj[inl], img[inl], K, None, rvec, tvec)
    return rvec[:, 0], tvec[:, 0], len(inl) / len(obj)


def source_share(box_size: float, crop_pixels: int) -> float:
    """The weight a crop pixel keeps when the crop was cut from ``box_size`` frame pixels across for the network's
    ``crop_pixels``: (box_size / crop_pixels)^2 under 1 (the frame pixels behind each crop pixel), else 1."""
    return min(1.0, float(box_size) / float(crop_pixels)) ** 2


def to_point_cloud(pred: FramePrediction, box: CropBox, K: np.ndarray, head: HeadModel, frame: int,
                   min_mask: float = 0.5, min_points: int = MIN_POINTS,
                   frame_size: tuple[int, int] | None = None, tilt: float = 0.0) -> AnchoredCloud | None:
    """The canonical-linked point cloud of one crop, or None when fewer than ``min_points`` pixels are usable
    or the PnP anchor fails (the frame is then treated as 'no face'). ``tilt``: the share of the camera axis's
    depth tilt the prediction carries (core.runtime.Predictor.depth_tilt; 0 for depths along the crop's axis,
    as core.types defines them): its depths are read along (1 - tilt) x the crop's axis + tilt x the camera's.

    With ``frame_size`` (width, height) the crop pixels whose centre lies outside the frame are dropped: a crop
    that reaches past the frame's edge repeats the edge pixels there (core.preprocess.crop_image), so the network's
    depth and canonical answers at those pixels read a smear, not skin."""
    S = pred.depth.shape[0]
    valid = (pred.mask > min_mask) & np.isfinite(pred.depth) & np.isfinite(pred.canon).all(-1)
    s = box.size / S
    if box.angle:           # a turned crop: each pixel centre mapped into the frame
        grid = np.stack(np.meshgrid(np.arange(S) + 0.5, np.arange(S) + 0.5), -1)      # (S, S, 2): x, y
        at = crop_to_frame(grid, box, S)
        if frame_size is not None:
            valid &= (at >= 0).all(-1) & (at[..., 0] < frame_size[0]) & (at[..., 1] < frame_size[1])
    elif frame_size is not None:
        centre = (np.arange(S) + 0.5) * s
        in_x = (box.x0 + centre >= 0) & (box.x0 + centre < frame_size[0])
        in_y = (box.y0 + centre >= 0) & (box.y0 + centre < frame_size[1])
        valid &= in_y[:, None] & in_x[None, :]
    ii, jj = np.nonzero(valid)
    if len(ii) < min_points:
        return None
    if box.angle:
        pixel = at[ii, jj]
    else:
        pixel = np.stack([box.x0 + (jj + 0.5) * s, box.y0 + (ii + 0.5) * s], 1)
    canon = head.to_mm(pred.canon[ii, jj].astype(np.float64))
    step = max(1, len(ii) // PNP_POINTS)
    sub = np.arange(0, len(ii), step)
    K = np.asarray(K, np.float64)
    px_tol = max(2.0, 0.02 * box.size)          # 2 % of the face box: canonical noise, expression, identity
    res = _pnp(canon[sub], pixel[sub], K, px_tol)
    if res is None:
        log.debug("frame %d: PnP failed on %d points", frame, len(sub))
        return None
    rvec, tvec, ratio = res
    if not np.isfinite(tvec).all() or float(np.ravel(tvec)[2]) <= 0:
        return None
    axis = (1.0 - tilt) * box.view_axis(K) + tilt * np.array([0.0, 0.0, 1.0])     # the depth's axis (core.types)
    ray = np.stack([(pixel[:, 0] - K[0, 2]) / K[0, 0], (pixel[:, 1] - K[1, 2]) / K[1, 1], np.ones(len(ii))], 1)
    ray /= (ray @ axis)[:, None]                # unit depth along that axis
    z0 = float(axis @ np.ravel(tvec))
    z = z0 + pred.depth[ii, jj].astype(np.float64) * head.canon_scale
    cam = ray * z[:, None]
    w = pred.mask[ii, jj] * np.log2(1 + pred.depth_conf[ii, jj]) * np.log2(1 + pred.canon_conf[ii, jj])
    w = w * source_share(box.size, S)
    keep = (z > 1.0) & (w > 0)
    if keep.sum() < min_points:
        return None
    f32 = np.float32
    return AnchoredCloud(frame=int(frame), cam_xyz=cam[keep].astype(f32), canon=canon[keep].astype(f32),
                         weight=w[keep].astype(f32), pixel=pixel[keep].astype(f32), ray=ray[keep].astype(f32),
                         z_origin=z0, rvec=rvec, tvec=tvec, inlier_ratio=float(ratio))


def estimate_focal(clouds: list[PointCloud], width: int, height: int, max_views: int = 20,
                   points_per_view: int = 400) -> float | None:
    """Focal length (px) from several frames' canonical-to-pixel correspondences, or None when it cannot be told.

    Each cloud is one view of the template (canonical mm as object points, frame pixels as image points);
    ``cv2.calibrateCamera`` refines one focal length (square pixels, principal point fixed at the image centre, no
    distortion) from the ``default_focal`` guess. The focal length of a head at arm's length is only weakly
    observable (it shows in perspective foreshortening), so the result is trusted only within [0.3, 3] x the guess
    and when several views with head rotation are given; identity differences to the template bias it.
    """
    views = [c for c in clouds if c is not None and len(c.canon) >= 50][:max_views]
    if len(views) < 3:
        return None
    rng = np.random.default_rng(0)
    obj, img = [], []
    for c in views:
        sel = rng.choice(len(c.canon), min(points_per_view, len(c.canon)), replace=False)
        obj.append(c.canon[sel].astype(np.float32))
        img.append(c.pixel[sel].astype(np.float32))
    K0 = intrinsics(width, height)
    flags = (cv2.CALIB_USE_INTRINSIC_GUESS | cv2.CALIB_FIX_PRINCIPAL_POINT | cv2.CALIB_FIX_ASPECT_RATIO
             | cv2.CALIB_ZERO_TANGENT_DIST | cv2.CALIB_FIX_K1 | cv2.CALIB_FIX_K2 | cv2.CALIB_FIX_K3)
    try:
        _, K, _, _, _ = cv2.calibrateCamera(obj, img, (int(width), int(height)), K0.copy(), np.zeros(5), flags=flags)
    except cv2.error as e:
        log.warning("focal estimation failed (%s); keeping the default", e)
        return None
    f = float(K[0, 0])
    if not np.isfinite(f) or not (0.3 * K0[0, 0] <= f <= 3 * K0[0, 0]):
        return None
    return f
