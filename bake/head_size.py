"""The baked head's size: the subject's eye distance when the artist knows it (``--eye-distance``), or read from
the irises (``--head-size irises``).

One picture cannot tell a small head near the camera from a large one further away: the dense network's depth
relief decides, and on real faces it reads them flat, as heads about 0.7x adult size at 0.75x the distance
(docs/MEASUREMENTS.md, "Head size on real faces"). The footage is the same either way; a matched camera and a
scene-scale head are not. Given the distance between the eyes' centres (each the midpoint of its two corners; about
the pupillary distance an optician measures, 60-66 mm for most adults), the bake scales the fitted head and its
distance from the camera by one factor (bake.tracks.build_tracks), which leaves every pixel of the fit where it was.

Not known, it can be read from the irises (``iris_eye_distance``, ``--head-size irises``): the iris a person shows
is about 11.7 mm across whoever they are (the horizontal visible iris diameter of adults, 11.7 +- 0.5 mm; the iris
nears its adult size in early childhood, while the eyes move apart until adulthood), so the eye centres' distance
over the irises' width in the same picture, both from the tracker's landmarks, is the eye distance in iris widths,
with no lens or distance in it. On the three real clips it reads 55-69 mm where the network's relief reads 36-44
(docs/MEASUREMENTS.md, "Head size from the irises"); on the held-out renders, whose eyes have no irises, the iris
model reads 60-74 mm against their small heads' 43-55 (benchmarks/bench_e2e.py), so it is not the default.
"""
from __future__ import annotations

import numpy as np

from core import head_model, landmark_template as lt
from core.head_model import HeadModel
from core.types import FaceState

from .fusion import IRIS_OPEN_RAMP, IRIS_SHUT

_CORNERS = (lt.RIGHT_EYE_OUTER, lt.RIGHT_EYE_INNER, lt.LEFT_EYE_INNER, lt.LEFT_EYE_OUTER)
IRIS_DIAMETER_MM = 11.7     # the width of the iris a person shows (module docstring)
OPEN_EYES = 0.7             # iris_eye_distance reads the frames whose eyes are both at least this open, as a share of
                            # the clip's 90th percentile of each eye's lid aspect (a narrowed eye's lids cut into the
                            # iris the landmarks outline: the expressions clip reads 59 mm over all frames, 55 open)
IRIS_FRAMES = 10            # ... and needs at least this many of them (half the frames of a shorter clip)
MAX_TURN_DEG = 45.0         # ... turned no further than this from facing the camera
_READ = list(_CORNERS) + [i for across in lt.IRIS_ACROSS for i in across]     # the landmarks iris_eye_distance reads


def _centres_apart(corners: np.ndarray) -> np.ndarray:
    """Distance between the eye centres (each the midpoint of its two corners) of eye corners (..., 4, D) in
    ``_CORNERS``' order."""
    return np.linalg.norm(corners[..., 2, :] + corners[..., 3, :] - corners[..., 0, :] - corners[..., 1, :],
                          axis=-1) / 2.0


def eye_distance(vertices: np.ndarray, head: HeadModel, template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """Distance (mm) between the eye centres of head shapes ``vertices`` (..., V, 3) on the template's topology."""
    return _centres_apart((template or lt.load()).points(np.asarray(vertices, np.float64), head)[..., _CORNERS, :])


def iris_eye_distance(faces: list[FaceState | None], rotation: np.ndarray | None = None,
                      K: np.ndarray | None = None) -> float | None:
    """The subject's eye distance (mm) read from the irises of the tracker's ``faces``: per frame the eye centres'
    distance over the two irises' mean width (``lt.IRIS_ACROSS``; frame pixels), times ``IRIS_DIAMETER_MM``; the
    median over the frames whose eyes are open (each lid at least as open as the fusion reads an iris fully,
    ``bake.fusion.IRIS_SHUT`` + ``IRIS_OPEN_RAMP``, and on clips with ``IRIS_FRAMES`` or more frames whose lids are
    read, ``OPEN_EYES`` of the clip's open value; every frame where the lids are unread). None when fewer than
    ``IRIS_FRAMES`` frames qualify, or than half the frames with a face on a shorter clip (a single photograph: its
    one frame, if its eyes are open).

    ``rotation`` (T, 3, 3; head frame -> camera, per entry of ``faces``) and ``K`` (the camera's intrinsics): the
    head's pose, whose turn shortens the eye centres' distance in the picture while the irises, which look about,
    are seen nearly round (MediaPipe's contour of the press clip's irises, its head turned about 30 degrees, is as
    tall as it is wide): each frame's distance is divided by how much the picture shortens a short stretch of the
    head's left-right axis seen where the eyes are (off the camera's axis a turned head's near eye is magnified
    more than its far one: a head turned 16-30 degrees, 0.07-0.2 focal lengths off the axis, read 6 % short with the
    cosine of the turn alone, 15 % taken as facing the camera; tests/test_bake_pipeline.py), and frames turned past
    ``MAX_TURN_DEG`` are left out. Without them (both or neither) the faces are taken to face the camera."""
    idx = [k for k, f in enumerate(faces) if f is not None]
    if not idx:
        return None
    seen = [faces[k] for k in idx]
    points = np.stack([np.asarray(f.landmarks, np.float64)[_READ, :2] for f in seen])     # (T, 8, 2)
    iris = np.linalg.norm(points[:, 4::2] - points[:, 5::2], axis=-1).mean(1)
    apart = _centres_apart(points[:, :4])
    use = iris > 0
    if rotation is not None:
        side = np.asarray(rotation, np.float64)[idx][:, :, 0]                  # the head's left-right axis
        K = np.asarray(K, np.float64)
        mid = 0.5 * (points[:, 0] + points[:, 3])
        sight = (mid - K[:2, 2]) / np.diag(K)[:2]                              # x / z, y / z where the eyes are
        across = np.linalg.norm(side[:, :2] - sight * side[:, 2:], axis=-1)
        use &= across >= np.cos(np.radians(MAX_TURN_DEG))
        apart = apart / np.maximum(across, 1e-9)
    ratio = apart / np.maximum(iris, 1e-9)
    lids = np.stack([np.asarray(f.lid_aspects, np.float64) for f in seen])
    read = np.isfinite(lids).all(1)
    use &= np.isfinite(ratio) & ~(read & (lids < IRIS_SHUT + IRIS_OPEN_RAMP).any(1))
    if read.sum() >= IRIS_FRAMES:
        use &= read & (lids >= OPEN_EYES * np.percentile(lids[read], 90, axis=0)).all(1)
    if use.sum() < min(IRIS_FRAMES, -(-len(seen) // 2)):
        return None
    return float(IRIS_DIAMETER_MM * np.median(ratio[use]))


def size_scale(eye_distance_mm: float, identity: np.ndarray, head: HeadModel) -> float:
    """The factor that gives the neutral head of ``identity`` an eye distance of ``eye_distance_mm``."""
    return float(eye_distance_mm) / float(eye_distance(head.shape(identity=np.asarray(identity)), head))


def size_report(tracks, stats) -> dict:
    """What the command line and the batch manifest say of a bake's head (``tracks``, ``stats``: bake.types'
    SceneTracks and BakeStats): its eye distance (mm), what sized it (``BakeStats.size_from``) and what the irises
    read (None: unread)."""
    iris = stats.iris_eye_distance_mm
    return {"eye_distance_mm": round(float(eye_distance(tracks.basis, head_model.load())), 1),
            "from": stats.size_from, "iris_eye_distance_mm": None if iris is None else round(iris, 1)}
