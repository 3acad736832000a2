"""core.preprocess: crops agree with CropBox.crop_intrinsics; padding."""
import numpy as np
import pytest

from core.preprocess import crop_image, frame_to_crop
from core.types import CropBox


def blob_image(h, w, centre, sigma):
    """Gaussian blob centred at continuous image coordinate ``centre`` (pixel (i, j) centred at (j+.5, i+.5))."""
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    g = np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * sigma ** 2))
    return np.repeat(np.round(255 * g).astype(np.uint8)[..., None], 3, axis=2)


def centroid(img):
    wgt = img[..., 0].astype(np.float64)
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]] + 0.5
    return np.array([(xx * wgt).sum(), (yy * wgt).sum()]) / wgt.sum()


@pytest.mark.parametrize("box,size,sigma", [
    (CropBox(60.3, 20.7, 120.0), 64, 6.0),     # downscale ~0.53
    (CropBox(60.5, 40.25, 150.0), 192, 5.0),  # box leaves the frame (right, bottom), upscale
    (CropBox(10.0, 5.0, 180.0), 48, 9.0),      # strong downscale (anti-alias path)
])
def test_crop_matches_crop_intrinsics(box, size, sigma):
    K = np.array([[300.0, 0, 101.3], [0, 310.0, 79.6], [0, 0, 1]])
    X = np.array([12.0, -4.0, 150.0])
    uv = (K @ X)[:2] / X[2]
    Kc = box.crop_intrinsics(K, size)
    uv_crop = (Kc @ X)[:2] / X[2]
    np.testing.assert_allclose(frame_to_crop(uv, box, size), uv_crop, atol=1e-9)
    img = blob_image(160, 200, uv, sigma)
    crop = crop_image(img, box, size, border="constant")
    assert crop.shape == (size, size, 3) and crop.dtype == np.uint8
    np.testing.assert_allclose(centroid(crop), uv_crop, atol=0.08)


def test_padding_modes():
    img = np.zeros((20, 30, 3), np.uint8)
    img[:, 0] = (200, 100, 50)        # left column coloured
    box = CropBox(-10.0, 0.0, 20.0)   # left half outside the frame
    rep = crop_image(img, box, 20, border="replicate")
    np.testing.assert_array_equal(rep[:, :9], np.broadcast_to([200, 100, 50], (20, 9, 3)))
    con = crop_image(img, box, 20, border="constant", fill=(1, 2, 3))
    np.testing.assert_array_equal(con[:, :9], np.broadcast_to([1, 2, 3], (20, 9, 3)))
    np.testing.assert_array_equal(con[:, 11:], 0)
    with pytest.raises(ValueError):
        crop_image(img, box, 20, border="wrap")
    with pytest.raises(ValueError):
        crop_image(img, CropBox(0, 0, 0), 20)


def test_identity_crop_is_exact():
    img = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    np.testing.assert_array_equal(crop_image(img, CropBox(5.0, 3.0, 32.0), 32), img[3:35, 5:37])


@pytest.mark.parametrize("angle", [0.4, -1.1, np.pi / 2, np.pi])
def test_turned_crop_maps_both_ways_and_shows_the_frame_there(angle):
    """A turned box (CropBox.angle) is cut turned about its centre: a point of the frame lands in the crop where
    frame_to_crop puts it, and crop_to_frame takes it back."""
    from core.preprocess import crop_to_frame
    box, size = CropBox(40.3, 22.7, 110.0, angle), 96
    uv = np.array([101.0, 70.0])
    at = frame_to_crop(uv, box, size)
    np.testing.assert_allclose(crop_to_frame(at, box, size), uv, atol=1e-9)
    np.testing.assert_allclose(frame_to_crop(box.centre, box, size), [size / 2, size / 2], atol=1e-9)
    crop = crop_image(blob_image(160, 200, uv, 5.0), box, size, border="constant")
    np.testing.assert_allclose(centroid(crop), at, atol=0.08)
    # the crop's x axis runs along (cos, sin) in the frame
    step = crop_to_frame(at + [1.0, 0.0], box, size) - uv
    np.testing.assert_allclose(step / np.linalg.norm(step), [np.cos(angle), np.sin(angle)], atol=1e-9)


def test_crop_turned_a_quarter_is_the_upright_crop_turned():
    img = np.random.default_rng(2).integers(0, 256, (60, 70, 3), dtype=np.uint8)
    upright, turned = CropBox(12.0, 9.0, 32.0), CropBox(12.0, 9.0, 32.0, np.pi / 2)
    a, b = crop_image(img, upright, 32), crop_image(img, turned, 32)
    assert np.abs(np.rot90(a).astype(int) - b).max() <= 1
    with pytest.raises(ValueError, match="turned"):
        turned.crop_intrinsics(np.eye(3), 32)


@pytest.mark.parametrize("angle", [0.0, 0.7, -2.5])
def test_crop_camera_projects_where_frame_to_crop_maps(angle):
    """CropBox.crop_camera (the camera rolled to a turned crop, as training.groundtruth renders it) puts a point
    where projecting it through the frame's K and frame_to_crop do."""
    K = np.array([[300.0, 0, 101.3], [0, 300.0, 79.6], [0, 0, 1]])
    box, size = CropBox(30.0, 12.0, 140.0, angle), 128
    X = np.array([[12.0, -4.0, 150.0], [-30.0, 25.0, 180.0]])
    R, Kc = box.crop_camera(K, size)
    seen = (X @ R.T) @ Kc.T
    uv = (X @ K.T)[:, :2] / X[:, 2:]
    np.testing.assert_allclose(seen[:, :2] / seen[:, 2:], frame_to_crop(uv, box, size), atol=1e-9)
    np.testing.assert_allclose(seen[:, 2], X[:, 2])                       # depth is kept
    with pytest.raises(ValueError, match="square pixels"):
        CropBox(0.0, 0.0, 10.0, 0.3).crop_camera(np.diag([300.0, 310.0, 1.0]), 32)
