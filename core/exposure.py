"""The network's crops lifted to the exposure its training renders had.

training.synth sets each render's exposure on the face: the median linear luminance of the head's pixels is
``exposure ** 2.2`` with ``exposure`` drawn from 0.30-0.55 (training/synth/sampling.py, ``sample_sensor``), then a
white balance of a few per cent per channel and a contrast of 0.85-1.2 about mid-grey in sRGB: the face's median at
0.25-0.59 in sRGB, and the network has seen no darker face. Footage from a dim room puts it far below (a third of
the light: 0.12 on the press clip), and the network's canonical points and depth then drift with the darkness; on
held-out renders at 0.35 of their light its canonical error rose 4.8 -> 7.1 mm median, at 0.2 to 39 mm, and the bake
of a real clip at 0.2 lost the face (docs/MEASUREMENTS.md, "The clips made worse").

``match_exposure`` scales a crop whose face reads under ``LIFT_TO`` in linear light, as a longer exposure would, until
it reads there; a crop at or over it is returned as it is. The face's reading is the ``FACE_QUANTILE`` quantile of the
luminance in the crop's centre window (``FACE_WINDOW`` of its side: core.framing centres the crop on the nose with the
face about half its side, so that window is skin, eyes and mouth); ``LIFT_TO`` is the renders' median of that reading.
The upper quantile rather than the median, because dark glasses, brows and shadow in the window pull a median down
where the skin is lit. Over-exposed crops are left alone: what clipped is gone, and darkening them read no better on
the renders. The landmark models normalise their own input and read dark faces well; only the dense network's crops
pass through here (core.runtime.Predictor). numpy + OpenCV.
"""
from __future__ import annotations

import cv2
import numpy as np

FACE_WINDOW = 0.3        # side of the centre window, in crop sides, that holds the face
FACE_QUANTILE = 0.75     # the window's luminance at this quantile is the face's reading
LIFT_TO = 0.49           # sRGB: the held-out renders' median reading (256 renders: 0.32-0.68 from 5 % to 95 %)
_LUMA = np.array([0.2126, 0.7152, 0.0722])                   # Rec. 709, as training.synth.shading weighs the face


def to_linear(v: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] -> linear light (the sRGB curve; training.synth_appearance.to_srgb's inverse)."""
    v = np.asarray(v, np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear light -> sRGB in [0, 1], clipped as a sensor clips (also core.footage's reading of linear EXR)."""
    x = np.clip(np.asarray(x, np.float64), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)


_LINEAR = to_linear(np.arange(256) / 255.0)                  # uint8 value -> linear light
_LIFT_TO = float(to_linear(LIFT_TO))


def face_luminance(crop: np.ndarray) -> float:
    """The face's reading in ``crop`` (S, S, 3) uint8 RGB: the ``FACE_QUANTILE`` quantile of the linear luminance
    in its centre window."""
    s = crop.shape[0]
    a, b = int(round(s * (0.5 - 0.5 * FACE_WINDOW))), int(round(s * (0.5 + 0.5 * FACE_WINDOW)))
    return float(np.quantile(_LINEAR[crop[a:b, a:b]] @ _LUMA, FACE_QUANTILE))


def exposure_gain(crop: np.ndarray) -> float:
    """The factor on linear light that lifts ``crop``'s face reading to ``LIFT_TO`` (1 when it is there or over,
    or when the window is black: nothing there to read)."""
    lum = face_luminance(crop)
    return _LIFT_TO / lum if 0.0 < lum < _LIFT_TO else 1.0


def match_exposure(crop: np.ndarray) -> np.ndarray:
    """``crop`` (S, S, 3) uint8 RGB lifted by ``exposure_gain``; the same array when the gain is 1."""
    gain = exposure_gain(crop)
    if gain == 1.0:
        return crop
    lut = np.clip(np.rint(255.0 * to_srgb(_LINEAR * gain)), 0, 255).astype(np.uint8)
    return cv2.LUT(np.ascontiguousarray(crop), lut)
