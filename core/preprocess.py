"""Crop a frame to the tracker's square box (the network's input; it normalises the crop's colours itself).

Crop geometry (the same as ``CropBox.crop_intrinsics`` and ``core.points``): continuous image coordinates with pixel
``(row i, column j)`` centred at ``(j + 0.5, i + 0.5)`` (the renderers' convention); crop coordinate
``p' = s * (p - (x0, y0))`` with ``s = size / box.size``. A point projected with the frame intrinsics ``K`` lands at
the same crop position as the point projected with ``box.crop_intrinsics(K, size)``. A turned box
(``CropBox.angle``) is cut turned about its centre, ``p' = s * R^T (p - centre) + size / 2``; ``crop_to_frame`` and
``frame_to_crop`` map between the two either way.

The colour normalisation lives inside the network (``training.model.FaceAnything.forward``), so the exported model
takes RGB in [0, 1] (``core.runtime``) and nothing here restates it.
"""
from __future__ import annotations

import cv2
import numpy as np

from .types import CropBox


BORDERS = {"replicate": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}


def _turn(box: CropBox) -> np.ndarray:
    """2x2 matrix whose columns are the crop's x and y axes in the frame (``CropBox.angle``)."""
    c, s = np.cos(box.angle), np.sin(box.angle)
    return np.array([[c, -s], [s, c]])


def crop_affine(box: CropBox, size: int) -> np.ndarray:
    """2x3 matrix mapping frame array indices to crop array indices (what ``cv2.warpAffine`` takes).

    OpenCV puts pixel centres at integer indices, the project at index + 0.5: ``j' + 0.5 = s * (j + 0.5 - x0)``;
    a turned box: ``p' = s * R^T (p - centre) + size / 2`` in continuous coordinates (R: ``_turn``).
    """
    s = size / box.size
    if not box.angle:
        return np.array([[s, 0.0, s * (0.5 - box.x0) - 0.5], [0.0, s, s * (0.5 - box.y0) - 0.5]], np.float64)
    A = s * _turn(box).T
    t = 0.5 * size - A @ box.centre
    return np.concatenate([A, (t + A @ np.array([0.5, 0.5]) - 0.5)[:, None]], 1)


def crop_image(image: np.ndarray, box: CropBox, size: int, border: str = "replicate",
               fill: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """(size, size, 3) uint8 crop of ``image`` (H, W, 3) uint8 showing ``box``; one ``cv2.warpAffine`` call.

    Where the box leaves the frame the border is replicated (``border="replicate"``, default), mirrored
    (``"reflect"``) or filled with ``fill`` (``"constant"``). Strong downscaling (crop side < half the box side)
    blurs the covered region first so the crop does not alias.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"crop_image expects (H, W, 3) uint8, got {image.shape} {image.dtype}")
    if not (box.size > 0 and np.isfinite([box.x0, box.y0, box.size]).all()):
        raise ValueError(f"crop_image needs a finite box with a positive size, got {box}")
    if border not in BORDERS:
        raise ValueError(f"border must be one of {sorted(BORDERS)}, got {border!r}")
    size = int(size)
    M = crop_affine(box, size)
    scale = size / box.size
    src = image
    if scale < 0.5:  # anti-alias: blur only the part of the frame the box covers (plus a margin)
        sigma = 0.5 / scale
        pad = int(np.ceil(3 * sigma)) + 1
        h, w = image.shape[:2]
        half = 0.5 * box.size * (abs(np.cos(box.angle)) + abs(np.sin(box.angle)))   # the turned box's bounds
        (lx, ly), (hx, hy) = box.centre - half, box.centre + half
        xa, ya = max(0, int(lx) - pad), max(0, int(ly) - pad)
        xb, yb = min(w, int(np.ceil(hx)) + pad), min(h, int(np.ceil(hy)) + pad)
        if xb > xa and yb > ya:
            src = cv2.GaussianBlur(image[ya:yb, xa:xb], (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
            M[:, 2] += M[:, :2] @ np.array([xa, ya], np.float64)
    return cv2.warpAffine(src, M, (size, size), flags=cv2.INTER_LINEAR, borderMode=BORDERS[border],
                          borderValue=tuple(int(v) for v in fill))


def crop_to_frame(points: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """Crop pixel coordinates (..., 2) -> frame pixel coordinates."""
    if box.angle:
        return (np.asarray(points, np.float64) - 0.5 * size) * (box.size / size) @ _turn(box).T + box.centre
    return np.asarray(points, np.float64) * (box.size / size) + np.array([box.x0, box.y0])


def frame_to_crop(points: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """Frame pixel coordinates (..., 2) -> crop pixel coordinates."""
    if box.angle:
        return (np.asarray(points, np.float64) - box.centre) @ _turn(box) * (size / box.size) + 0.5 * size
    return (np.asarray(points, np.float64) - np.array([box.x0, box.y0])) * (size / box.size)
