import numpy as np
import pytest

from training import groundtruth as gt
from core.points import default_focal, estimate_focal, intrinsics, source_share, to_point_cloud
from core.types import CropBox, FramePrediction


@pytest.fixture(scope="module")
def seq(head):
    return gt.make_sequence(head, 12, seed=5, id_scale=0.0)


def test_default_focal_formula():
    assert default_focal(1920, 1080) == pytest.approx(35 / 43.2666 * np.hypot(1920, 1080))
    assert default_focal(1080, 1920) == default_focal(1920, 1080)
    K = intrinsics(640, 480, 700.0)
    assert K[0, 0] == K[1, 1] == 700.0 and tuple(K[:2, 2]) == (320.0, 240.0)
    with pytest.raises(ValueError):
        default_focal(0, 10)


def test_pnp_anchor_and_points_on_ground_truth(head, seq):
    for t in (0, 11):
        pred, box = gt.render_prediction(head, seq.verts_cam[t], seq.translation[t], seq.K, 128)
        cloud = to_point_cloud(pred, box, seq.K, head, frame=t)
        assert cloud is not None and cloud.frame == t and len(cloud.cam_xyz) > 1000
        # template identity, mild expression: PnP recovers the head origin's depth along the crop's axis to a few
        # mm of 600
        axis = box.view_axis(seq.K)
        assert abs(cloud.z_origin - seq.translation[t] @ axis) < 6.0
        # the camera points lie on the true surface; projected back they hit their pixels
        z = cloud.cam_xyz[:, 2:3]
        px = cloud.cam_xyz[:, :2] / z * np.diag(seq.K)[:2] + seq.K[:2, 2]
        assert np.abs(px - cloud.pixel).max() < 1e-2
        np.testing.assert_allclose(cloud.ray * (cloud.cam_xyz @ axis)[:, None], cloud.cam_xyz, atol=1e-2)
        assert (cloud.weight > 0).all() and np.isfinite(cloud.canon).all()


def test_pixels_outside_the_frame_are_dropped(head, seq):
    """A crop that reaches past the frame's right and bottom edges keeps only the pixels the frame has."""
    pred, box = gt.render_prediction(head, seq.verts_cam[3], seq.translation[3], seq.K, 128)
    whole = to_point_cloud(pred, box, seq.K, head, 3)
    W, H = int(box.x0 + 0.6 * box.size), int(box.y0 + 0.8 * box.size)
    cut = to_point_cloud(pred, box, seq.K, head, 3, frame_size=(W, H))
    inside = (whole.pixel[:, 0] < W) & (whole.pixel[:, 1] < H)
    assert 0.2 * len(whole.pixel) < inside.sum() < 0.9 * len(whole.pixel)
    assert len(cut.pixel) == inside.sum()
    np.testing.assert_array_equal(cut.pixel, whole.pixel[inside])
    assert abs(cut.z_origin - seq.translation[3] @ box.view_axis(seq.K)) < 6.0
    roomy = to_point_cloud(pred, box, seq.K, head, 3, frame_size=(W + 10 * int(box.size), H + 10 * int(box.size)))
    np.testing.assert_array_equal(roomy.pixel, whole.pixel)


def test_a_crop_cut_from_fewer_frame_pixels_than_the_network_reads_weighs_less(head, seq):
    """The same head seen through a camera with a quarter of the pixels (focal length and frame scaled by f): its
    crop, 64 frame pixels across for the network's 128, gives the same points at the same depth, each weighing
    (64 / 128)^2 of its weight in the full-size frame, where the crop is cut from more pixels than the network
    reads and keeps its weight."""
    assert source_share(256, 128) == source_share(128, 128) == 1.0 and source_share(64, 128) == 0.25
    pred, box = gt.render_prediction(head, seq.verts_cam[2], seq.translation[2], seq.K, 128)
    assert box.size > 128
    full = to_point_cloud(pred, box, seq.K, head, 2)
    f = 64.0 / box.size
    K = seq.K.copy()
    K[:2] *= f
    small = to_point_cloud(pred, CropBox(box.x0 * f, box.y0 * f, box.size * f), K, head, 2)
    np.testing.assert_allclose(small.pixel, full.pixel * f, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(small.weight, full.weight * 0.25, rtol=1e-5)
    assert abs(small.z_origin - full.z_origin) < 2.0
    np.testing.assert_allclose(small.canon, full.canon)


def test_exact_anchor_at_neutral(head):
    seq0 = gt.make_sequence(head, 3, seed=2, id_scale=0.0)
    verts = head.vertices @ seq0.rotation[0].T + seq0.translation[0]
    pred, box = gt.render_prediction(head, verts, seq0.translation[0], seq0.K, 128)
    cloud = to_point_cloud(pred, box, seq0.K, head, 0)
    assert abs(cloud.z_origin - seq0.translation[0] @ box.view_axis(seq0.K)) < 0.5


def test_too_few_points_is_none(head):
    S = 64
    z = np.zeros((S, S), np.float32)
    pred = FramePrediction(z, z + 1, np.zeros((S, S, 3), np.float32), z + 1, z)
    assert to_point_cloud(pred, CropBox(0, 0, 100), intrinsics(640, 480), head, 0) is None


def test_estimate_focal_recovers_a_wide_lens(head):
    seq_w = gt.make_sequence(head, 30, seed=7, id_scale=0.0, focal_px=400.0, dist=350.0, yaw=40.0)
    clouds = []
    for t in range(0, 30, 6):
        pred, box = gt.render_prediction(head, seq_w.verts_cam[t], seq_w.translation[t], seq_w.K, 96)
        clouds.append(to_point_cloud(pred, box, seq_w.K, head, t))
    f = estimate_focal(clouds, 640, 480)
    assert f is not None and abs(f - 400.0) < 40.0


def test_turned_crop_gives_the_same_points(head, seq):
    """The network's answer on a crop turned a quarter (CropBox.angle) is the upright crop's turned: its points
    land on the same frame pixels with the same canonical coordinates, and the PnP anchor agrees."""
    pred, box = gt.render_prediction(head, seq.verts_cam[4], seq.translation[4], seq.K, 128)
    turned = FramePrediction(*(np.ascontiguousarray(np.rot90(getattr(pred, f))) for f in
                               ("depth", "depth_conf", "canon", "canon_conf", "mask")))
    a = to_point_cloud(pred, box, seq.K, head, 4)
    b = to_point_cloud(turned, CropBox(box.x0, box.y0, box.size, np.pi / 2), seq.K, head, 4)
    key = lambda c: np.lexsort(np.round(c.pixel, 3).T)          # noqa: E731  (the two list pixels in other orders)
    ia, ib = key(a), key(b)
    np.testing.assert_allclose(b.pixel[ib], a.pixel[ia], atol=1e-6)
    np.testing.assert_array_equal(b.canon[ib], a.canon[ia])
    assert abs(b.z_origin - a.z_origin) < 2.0 and abs(b.z_origin - seq.translation[4, 2]) < 6.0
    W, H = int(box.x0 + 0.6 * box.size), int(box.y0 + 0.8 * box.size)      # and the frame's edges hold as upright
    cut_a = to_point_cloud(pred, box, seq.K, head, 4, frame_size=(W, H))
    cut_b = to_point_cloud(turned, CropBox(box.x0, box.y0, box.size, np.pi / 2), seq.K, head, 4, frame_size=(W, H))
    assert len(cut_b.pixel) == len(cut_a.pixel) < len(a.pixel)


def test_points_of_a_turned_crop_on_ground_truth(head, seq):
    """Ground-truth maps rendered in a turned crop (training.groundtruth through CropBox.crop_camera): the points
    lie on the true surface, project back onto their pixels, and the PnP anchor is the head's depth."""
    t = 6
    _, upright = gt.render_prediction(head, seq.verts_cam[t], seq.translation[t], seq.K, 128)
    box = CropBox(upright.x0, upright.y0, upright.size, 2.2)
    pred, _ = gt.render_prediction(head, seq.verts_cam[t], seq.translation[t], seq.K, 128, box=box)
    cloud = to_point_cloud(pred, box, seq.K, head, frame=t)
    assert cloud is not None and len(cloud.cam_xyz) > 1000
    assert abs(cloud.z_origin - seq.translation[t, 2]) < 6.0
    z = cloud.cam_xyz[:, 2:3]
    px = cloud.cam_xyz[:, :2] / z * np.diag(seq.K)[:2] + seq.K[:2, 2]
    assert np.abs(px - cloud.pixel).max() < 1e-2


def test_the_same_crop_cut_off_the_axis_reads_a_head_turned_to_face_the_camera(head, seq):
    """The network sees the crop alone: the same answer for a crop cut 15 degrees off the optical axis is a head
    turned by those 15 degrees about the camera (it faces the camera as the one on the axis does), not one turned
    part of the way (its depths read along the camera's own axis)."""
    t = 0
    pred, box = gt.render_prediction(head, seq.verts_cam[t], seq.translation[t], seq.K, 128)
    K = np.asarray(seq.K, np.float64)
    phi = np.deg2rad(15.0)
    on = CropBox(K[0, 2] - box.size / 2, K[1, 2] - box.size / 2, box.size)        # the crop on the axis
    off = CropBox(K[0, 2] + K[0, 0] * np.tan(phi) - box.size / 2, on.y0, box.size)
    a, b = (to_point_cloud(pred, c, K, head, t) for c in (on, off))
    np.testing.assert_array_equal(a.canon, b.canon)
    p, q = a.cam_xyz - a.cam_xyz.mean(0), b.cam_xyz - b.cam_xyz.mean(0)
    u, _, vt = np.linalg.svd(p.T @ q)                                 # Kabsch: b ~ R a
    R = (u @ np.diag([1, 1, np.linalg.det(u @ vt)]) @ vt).T
    assert np.rad2deg(np.arctan2(R[0, 2], R[2, 2])) == pytest.approx(15.0, abs=1.0)     # about the camera's y
    assert np.rad2deg(np.arccos(np.clip(R[1, 1], -1, 1))) < 1.0
    assert np.sqrt(((q - p @ R.T) ** 2).sum(1).mean()) < 2.0       # the same face, turned (mm; the crop off the axis
    #                                                                  is cut from the frame, not turned with it)
