"""core.framing: the training crop framing recovered from a head pose."""
import cv2
import numpy as np
import pytest

from core.framing import CROP_SIDE_MM, FACE_SIDE, box_between, box_change, face_inside, pose_crop_box
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


def test_a_box_between_two_moves_its_centre_side_and_turn_alike():
    a, b = CropBox(0, 0, 100, 0.0), CropBox(200, 100, 300, 0.4)
    fields = lambda box: [box.x0, box.y0, box.size, box.angle]                            # noqa: E731
    assert np.allclose(fields(box_between(a, b, 0.0)), fields(a)) and np.allclose(fields(box_between(a, b, 1.0)),
                                                                                    fields(b))
    half = box_between(a, b, 0.5)
    assert np.allclose(half.centre, 0.5 * (a.centre + b.centre)) and half.size == 200 and half.angle == pytest.approx(0.2)
    upside_down = box_between(CropBox(0, 0, 100, 3.0), CropBox(0, 0, 100, -3.0), 0.5)   # the shorter way round
    assert abs(abs(upside_down.angle) - np.pi) < 1e-9


def test_face_inside_reads_the_crops_middle_against_the_frame():
    assert face_inside(CropBox(0, 0, 100), 100, 100) == 1.0
    # the crop's margin beyond the frame does not count, its face does
    margin = 0.5 * (1 - FACE_SIDE) * 100
    assert face_inside(CropBox(-margin, -margin, 100), 100, 100) == pytest.approx(1.0)
    assert face_inside(CropBox(50, 0, 100), 100, 100) == pytest.approx(0.5)      # half its face out of the frame
    assert face_inside(CropBox(300, 0, 100), 100, 100) == 0.0
