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

Half the face in shadow (a window's hard side light, a shadow's edge down the nose) is not a darker face: one gain
that the lit half already meets leaves the other half dark, and the network read such crops badly (the talking clip
with its left half at 0.2 of its values: canonical points 13 mm median from its answers lit, the bake's landmark error
0.036 -> 0.058 IOD). So first ``side_gains`` reads the face band in ``SIDE_STRIPS`` upright strips and lifts each strip
that reads more than ``SIDE_FREE`` times under the brightest one by the excess, at most ``SIDE_MAX_GAIN``. The
renders' own key light reaches such ratios (7 % of them over 5x), which the network reads, and the clips as shot
reach 5.0x at most: ``SIDE_FREE`` leaves them as they are. The strips read the crop, not the face: beside a profile
they read hair or a dark background and lift it too. Measured in docs/MEASUREMENTS.md, "Half the face in shadow"
(``benchmarks/bench_side_light.py``); a hat brim's shadow (light from above) is not lifted.

A hat brim's shadow darkens the forehead, brows and eyes and leaves the cheeks lit; the network misreads the crop
(its canonical points 5-16 mm median from its answers lit) and the fused head's brows stopped following the frowns.
No lift mends it (docs/MEASUREMENTS.md, "A hat brim's shadow"), but the frame can be told: ``forehead_light`` reads
each side's forehead against its cheek on MediaPipe's landmarks (the tracker's ``FaceState.forehead_light``), and the
fusion leans on the landmarks where the forehead is in shadow (bake.fusion.shaded_dense). A face half in shadow
keeps the reading near its lit value (each side is read against itself, the brighter side counts), and so does a
dark fringe over the forehead (the skin between the brows, which a brim's shadow covers, is read too).
"""
from __future__ import annotations

import cv2
import numpy as np

FACE_WINDOW = 0.3        # side of the centre window, in crop sides, that holds the face
FACE_QUANTILE = 0.75     # the window's luminance at this quantile is the face's reading
LIFT_TO = 0.49           # sRGB: the held-out renders' median reading (256 renders: 0.32-0.68 from 5 % to 95 %)
SIDE_ROWS = (0.35, 0.65)  # the face band (crop sides, top to bottom): brows' foot to the mouth
SIDE_COLUMNS = (0.3, 0.7)  # ... and its width, cut into SIDE_STRIPS upright strips, each read as the window is
SIDE_STRIPS = 10
SIDE_FREE = 5.0          # the lit strip's reading over a darker one's that is left as it is (linear light)
SIDE_MAX_GAIN = 6.0      # the most a strip is lifted: one darker still is not skin in shadow but hair, glasses
_LUMA = np.array([0.2126, 0.7152, 0.0722])                   # Rec. 709, as training.synth.shading weighs the face
# MediaPipe's landmarks read by ``forehead_light``, per side of the subject (right, left): the forehead's skin above
# the brows (its middle in both) and the cheek below the eye, beside the nose; and the nose bridge's top between the
# brows (BRIDGE_TOP), which a brim's shadow covers and a fringe of hair leaves bare. Each a square PATCH eye
# distances wide.
FOREHEAD_CHEEK = (((151, 9, 108, 69), (50, 205)), ((151, 9, 337, 299), (280, 425)))
BRIDGE_TOP = 168
_READ = sorted({i for side in FOREHEAD_CHEEK for group in side for i in group} | {BRIDGE_TOP})
EYE_OUTER = (33, 263)
PATCH = 0.12


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
_MAX_SIDE_RATIO = 255.0 ** 2                                 # a black strip reads as this far under the lit one


def forehead_light(image: np.ndarray, landmarks: np.ndarray) -> float:
    """The light above the eyes over the cheek's (linear luminance, each the median of its ``FOREHEAD_CHEEK``
    patches on one side of the subject; above the eyes, the forehead's or the nose bridge's top's, whichever is
    brighter, so a dark fringe over a lit face does not count; the brighter side's) in ``image`` (H, W, 3) uint8
    RGB with MediaPipe's ``landmarks`` (478, >=2) frame pixels: 1.0-2.4 on the real clips as shot, 0.07-0.27 with
    a hat brim's shadow at a fifth of the light (``benchmarks/bench_real.py --reshoot brim:1``). A side whose
    patches all lie outside the frame is not read; NaN when neither is."""
    pts = np.asarray(landmarks, np.float64)[:, :2]
    r = max(1, int(0.5 * PATCH * np.linalg.norm(pts[EYE_OUTER[0]] - pts[EYE_OUTER[1]])))
    patch = _patch_medians(image, pts[list(_READ)], r)

    def read(points) -> float:
        vals = patch[[_READ.index(i) for i in points]]
        vals = vals[np.isfinite(vals)]
        return float(np.median(vals)) if len(vals) else np.nan

    bridge = read([BRIDGE_TOP])
    sides = [np.fmax(read(top), bridge) / max(read(cheek), 1e-6) for top, cheek in FOREHEAD_CHEEK]
    sides = [v for v in sides if np.isfinite(v)]
    return float(max(sides)) if sides else np.nan


def _patch_medians(image: np.ndarray, points: np.ndarray, r: int) -> np.ndarray:
    """(K,) the median linear luminance of the square of side 2r+1 pixels about each of ``points`` (K, 2) (the
    pixels whose index is within r of the point's, clipped to ``image``); NaN where none is in the frame. The
    squares wholly inside the frame are read in one gather."""
    h, w = image.shape[:2]
    corner = np.floor(points).astype(np.int64) - r                     # (x, y) of each square's first pixel
    inside = (corner >= 0).all(1) & (corner[:, 0] + 2 * r < w) & (corner[:, 1] + 2 * r < h)
    out = np.full(len(points), np.nan)
    if inside.any():
        k = np.arange(2 * r + 1)
        ys, xs = corner[inside, 1, None] + k, corner[inside, 0, None] + k
        out[inside] = np.median((_LINEAR[image[ys[:, :, None], xs[:, None, :]]] @ _LUMA).reshape(len(ys), -1), axis=1)
    for i in np.nonzero(~inside)[0]:
        (x0, y0), (x1, y1) = np.maximum(corner[i], 0), np.minimum(corner[i] + 2 * r + 1, (w, h))
        if x1 > x0 and y1 > y0:
            out[i] = np.median(_LINEAR[image[y0:y1, x0:x1]] @ _LUMA)
    return out


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


def side_gains(crop: np.ndarray) -> np.ndarray:
    """(S,) factor on linear light per column of ``crop`` (S, S, 3) uint8 RGB that lifts a face half in shadow
    towards its lit half: each strip of the face band whose reading (``FACE_QUANTILE``) falls more than
    ``SIDE_FREE`` times under the brightest strip's is lifted by the excess, at most ``SIDE_MAX_GAIN``, the factor
    interpolated between the strips' centres (in log) and held beyond them; all ones where no strip falls that far.
    Continuous in the readings: a face lit just past ``SIDE_FREE`` is lifted by a hair."""
    s = crop.shape[0]
    read, centres = strip_readings(crop)
    if read.max() <= 0.0:                                    # black: nothing there to read
        return np.ones(s)
    lift = read.max() / (SIDE_FREE * np.maximum(read, read.max() / _MAX_SIDE_RATIO))
    if (lift <= 1.0).all():
        return np.ones(s)
    return np.exp(np.interp(np.arange(s), centres, np.log(np.clip(lift, 1.0, SIDE_MAX_GAIN))))


def strip_readings(crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The face band's ``SIDE_STRIPS`` readings across ``crop`` (S, S, 3) uint8 RGB, left to right (linear light,
    the ``FACE_QUANTILE`` quantile of each strip), and the strips' centres in pixels."""
    s = crop.shape[0]
    r0, r1 = (int(round(s * f)) for f in SIDE_ROWS)
    edges = np.rint(np.linspace(*SIDE_COLUMNS, SIDE_STRIPS + 1) * s).astype(int)
    lum = _LINEAR[crop[r0:r1, edges[0]:edges[-1]]] @ _LUMA
    starts, widths = edges[:-1] - edges[0], np.diff(edges)
    read = np.empty(SIDE_STRIPS)
    for w in np.unique(widths):              # one quantile call per strip width (np.quantile's call is the cost)
        k = np.nonzero(widths == w)[0]
        strips = np.stack([lum[:, a:a + w].ravel() for a in starts[k]])
        read[k] = np.quantile(strips, FACE_QUANTILE, axis=1)
    return read, 0.5 * (edges[:-1] + edges[1:]) - 0.5


def match_exposure(crop: np.ndarray) -> np.ndarray:
    """``crop`` (S, S, 3) uint8 RGB with a half in shadow lifted by ``side_gains``, then lifted by
    ``exposure_gain``; the same array when both are 1."""
    side = side_gains(crop)
    if (side != 1.0).any():
        crop = np.clip(np.rint(255.0 * to_srgb(_LINEAR[crop] * side[None, :, None])), 0, 255).astype(np.uint8)
    gain = exposure_gain(crop)
    if gain == 1.0:
        return crop
    lut = np.clip(np.rint(255.0 * to_srgb(_LINEAR * gain)), 0, 255).astype(np.uint8)
    return cv2.LUT(np.ascontiguousarray(crop), lut)
