"""core.background: a picture turned about its centre reads as that turn, in the eye line's sense (a line's angle in
image x right, y down grows); the face's box is left out; a blank picture, the first frame and a close-up read
nothing."""
import cv2
import numpy as np
import pytest

from core.background import BackgroundTurn
from core.types import CropBox


def _textured(h=720, w=1280, seed=0):
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), 3)
    return np.repeat(cv2.normalize(noise, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)[..., None], 3, 2)


def _turned(image, degrees):
    h, w = image.shape[:2]
    M = cv2.getRotationMatrix2D((w / 2, h / 2), -degrees, 1.0)      # OpenCV's angle is counter-clockwise on screen
    return cv2.warpAffine(image, M, (w, h), borderMode=cv2.BORDER_REFLECT)


def test_a_turned_background_reads_as_its_turn_in_the_eye_lines_sense():
    image = _textured()
    reader = BackgroundTurn()
    assert np.isnan(reader.update(image, None))                      # the first frame: nothing to turn from
    got = reader.update(_turned(image, 1.0), None)
    assert np.degrees(got) == pytest.approx(1.0, abs=0.02)
    # the same sense as a line's angle across the face: arctan2(dy, dx) of a segment turned with the picture
    a, b = np.array([400.0, 300.0]), np.array([700.0, 300.0])
    M = cv2.getRotationMatrix2D((640, 360), -1.0, 1.0)
    a2, b2 = M[:, :2] @ a + M[:, 2], M[:, :2] @ b + M[:, 2]
    assert np.degrees(np.arctan2(*(b2 - a2)[::-1])) == pytest.approx(np.degrees(got), abs=0.02)


def test_the_face_is_left_out_and_a_blank_picture_reads_nothing():
    image = _textured()
    still = image.copy()
    face = CropBox(500, 200, 300)
    still[150:, 350:950] = _turned(image, 5.0)[150:, 350:950]        # only the face and the body below it turn
    reader = BackgroundTurn()
    reader.update(image, face)
    assert abs(np.degrees(reader.update(still, face))) < 0.02
    blank = BackgroundTurn()
    blank.update(np.full((720, 1280, 3), 80, np.uint8), None)
    assert np.isnan(blank.update(np.full((720, 1280, 3), 80, np.uint8), None))
    close = BackgroundTurn()                                         # a close-up: its face and body fill the frame
    close.update(image, CropBox(300, 100, 700))
    assert np.isnan(close.update(_turned(image, 1.0), CropBox(300, 100, 700)))


def _camera_turned(image, K, rotvec):
    """``image`` seen by its camera turned on the spot by ``rotvec`` (radians, about the OpenCV camera axes of the
    first view: its directions turn the other way in the turned camera)."""
    H = K @ cv2.Rodrigues(np.asarray(rotvec, np.float64))[0].T @ np.linalg.inv(K)
    return cv2.warpPerspective(image, H, image.shape[1::-1], borderMode=cv2.BORDER_REFLECT)


def test_a_turning_camera_reads_as_its_view_against_the_first_frame_without_drifting():
    """``view``: the camera's pan, tilt and roll from the first frame (rotation vector), read against a reference
    frame: a still camera's noisy frames stay put (chained frame to frame, small biases add up), a camera turned far
    from the first frame is still read (from the frame before, re-anchored), and without the camera matrix nothing."""
    image = _textured()
    K = np.array([[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]])
    rng = np.random.default_rng(1)
    reader = BackgroundTurn(K)
    reader.update(image, None)
    np.testing.assert_array_equal(reader.view, np.zeros(3))
    for _ in range(20):        # a still camera, its frames noisy
        noisy = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
        reader.update(noisy, CropBox(500, 200, 300))
        assert np.degrees(np.linalg.norm(reader.view)) < 0.02
    for rv in ([0, 0.01, 0], [0.012, 0, 0], [0, 0, 0.01], [0.004, -0.006, 0.003]):
        reader.update(_camera_turned(image, K, rv), None)
        np.testing.assert_allclose(reader.view, rv, atol=np.radians(0.02))
    panning = BackgroundTurn(K)
    for k in range(12):        # 1.5 degrees a frame: 16.5 degrees from the first frame at the end
        panning.update(_camera_turned(image, K, [0, np.radians(1.5 * k), 0]), None)
        np.testing.assert_allclose(panning.view, [0, np.radians(1.5 * k), 0], atol=np.radians(0.05))
    blind = BackgroundTurn()
    blind.update(image, None)
    blind.update(_camera_turned(image, K, [0, 0.01, 0]), None)
    assert np.isnan(blind.view).all()


def test_a_reference_without_corners_enough_keeps_the_old_one():
    """Re-anchoring on a frame with too few corners (the camera turned far and the frame before it is blank) keeps
    the old reference, so the views stay against the first frame rather than starting again from nothing."""
    image = _textured()
    K = np.array([[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]])
    reader = BackgroundTurn(K)
    reader.update(image, None)
    reader.update(_camera_turned(image, K, [0, 0.01, 0]), None)
    first = reader._ref
    reader._last = (np.full_like(first[0], 80), np.full_like(first[0], 255), np.eye(3))     # a blank frame
    reader.update(np.full_like(image, 80), None)              # unread: the reference cannot follow it, nor re-anchor
    assert np.isnan(reader.view).all() and reader._ref is first
    reader.update(_camera_turned(image, K, [0, 0.02, 0]), None)
    np.testing.assert_allclose(reader.view, [0, 0.02, 0], atol=np.radians(0.02))


def test_turned_pixels_carry_rays_as_a_turned_camera_sees_them_frame_by_frame():
    """core.background.turned_pixels: the pixels a camera turned by R sees where the camera before saw ``uv``, the
    inverse of ``camera_turn``'s reading, one turn for a set of pixels or one per frame."""
    from core.background import camera_turn, turned_pixels
    K = np.array([[900.0, 0, 640], [0, 880.0, 360], [0, 0, 1]])
    rng = np.random.default_rng(2)
    uv = rng.uniform([0, 0], [1280, 720], (30, 2))
    R = cv2.Rodrigues(np.array([[0.02], [-0.03], [0.01]]))[0]
    after = turned_pixels(uv, R, K)
    np.testing.assert_allclose(camera_turn(uv, after, K), R, atol=1e-9)
    np.testing.assert_allclose(turned_pixels(after, R.T, K), uv, atol=1e-6)
    np.testing.assert_allclose(turned_pixels(uv, np.eye(3), K), uv, atol=1e-9)
    frames = np.stack([np.eye(3), R])                    # (T, 3, 3) against (T, N, 2)
    out = turned_pixels(np.stack([uv, uv]), frames, K)
    np.testing.assert_allclose(out[0], uv, atol=1e-9)
    np.testing.assert_allclose(out[1], after, atol=1e-9)
    centre = turned_pixels(np.array([[640.0, 360.0]]), cv2.Rodrigues(np.array([[0.0], [0.01], [0.0]]))[0], K)
    assert centre[0, 0] > 640 + 8 and abs(centre[0, 1] - 360) < 1e-6     # a pan to the left moves the picture right
