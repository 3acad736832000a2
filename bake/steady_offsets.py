"""The eye corners and the nose put back where the landmarks see them on every frame, when the head as solved leaves
them steadily further off than the two detector families' definitions of those points differ.

On a face the network reads from a magnified crop, the second stage of the solve can hold a feature off MediaPipe's
landmarks on every frame (a small face's nose below them, its eye corners beside them). The dense term holds it there
(with it weighed down the nose follows the landmarks), and the landmark shape correction between the stages
(``bake.shape_correction``) read the first stage's fit, where the offset was not yet the same.

After the solve, each of these landmarks' median offset over the frames from the head as baked, along the head's x and y
together (``mouth_follow.image_offsets``), less a share of the head's eye distance (``AGREEMENT_IOD``, per point: a
steady offset within what separates MediaPipe's points from dlib's is no sign the head is wrong, and the two detector
families place the eye corners more alike than the nose; at the outer corners MediaPipe's steady reading is taken whole,
which put the head nearer the other family's on the real clips), moves the baked neutral through a Gaussian field
(``shape_correction.vertex_field``) that holds the lips, the chin's contour and the brows where they are: the lips and
chin follow the landmarks on their own keys (``bake.mouth_follow``), and the detectors put the brows' points in
different places. The exported weights do not change but for eyeBlink's scale, which reads the neutral's lids
(``bake.tracks.shut_scales``). Figures: docs/MEASUREMENTS.md, "The eye corners and the nose put back" and "The eye
corners' own tolerance".
"""
from __future__ import annotations

import numpy as np

from core import landmark_template as lt
from core.head_model import HeadModel

from .fusion import CHIN_CONTOUR
from .head_size import eye_distance
from .mouth_follow import SIDEWAYS, UP, image_offsets
from .shape_correction import vertex_field

OUTER_CORNERS = (lt.RIGHT_EYE_OUTER, lt.LEFT_EYE_OUTER)
INNER_CORNERS = (lt.RIGHT_EYE_INNER, lt.LEFT_EYE_INNER)
MOVED = np.array(OUTER_CORNERS + INNER_CORNERS + lt.NOSE)
HELD = np.array(lt.LIPS + CHIN_CONTOUR + lt.RIGHT_BROW + lt.LEFT_BROW)
# A steady offset no larger is the detector families' disagreement, not the head's error:
OUTER_AGREEMENT_IOD = 0.0     # at the outer eye corners none: MediaPipe's steady reading of them is the better one
INNER_AGREEMENT_IOD = 0.02    # at the inner ones (lower: a corner moves to MediaPipe's definition of it)
NOSE_AGREEMENT_IOD = 0.05     # at the nose (lower: the close-ups' noses move to MediaPipe's definition)
AGREEMENT_IOD = np.select([np.isin(MOVED, OUTER_CORNERS), np.isin(MOVED, INNER_CORNERS)],
                          [OUTER_AGREEMENT_IOD, INNER_AGREEMENT_IOD], NOSE_AGREEMENT_IOD)      # per MOVED point
RADIUS_MM = 6.0        # the field's reach (at the shape correction's 12 mm the upper lip moved with the nose)
RIDGE = 0.01


def steady_offsets(head: HeadModel, basis: np.ndarray, deltas: np.ndarray, weights: np.ndarray,
                   rotation: np.ndarray, translation: np.ndarray, K: np.ndarray, landmarks: np.ndarray,
                   use: np.ndarray, template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """(len(MOVED), 3) mm in the head frame (z = 0): each landmark of ``MOVED``'s median offset along the head's x and
    y over the frames ``use`` (T,) bool where it is read (the arguments as ``mouth_follow.heights``), shortened by
    its ``AGREEMENT_IOD`` times the eye distance of ``basis`` (none where it is no longer); 0 where never read."""
    template = template or lt.load()
    steps = image_offsets(head, basis, deltas, weights, rotation, translation, K, landmarks, use, template,
                          index=MOVED, axes=(SIDEWAYS, UP))                               # (T, L, 2)
    read = (steps != 0).any(-1) & np.asarray(use, bool)[:, None]
    out = np.zeros((len(MOVED), 3))
    for k in np.nonzero(read.any(0))[0]:
        out[k, :2] = np.median(steps[read[:, k], k], axis=0)
    length = np.linalg.norm(out, axis=1, keepdims=True)
    tolerance = AGREEMENT_IOD[:, None] * eye_distance(basis, head, template)
    return out * np.maximum(0.0, length - tolerance) / np.maximum(length, 1e-12)


def field(head: HeadModel, basis: np.ndarray, offsets: np.ndarray,
          template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """(V, 3) float32 mm to add to ``head``'s neutral: ``MOVED``'s points on ``basis`` (V, 3) by ``offsets``
    (``steady_offsets``), ``HELD``'s kept; all zeros when no offset is left."""
    if not np.any(offsets):
        return np.zeros((head.n_vertices, 3), np.float32)
    points = (template or lt.load()).points(np.asarray(basis, np.float64), head)
    anchors = np.concatenate([points[MOVED], points[HELD]])
    moves = np.concatenate([offsets, np.zeros((len(HELD), 3))])
    return vertex_field(anchors, moves, np.asarray(basis, np.float64), RADIUS_MM, RIDGE).astype(np.float32)
