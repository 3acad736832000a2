"""core.eyelids and the iris model (core.face_models.eye_contours): the contour's order and sides on a real face,
which points the tracker moves, and the share ramp on a turned head (the model's parity with TFLite is tested with
the other face models', tests/test_face_models.py)."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from core import eyelids
from core import face_models as fm
from core.footage import open_footage
from core.presets import ASSETS
from core.track import FaceTracker

FOOTAGE = Path(__file__).resolve().parents[2] / "shared" / "footage" / "talking_green_screen.mp4"
SAMPLE = ASSETS / "sample_clip.mp4"


def moved(eye: int) -> list[int]:
    """The 478 indices whose x, y the iris model sets: the lower lid between the corners."""
    return [eyelids.LID_POINTS[eye][k] for k in eyelids.MOVED]


@pytest.fixture(scope="module")
def face():
    """A frame with a real face and the tracker's 478 landmarks on it (the talking clip's frame 30, open eyes, a
    smile; the bundled sample clip where the shared footage is absent)."""
    path, frame_no = (FOOTAGE, 30) if FOOTAGE.exists() else (SAMPLE, 0)
    tracker = FaceTracker(iris_lids=False)
    with open_footage(path, end=frame_no + 1) as src:
        for frame in src:
            state = tracker.update(frame.image)
    return frame.image, state


def test_eye_contours_lie_on_the_478_models_lids_in_order(face):
    """Each contour point lands next to the 478 point MediaPipe maps it to (so the mirroring of the subject's left
    eye and the index tables agree), the upper lid above the lower, the subject's right eye on the image left."""
    image, state = face
    p = state.landmarks[:, :2].astype(np.float64)
    contours = fm.eye_contours(image, state.landmarks)
    assert contours.shape == (2, fm.NUM_EYE_CONTOUR, 3) and contours.dtype == np.float32
    for eye, idx in enumerate(eyelids.LID_POINTS):
        width = np.hypot(*(p[idx[0]] - p[idx[8]]))
        c = contours[eye, :16, :2].astype(np.float64)
        dist = np.linalg.norm(c - p[list(idx)], axis=1)
        assert np.median(dist) < 0.1 * width and dist.max() < 0.25 * width, (eye, dist / width)
        # each point is nearer its own 478 point than the mirrored one (the two corners swapped)
        swapped = np.linalg.norm(c[[8, 0]] - p[[idx[0], idx[8]]], axis=1)
        assert (swapped > 2 * dist[[0, 8]]).all()
        lower, upper = c[1:8], c[9:16]                      # both run from the crop's left corner to its right
        assert (upper[:, 1] < lower[np.r_[0:7], 1] + 0.05 * width).all()
        assert np.median(lower[:, 1] - upper[:, 1]) > 0.1 * width
    assert contours[0, :, 0].mean() < contours[1, :, 0].mean()


def test_the_tracker_moves_only_the_lower_lids(face):
    image, state = face
    models = fm.default_models()
    with_lids = FaceTracker(models=models)
    without = FaceTracker(models=models, iris_lids=False)
    a, b = with_lids.update(image), without.update(image)
    changed = np.flatnonzero(np.abs(a.landmarks - b.landmarks).max(1) > 0)
    assert set(changed) <= set(moved(0) + moved(1)) and len(changed) >= 10
    np.testing.assert_array_equal(a.landmarks[:, 2], b.landmarks[:, 2])
    np.testing.assert_array_equal(a.blendshapes, b.blendshapes)       # the scores read the 478 model's points
    assert a.box == b.box
    expected = eyelids.with_iris_lids(b.landmarks, fm.eye_contours(image, b.landmarks))
    np.testing.assert_array_equal(a.landmarks, expected)
    # how shut each eye is stays the 478 model's own reading
    np.testing.assert_array_equal(a.lid_aspects, b.lid_aspects)
    np.testing.assert_array_equal(b.lid_aspects, eyelids.lid_aspects(b.landmarks))


def test_lid_aspects_read_each_eyes_gap_over_its_width():
    """lid_aspects: the lids' midpoints' distance over the corners', subject's right eye first, 0 where the lids
    meet, for one frame or many; NaN where a point is."""
    p = np.zeros((478, 2))
    p[[33, 133, 263, 362], 0] = [0.0, 30.0, 100.0, 70.0]                  # right eye 30 px wide, left eye 30 px
    p[[159, 145], 1] = [-6.0, 3.0]                                        # right eye: a 9-px gap
    p[[386, 374], 1] = [2.0, 2.0]                                         # left eye shut
    np.testing.assert_allclose(eyelids.lid_aspects(p), [0.3, 0.0])
    many = np.stack([p, p * 2.0, np.full((478, 2), np.nan)])
    out = eyelids.lid_aspects(many)
    assert out.shape == (3, 2)
    np.testing.assert_allclose(out[:2], [[0.3, 0.0], [0.3, 0.0]])
    assert np.isnan(out[2]).all()


def test_the_gaps_points_are_the_contours_corners_and_lid_midpoints():
    """GAPS (landmark_template's names) lie on the iris model's contour as the gap reads them: the corners at its
    ends, the lower midpoint on the lower lid (the part the iris model moves), the upper one on the upper lid."""
    for (upper, lower, outer, inner), row in zip(eyelids.GAPS, eyelids.LID_POINTS):
        assert {row[0], row[8]} == {outer, inner}
        assert row.index(lower) in eyelids.MOVED and row.index(upper) > 8


@pytest.mark.skipif(not FOOTAGE.exists(), reason="needs ../shared/footage")
def test_a_shut_eye_reads_shut_on_the_478_models_own_lids():
    """Why the closure is read on the 478 model's own lids: over the talking clip's blink (frames 64-67) the iris
    model's lower lids keep the lids further apart than the 478 model's own do (gap over the eye's width, mean of
    both eyes over the four frames, tracked from frame 0: 0.060 on the 478 model's lids, 0.091 with the iris model's
    lower lids)."""
    tracker = FaceTracker()
    own, moved_lids = [], []
    with open_footage(FOOTAGE, start=58, end=68) as src:
        for frame in src:
            state = tracker.update(frame.image)
            if frame.index >= 64:
                own.append(state.lid_aspects)
                moved_lids.append(eyelids.lid_aspects(state.landmarks))
    own, moved_lids = np.array(own), np.array(moved_lids)
    assert (own < moved_lids).mean() >= 0.75 and own.mean() < 0.8 * moved_lids.mean(), (own, moved_lids)


def test_the_far_eye_of_a_turned_head_keeps_the_478_lids():
    """The share ramps from 0 at NO_SHARE of the wider eye's corner distance to 1 at FULL_SHARE; the corners and z
    never move."""
    rng = np.random.default_rng(5)
    contours = rng.uniform(0, 100, (2, fm.NUM_EYE_CONTOUR, 3)).astype(np.float32)
    for ratio, share in ((1.0, 1.0), (eyelids.FULL_SHARE, 1.0), (0.8, 1 / 3), (eyelids.NO_SHARE, 0.0), (0.5, 0.0)):
        pts = rng.uniform(0, 100, (478, 3)).astype(np.float32)
        pts[33, :2], pts[133, :2] = (10.0, 50.0), (50.0, 50.0)                   # the subject's right eye: 40 px
        pts[362, :2], pts[263, :2] = (70.0, 50.0), (70.0 + 40.0 * ratio, 50.0)   # the left eye, foreshortened
        np.testing.assert_allclose(eyelids.iris_share(pts), [1.0, share], atol=1e-6)
        out = eyelids.with_iris_lids(pts, contours)
        right, left = moved(0), moved(1)
        src = list(eyelids.MOVED)
        np.testing.assert_allclose(out[right, :2], contours[0, src, :2], atol=1e-4)
        np.testing.assert_allclose(out[left, :2], pts[left, :2] + share * (contours[1, src, :2] - pts[left, :2]),
                                   atol=1e-4)
        untouched = np.setdiff1d(np.arange(478), right + left)
        np.testing.assert_array_equal(out[untouched], pts[untouched])
        np.testing.assert_array_equal(out[:, 2], pts[:, 2])


def test_small_eyes_keep_the_478_lids_and_skip_the_model(face):
    """The size ramp: all of the iris model's lids from NATIVE_EYE_PX up (the crop unmagnified), none from
    SMALL_EYE_PX down; with no share the tracker does not run the iris model at all."""
    pts = np.zeros((478, 3), np.float32)
    for width, share in ((2 * eyelids.NATIVE_EYE_PX, 1.0), (eyelids.NATIVE_EYE_PX, 1.0),
                         (0.5 * (eyelids.SMALL_EYE_PX + eyelids.NATIVE_EYE_PX), 0.5), (eyelids.SMALL_EYE_PX, 0.0),
                         (8.0, 0.0)):
        pts[33, :2], pts[133, :2] = (0.0, 0.0), (width, 0.0)
        pts[362, :2], pts[263, :2] = (2 * width, 0.0), (3 * width, 0.0)
        np.testing.assert_allclose(eyelids.iris_share(pts), [share, share], atol=1e-6)

    class Counting(fm.FaceModels):
        calls = 0

        def eye_contours(self, image_rgb, points478):
            Counting.calls += 1
            return super().eye_contours(image_rgb, points478)

    image, state = face
    models = Counting()
    assert FaceTracker(models=models).update(image) is not None and Counting.calls == 1
    # the same face scaled so its wider eye is 0.8 x SMALL_EYE_PX, followed from its scaled face box
    p = state.landmarks[:, :2].astype(np.float64)
    scale = 0.8 * eyelids.SMALL_EYE_PX / max(np.hypot(*(p[a] - p[b])) for a, b in fm.EYE_CORNERS)
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    lo, hi = p.min(0) * scale, p.max(0) * scale
    box = (*lo, *(hi - lo))
    tracked = FaceTracker(models=models).start(small, box)
    assert tracked is not None and Counting.calls == 1
    assert eyelids.iris_share(tracked.landmarks).max() == 0.0
    np.testing.assert_array_equal(tracked.landmarks, FaceTracker(models=models, iris_lids=False).start(small, box)
                                  .landmarks)
