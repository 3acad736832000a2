"""bake.camera_turn: the background's views become the exported camera's turn where they say it turns, read on most
frames; unread frames hold the view before; chunks' views join; the head's world turn is its pose turned with the
camera."""
import cv2
import numpy as np
import pytest

from bake import camera_turn as ct
from bake.types import SceneTracks


def _views(degrees):
    """(T, 3) views panning by ``degrees`` (T,) about the camera's y axis."""
    return np.stack([np.zeros(len(degrees)), np.radians(degrees), np.zeros(len(degrees))], 1)


def test_views_become_the_cameras_turn_where_it_turns_and_unread_frames_hold():
    views = _views(np.linspace(0, 3, 30))
    views[10:13] = np.nan                                  # a passer-by hides the background for three frames
    rot = ct.camera_rotations(views)
    assert rot.shape == (30, 3, 3)
    np.testing.assert_allclose(rot[9], cv2.Rodrigues(views[9])[0])
    np.testing.assert_allclose(rot[10:13], np.repeat(rot[9][None], 3, 0))
    np.testing.assert_allclose(rot[-1], cv2.Rodrigues(views[-1])[0])
    assert ct.turned_degrees(rot) == pytest.approx(3.0)
    late = views.copy()
    late[:2] = np.nan                                      # unread at the start: the first view read
    np.testing.assert_allclose(ct.camera_rotations(late)[:3], np.repeat(cv2.Rodrigues(views[2])[0][None], 3, 0))


def test_a_camera_that_hardly_turns_or_whose_background_is_rarely_read_stays_still_and_says_why():
    still = _views(np.random.default_rng(0).normal(0, 0.05, 40))
    assert ct.camera_rotations(still) is None
    assert "under 0.5" in ct.camera_still_warning(still)
    rare = _views(np.linspace(0, 3, 40))
    rare[::3] = np.nan                                     # read on 2 frames in 3 (a green screen: none)
    assert ct.camera_rotations(rare) is None
    assert "read on 65 %" in ct.camera_still_warning(rare)


def test_a_chunks_views_join_through_the_frames_its_warm_up_shares_with_the_chunk_before():
    whole = _views(np.linspace(0, 4, 20))
    before = dict(zip(range(10), whole[:10]))                       # the first chunk's frames 0-9
    own = whole[7:] - whole[7]               # the second chunk's reader starts at frame 7, three frames of warm-up
    joined = ct.joined_views(before, tuple(zip(range(7, 10), own[:3])), own[3:])
    np.testing.assert_allclose(joined, whole[10:], atol=1e-12)      # the same views as one reader's
    blind = ct.joined_views(before, (), own[3:])                     # no warm-up read: joined where the first stops
    np.testing.assert_allclose(blind, whole[10:] - (whole[10] - whole[9]), atol=1e-12)     # one frame's turn lost
    assert np.isnan(ct.joined_views({}, (), np.full((3, 3), np.nan))).all()


def test_the_heads_world_turn_is_its_pose_turned_with_the_camera():
    R = np.stack([cv2.Rodrigues(np.array([0.1 * k, 0.2, 0.0]))[0] for k in range(4)])
    cam = np.stack([cv2.Rodrigues(np.array([0.0, 0.05 * k, 0.0]))[0] for k in range(4)])
    tracks = SceneTracks(basis=np.zeros((1, 3)), faces=np.zeros((0, 3), int), uv=np.zeros((0, 2)), key_names=(),
                         key_deltas=np.zeros((0, 1, 3)), weights=np.zeros((4, 0)), frames=np.arange(1, 5), fps=25.0,
                         head_rotation=R, head_translation=np.zeros((4, 3)), K=np.eye(3), image_size=(2, 2),
                         tracked=np.ones(4, bool))
    np.testing.assert_array_equal(ct.world_rotation(tracks), R)
    from dataclasses import replace
    np.testing.assert_allclose(ct.world_rotation(replace(tracks, camera_rotation=cam)), cam @ R)


def test_a_still_cameras_bake_hints_at_the_turn_where_its_background_rolls():
    rng = np.random.default_rng(0)
    steady = np.radians(rng.normal(0, 0.005, 50))           # a camera on a tripod: its background's noise
    rolling = np.radians(np.r_[np.nan, np.diff(2.0 * np.sin(np.linspace(0, 6, 50)))])   # rolled 2 degrees each way
    assert ct.turn_hint(steady) is None
    hint = ct.turn_hint(rolling)
    assert "rolling through 4.0 degrees" in hint and "--camera-turn background" in hint
    assert ct.turn_hint(np.where(np.arange(50) % 2 == 0, rolling, np.nan)) is None     # read on half the frames
