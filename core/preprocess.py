"""Crop a frame to the tracker's square box and turn the crop into the network input.

Crop geometry (the same as ``CropBox.crop_intrinsics`` and ``core.points``): continuous image coordinates with pixel
``(row i, column j)`` centred at ``(j + 0.5, i + 0.5)`` (the renderers' convention); crop coordinate
``p' = s * (p - (x0, y0))`` with ``s = size / box.size``. A point projected with the frame intrinsics ``K`` lands at
the same crop position as the point projected with ``box.crop_intrinsics(K, size)``.

Network input (``normalize``): RGB, scaled to [0, 1], then ``(x - MEAN) / STD`` with ``MEAN = STD = 0.5`` per
channel, so values lie in [-1, 1]; layout float32 NCHW. Training code applies ``normalize_chw`` (plain arithmetic, so
it works on numpy arrays and torch tensors alike) to float RGB in [0, 1] in NCHW; both give identical numbers.
"""
from __future__ import annotations

import cv2
import numpy as np

from .types import CropBox

MEAN = (0.5, 0.5, 0.5)  # per RGB channel, applied to values in [0, 1]
STD = (0.5, 0.5, 0.5)

BORDERS = {"replicate": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}


def crop_affine(box: CropBox, size: int) -> np.ndarray:
    """2x3 matrix mapping frame array indices to crop array indices (what ``cv2.warpAffine`` takes).

    OpenCV puts pixel centres at integer indices, the project at index + 0.5: ``j' + 0.5 = s * (j + 0.5 - x0)``.
    """
    s = size / box.size
    return np.array([[s, 0.0, s * (0.5 - box.x0) - 0.5], [0.0, s, s * (0.5 - box.y0) - 0.5]], np.float64)


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
        xa, ya = max(0, int(box.x0) - pad), max(0, int(box.y0) - pad)
        xb, yb = min(w, int(np.ceil(box.x0 + box.size)) + pad), min(h, int(np.ceil(box.y0 + box.size)) + pad)
        if xb > xa and yb > ya:
            src = cv2.GaussianBlur(image[ya:yb, xa:xb], (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
            M[:, 2] += M[:, :2] @ np.array([xa, ya], np.float64)
    return cv2.warpAffine(src, M, (size, size), flags=cv2.INTER_LINEAR, borderMode=BORDERS[border],
                          borderValue=tuple(int(v) for v in fill))


def crop_to_frame(points: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """Crop pixel coordinates (..., 2) -> frame pixel coordinates."""
    return np.asarray(points, np.float64) * (box.size / size) + np.array([box.x0, box.y0])


def frame_to_crop(points: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """Frame pixel coordinates (..., 2) -> crop pixel coordinates."""
    return (np.asarray(points, np.float64) - np.array([box.x0, box.y0])) * (size / box.size)


def normalize_chw(x):
    """Float RGB in [0, 1], channels on axis -3 (NCHW or CHW), numpy or torch -> network input ``(x - MEAN) / STD``."""
    mean = np.asarray(MEAN, np.float32).reshape(3, 1, 1)
    std = np.asarray(STD, np.float32).reshape(3, 1, 1)
    if not isinstance(x, np.ndarray):  # torch tensor: same arithmetic with tensors of its dtype/device
        mean = x.new_tensor(mean)
        std = x.new_tensor(std)
    return (x - mean) / std


def normalize(crop: np.ndarray) -> np.ndarray:
    """uint8 RGB crop (H, W, 3) or batch (N, H, W, 3) -> float32 NCHW network input in [-1, 1] (N = 1 for one crop)."""
    crop = np.asarray(crop)
    if crop.dtype != np.uint8 or crop.shape[-1] != 3 or crop.ndim not in (3, 4):
        raise ValueError(f"normalize expects uint8 RGB (H, W, 3) or (N, H, W, 3), got {crop.shape} {crop.dtype}")
    batch = crop[None] if crop.ndim == 3 else crop
    x = batch.transpose(0, 3, 1, 2).astype(np.float32) * np.float32(1 / 255)
    return np.ascontiguousarray(normalize_chw(x), np.float32)


def denormalize(x: np.ndarray) -> np.ndarray:
    """Inverse of ``normalize``: float32 NCHW -> uint8 NHWC RGB (for looking at network inputs)."""
    mean = np.asarray(MEAN, np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(STD, np.float32).reshape(1, 3, 1, 1)
    rgb = (np.asarray(x, np.float32) * std + mean).transpose(0, 2, 3, 1)
    return np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)
