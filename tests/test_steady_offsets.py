"""bake.steady_offsets: the eye corners and the nose put back where the landmarks keep seeing them."""
import numpy as np
import pytest

from bake import steady_offsets as so
from bake.head_size import eye_distance
from core import landmark_template as lt
from tests.test_mouth_follow import _posed, _seen


def _col(landmark):
    return int(np.nonzero(so.MOVED == landmark)[0][0])


def _tolerance_mm(head):
    """(len(MOVED),) each point's tolerance in mm on the template head."""
    return so.AGREEMENT_IOD * float(eye_distance(head.vertices, head))


def _read(head, moves):
    """steady_offsets of the template head, turned and tilted, whose ``MOVED`` landmarks are seen moved by ``moves``
    (T, L, 2) mm along the head's x and y; frame 0 is not used and its landmarks are far off."""
    K, R, t = _posed(head)
    uv = _seen(head, R, t, moves, slice(0, 2), so.MOVED)
    uv[0] += 300.0
    use = np.ones(len(R), bool)
    use[0] = False
    basis = head.vertices.astype(np.float64)
    return so.steady_offsets(head, basis, head.arkit_deltas, np.zeros((len(R), 52)), R, t, K, uv, use)


def test_a_nose_held_low_and_an_eye_corner_held_out_are_put_back_less_the_detectors_disagreement(head):
    """The nose seen 6 mm above the head's on every frame of a turned head, the right eye's outer corner 4-6 mm
    further out: each is read along both axes at once, by its median less its ``AGREEMENT_IOD`` of the eye distance;
    the field moves their points by about that and leaves the lips, the chin and the brows where they were."""
    T = len(_posed(head)[1])
    moves = np.zeros((T, len(so.MOVED), 2))
    moves[:, np.isin(so.MOVED, lt.NOSE), 1] = 6.0
    moves[:, _col(lt.RIGHT_EYE_OUTER), 0] = -np.linspace(4.0, 6.0, T)
    off = _read(head, moves)
    tol = _tolerance_mm(head)
    assert off.shape == (len(so.MOVED), 3) and not off[:, 2].any()
    nose = off[np.isin(so.MOVED, lt.NOSE)]
    np.testing.assert_allclose(nose[:, 1], 6.0 - tol[np.isin(so.MOVED, lt.NOSE)], atol=0.05)
    assert np.abs(nose[:, 0]).max() < 0.05
    corner = off[_col(lt.RIGHT_EYE_OUTER)]
    step = np.median(np.linspace(4.0, 6.0, T)[1:]) - tol[_col(lt.RIGHT_EYE_OUTER)]
    assert corner[0] == pytest.approx(-step, abs=0.05)
    assert abs(corner[1]) < 0.05
    others = ~np.isin(so.MOVED, lt.NOSE + (lt.RIGHT_EYE_OUTER,))
    assert np.abs(off[others]).max() == 0.0
    template = lt.load()
    at = template.points(so.field(head, head.vertices, off)[None].astype(np.float64), head)[0]
    assert at[lt.NOSE_TIP, 1] == pytest.approx(6.0 - tol[np.isin(so.MOVED, lt.NOSE)].max(), abs=0.3)
    assert at[lt.RIGHT_EYE_OUTER, 0] == pytest.approx(corner[0], abs=0.3)
    held = list(so.HELD)
    assert np.abs(at[held]).max() < 0.1, np.abs(at[held]).max()


def test_offsets_within_the_detectors_disagreement_leave_the_head_as_it_is(head):
    T = len(_posed(head)[1])
    moves = np.zeros((T, len(so.MOVED), 2))
    moves[..., 1] = 0.9 * _tolerance_mm(head)
    off = _read(head, moves)
    assert not off.any()
    assert not so.field(head, head.vertices, off).any()


def test_the_eye_corners_are_put_back_from_a_smaller_offset_than_the_nose(head):
    """The detector families place the eye corners more alike than the nose, and the outer corners take MediaPipe's
    steady reading whole: every point seen the same 0.9 of the nose's tolerance off moves the outer corners by all of
    it, the inner ones by it less theirs, and leaves the nose."""
    assert so.OUTER_AGREEMENT_IOD < so.INNER_AGREEMENT_IOD < so.NOSE_AGREEMENT_IOD
    T = len(_posed(head)[1])
    seen = 0.9 * _tolerance_mm(head).max()
    moves = np.zeros((T, len(so.MOVED), 2))
    moves[..., 0] = seen
    off = _read(head, moves)
    outer, inner = np.isin(so.MOVED, so.OUTER_CORNERS), np.isin(so.MOVED, so.INNER_CORNERS)
    np.testing.assert_allclose(off[outer, 0], seen, atol=0.05)
    np.testing.assert_allclose(off[inner, 0], seen - _tolerance_mm(head)[inner], atol=0.05)
    assert 0.0 < off[inner, 0].max() < seen - 0.5
    assert not off[~(outer | inner)].any()
