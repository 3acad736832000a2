"""bake.lost_faces: on the frames the network alone read, the expression and distance bridged, the turn kept."""
import numpy as np

from bake.lost_faces import bridge_lost, lost_warnings
from bake.solve import SolveResult


def _result(T=6):
    rng = np.random.default_rng(0)
    rotation = np.stack([np.eye(3)] * T)
    translation = np.c_[rng.normal(0, 20, (T, 2)), 500 + 10 * np.arange(T)]
    return SolveResult(np.zeros(40), rng.uniform(0, 1, (T, 52)), rotation, translation, np.zeros(T),
                       np.ones(T, bool), np.ones(T), np.zeros((0, 10, 3), np.float32), np.zeros((T, 0)),
                       fit_weights=rng.uniform(0, 1, (T, 52)))


def test_the_frames_without_a_face_take_the_weights_and_distance_of_the_frames_around():
    res = _result()
    faced = np.array([True, True, False, False, True, True])
    out = bridge_lost(res, faced)
    for name in ("weights", "fit_weights"):
        before, after = getattr(res, name), getattr(out, name)
        assert np.array_equal(after[faced], before[faced])
        assert np.allclose(after[2], before[1] + (before[4] - before[1]) / 3)
        assert np.allclose(after[3], before[1] + 2 * (before[4] - before[1]) / 3)
    z = res.translation[:, 2]
    assert np.allclose(out.translation[2:4, 2], [z[1] + (z[4] - z[1]) / 3, z[1] + 2 * (z[4] - z[1]) / 3])
    # the head's place in the picture (its direction from the camera) and its turn stay the network's
    place = lambda t: t[:, :2] / t[:, 2:]                                                  # noqa: E731
    assert np.allclose(place(out.translation), place(res.translation))
    assert np.array_equal(out.rotation, res.rotation) and np.array_equal(out.translation[faced], res.translation[faced])


def test_nothing_moves_where_every_frame_has_a_face_or_none_has():
    res = _result()
    assert bridge_lost(res, np.ones(6, bool)) is res and bridge_lost(res, np.zeros(6, bool)) is res
    invalid = SolveResult(**{**res.__dict__, "valid": np.array([True, True, False, False, True, True])})
    assert bridge_lost(invalid, np.array([True, True, False, False, True, True])) is invalid  # no frame to bridge


def test_the_frames_the_network_alone_followed_are_named_in_a_warning():
    valid, faced = np.ones(8, bool), np.array([1, 0, 0, 1, 1, 0, 1, 1], bool)
    lines = lost_warnings(valid, faced, np.arange(100, 108))
    assert len(lines) == 2 and lines[0].startswith("frames 101-102 (2 frames)") and lines[1].startswith("frame 105: ")
    assert lost_warnings(valid, np.ones(8, bool), np.arange(8)) == []
    many = lost_warnings(valid, np.arange(8) % 2 == 0, np.arange(8), most=3)
    assert len(many) == 1 and many[0].startswith("4 frames in 4 stretches between frames 1 and 7")


def test_a_lost_frame_the_network_puts_far_off_the_bridged_distance_is_not_followed():
    """Another face passing in front, or a misread crop: its head twice as near is left to the bridge."""
    res = _result()
    res.translation[2] *= 0.5
    out = bridge_lost(res, np.array([True, True, False, False, True, True]))
    assert out.valid.tolist() == [True, True, False, True, True, True] and res.valid.all()


def test_a_lost_frame_the_network_turns_far_off_the_bridged_turn_is_not_followed():
    """A profile read backwards, the back of a head: a turn over FAR_TURN from the bridged one is left to the bridge,
    one under it (a head turned on past the last frame the landmarks read) is kept."""
    from scipy.spatial.transform import Rotation
    res = _result()
    res.rotation[2] = Rotation.from_euler("y", 60, degrees=True).as_matrix()
    res.rotation[3] = Rotation.from_euler("xy", [180, 60], degrees=True).as_matrix()
    out = bridge_lost(res, np.array([True, True, False, False, True, True]))
    assert out.valid.tolist() == [True, True, True, False, True, True]


def test_a_run_longer_than_longest_holds_the_frame_before_it():
    """Over a long run between two faces the weights and the distance are held from the frame before it (a line
    towards the far end's reading spreads its misread over the run); a run of at most ``longest`` is taken between."""
    res = _result(8)
    faced = np.array([True, True, False, False, False, True, True, True])
    held = bridge_lost(res, faced, longest=2)
    assert np.allclose(held.weights[2:5], res.weights[1]) and np.allclose(held.fit_weights[2:5], res.fit_weights[1])
    assert np.allclose(held.translation[2:5, 2], res.translation[1, 2])
    between = bridge_lost(res, faced, longest=3)
    assert np.allclose(between.weights[3], (res.weights[1] + res.weights[5]) / 2)
