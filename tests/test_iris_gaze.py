"""bake.iris_gaze: the exported look from the iris's place against its eye's corners, and the lids kept as open."""
import numpy as np
from scipy.spatial.transform import Rotation

from bake import iris_gaze
from core import landmark_template as lt
from core.head_model import ARKIT_NAMES

K = np.array([[1000.0, 0, 320], [0, 1000.0, 240], [0, 0, 1]])
VERTICAL = [ARKIT_NAMES.index(n) for pair in iris_gaze.VERTICAL_KEYS for n in pair]   # up, down right; up, down left
SIDEWAYS = [ARKIT_NAMES.index(n) for pair in iris_gaze.SIDEWAYS_KEYS for n in pair]   # out, in right; out, in left


def seen_landmarks(head, weights, rotation, translation):
    """(T, 478, 2) the template's points on the head with ``weights``, posed and projected through ``K``."""
    pts = lt.load().points(head.shape(expression=weights), head)
    cam = np.einsum("tij,tlj->tli", rotation, pts) + translation[:, None]
    return cam[..., :2] / cam[..., 2:3] * K[0, 0] + K[:2, 2]


def col(name):
    return ARKIT_NAMES.index(name)


def test_the_look_moves_as_the_iris_against_the_corners_whatever_the_pose_at_the_fit_s_level(head):
    T = 6
    truth = np.zeros((T, 52))
    truth[:, col("eyeLookDownRight")] = [0.0, 0.2, 0.5, 0.8, 0.0, 0.0]
    truth[:, col("eyeLookUpRight")] = [0.0, 0.0, 0.0, 0.0, 0.3, 0.6]
    truth[:, col("eyeLookDownLeft")] = [0.6, 0.3, 0.0, 0.0, 0.0, 0.0]
    truth[:, col("eyeLookUpLeft")] = [0.0, 0.0, 0.2, 0.4, 0.7, 0.0]
    truth[:, col("eyeLookOutRight")] = [0.5, 0.2, 0.0, 0.0, 0.3, 0.0]    # looking to the subject's right
    truth[:, col("eyeLookInLeft")] = [0.5, 0.2, 0.0, 0.0, 0.3, 0.0]
    truth[:, col("eyeLookInRight")] = [0.0, 0.0, 0.1, 0.4, 0.0, 0.0]     # and to the left
    truth[:, col("eyeLookOutLeft")] = [0.0, 0.0, 0.1, 0.4, 0.0, 0.0]
    truth[:, col("eyeBlinkRight")] = 0.3                                   # lids and a smile that the fit has right
    truth[:, col("mouthSmileLeft")] = 0.5
    rotation = Rotation.from_euler("xyz", np.stack([np.linspace(-20, 20, T), np.linspace(15, -10, T),
                                                    np.zeros(T)], 1), degrees=True).as_matrix()
    translation = np.tile([10.0, -5.0, 600.0], (T, 1))
    marks = seen_landmarks(head, truth, rotation, translation)
    use = np.array([True, True, True, True, True, False])
    gaze = VERTICAL + SIDEWAYS
    fit = truth.copy()                                      # the fit's look: at the right level, moving wrongly
    fit[:5, gaze] = truth[:5, gaze][::-1]
    out = iris_gaze.corner_gaze(head, head.vertices, fit, rotation, translation, K, marks, use)
    assert np.allclose(out[:5, gaze], truth[:5, gaze], atol=0.03)
    assert np.array_equal(out[5], fit[5])                                   # a frame not used keeps the fit's
    assert np.array_equal(np.delete(out, gaze, 1), np.delete(fit, gaze, 1))
    for pair in iris_gaze.VERTICAL_KEYS + iris_gaze.SIDEWAYS_KEYS:         # one of each pair at a time
        assert not (out[:, col(pair[0])] * out[:, col(pair[1])]).any()
    # irises that the landmarker puts a pixel lower than the template's point (our renders: 0.4 of a look lower)
    # move the look's level not at all: the level is the fit's
    marks[:, list(lt.IRIS_CENTRES), 1] += 1.0
    lower = iris_gaze.corner_gaze(head, head.vertices, fit, rotation, translation, K, marks, use)
    assert np.allclose(lower[:5, gaze], truth[:5, gaze], atol=0.07)


def test_an_eye_too_small_or_not_seen_keeps_the_fit_s_look(head):
    T = 4
    truth = np.zeros((T, 52))
    truth[:, col("eyeLookDownRight")] = truth[:, col("eyeLookDownLeft")] = [0.6, 0.2, 0.4, 0.4]
    rotation = np.tile(np.eye(3), (T, 1, 1))
    translation = np.tile([0.0, 0.0, 600.0], (T, 1))
    translation[2, 2] = 6000.0                                             # 10 m off: eyes about 5 px wide
    marks = seen_landmarks(head, truth, rotation, translation)
    marks[3, lt.IRIS_CENTRES[1]] = np.nan                                  # the left iris not found
    fit = np.zeros((T, 52))
    fit[:, col("eyeLookDownRight")] = fit[:, col("eyeLookDownLeft")] = 0.4
    out = iris_gaze.corner_gaze(head, head.vertices, fit, rotation, translation, K, marks, np.ones(T, bool))
    assert np.allclose(out[:, col("eyeLookDownRight")], [0.6, 0.2, 0.4, 0.4], atol=0.03)
    assert np.allclose(out[:, col("eyeLookDownLeft")], [0.6, 0.2, 0.4, 0.4], atol=0.03)
    assert out[2, col("eyeLookDownRight")] == out[2, col("eyeLookDownLeft")] == 0.4          # kept: too small
    assert out[3, col("eyeLookDownLeft")] == 0.4                                             # kept: not seen
    assert not out[:, [col("eyeLookUpRight"), col("eyeLookUpLeft")]].any()
    assert np.array_equal(iris_gaze.corner_gaze(head, head.vertices, fit, rotation, translation, K, marks,
                                                np.zeros(T, bool)), fit)


def test_another_look_keeps_the_lids_as_open_as_the_fit_s_where_the_eye_is_open(head):
    from bake.fusion import lid_gap_rates
    rates = lid_gap_rates(head)                                             # (2, 52) mm wider per unit weight
    before = np.zeros((4, 52))
    before[:, col("eyeBlinkRight")] = before[:, col("eyeBlinkLeft")] = 0.3
    before[:, col("eyeLookDownRight")] = before[:, col("eyeLookDownLeft")] = 0.5
    before[:, col("jawOpen")] = 0.4
    before[1, col("eyeLookDownLeft")] = 0.0                                 # a whole look down more: 3.3 mm shut
    after = before.copy()                                                   # another look: right less, left more down
    after[:, col("eyeLookDownRight")] = 0.1
    after[:, col("eyeLookDownLeft")] = [0.9, 1.0, 1.0, 1.0]
    open_eyes = np.array([[1.0, 1.0], [1.0, 1.0], [0.5, 0.5], [0.0, 0.0]])
    out = iris_gaze.keep_lid_gaps(after, before, head, open_eyes)
    gap = lambda w: w @ rates.T                                              # noqa: E731  (T, 2) mm
    assert np.allclose(gap(out)[:2], gap(before)[:2], atol=1e-6)           # open: the lids as before
    assert out[0, col("eyeBlinkRight")] > 0.3 and out[0, col("eyeBlinkLeft")] < 0.3
    assert out[1, col("eyeBlinkLeft")] == 0.0 and out[1, col("eyeWideLeft")] > 0.0   # wider than eyeBlink 0 opens
    assert np.isclose(out[2, col("eyeBlinkRight")], 0.3 + 0.5 * (out[0, col("eyeBlinkRight")] - 0.3))  # half open
    assert np.array_equal(out[3], after[3])                                 # shut: the blink that shuts the lids
    others = [i for i in range(52) if i not in (col("eyeBlinkRight"), col("eyeBlinkLeft"), col("eyeWideLeft"))]
    assert np.array_equal(out[:, others], after[:, others])


def test_the_two_eyes_look_up_and_down_alike_and_never_diverge(head):
    """yoked: each frame's vertical look is the mean of the two eyes'; sideways each keeps its own unless the two
    turn outwards, where both give up half of it; other weights stay as given."""
    weights = np.zeros((3, 52))
    weights[:, col("eyeLookDownRight")] = [0.4, 0.0, 0.6]
    weights[:, col("eyeLookUpLeft")] = [0.2, 0.3, 0.0]
    weights[:, col("eyeLookDownLeft")] = [0.0, 0.0, 0.2]
    weights[:, col("eyeLookOutRight")] = [0.3, 0.3, 0.0]     # frame 0: both to the subject's right, converging
    weights[:, col("eyeLookInLeft")] = [0.4, 0.1, 0.0]       # frame 1: diverging by 0.2; frame 2: straight, crossed
    weights[:, col("eyeLookInRight")] = [0.0, 0.0, 0.2]
    weights[:, col("jawOpen")] = 0.5
    out = iris_gaze.yoked(weights)
    up = out[:, col("eyeLookUpRight")] - out[:, col("eyeLookDownRight")]
    assert np.allclose(up, [-0.1, 0.15, -0.4])
    assert np.allclose(out[:, col("eyeLookUpLeft")] - out[:, col("eyeLookDownLeft")], up)
    inward_right = out[:, col("eyeLookInRight")] - out[:, col("eyeLookOutRight")]
    inward_left = out[:, col("eyeLookInLeft")] - out[:, col("eyeLookOutLeft")]
    assert np.allclose(inward_right, [-0.3, -0.2, 0.2]) and np.allclose(inward_left, [0.4, 0.2, 0.0])
    for pair in iris_gaze.VERTICAL_KEYS + iris_gaze.SIDEWAYS_KEYS:          # one of each pair at a time
        assert not (out[:, col(pair[0])] * out[:, col(pair[1])]).any()
    others = [k for k in range(52) if k not in VERTICAL + SIDEWAYS]
    assert np.array_equal(out[:, others], weights[:, others])
