"""The baked head's lips and chin follow the landmarks up and down, beyond what the ARKit shapes can make.

The template's ARKit shapes cannot make every mouth. In the talking clip's open smile the fitted head's lips sat
0.07 IOD closer together than MediaPipe's and its chin 0.08 IOD lower: anny's smile raises the lower lip 3 mm and its
mouthLowerDown lowers it only 2 mm at 1, so the fit opened the mouth with jawOpen, which drops the chin too.

After the solve, each lip and chin landmark's offset from the head (MediaPipe's point less the head's, in pixels) is
lifted to a displacement along the head's up axis (least squares through the projection at the head's point,
``heights``), filtered over time like the corrective difference, and spread over the skin around the landmark
(``fields``: a Gaussian kernel in the template's neutral, between two points as strongly as jawOpen moves them alike,
so the upper lip never takes the lower lip's heights; interpolating, so each landmark's point moves by its height).
The inner lips' heights never close them below ``LIP_GAP_MM`` (``keep_lips_apart``: closing is the ARKit shapes',
watched by the solve's gap constraint). bake.corrective turns the heights into up to ``KEYS`` corrective keys of their
own on the baked head: the exported weights, the ARKit difference's keys, retargeting and the CSV do not change.

Up and down only: MediaPipe's lip heights read the mouth's opening at r 0.95-1.00 against dlib on the real clips, while
its mouth corners' spread reads the expressions clip's mouth width at 0.78 where the head's own reads 0.85
(docs/MEASUREMENTS.md, "The lips and chin follow the landmarks' heights").
"""
from __future__ import annotations

import numpy as np

from core import landmark_template as lt
from core.head_model import ARKIT_NAMES, HeadModel

from .fusion import CHIN_CONTOUR, GAP_PAIRS

LANDMARKS = np.array(lt.LIPS + CHIN_CONTOUR)
LIP_PAIRS = tuple((int(np.nonzero(LANDMARKS == u)[0][0]), int(np.nonzero(LANDMARKS == d)[0][0]))
                  for u, d in GAP_PAIRS if u in lt.LIPS)      # (upper, lower) inner lip points, as columns
SIGMA_MM = 6.0        # the kernel's reach over the neutral template
JAW_SIGMA = 0.2       # how far apart two points' jaw shares (jawOpen motion / its largest) may be and still share
RIDGE = 1e-2          # regularises the interpolation (the lip landmarks lie 2-5 mm apart)
KEYS = 8              # the heights' keys at most (bake.corrective's principal components; with four, their
#                       approximation carried the expressions clip's shut lips through each other on 7 frames)
LIP_GAP_MM = 1.0      # the inner lips' gap the heights may close down to (``keep_lips_apart``)
MAX_MM = 8.0          # a height beyond this is the landmarks failing, not the mouth
MIN_LIFT = 0.5        # no height where a step along the head's up axis moves the point less than this x a step
#                       across the line of sight (the head pitched more than 60 degrees: the image says little)


def _jaw_share(head: HeadModel, jaw_open: np.ndarray) -> np.ndarray:
    """From jawOpen's displacements ``jaw_open`` (..., 3) of some points, how far down it moves each over the most it
    moves any vertex: 0 on the skull, 1 on the chin and lower lip."""
    down = -jaw_open[..., 1]
    full = -head.arkit_deltas[ARKIT_NAMES.index("jawOpen")][:, 1].min()
    return np.clip(down / max(full, 1e-6), 0.0, 1.0)


def fields(head: HeadModel, template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """(L, V, 3) float32: per landmark of ``LANDMARKS`` the head's displacement, along its up axis (Y), for a unit
    height at that landmark and none at the others."""
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
    out[..., 1] = (spread @ coef).T
    return out


def _head_points(head: HeadModel, basis: np.ndarray, deltas: np.ndarray, weights: np.ndarray,
                 template: lt.LandmarkTemplate) -> np.ndarray:
    """(T, L, 3) head frame: the points of ``LANDMARKS`` on ``basis`` (V, 3) plus ``weights`` (T, K) of ``deltas``."""
    p0 = template.points(np.asarray(basis, np.float64), head)[LANDMARKS]                    # (L, 3)
    A = template.points(np.asarray(deltas, np.float64), head)[:, LANDMARKS]                # (K, L, 3)
    return p0 + np.einsum("tk,klc->tlc", np.asarray(weights, np.float64), A)


def heights(head: HeadModel, basis: np.ndarray, deltas: np.ndarray, weights: np.ndarray, rotation: np.ndarray,
            translation: np.ndarray, K: np.ndarray, landmarks: np.ndarray, use: np.ndarray,
            template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """(T, L) mm: how far along the head's up axis each landmark of ``LANDMARKS`` on the head (``basis`` (V, 3) head
    frame plus ``weights`` (T, K) of the keys ``deltas`` (K, V, 3)), posed by ``rotation`` (T, 3, 3) and
    ``translation`` (T, 3) and seen through ``K``, must move to land on ``landmarks`` (T, 478, >=2) frame pixels; 0
    on frames not ``use``d (T,) bool and where a landmark is missing or the head is pitched too far to read one
    (``MIN_LIFT``), and within +-``MAX_MM``."""
    template = template or lt.load()
    T = len(weights)
    out = np.zeros((T, len(LANDMARKS)))
    obs = np.asarray(landmarks, np.float64)[:, LANDMARKS, :2]
    use = np.asarray(use, bool) & np.isfinite(obs).all((1, 2))
    if not use.any():
        return out
    a = np.nonzero(use)[0]
    p = _head_points(head, basis, deltas, np.asarray(weights)[a], template)               # (t, L, 3) head frame
    R = np.asarray(rotation[a], np.float64)
    cam = np.einsum("tij,tlj->tli", R, p) + np.asarray(translation[a], np.float64)[:, None]
    f = np.array([K[0, 0], K[1, 1]])
    z = cam[..., 2:3]
    r = obs[a] - (cam[..., :2] / z * f + np.array([K[0, 2], K[1, 2]]))                     # (t, L, 2) pixels
    # the image motion of a unit step along the head's up axis, R[:, :, 1], at each point (perspective)
    u = R[:, :, 1][:, None]                                                                # (t, 1, 3)
    j = f * (u[..., :2] - cam[..., :2] / z * u[..., 2:3]) / z                              # (t, L, 2)
    jj = (j * j).sum(-1)
    out[a] = np.where(jj >= (MIN_LIFT * f.mean() / z[..., 0]) ** 2, (r * j).sum(-1) / np.maximum(jj, 1e-12), 0.0)
    return np.clip(out, -MAX_MM, MAX_MM)


def keep_lips_apart(head: HeadModel, basis: np.ndarray, deltas: np.ndarray, weights: np.ndarray, h: np.ndarray,
                    template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """``h`` (T, L) with each inner lip pair's heights eased apart where they would close the pair below
    ``LIP_GAP_MM``, or below the gap the head (``basis`` plus ``weights`` (T, K) of ``deltas`` (K, V, 3)) already has:
    closing the lips is the ARKit shapes' (held by the solve's gap constraint). MediaPipe's shut lips meet, and
    heights that closed them to zero would carry them through each other wherever the keys approximate them."""
    h = np.array(h, np.float64)
    y = _head_points(head, basis, deltas, weights, template or lt.load())[..., 1]          # (T, L) head's up
    up, lo = (np.array(c) for c in zip(*LIP_PAIRS))
    gap = y[:, up] - y[:, lo]
    short = np.maximum(0.0, np.minimum(LIP_GAP_MM, gap) - (gap + h[:, up] - h[:, lo]))
    h[:, up] += short / 2
    h[:, lo] -= short / 2
    return h
