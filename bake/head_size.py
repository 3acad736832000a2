"""The subject's eye distance, when the artist knows it, as the baked head's size (``--eye-distance``).

One picture cannot tell a small head near the camera from a large one further away: the dense network's depth
relief decides, and on real faces it reads them flat, as heads about 0.7x adult size at 0.75x the distance
(docs/MEASUREMENTS.md, "Head size on real faces"). The footage is the same either way; a matched camera and a
scene-scale head are not. Given the distance between the eyes' centres (each the midpoint of its two corners; about
the pupillary distance an optician measures, 60-66 mm for most adults), the bake scales the fitted head and its
distance from the camera by one factor (bake.tracks.build_tracks), which leaves every pixel of the fit where it was.
"""
from __future__ import annotations

import numpy as np

from core import landmark_template as lt
from core.head_model import HeadModel

_CORNERS = (lt.RIGHT_EYE_OUTER, lt.RIGHT_EYE_INNER, lt.LEFT_EYE_INNER, lt.LEFT_EYE_OUTER)


def eye_distance(vertices: np.ndarray, head: HeadModel, template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """Distance (mm) between the eye centres of head shapes ``vertices`` (..., V, 3) on the template's topology."""
    p = (template or lt.load()).points(np.asarray(vertices, np.float64), head)
    right = 0.5 * (p[..., _CORNERS[0], :] + p[..., _CORNERS[1], :])
    left = 0.5 * (p[..., _CORNERS[2], :] + p[..., _CORNERS[3], :])
    return np.linalg.norm(left - right, axis=-1)


def size_scale(eye_distance_mm: float, identity: np.ndarray, head: HeadModel) -> float:
    """The factor that gives the neutral head of ``identity`` an eye distance of ``eye_distance_mm``."""
    return float(eye_distance_mm) / float(eye_distance(head.shape(identity=np.asarray(identity)), head))
