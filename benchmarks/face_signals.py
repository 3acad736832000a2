"""Face signals and follow metrics from 2-D landmarks of two families (dlib's 68 points, MediaPipe's 478), pure numpy.

Both families are reduced to the same named points (``SHARED``: the points both define alike), and every signal and
metric is computed on those, so the mesh (MediaPipe-indexed points of the baked head), MediaPipe's own landmarks and
dlib's oracle are read the same way. Left/right are the SUBJECT's: dlib 36-41 and MediaPipe 33/133 are the subject's
right eye, which is on the image's left in unmirrored footage.

Arrays are per frame: named points ``(T, N, 2)`` in pixels, NaN (or a False ``valid`` entry) where a frame has none.
Frames are consecutive source frames (time differences below assume that).

Signals (``signals``), each divided by that frame's inter-ocular distance (IOD: distance between the two eye centres,
an eye centre being the midpoint of its two corners). "Up" is the face's up in the image: perpendicular to the line
from the right to the left eye centre, so an in-plane head tilt changes none of them.
  mouth_open      inner upper lip midpoint above the inner lower lip midpoint, along "up" (signed: lips that pass
                  through each other read negative instead of open)
  eye_open_right  upper lid midpoint above the lower lid midpoint, along "up" (signed likewise: a mesh whose upper
                  lid sinks below its lower lid reads negative, not re-opened); subject's right eye (and eye_open_left)
  mouth_width     mouth corner to mouth corner (distance)
  brow_right      brow middle above the eye centre, along "up"; subject's right brow (and brow_left)
Eye aspect ratio (``eye_aspect_ratio``): eye opening / eye width (corner to corner), per eye; with one lid point per
lid it equals dlib's usual 6-point EAR up to the lid-midpoint averaging (and the sign).

Gaze (``look_mp478``, ``look_dlib``: "along"): where an eye looks sideways, as its iris centre's position along
the line from the eye's outer to its inner corner, in eye widths (0 at the outer corner, 1 at the inner). The mesh
and MediaPipe give iris centres (MediaPipe 468 / 473); dlib has none, so the oracle's is ``pupil_centre``: the
centroid of the darkest quarter of the pixels inside dlib's eye contour, a classic that shares nothing with either
model (read only where dlib sees the eye open). The vertical look (``look_mp478``, ``look_dlib``: "up") is the
same point's height above the corner line (``up_eye``); for the pupil a rougher reading, since a lowered lid hides
the iris's top.
"""
from __future__ import annotations

import numpy as np

# name, dlib-68 indices (0-based; averaged when two), MediaPipe-478 index.
# MediaPipe indices as in its face_mesh_connections / the tfjs keypoints annotations: right eye (subject's) outer 33,
# inner 133, lids 159 (upper, middle of rightEyeUpper0) / 145 (lower, middle of rightEyeLower0); left eye inner 362,
# outer 263, lids 386 / 374; brows' upper contour 70,63,105,66,107 and 300,293,334,296,336 (middles 105, 334);
# nose base 98,97,2,328,327 (2 = subnasale); outer lips 61..0..291 / 291..17..61; inner lips 13 / 14; chin 152.
# dlib: 36-41 subject's right eye (36 outer, 37-38 upper lid, 39 inner, 40-41 lower lid), 42-47 left eye
# (42 inner, 43-44 upper, 45 outer, 46-47 lower), brows 17-21 / 22-26 (middles 19 / 24), subnasale 33,
# mouth corners 48 / 54, outer lip midpoints 51 / 57, inner lip midpoints 62 / 66, chin 8.
# A dlib lid "midpoint" is the mean of its two lid points: it lies on their chord, a little inside the lid's curve.
SHARED = (
    ("right_eye_outer", (36,), 33),
    ("right_eye_inner", (39,), 133),
    ("right_eye_upper", (37, 38), 159),
    ("right_eye_lower", (40, 41), 145),
    ("left_eye_inner", (42,), 362),
    ("left_eye_outer", (45,), 263),
    ("left_eye_upper", (43, 44), 386),
    ("left_eye_lower", (46, 47), 374),
    ("right_brow_mid", (19,), 105),
    ("left_brow_mid", (24,), 334),
    ("subnasale", (33,), 2),
    ("mouth_right", (48,), 61),
    ("mouth_left", (54,), 291),
    ("lip_upper_outer", (51,), 0),
    ("lip_lower_outer", (57,), 17),
    ("lip_upper_inner", (62,), 13),
    ("lip_lower_inner", (66,), 14),
    ("chin", (8,), 152),
)
NAMES = tuple(s[0] for s in SHARED)
# The points issue 18's landmark-error target names (eye and mouth corners, lip midpoints, subnasale, chin; the two
# families disagree by about 0.020 IOD there): SHARED without the lids' and brows' midpoints, which each family places
# on its own curve (dlib's lid point is a chord's midpoint, its brow point the brow's top edge).
TARGET_POINTS = ("right_eye_outer", "right_eye_inner", "left_eye_inner", "left_eye_outer", "subnasale", "mouth_right",
                 "mouth_left", "lip_upper_outer", "lip_lower_outer", "lip_upper_inner", "lip_lower_inner", "chin")
IDX = {n: i for i, n in enumerate(NAMES)}
MP_INDEX = np.array([s[2] for s in SHARED])
SIGNALS = ("mouth_open", "eye_open_right", "eye_open_left", "mouth_width", "brow_right", "brow_left")
OPENINGS = ("mouth_open", "eye_open_right", "eye_open_left")      # the signed ones: below -CROSSED_IOD, crossed

# An eye counts as closed where its aspect ratio is below CLOSED_FRACTION x the clip's open-eye value, taken as the
# 90th percentile of its aspect ratio over the clip (not the median: a clip may hold the eyes shut for a long stretch,
# which drags the median down; the 90th percentile stays an open eye as long as the eyes are open in a tenth of the
# frames). The aspect ratio is close to linear in the lid opening, so 0.5 = "more than half closed", the same point at
# which the baked eyeBlink weight is counted (> 0.5). docs/MEASUREMENTS.md says what this reads on the real clips.
OPEN_QUANTILE = 0.9
CLOSED_FRACTION = 0.5
BLINK_WEIGHT = 0.5
MIN_SPEED_IOD = 0.01        # head speed ratio: frames where the oracle's centroid moves > 0.01 IOD per frame
MAX_LAG = 5                 # frames searched for the best-aligning time shift
# A signed opening below -CROSSED_IOD counts as crossed (crossed_frames): lids that meet read about 0, and on a closed
# eye the sign of that 0 depends on the head's pitch (the lid points sit at different depths), so negative_frames
# counts shut eyes too; 0.02 IOD is about 1.3 mm of real crossing. ``compare`` also gives each signal's correlation
# without the frames where the ORACLE's lips or lids cross (``r_oracle_uncrossed``, ``oracle_crossed_frames``): real
# lips cannot pass through each other, so such a frame is the oracle failing, and a few of them can decide a
# correlation (dlib on 4 of the expressions clip's 354 frames: its mouth width collapses there too). ``r`` keeps
# every frame the oracle found a face in: it is the figure the targets are read on.
CROSSED_IOD = 0.02


# dlib's 68 points of a face seen in a mirror: DLIB_MIRROR[j] is the point that lands where point j would be (the jaw
# line and brows run the other way, the eyes and the mouth's corners swap sides, the midline keeps its points). A
# mirrored image's points are the original's, x reflected, re-indexed by it (reshoots.Reshot.carry).
_DLIB_PAIRS = (tuple(zip(range(0, 8), range(16, 8, -1))) + tuple(zip(range(17, 22), range(26, 21, -1)))
               + ((31, 35), (32, 34), (36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46), (48, 54), (49, 53),
                  (50, 52), (55, 59), (56, 58), (60, 64), (61, 63), (65, 67)))
DLIB_MIRROR = np.arange(68)
for _a, _b in _DLIB_PAIRS:
    DLIB_MIRROR[_a], DLIB_MIRROR[_b] = _b, _a

GAZE_MP = {"right": (468, 33, 133), "left": (473, 263, 362)}              # iris centre, outer corner, inner corner
GAZE_DLIB = {"right": (tuple(range(36, 42)), 36, 39), "left": (tuple(range(42, 48)), 45, 42)}   # contour, corners
PUPIL_DARK = 0.25


def named(points: np.ndarray, family: str) -> np.ndarray:
    """(..., 68 or 478, 2+) landmarks of one family -> (..., N, 2) named points in ``SHARED`` order."""
    p = np.asarray(points, np.float64)[..., :2]
    if family == "dlib68":
        if p.shape[-2] != 68:
            raise ValueError(f"dlib68 points must have 68 rows, got {p.shape}")
        return np.stack([p[..., list(ix), :].mean(-2) for _, ix, _ in SHARED], -2)
    if family == "mp478":
        if p.shape[-2] not in (468, 478):
            raise ValueError(f"MediaPipe points must have 468 or 478 rows, got {p.shape}")
        return p[..., MP_INDEX, :]
    raise ValueError(f"unknown landmark family {family!r} (dlib68 | mp478)")


def _pt(n: np.ndarray, name: str) -> np.ndarray:
    return n[..., IDX[name], :]


def eye_centres(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(right, left) eye centres = midpoints of each eye's corners."""
    return ((_pt(n, "right_eye_outer") + _pt(n, "right_eye_inner")) / 2,
            (_pt(n, "left_eye_outer") + _pt(n, "left_eye_inner")) / 2)


def iod(n: np.ndarray) -> np.ndarray:
    right, left = eye_centres(n)
    return np.linalg.norm(left - right, axis=-1)


def _dist(n, a, b):
    return np.linalg.norm(_pt(n, a) - _pt(n, b), axis=-1)


def face_up(n: np.ndarray) -> np.ndarray:
    """(..., 2) unit vector of the face's up in the image: the right -> left eye direction turned towards the forehead
    (image y points down)."""
    right, left = eye_centres(n)
    e = (left - right) / iod(n)[..., None]
    return np.stack([e[..., 1], -e[..., 0]], -1)


def _above(n, a, b, up):
    """How far point ``a`` lies above point ``b`` along ``up`` (pixels, signed)."""
    return ((_pt(n, a) - _pt(n, b)) * up).sum(-1)


def signals(n: np.ndarray) -> dict[str, np.ndarray]:
    """The per-frame signals (see the module docstring), each (T,), in IOD."""
    right, left = eye_centres(n)
    d, up = iod(n), face_up(n)
    return dict(
        mouth_open=_above(n, "lip_upper_inner", "lip_lower_inner", up) / d,
        eye_open_right=_above(n, "right_eye_upper", "right_eye_lower", up) / d,
        eye_open_left=_above(n, "left_eye_upper", "left_eye_lower", up) / d,
        mouth_width=_dist(n, "mouth_right", "mouth_left") / d,
        brow_right=((_pt(n, "right_brow_mid") - right) * up).sum(-1) / d,
        brow_left=((_pt(n, "left_brow_mid") - left) * up).sum(-1) / d,
    )


def eye_aspect_ratio(n: np.ndarray) -> dict[str, np.ndarray]:
    """Eye opening (signed, as in ``signals``) / eye width, per eye: {"right": (T,), "left": (T,)}."""
    up = face_up(n)
    return {side: _above(n, f"{side}_eye_upper", f"{side}_eye_lower", up)
            / _dist(n, f"{side}_eye_outer", f"{side}_eye_inner") for side in ("right", "left")}


def eyes_closed(n: np.ndarray, valid: np.ndarray, fraction: float = CLOSED_FRACTION) -> dict[str, np.ndarray]:
    """Per eye, (T,) bool: aspect ratio below ``fraction`` x its ``OPEN_QUANTILE`` quantile over the valid frames."""
    out = {}
    for side, ear in eye_aspect_ratio(n).items():
        ok = valid & np.isfinite(ear)
        thr = fraction * np.quantile(ear[ok], OPEN_QUANTILE) if ok.any() else np.nan
        out[side] = ok & (ear < thr)
    return out


def along_eye(p: np.ndarray, outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """(...,) position of points ``p`` (..., 2) along outer -> inner corner, in eye widths (0 outer, 1 inner)."""
    axis = inner - outer
    return ((p - outer) * axis).sum(-1) / (axis * axis).sum(-1)


def up_eye(p: np.ndarray, outer: np.ndarray, inner: np.ndarray, side: str) -> np.ndarray:
    """(...,) how far points ``p`` (..., 2) lie above the ``side`` ("right" / "left") eye's corner line, at right
    angles to it, in eye widths from its midpoint; "above" is towards the brows of a face the right way up, and the
    same for both eyes and in a mirrored image."""
    axis = inner - outer if side == "right" else outer - inner          # from the subject's right to the left
    up = np.stack([axis[..., 1], -axis[..., 0]], -1)
    return ((p - 0.5 * (outer + inner)) * up).sum(-1) / (axis * axis).sum(-1)


def look_mp478(points: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Each eye's look from MediaPipe-indexed points (T, 478, 2) (the mesh's or MediaPipe's own): {"along":
    ``along_eye``, "up": ``up_eye``}, each {"right": (T,), "left": (T,)}, of the iris centre."""
    p = np.asarray(points, np.float64)[..., :2]
    return dict(along={side: along_eye(p[:, c], p[:, o], p[:, i]) for side, (c, o, i) in GAZE_MP.items()},
                up={side: up_eye(p[:, c], p[:, o], p[:, i], side) for side, (c, o, i) in GAZE_MP.items()})


def pupil_centre(gray: np.ndarray, contour: np.ndarray) -> np.ndarray:
    """(2,) pixel centroid of the darkest ``PUPIL_DARK`` of the pixels of ``gray`` (H, W) inside the polygon
    ``contour`` (K, 2); NaN when the polygon covers under 10 pixels."""
    import cv2
    mask = np.zeros(gray.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(contour).astype(np.int32)], 1)
    ys, xs = np.nonzero(mask)
    if len(xs) < 10:
        return np.full(2, np.nan)
    v = gray[ys, xs].astype(np.float64)
    dark = v <= np.quantile(v, PUPIL_DARK)
    return np.array([xs[dark].mean(), ys[dark].mean()])


def look_dlib(gray_frames, points: np.ndarray, found: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """The oracle's look per eye as ``look_mp478`` gives it, of ``pupil_centre`` in each dlib eye contour, from
    ``gray_frames`` (an iterable of (row of ``points`` (T, 68, 2), (H, W) grey image)); NaN where a row has no
    frame or ``found`` is False. The pupil's height is the rougher reading: a lid over the iris moves the dark
    pixels too."""
    out = {k: {side: np.full(len(points), np.nan) for side in GAZE_DLIB} for k in ("along", "up")}
    for t, gray in gray_frames:
        if not 0 <= t < len(points) or not found[t]:
            continue
        for side, (contour, o, i) in GAZE_DLIB.items():
            c = pupil_centre(gray, points[t, list(contour)])
            out["along"][side][t] = along_eye(c, points[t, o], points[t, i])
            out["up"][side][t] = up_eye(c, points[t, o], points[t, i], side)
    return out


def compare_gaze(a: dict, b: dict, open_eyes: dict) -> dict:
    """Per eye, ``a``'s gaze against the oracle's ``b`` on the frames ``open_eyes`` (per eye (T,) bool): r, gain,
    frames."""
    out = {}
    for side in ("right", "left"):
        ok = np.asarray(open_eyes[side], bool) & np.isfinite(a[side]) & np.isfinite(b[side])
        out[side] = dict(r=correlation(a[side], b[side], ok), gain=gain(a[side], b[side], ok), frames=int(ok.sum()))
    return out


def compare_both_eyes(a: dict, b: dict, both_open: np.ndarray) -> dict:
    """``a``'s mean over the two eyes (``a`` per eye (T,)) against the oracle's ``b`` alike, on the frames
    ``both_open`` (T,) bool: r, gain, frames. For the vertical look, which the eyes share: a reading of one eye
    alone carries its own noise (dlib's pupils read each eye's height from its darkest pixels, which a lid moves)."""
    mean = lambda x: 0.5 * (np.asarray(x["right"], float) + np.asarray(x["left"], float))   # noqa: E731
    ok = np.asarray(both_open, bool)
    return dict(r=correlation(mean(a), mean(b), ok), gain=gain(mean(a), mean(b), ok),
                frames=int((ok & np.isfinite(mean(a)) & np.isfinite(mean(b))).sum()))


def looks_apart(vertical: dict, inward: dict, both_open: np.ndarray) -> dict:
    """How far apart the two eyes look, over the frames ``both_open`` (T,) bool, in ARKit weights (NaN without such
    frames): up or down (``vertical`` per eye (T,): eyeLookUp less eyeLookDown, the exported weights; the eyes turn up
    and down together), the median and 90th percentile of |right - left|; sideways (``inward`` per eye (T,):
    eyeLookIn less eyeLookOut), the median and 10th percentile of the two eyes' sum (``inward_*``: above 0 they
    converge on a near point, below 0 they diverge, which eyes do not)."""
    ok = np.asarray(both_open, bool)
    d = np.abs(np.asarray(vertical["right"], float) - np.asarray(vertical["left"], float))
    d = d[ok & np.isfinite(d)]
    turn = np.asarray(inward["right"], float) + np.asarray(inward["left"], float)
    turn = turn[ok & np.isfinite(turn)]
    q = lambda x, p: float(np.quantile(x, p)) if x.size else np.nan     # noqa: E731
    return dict(median=q(d, 0.5), p90=q(d, 0.9), frames=int(d.size), inward_median=q(turn, 0.5),
                inward_p10=q(turn, 0.1))


# ------------------------------------------------------------------------------------------------------- metrics
def correlation(a: np.ndarray, b: np.ndarray, valid: np.ndarray | None = None, lag: int = 0) -> float:
    """Pearson correlation of a[t + lag] with b[t] over frames valid in both (NaN when < 3 frames or constant)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.ones(len(a), bool) if valid is None else np.asarray(valid, bool).copy()
    ok &= np.isfinite(a) & np.isfinite(b)
    if lag > 0:
        a, b, ok = a[lag:], b[:-lag], ok[lag:] & ok[:-lag]
    elif lag < 0:
        a, b, ok = a[:lag], b[-lag:], ok[:lag] & ok[-lag:]
    if ok.sum() < 3:
        return float("nan")
    x, y = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    den = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / den) if den > 0 else float("nan")


def gain(a: np.ndarray, b: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Standard deviation of ``a`` over that of ``b`` on frames valid in both: how much of ``b``'s movement ``a``
    shows (a correlation alone does not tell a faithful signal from a faint one)."""
    ok = np.isfinite(a) & np.isfinite(b) & (True if valid is None else np.asarray(valid, bool))
    if ok.sum() < 3 or np.std(b[ok]) == 0:
        return float("nan")
    return float(np.std(a[ok]) / np.std(b[ok]))


# How sure an r over a short clip is (``r_interval``): a moving-block bootstrap (blocks of BLOCK_FRAMES consecutive
# frames drawn with replacement until the clip's length, so the signals' frame-to-frame correlation stays inside a
# block), BOOTSTRAP_DRAWS draws from a fixed seed; the 5th and 95th percentiles of r over the draws. On a clip whose
# signal barely moves (the talking clip's brows: half a pixel) the interval is wide, and a target between its ends
# is neither met nor missed by the clip.
BLOCK_FRAMES = 8
BOOTSTRAP_DRAWS = 1000


def block_draws(n: int, block: int = BLOCK_FRAMES, draws: int = BOOTSTRAP_DRAWS, seed: int = 0) -> np.ndarray | None:
    """(draws, n) frame indices of moving-block bootstrap draws of ``n`` consecutive frames (None under 2 blocks)."""
    if n < 2 * block:
        return None
    starts = np.random.default_rng(seed).integers(0, n - block + 1, (draws, -(-n // block)))
    return (starts[..., None] + np.arange(block)).reshape(draws, -1)[:, :n]


def r_interval(a: np.ndarray, b: np.ndarray, valid: np.ndarray | None = None, block: int = BLOCK_FRAMES,
               draws: int = BOOTSTRAP_DRAWS, seed: int = 0) -> list[float]:
    """[5th, 95th] percentile of ``correlation(a, b)`` over moving-block bootstrap draws of the frames valid in both
    (NaN, NaN where fewer than 2 blocks' worth of frames are)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.ones(len(a), bool) if valid is None else np.asarray(valid, bool).copy()
    ok &= np.isfinite(a) & np.isfinite(b)
    x, y = a[ok], b[ok]
    idx = block_draws(len(x), block, draws, seed)
    if idx is None:
        return [float("nan"), float("nan")]
    xs, ys = x[idx], y[idx]
    xs, ys = xs - xs.mean(1, keepdims=True), ys - ys.mean(1, keepdims=True)
    den = np.sqrt((xs * xs).sum(1) * (ys * ys).sum(1))
    r = np.where(den > 0, (xs * ys).sum(1) / np.where(den > 0, den, 1.0), np.nan)
    lo, hi = np.nanpercentile(r, [5, 95])
    return [float(lo), float(hi)]


def best_lag(a: np.ndarray, b: np.ndarray, valid: np.ndarray | None = None,
             max_lag: int = MAX_LAG) -> tuple[int, float]:
    """The shift (frames; positive = ``a`` lags behind ``b``) within +-max_lag with the highest correlation."""
    best = (0, float("nan"))
    for lag in range(-max_lag, max_lag + 1):
        r = correlation(a, b, valid, lag)
        if np.isfinite(r) and not (np.isfinite(best[1]) and r <= best[1]):
            best = (lag, r)
    return best


def f1(pred: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None) -> dict:
    """Frame-level precision / recall / F1 of boolean ``pred`` against ``truth`` (NaN where undefined)."""
    ok = np.ones(len(truth), bool) if valid is None else np.asarray(valid, bool)
    p, t = np.asarray(pred, bool)[ok], np.asarray(truth, bool)[ok]
    tp, fp, fn = int((p & t).sum()), int((p & ~t).sum()), int((~p & t).sum())
    prec = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / (tp + fn) if tp + fn else float("nan")
    f = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    return dict(precision=prec, recall=rec, f1=f, frames_truth=int(t.sum()), frames_pred=int(p.sum()),
                events_truth=events(t), events_pred=events(p))


def events(x: np.ndarray) -> int:
    """Number of runs of True."""
    x = np.asarray(x, bool)
    return int(x[0] + (x[1:] & ~x[:-1]).sum()) if len(x) else 0


END_FRAMES = 3      # landmark_error's "ends": the first and last this many frames the oracle found


def landmark_error(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> dict:
    """Distance between the named points of ``a`` and ``b`` in ``b``'s IOD: median over frames of the per-frame mean
    over points, its 90th percentile, the same median over ``TARGET_POINTS`` only (and its 5th-95th percentile over
    moving-block bootstrap draws of the frames, ``target_points_interval``, as ``r_interval``), the median per point,
    and ``ends``, the per-frame mean over the first and last ``END_FRAMES`` frames (a filter that pulls the clip's
    ends towards its inside shows there, and hardly in the median)."""
    e = np.linalg.norm(a - b, axis=-1) / iod(b)[:, None]            # (T, N)
    ok = valid & np.isfinite(e).all(1)
    if not ok.any():
        return dict(median=float("nan"), p90=float("nan"), median_target_points=float("nan"), per_point={},
                    ends=float("nan"), target_points_interval=[float("nan"), float("nan")])
    per_frame = e[ok].mean(1)
    target = e[ok][:, [IDX[n] for n in TARGET_POINTS]].mean(1)
    ends = np.concatenate([per_frame[:END_FRAMES], per_frame[-END_FRAMES:]])
    idx = block_draws(len(target))
    interval = [float("nan")] * 2 if idx is None else \
        [float(v) for v in np.percentile(np.median(target[idx], 1), [5, 95])]
    return dict(median=float(np.median(per_frame)), p90=float(np.quantile(per_frame, 0.9)),
                median_target_points=float(np.median(target)), target_points_interval=interval,
                per_point={name: float(np.median(e[ok, i])) for i, name in enumerate(NAMES)},
                ends=float(ends.mean()))


CUT_FRAMES = 3      # cut_errors: a cut's frame and the next ones, where a filter that smooths across it shows


def cut_errors(a: np.ndarray, b: np.ndarray, valid: np.ndarray, frames: np.ndarray, cuts) -> dict:
    """The landmark error (as ``landmark_error``'s per frame: the mean over the named points, in ``b``'s IOD) on the
    first ``CUT_FRAMES`` frames of each shot after a cut (``cuts``: the frames, of ``frames``, that begin one), each
    frame's (NaN where the oracle found none), their worst, and the median over every other frame: what a camera cut
    costs the frames around it; and ``head_speed_ratio`` within the shots (the last frame before each cut and the cut's
    own left out: the oracle's 3-frame mean spreads a cut's jump over the frames beside it, which no head moves
    through)."""
    e = (np.linalg.norm(a - b, axis=-1) / iod(b)[:, None]).mean(1)
    e = np.where(np.asarray(valid, bool), e, np.nan)
    frames = np.asarray(frames)
    after = {int(c): [float(e[k]) for k in np.flatnonzero((frames >= c) & (frames < c + CUT_FRAMES))] for c in cuts}
    near = np.isin(frames, [c + k for c in after for k in range(CUT_FRAMES)])
    edges = np.isin(frames, [c + k for c in after for k in (-1, 0)])
    return dict(at_cuts=after, worst=float(np.nanmax([v for vs in after.values() for v in vs] or [np.nan])),
                between=float(np.nanmedian(e[~near])),
                head_speed_in_shots=head_speed_ratio(a, b, np.asarray(valid, bool) & ~edges))


# ``mouth_offsets``: where the measured mouth sits against the reference's, as the mouth widens. Each corner's offset
# along the reference's mouth line (from the midpoint between its corners out through that corner: + = the measured
# mouth wider), the lip midpoints' and the chin's along the reference's face up (+ = higher), in the reference's IOD;
# the median over the quarter of frames where the reference's mouth is narrowest (``narrow``: a mouth at rest or
# pursed), the quarter where it is widest (``wide``: smiling), all frames, and r of the offset with that width.
MOUTH_POINTS = ("mouth_right", "mouth_left", "lip_upper_outer", "lip_lower_outer", "lip_upper_inner",
                "lip_lower_inner", "chin")
MOUTH_QUARTER = 0.25


def mouth_offsets(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> dict:
    """``a``'s mouth points against ``b``'s (named points; the comment above), over the ``valid`` frames where both
    are finite: {point: {narrow, wide, all, r_width}} and the frames in each quarter (no points under 4 frames)."""
    ok = np.asarray(valid, bool) & np.isfinite(a).all((1, 2)) & np.isfinite(b).all((1, 2))
    if ok.sum() < 4:
        return dict(frames=int(ok.sum()), quarter_frames=0, points={})
    d, up = iod(b), face_up(b)
    mid = (_pt(b, "mouth_right") + _pt(b, "mouth_left")) / 2
    width = signals(b)["mouth_width"]
    low, high = np.quantile(width[ok], [MOUTH_QUARTER, 1.0 - MOUTH_QUARTER])
    narrow, wide = ok & (width <= low), ok & (width >= high)
    points = {}
    for name in MOUTH_POINTS:
        if name.startswith("mouth_"):
            out = _pt(b, name) - mid
            axis = out / np.maximum(np.linalg.norm(out, axis=-1, keepdims=True), 1e-12)
        else:
            axis = up
        off = ((_pt(a, name) - _pt(b, name)) * axis).sum(-1) / d
        points[name] = dict(narrow=float(np.median(off[narrow])), wide=float(np.median(off[wide])),
                            all=float(np.median(off[ok])), r_width=correlation(off, width, ok))
    return dict(frames=int(ok.sum()), quarter_frames=int(narrow.sum()), points=points)



# ``midline_aside``: how the measured chin and mouth follow the reference's sideways, along the reference's eye line
# (+ = towards the subject's left), each point's offset from the subnasale (so a head placed a little aside or turned
# alike in both does not count) less the reference's, in its IOD, the clip's median offset taken off (a steady offset
# is the subject's own face, read by ``mouth_offsets`` and the landmark error). A smirk pulls the lips aside while the
# chin stays: a chin that swings with them, or a mouth that does not follow, shows as an excursion here. Per point:
# the 95th percentile of the excursion's size, the most, and the frames it exceeds ASIDE_IOD (about 2 mm).
ASIDE_POINTS = ("chin", "mouth_middle")
ASIDE_IOD = 0.03


def midline_aside(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> dict:
    """``a``'s chin and mouth middle (its corners' midpoint) against ``b``'s sideways (named points; the comment
    above), over the ``valid`` frames where both are finite: {point: {p95, most, frames_over}} (no points under 4
    frames)."""
    ok = np.asarray(valid, bool) & np.isfinite(a).all((1, 2)) & np.isfinite(b).all((1, 2))
    if ok.sum() < 4:
        return dict(frames=int(ok.sum()), points={})
    right, left = eye_centres(b)
    d = iod(b)
    side = (left - right) / d[..., None]

    def places(n):
        nose = _pt(n, "subnasale")
        return dict(chin=_pt(n, "chin") - nose, mouth_middle=(_pt(n, "mouth_right") + _pt(n, "mouth_left")) / 2 - nose)
    pa, pb = places(a), places(b)
    points = {}
    for name in ASIDE_POINTS:
        off = ((pa[name] - pb[name]) * side).sum(-1)[ok] / d[ok]
        size = np.abs(off - np.median(off))
        points[name] = dict(p95=float(np.quantile(size, 0.95)), most=float(size.max()),
                            frames_over=int((size > ASIDE_IOD).sum()))
    return dict(frames=int(ok.sum()), points=points)

# The face's width, which none of the 18 points reads: another source's outline (the mesh's silhouette, MediaPipe's
# face oval) against dlib's jaw contour, each pair of its points (subject's right, left) read at its own height, in
# the image turned by dlib's eye line about its nose tip (30). A turned head's outline is another line of skin for
# each family, so it is read where that nose tip lies within FRONTAL_WIDTH of the middle of the cheekbones' pair.
OUTLINE_DLIB = ((0, 16), (1, 15), (2, 14), (3, 13), (4, 12))     # from the eyes' height to below the mouth
CHEEKBONES = (1, 15)
FRONTAL_WIDTH = 0.1


def outline_rows(dlib68: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dlib's frame for ``outline_width``: the turn (T, 2, 2) that levels its eye line, the centre it turns about (T,
    2) and each of ``OUTLINE_DLIB``'s pairs' height there (T, R); a point ``p`` of the image is at ``turn @ (p -
    centre)``."""
    b = np.asarray(dlib68, np.float64)[..., :2]
    right, left = eye_centres(named(b, "dlib68"))
    from bake.face_outline import levelling
    turn = levelling(np.arctan2(left[:, 1] - right[:, 1], left[:, 0] - right[:, 0]))
    centre = b[:, 30]
    flat = np.einsum("tij,tlj->tli", turn, b - centre[:, None])
    pairs = np.array(OUTLINE_DLIB)
    return turn, centre, 0.5 * (flat[:, pairs[:, 0], 1] + flat[:, pairs[:, 1], 1])


def _contour(dlib68: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dlib's contour in ``outline_rows``' frame: each pair's ends' x (T, R, 2: subject's right, left) and where the
    nose tip (30) lies across the cheekbones' pair (T,; 0.5 = its middle, the head facing the camera)."""
    b = np.asarray(dlib68, np.float64)[..., :2]
    turn, centre, _ = outline_rows(b)
    flat = np.einsum("tij,tlj->tli", turn, b - centre[:, None])
    pairs = np.array(OUTLINE_DLIB)
    cheeks = flat[:, list(CHEEKBONES)]
    middle = (flat[:, 30, 0] - cheeks[:, 0, 0]) / (cheeks[:, 1, 0] - cheeks[:, 0, 0])
    return np.stack([flat[:, pairs[:, 0], 0], flat[:, pairs[:, 1], 0]], -1), middle


def _by_row(values: np.ndarray, ok: np.ndarray) -> dict:
    """{"r/l": median of ``values`` (T, R) over each row's ``ok`` (T, R) frames, None under 4}."""
    return {f"{r}/{l}": float(np.median(values[ok[:, k], k])) if ok[:, k].sum() >= 4 else None
            for k, (r, l) in enumerate(OUTLINE_DLIB)}


def outline_width(ends: np.ndarray, dlib68: np.ndarray, valid: np.ndarray) -> dict:
    """Another source's outline, ``ends`` (T, R, 2): its leftmost and rightmost x at each of ``outline_rows``'
    heights in that frame, against dlib's pairs' width there: per pair and over them (``ratio``, the median over the
    pairs) the median ratio over the ``valid`` frames where both are read and the head faces the camera (None under 4
    frames), and their number."""
    dlib, middle = _contour(dlib68)
    ratio = (ends[..., 1] - ends[..., 0]) / (dlib[..., 1] - dlib[..., 0])
    ok = (np.asarray(valid, bool) & (np.abs(middle - 0.5) < FRONTAL_WIDTH))[:, None] & np.isfinite(ratio)
    rows = _by_row(ratio, ok)
    read = [v for v in rows.values() if v is not None]
    return dict(ratio=float(np.median(read)) if read else None, rows=rows, frames=int(ok.any(1).sum()))


def outline_sides(ends: np.ndarray, dlib68: np.ndarray, valid: np.ndarray) -> dict:
    """Another source's outline (``ends`` as ``outline_width``'s) side by side against dlib's contour where the head
    is turned (the nose tip at least FRONTAL_WIDTH off the cheekbones' middle): each side's offset, outward positive,
    in dlib's width at the row; ``near`` the side towards the camera (the wider half), ``far`` the other; per row the
    median over the ``valid`` frames where both are read (None under 4), and their number."""
    dlib, middle = _contour(dlib68)
    width = dlib[..., 1] - dlib[..., 0]
    out = np.stack([dlib[..., 0] - ends[..., 0], ends[..., 1] - dlib[..., 1]], -1) / width[..., None]   # right, left
    left_near = (middle < 0.5)[:, None]          # the nose towards the subject's right: the left half is the wider
    near, far = np.where(left_near, out[..., 1], out[..., 0]), np.where(left_near, out[..., 0], out[..., 1])
    ok = (np.asarray(valid, bool) & (np.abs(middle - 0.5) >= FRONTAL_WIDTH))[:, None] & np.isfinite(near + far)
    return dict(near=_by_row(near, ok), far=_by_row(far, ok), frames=int(ok.any(1).sum()))


def jitter(n: np.ndarray, valid: np.ndarray) -> float:
    """Median over points and consecutive valid frame triples of |second difference| / IOD (bench_real's jitter,
    on the named points)."""
    d2 = np.linalg.norm(n[2:] - 2 * n[1:-1] + n[:-2], axis=-1) / iod(n)[1:-1, None]
    ok = valid[2:] & valid[1:-1] & valid[:-2] & np.isfinite(d2).all(1)
    return float(np.median(d2[ok])) if ok.any() else float("nan")


def smooth3(x: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centred 3-frame moving average (frames whose two neighbours are valid; others become invalid)."""
    out = np.full_like(x, np.nan, dtype=float)
    ok = np.zeros(len(x), bool)
    ok[1:-1] = valid[:-2] & valid[1:-1] & valid[2:]
    out[1:-1] = (x[:-2] + x[1:-1] + x[2:]) / 3
    return out, ok & np.isfinite(out).reshape(len(x), -1).all(1)


def head_speed_ratio(a: np.ndarray, b: np.ndarray, valid: np.ndarray, min_speed: float = MIN_SPEED_IOD) -> dict:
    """How fast ``a``'s centroid of the named points moves against ``b``'s (smoothed over 3 frames), in ``b``'s IOD
    per frame: median over frames where ``b`` moves more than ``min_speed`` of (speed of a) / (speed of b), and the
    5th-95th percentile of that median over ``BOOTSTRAP_DRAWS`` draws of those frames (fixed seed; ``ratio_interval``:
    a ratio read over a handful of moving frames is a rough one)."""
    ca, cb = a.mean(-2), b.mean(-2)
    cbs, okb = smooth3(cb, valid)
    d = iod(b)
    va = np.linalg.norm(ca[1:] - ca[:-1], axis=-1) / d[:-1]
    vb = np.linalg.norm(cbs[1:] - cbs[:-1], axis=-1) / d[:-1]
    ok = valid[1:] & valid[:-1] & okb[1:] & okb[:-1] & np.isfinite(va) & np.isfinite(vb) & (vb > min_speed)
    if not ok.any():
        return dict(ratio=float("nan"), frames=0, ratio_interval=[float("nan"), float("nan")])
    ratios = va[ok] / vb[ok]
    draws = np.random.default_rng(0).choice(ratios, (BOOTSTRAP_DRAWS, len(ratios)))    # the moving frames drawn
    lo, hi = np.percentile(np.median(draws, 1), [5, 95])                           # with replacement: how sure
    return dict(ratio=float(np.median(ratios)), frames=int(ok.sum()), ratio_interval=[float(lo), float(hi)])


def shake_follow(a: np.ndarray, b: np.ndarray, valid: np.ndarray, dx: np.ndarray) -> dict:
    """How much of a known sideways shake ``dx`` (T,) px, added to every frame's image, ``a``'s centroid of the named
    points follows, against ``b``'s (which carries the shake exactly, as dlib's points carried into a shaken copy):
    1 + the slope of (a's centroid x less b's) regressed on ``dx`` over the ``valid`` frames. 1: the shake followed
    (whatever a's offset from b); 0: a stays where the head was before the shake, or lags it by a quarter swing;
    the residual's spread after the fit, in b's IOD, says how well the line holds."""
    ok = valid & np.isfinite(a).all((1, 2)) & np.isfinite(b).all((1, 2)) & np.isfinite(dx)
    off = a.mean(-2)[:, 0] - b.mean(-2)[:, 0]
    return _follow(off, dx, ok, iod(b))


def roll_follow(a: np.ndarray, b: np.ndarray, valid: np.ndarray, degrees: np.ndarray) -> dict:
    """``shake_follow`` for a known turn of every frame's image (``degrees`` (T,), counter-clockwise as seen, as
    cv2.getRotationMatrix2D turns it): how much of it the line through ``a``'s outer eye corners follows, against
    ``b``'s; the residual in degrees."""
    def roll(x):
        e = x[:, IDX["left_eye_outer"]] - x[:, IDX["right_eye_outer"]]
        return np.degrees(np.arctan2(e[:, 1], e[:, 0]))      # image y runs down: a counter-clockwise turn lowers it
    ok = valid & np.isfinite(a).all((1, 2)) & np.isfinite(b).all((1, 2)) & np.isfinite(degrees)
    off = (roll(a) - roll(b) + 180.0) % 360.0 - 180.0
    return _follow(off, -np.asarray(degrees, np.float64), ok, np.ones(len(off)), "residual_deg")


def place_follow(a: np.ndarray, b: np.ndarray, b0: np.ndarray, valid: np.ndarray) -> dict:
    """How much of a known move of every frame's image ``a``'s centroid of the named points follows, sideways and up
    and down, against ``b``'s: ``b`` carries the move exactly (dlib's points carried into a moved copy), ``b0`` is the
    same oracle before it (on the original frames), so b's centroid less b0's is the move at the face whatever the
    frame's turn; ``shake_follow``'s slope per axis, the residual in b's IOD."""
    ok = valid & np.isfinite(a).all((1, 2)) & np.isfinite(b).all((1, 2)) & np.isfinite(b0).all((1, 2))
    cb = b.mean(-2)
    move, off = cb - b0.mean(-2), a.mean(-2) - cb
    return {axis: _follow(off[:, k], move[:, k], ok, iod(b)) for k, axis in enumerate(("x", "y"))}


def _follow(off: np.ndarray, swing: np.ndarray, ok: np.ndarray, scale: np.ndarray,
            residual: str = "residual_iod") -> dict:
    """1 + the slope of ``off`` (a's reading less the oracle's) regressed on the ``swing`` the oracle carries, over
    the ``ok`` frames; the residual's spread after the fit in units of ``scale``."""
    if ok.sum() < 3 or np.ptp(swing[ok]) == 0:
        return {"follow": float("nan"), "frames": int(ok.sum()), residual: float("nan")}
    slope, icpt = np.polyfit(swing[ok], off[ok], 1)
    rest = (off[ok] - slope * swing[ok] - icpt) / scale[ok]
    return {"follow": float(1.0 + slope), "frames": int(ok.sum()), residual: float(np.std(rest))}


# Signals also read with each source's eye distance held at its median over the clip (``r_steady_scale``): where a
# signal barely moves (the talking clip's brows) the frame-to-frame eye distance, which the families' eye corners move,
# is a good part of it; where the head comes nearer or turns the steady scale is the wrong one (docs/MEASUREMENTS.md,
# "The talking clip's brows and dlib's own eye distance").
STEADY_SCALE_SIGNALS = ("brow_right", "brow_left")


def compare(a: np.ndarray, b: np.ndarray, valid: np.ndarray, blink_a: dict | None = None) -> dict:
    """Every metric of ``a`` (the measured: mesh or MediaPipe, named points) against ``b`` (the oracle).

    ``blink_a``: {"right": (T,) bool, "left": (T,) bool} closed-eye frames of ``a`` (e.g. baked eyeBlink weights
    > 0.5); None = ``a``'s own eye aspect ratio test, the same as the oracle's.
    """
    valid = np.asarray(valid, bool) & np.isfinite(a).all((1, 2)) & np.isfinite(b).all((1, 2))
    sa, sb = signals(a), signals(b)
    crossed = valid & np.any([sb[k] < -CROSSED_IOD for k in OPENINGS], 0)     # the oracle's lips or lids crossed
    out = dict(frames=int(valid.sum()), oracle_crossed_frames=int(crossed.sum()), signals={})
    for k in SIGNALS:
        lag, r_best = best_lag(sa[k], sb[k], valid)
        out["signals"][k] = dict(r=correlation(sa[k], sb[k], valid), r_interval=r_interval(sa[k], sb[k], valid),
                                 r_oracle_uncrossed=correlation(sa[k], sb[k], valid & ~crossed),
                                 gain=gain(sa[k], sb[k], valid), best_lag=lag,
                                 r_best_lag=r_best, median=float(np.median(sa[k][valid])) if valid.any() else None,
                                 oracle_median=float(np.median(sb[k][valid])) if valid.any() else None,
                                 negative_frames=int((sa[k][valid] < 0).sum()),
                                 crossed_frames=int((sa[k][valid] < -CROSSED_IOD).sum()),
                                 oracle_negative_frames=int((sb[k][valid] < 0).sum()))
    if valid.any():
        for k in STEADY_SCALE_SIGNALS:
            out["signals"][k]["r_steady_scale"] = correlation(*(s[k] * iod(n) / np.median(iod(n)[valid])
                                                                for s, n in ((sa, a), (sb, b))), valid)
    closed_b = eyes_closed(b, valid)
    closed_a = blink_a if blink_a is not None else eyes_closed(a, valid)
    out["blink"] = {side: f1(closed_a[side], closed_b[side], valid) for side in ("right", "left")}
    out["landmark_error_iod"] = landmark_error(a, b, valid)
    out["jitter_iod"] = jitter(a, valid)
    out["oracle_jitter_iod"] = jitter(b, valid)
    out["head_speed"] = head_speed_ratio(a, b, valid)
    return out


# ------------------------------------------------------------------------------------------ brows from the pixels
# The brow signal (brow middle above the eye centre) moves with the eye corners as much as with the brow, and where a
# clip's brows barely move the corners can be all of it. ``brow_pixels`` reads each brow's height from the pixels
# alone, against a reference no landmark model gives: a patch of the nose bridge followed from the first frame by
# OpenCV's pyramidal Lucas-Kanade (translation only: for clips whose head stays near frontal and at one distance),
# and in a strip of skin above each eye the darkness centroid of the brow's band. Landmarks of the first frame only
# place the patch and the strips. Sizes in IODs of that first frame.
BRIDGE_PATCH = (0.45, 0.35)      # nose-bridge patch, width x height,
BRIDGE_BELOW = 0.12              # centred this far under the eye centres' midpoint
BROW_STRIP = (0.24, 0.22, 0.75)  # strip width; its rows from 0.22 to 0.75 above the eye centre
BAND_HALF = 0.06                 # rows either side of the strip's darkest row in the band's centroid


def _band_height(strip: np.ndarray, half: int) -> float:
    """Row (from the strip's top) of the darkness centroid around the darkest row of a (rows,) mean profile."""
    k = int(np.argmin(strip))
    lo, hi = max(0, k - half), min(len(strip), k + half + 1)
    w = np.clip(strip[lo:hi].max() - strip[lo:hi], 0, None)
    return float((np.arange(lo, hi) * w).sum() / w.sum()) if w.sum() > 0 else float(k)


def brow_pixels(gray_frames, start: np.ndarray, rows: int) -> dict:
    """Each brow's height above the followed nose-bridge patch, from the pixels alone (see above).

    ``gray_frames``: (row, (H, W) uint8 grey image) in time order, the first placing everything; ``start``: (N, 2)
    named points of that first frame (the eye corners place the patch and the strips); ``rows``: the output length.
    Returns {"bridge": (rows, 2) the patch centre in pixels, "patch_error": (rows,) Lucas-Kanade's mean absolute
    grey difference over the patch (0 on the first frame; large where the patch was lost: a turned, nearer or
    farther head), "right"/"left": (rows,) brow band height above the patch centre in first-frame IODs (image up),
    "iod": that IOD in pixels}; NaN on rows without a frame."""
    import cv2
    right, left = eye_centres(np.asarray(start, np.float64))
    d = float(np.linalg.norm(left - right))
    up = face_up(np.asarray(start, np.float64)[None])[0]
    pos0 = (right + left) / 2 - BRIDGE_BELOW * d * up
    offsets = {"right": right - pos0, "left": left - pos0}    # eye centres from the patch centre, kept fixed
    win = (int(round(BRIDGE_PATCH[0] * d)) | 1, int(round(BRIDGE_PATCH[1] * d)) | 1)
    half_w, lo, hi = BROW_STRIP[0] * d / 2, BROW_STRIP[1] * d, BROW_STRIP[2] * d
    out = {"bridge": np.full((rows, 2), np.nan), "patch_error": np.full(rows, np.nan),
           "right": np.full(rows, np.nan), "left": np.full(rows, np.nan), "iod": d}
    first, pos = None, pos0.astype(np.float32)[None]
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 0.001)
    for t, gray in gray_frames:
        g = np.ascontiguousarray(gray, np.uint8)
        if first is None:
            first, err = g, 0.0
        else:
            nxt, _, e = cv2.calcOpticalFlowPyrLK(first, g, pos0.astype(np.float32)[None], pos.copy(), winSize=win,
                                                 maxLevel=2, criteria=criteria, flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
            pos, err = nxt, float(e[0, 0])
        if not 0 <= t < rows:
            continue
        p = pos[0].astype(np.float64)
        out["bridge"][t], out["patch_error"][t] = p, err
        for side, off in offsets.items():
            cx, ey = p + off
            y0, x0, x1 = int(round(ey - hi)), int(round(cx - half_w)), int(round(cx + half_w))
            strip = g[max(0, y0):max(0, int(round(ey - lo))), max(0, x0):max(0, x1)].astype(np.float64)
            if strip.size == 0:
                continue
            band = max(0, y0) + _band_height(strip.mean(1), max(1, int(round(BAND_HALF * d))))
            out[side][t] = (p[1] - band) / d
    return out


def brows_against_pixels(sources: dict, pix: dict, valid: np.ndarray) -> dict:
    """Each source's brow reading against ``brow_pixels``' ``pix``, per side: the pixel band's standard deviation
    (IOD, and pixels); per source (named points (T, N, 2)): ``r_signal`` (its brow signal against the band),
    ``r_point`` (its brow point's height above the followed patch against the band: the brow alone) and
    ``r_signal_eye`` (its brow signal against minus its eye centre's height above the patch: how much of the signal
    is the eye corners moving), on the frames ``valid`` where both are finite; and the largest ``patch_error``
    (``patch_error_max``; read the rest only on a clip where the patch was followed throughout)."""
    err = pix["patch_error"][np.asarray(valid, bool) & np.isfinite(pix["patch_error"])]
    out = {"patch_error_max": float(err.max()) if len(err) else None}
    bridge_y, d = pix["bridge"][:, 1], pix["iod"]
    sig = {name: signals(n) for name, n in sources.items()}
    for side in ("right", "left"):
        band = pix[side]
        ok = np.asarray(valid, bool) & np.isfinite(band)
        row = dict(band_sd_iod=float(np.std(band[ok])) if ok.sum() > 2 else None,
                   band_sd_px=float(np.std(band[ok]) * d) if ok.sum() > 2 else None, frames=int(ok.sum()))
        for name, n in sources.items():
            s = sig[name][f"brow_{side}"]
            eye = eye_centres(n)[0 if side == "right" else 1]
            point = (bridge_y - _pt(n, f"{side}_brow_mid")[:, 1]) / d
            row[name] = dict(r_signal=correlation(s, band, ok), r_point=correlation(point, band, ok),
                             r_signal_eye=correlation(s, -(bridge_y - eye[:, 1]) / d, ok))
        out[side] = row
    return out
