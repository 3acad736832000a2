"""The face's width put to the landmarks' outline, read against the baked head's own silhouette.

The network reads real faces narrow: on the talking clip, whose green screen gives the face's true outline, the baked
head's silhouette at the mouth's height and below lay inside the screen's, where MediaPipe's face oval lay on it; at the
eyes' height, the temples, the close-ups' heads lay inside the ends of dlib's jaw contour, where the oval lay near them;
and on the held-out renders facing the camera MediaPipe's outline is the true head's silhouette to within a few percent
(docs/MEASUREMENTS.md, "The face's outline"). The oval's landmarks are not fixed skin points, and the template's
(``core.landmark_template``) lie inside a head's silhouette: its builder reads a landmark only where the pixels around
it are head surface, which on the outline is where MediaPipe put the point inside. So the head's own outline is read.

After the solve, on the frames where the head faces the camera (``FACING``), in the image turned by the head's roll, at
the height of each of ``ROWS``' pairs of oval landmarks: the head's silhouette there (where the triangles of its face's
sides, ``outline_vertices``, cross that line: the outermost crossings) against the pair's distance along it. Half the
difference, in mm at the silhouette's depth, is each side's step; its median over the frames, shortened by
``AGREEMENT_IOD`` of the eye distance (how far a side of MediaPipe's oval lies from a real face's true outline), moves
the baked neutral along the head's x through a Gaussian field (``shape_correction.vertex_field``) anchored at the
vertices that most often make the silhouette there, holding the eyes' contours, nose, lips, chin contour and brows. Both
sides move alike: a steady error of the head's turn moves one side's silhouette in and the other's out, which a step per
side would bake into a lopsided face (yet the head's turn is the steadier one: docs/MEASUREMENTS.md, "Not kept: the
face's outline per side"). What the landmark model takes for the outline is what the sides move to: where a beard hides
the jaw or hair the cheeks or temples, its guess (no clip here has a beard). The exported weights do not change.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core import landmark_template as lt
from core.head_model import HeadModel

from .head_size import eye_distance
from .shape_correction import vertex_field
from .steady_offsets import HELD as OTHERS_HELD, MOVED as OTHERS_MOVED

# The face oval's landmark pairs (subject's right, left) whose height a row is read at: the temples above the eyes and
# at their height, the cheekbones in front of the ears, under the eyes, the mouth's height, below it and the jaw above
# the chin (whose contour the lips' heights move, bake.mouth_follow). Above them the outline is the forehead's and the
# hair's.
ROWS = ((162, 389), (127, 356), (234, 454), (93, 323), (132, 361), (58, 288), (172, 397))
FACING = np.sin(np.radians(10.0))   # a frame shows the face's sides where the head turns less than this
MIN_FRAMES = 3
MAX_FRAMES = 60        # of those, evenly spread (reading them all cost a long clip's bake many times as much)
# How far a side of MediaPipe's oval lies from a face's true outline: on the talking clip's green-screen key 0.002-0.020
# of the eye distance (mean 0.012, four sides); on the held-out renders, outside MediaPipe's training, up to 0.03 (the
# tolerance until 2026-12-05, which left the real faces 2 % narrow: docs/MEASUREMENTS.md, "The outline's tolerance").
AGREEMENT_IOD = 0.015
RADIUS_MM = 10.0       # the field's reach (wider: the same outline, the renders' surfaces further off)
RIDGE = 0.01
HELD = np.concatenate([OTHERS_MOVED, OTHERS_HELD, lt.RIGHT_EYE, lt.LEFT_EYE])   # the temples' rows reach the lids
# The face's sides on the template (mm): skin in front of the ears (z) or below them (y), up to the temples' top row.
EAR_FRONT_MM, EAR_BOTTOM_MM, TEMPLE_MM = 40.0, -36.0, 40.0


@dataclass(frozen=True)
class OutlineSteps:
    steps: np.ndarray      # (len(ROWS),) mm each side moves outwards (negative: inwards); 0 where unread
    anchors: np.ndarray    # (len(ROWS), 2) int: the vertex that most often makes the silhouette, each side; -1 unread


def outline_vertices(head: HeadModel, front_mm: float | None = None, under_ears: bool = True) -> np.ndarray:
    """Indices of the template's skin vertices on the face's sides: in front of ``front_mm`` (head-frame z; default
    ``EAR_FRONT_MM``, read at the call) or, with ``under_ears``, below the ears, up to the temples (the ears stand out
    beyond the face in front of them)."""
    v = head.vertices
    skin = head.region == head.region_names.index("skin")
    side = v[:, 2] > (EAR_FRONT_MM if front_mm is None else front_mm)
    if under_ears:
        side |= (v[:, 1] < EAR_BOTTOM_MM) & (v[:, 2] > 0.0)
    return np.nonzero(skin & side & (v[:, 1] < TEMPLE_MM))[0]


def outline_edges(head: HeadModel, vertices: np.ndarray | None = None) -> np.ndarray:
    """(E, 2) vertex pairs: the edges of the triangles whose corners are all ``vertices`` (default
    ``outline_vertices``)."""
    inside = np.zeros(head.n_vertices, bool)
    inside[outline_vertices(head) if vertices is None else vertices] = True
    tri = head.faces[inside[head.faces].all(1)]
    return np.unique(np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), 1), axis=0)


def crossings(px: np.ndarray, edges: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the edges ``edges`` (E, 2) of the image points ``px`` (T, V, 2) cross the line at height ``y`` (T,): the
    leftmost and rightmost crossing's x (T, 2), NaN where none does, and the nearer end of each of those edges (T, 2)
    (-1 where none)."""
    a, b = px[:, edges[:, 0]], px[:, edges[:, 1]]                       # (T, E, 2)
    ya, yb = a[..., 1] - y[:, None], b[..., 1] - y[:, None]
    cross = (ya * yb <= 0) & (ya != yb)
    t = np.where(cross, ya / np.where(cross, ya - yb, 1.0), 0.0)
    x = a[..., 0] + t * (b[..., 0] - a[..., 0])
    lo = np.argmin(np.where(cross, x, np.inf), 1)
    hi = np.argmax(np.where(cross, x, -np.inf), 1)
    seen = cross.any(1)
    rows = np.arange(len(px))
    ends = np.where(seen[:, None], np.stack([x[rows, lo], x[rows, hi]], 1), np.nan)
    near = np.stack([np.where(t[rows, k] < 0.5, edges[k, 0], edges[k, 1]) for k in (lo, hi)], 1)
    return ends, np.where(seen[:, None], near, -1)


def levelling(angle: np.ndarray) -> np.ndarray:
    """(T, 2, 2) the turns of the image by -``angle`` (T,) radians: a line at ``angle`` comes out level; a point ``p``
    turned about ``c`` is at ``turn @ (p - c)``."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([np.stack([c, s], -1), np.stack([-s, c], -1)], -2)


def head_rows(rotation: np.ndarray, marks: np.ndarray, rows: tuple | None = None) -> tuple:
    """The frame the outline is read in: the turns (T, 2, 2) that level the head's x axis as the image shows it
    (``rotation`` (T, 3, 3)), the nose tip (T, 2) of ``marks`` (T, 478, 2) they turn about, and the height there
    (T, R) of each of ``rows``' pairs of landmarks (their mean; default ``ROWS``, read at the call)."""
    R = np.asarray(rotation, np.float64)
    turn = levelling(np.arctan2(R[:, 1, 0], R[:, 0, 0]))
    centre = marks[:, lt.NOSE_TIP]
    flat = np.einsum("tij,tlj->tli", turn, marks - centre[:, None])
    pairs = np.array(ROWS if rows is None else rows)
    return turn, centre, 0.5 * (flat[:, pairs[:, 0], 1] + flat[:, pairs[:, 1], 1])


def outline_steps(head: HeadModel, basis: np.ndarray, deltas: np.ndarray, weights: np.ndarray,
                  rotation: np.ndarray, translation: np.ndarray, K: np.ndarray, landmarks: np.ndarray,
                  use: np.ndarray, template: lt.LandmarkTemplate | None = None) -> OutlineSteps:
    """How far the head's sides must move for its silhouette to meet the landmarks' outline (``OutlineSteps``): the
    head as baked is ``basis`` (V, 3) plus ``weights`` (T, K) of ``deltas`` (K, V, 3), posed by ``rotation`` (T, 3,
    3) and ``translation`` (T, 3) and seen through ``K``; ``landmarks`` (T, 478, >=2) frame pixels, read on the
    frames ``use``d (T,) bool where the head faces the camera (at most ``MAX_FRAMES`` of them, evenly spread); nothing
    moves with fewer than ``MIN_FRAMES``."""
    R = np.asarray(rotation, np.float64)
    marks = np.asarray(landmarks, np.float64)[..., :2]
    pairs = np.array(ROWS)
    facing = (np.asarray(use, bool) & (np.abs(R[:, 2, 0]) < FACING)
              & np.isfinite(marks[:, pairs.ravel()]).all((1, 2)))
    steps, anchors = np.zeros(len(ROWS)), np.full((len(ROWS), 2), -1)
    a = np.nonzero(facing)[0]
    if len(a) < MIN_FRAMES:
        return OutlineSteps(steps, anchors)
    a = a[np.unique(np.linspace(0, len(a) - 1, min(len(a), MAX_FRAMES)).round().astype(int))]
    sides = outline_vertices(head)
    local = np.full(head.n_vertices, -1)
    local[sides] = np.arange(len(sides))
    edges = local[outline_edges(head)]
    keys = np.asarray(deltas, np.float64)[:, sides].reshape(len(deltas), -1)
    v = np.asarray(basis, np.float64)[sides] + (np.asarray(weights, np.float64)[a] @ keys).reshape(len(a), -1, 3)
    cam = v @ np.transpose(R[a], (0, 2, 1)) + np.asarray(translation, np.float64)[a, None]
    focal = np.array([K[0, 0], K[1, 1]])
    px = cam[..., :2] / cam[..., 2:3] * focal + np.array([K[0, 2], K[1, 2]])
    turn, centre, heights = head_rows(R[a], marks[a])
    head_px = np.einsum("tij,tvj->tvi", turn, px - centre[:, None])
    seen_px = np.einsum("tij,tlj->tli", turn, marks[a] - centre[:, None])
    frames = np.arange(len(a))
    for k, (right, left) in enumerate(ROWS):
        ends, near = crossings(head_px, edges, heights[:, k])
        read = np.isfinite(ends).all(1)
        if read.sum() < MIN_FRAMES:
            continue
        depth = cam[frames[:, None], np.maximum(near, 0), 2].mean(1)
        gap = (seen_px[:, left, 0] - seen_px[:, right, 0]) - (ends[:, 1] - ends[:, 0])
        steps[k] = np.median((0.5 * gap * depth / focal[0])[read])
        for side in range(2):
            ids, counts = np.unique(sides[near[read, side]], return_counts=True)
            anchors[k, side] = ids[np.argmax(counts)]
    tolerance = AGREEMENT_IOD * eye_distance(basis, head, template)
    return OutlineSteps(np.sign(steps) * np.maximum(0.0, np.abs(steps) - tolerance), anchors)


def field(head: HeadModel, basis: np.ndarray, outline: OutlineSteps,
          template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """(V, 3) float32 mm to add to ``head``'s neutral: each row's anchors on ``basis`` (V, 3) moved outwards along the
    head's x by its step (``outline_steps``), ``HELD``'s points kept; all zeros when nothing moves."""
    moving = (outline.steps != 0) & (outline.anchors >= 0).all(1)
    if not moving.any():
        return np.zeros((head.n_vertices, 3), np.float32)
    b = np.asarray(basis, np.float64)
    ids = outline.anchors[moving]                                       # (r, 2): subject's right, left
    moves = np.zeros((len(ids), 2, 3))
    moves[:, 0, 0] = -outline.steps[moving]                             # the subject's right is the head's -x
    moves[:, 1, 0] = outline.steps[moving]
    points = (template or lt.load()).points(b, head)
    anchors = np.concatenate([b[ids.ravel()], points[HELD]])
    moves = np.concatenate([moves.reshape(-1, 3), np.zeros((len(HELD), 3))])
    return vertex_field(anchors, moves, b, RADIUS_MM, RIDGE).astype(np.float32)
