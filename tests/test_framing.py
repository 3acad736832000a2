"""core.framing: the training crop framing recovered from a head pose."""
import cv2
import numpy as np
import pytest

from core.framing import CROP_SIDE_MM, box_change, pose_crop_box
from core.types import CropBox


def _pose(yaw=25.0, pitch=-10.0):
    from scipy.spatial.transform import Rotation
    R = Rotation.from_euler("yx", [yaw, pitch], degrees=True).as_matrix() @ np.diag([1.0, -1.0, -1.0])
    return R, np.array([30.0, -20.0, 600.0])


def test_box_change_is_scale_free():
    a = CropBox(100, 100, 200)
    assert box_change(a, a) == 0.0
    assert box_change(a, CropBox(110, 100, 200)) == pytest.approx(0.05)
    assert box_change(a, CropBox(0, 0, 400)) == pytest.approx(np.log(2.0))
    assert box_change(CropBox(10, 10, 20), CropBox(11, 10, 20)) == pytest.approx(box_change(a, CropBox(110, 100, 200)))


def test_pose_box_side_and_behind_camera():
    K = np.array([[800.0, 0, 320], [0, 800.0, 240], [0, 0, 1]])
    R, t = _pose()
    box = pose_crop_box(cv2.Rodrigues(R)[0], t, K)
    assert box.size == pytest.approx(CROP_SIDE_MM * 800 / 600)
    assert pose_crop_box(cv2.Rodrigues(R)[0], np.array([0.0, 0.0, -500.0]), K) is None


@pytest.mark.parametrize("head_size", [0.75, 1.0, 1.2])
def test_pose_box_is_the_training_framing(head_size):
    """A head of size s at distance t looks like a template head at t / s, the pose PnP on template coordinates
    returns: the box from that pose crops exactly what the training renderer frames (training.synth)."""
    pytest.importorskip("torch")
    from training import synth
    K = np.array([[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]])
    R, t = _pose()
    S = 128
    Kc = synth.crop_intrinsics(R, t, S, head_size=head_size)
    box = pose_crop_box(cv2.Rodrigues(R)[0], t / head_size, K)
    assert np.allclose(box.crop_intrinsics(K, S), Kc, atol=1e-6)


def test_box_offset_round_trip():
    from core.framing import apply_offset, box_offset
    base, box = CropBox(100, 50, 200), CropBox(130, 20, 260)
    off = box_offset(base, box)
    assert off == pytest.approx([0.3, 0.0, np.log(1.3)])
    back = apply_offset(base, off)
    assert (back.x0, back.y0, back.size) == pytest.approx((box.x0, box.y0, box.size))
    assert apply_offset(base, np.zeros(3)) == base
