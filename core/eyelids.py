"""The 478 landmarks' lower lids replaced by MediaPipe's iris model's, where the eye faces the camera and is large
enough.

    share = iris_share(points)                                  # (2,) how much of each eye the iris model reads
    if share.any():
        contours = face_models.eye_contours(frame_rgb, points)  # (2, 71, 3)
        points = with_iris_lids(points, contours, share)        # (478, 3), the lower lids moved, nothing else

Why: the 478-point model reads a lid's opening less well than the iris model, which sees each eye at 64 px on its
own. On the real clips the iris model's lower lids carry the eye-opening signal closer to an independent detector's,
in every sub-pixel re-shoot of the clips (docs/MEASUREMENTS.md, "The iris model's lower lids").

What moves: the 7 lower-lid points between each eye's corners, as MediaPipe's own graph maps the model's contour
points onto the 478 (``LID_POINTS``, ``MOVED``). Not the upper lid: the head's brow shapes move its upper lids, so
the fit follows an upper lid's reading partly with the brows, and with the iris model's upper lids too the talking
clip's brows fell from about 0.5 to 0.3-0.5 against the detector while its eyes gained little more. The corners stay
the 478 model's: they place the crop, and the brows' and the head's fit lean on them. z stays the 478 model's.
Each eye's share of the iris model's reading is the product of two ramps, each linear between a "none" and an "all"
value:
  * foreshortening, the eye's corner distance over the wider eye's (``NO_SHARE`` .. ``FULL_SHARE``): the far eye of
    a turned head is cut small and sideways, where the iris model reads it worse than the 478 model;
  * size, the eye's corner distance in pixels (``SMALL_EYE_PX`` .. ``NATIVE_EYE_PX``): all of it from the width
    whose crop the model sees at its own resolution; none at and below the widest eye of the clips' copies with a
    60-px face (eyes 10-17 px), where the iris model's lids followed the eyes worse than the 478 model's.
An eye whose share is 0 needs no model call (``iris_share`` before ``eye_contours``).

How shut an eye is stays the 478 model's own reading (``lid_aspects`` on its points, before the lower lids move;
``FaceState.lid_aspects``): the iris model, which reads an open eye's lower lid better, keeps a lower lid apart from
the upper one under a shut eye, so the gap does not close (on the expressions clip's shut-eye frames, the gap over
the clip's open gap, median: 0.28 / 0.30 with the iris model's lower lids, 0.17 / 0.22 on the 478 model's own; in a
hat brim's shadow 0.40 / 0.41 against 0.27 / 0.32; docs/MEASUREMENTS.md, "How shut an eye is: the 478 model's own
lids").
"""
from __future__ import annotations

import numpy as np

from . import landmark_template as lt
from .face_models import EYE_CORNERS, EYE_INPUT, EYE_ROI_SCALE

# The 478 indices of the iris model's first 16 contour points, per eye (MediaPipe's UpdateFaceLandmarksCalculator
# order: the lower lid from the crop's left corner to its right, corners included, then the upper lid between them).
# The subject's left eye is read mirrored, so its list starts at its outer corner (263), on the image right.
LID_POINTS = (
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173),
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398),
)
MOVED = tuple(range(1, 8))    # positions in LID_POINTS rows that take the iris model's reading: the lower lid
NO_SHARE = 0.75       # corner distance / the wider eye's at and below which the 478 model's lids are kept
FULL_SHARE = 0.9      # ... at and above which the iris model's lids are taken
NATIVE_EYE_PX = EYE_INPUT / EYE_ROI_SCALE    # corner distance (px) whose crop the iris model sees unmagnified
SMALL_EYE_PX = 18.0                          # ... at and below which the 478 model's lids are kept (measured)
GAPS = ((lt.RIGHT_UPPER_LID, lt.RIGHT_LOWER_LID, lt.RIGHT_EYE_OUTER, lt.RIGHT_EYE_INNER),   # per eye, the lids'
        (lt.LEFT_UPPER_LID, lt.LEFT_LOWER_LID, lt.LEFT_EYE_OUTER, lt.LEFT_EYE_INNER))        # midpoints and corners


def lid_aspects(points: np.ndarray) -> np.ndarray:
    """(..., 2) each eye's lid gap over its width (subject's right, left): the distance between the lids' midpoints
    over the corners' distance, in the image, from 478 landmarks (..., 478, >=2); NaN where a point is."""
    p = np.asarray(points, np.float64)[..., :2]
    out = []
    for upper, lower, outer, inner in GAPS:
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(np.linalg.norm(p[..., upper, :] - p[..., lower, :], axis=-1)
                       / np.linalg.norm(p[..., outer, :] - p[..., inner, :], axis=-1))
    return np.stack(out, -1)


def _ramp(x: np.ndarray, none: float, full: float) -> np.ndarray:
    return np.clip((x - none) / (full - none), 0.0, 1.0)


def iris_share(points: np.ndarray) -> np.ndarray:
    """(2,) the iris model's share of each eye's lower lid (subject's right, left) from the 478 model's corners: their
    foreshortening and their distance in pixels (frame pixels of ``points``)."""
    p = np.asarray(points, np.float64)[:, :2]
    width = np.array([np.hypot(*(p[b] - p[a])) for a, b in EYE_CORNERS])
    ratio = width / max(float(width.max()), 1e-9)
    return _ramp(ratio, NO_SHARE, FULL_SHARE) * _ramp(width, SMALL_EYE_PX, NATIVE_EYE_PX)


def with_iris_lids(points: np.ndarray, contours: np.ndarray, share: np.ndarray | None = None) -> np.ndarray:
    """``points`` (478, 3) with each eye's lower-lid points (x, y; ``MOVED``) moved towards the iris model's
    ``contours`` ((2, 71, 2 or 3), ``core.face_models.eye_contours``) by the eye's ``share`` (default
    ``iris_share``); every other point and z unchanged."""
    out = np.array(points, copy=True)
    share = iris_share(points) if share is None else np.asarray(share, np.float64)
    pos = list(MOVED)
    for eye, idx in enumerate(LID_POINTS):
        moved = [idx[k] for k in pos]
        mine = out[moved, :2].astype(np.float64)
        theirs = np.asarray(contours[eye][pos, :2], np.float64)
        out[moved, :2] = mine + share[eye] * (theirs - mine)
    return out
