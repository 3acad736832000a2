import csv

import numpy as np
import pytest

from bake import export_csv, eye_turn
from core.errors import ExportError
from core.mesh_render import HEAD_TO_CV, rotation_y
from tests.blender.conftest import make_tracks


def test_header_is_live_link_face_layout():
    h = export_csv.HEADER
    assert len(h) == 2 + 52 + 9
    assert h[:4] == ("Timecode", "BlendShapeCount", "EyeBlinkLeft", "EyeLookDownLeft")
    assert h[16:20] == ("JawForward", "JawRight", "JawLeft", "JawOpen")
    assert h[-10:] == ("TongueOut", "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch",
                       "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
    from core.head_model import ARKIT_NAMES
    assert sorted(n.lower() for n in export_csv.LIVE_LINK_FACE_BLENDSHAPES) == sorted(n.lower() for n in ARKIT_NAMES)


@pytest.mark.parametrize("index,fps,expect", [(0, 24, "00:00:00:00.000"), (25, 24, "00:00:01:01.000"),
                                              (30 * 3661 + 7, 29.97, "01:01:01:07.000")])
def test_timecode(index, fps, expect):
    assert export_csv.timecode(index, fps) == expect


def test_head_angles_signs():
    R = np.stack([HEAD_TO_CV @ rotation_y(20.0), HEAD_TO_CV])
    ypr = export_csv.head_yaw_pitch_roll(R)
    np.testing.assert_allclose(ypr[0], [np.deg2rad(20), 0, 0], atol=1e-9)
    np.testing.assert_allclose(ypr[1], 0, atol=1e-12)


def test_write_csv_values(head, tmp_path):
    tr = make_tracks(head, n_frames=30, residual=2)
    out = export_csv.write_csv(tmp_path / "take.csv", tr)
    with open(out) as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == export_csv.HEADER and len(rows) == 31
    assert rows[1][0] == "00:00:00:00.000" and rows[1][1] == "61" and rows[25][0] == "00:00:01:00.000"
    j = tr.key_names.index("jawOpen")
    col = rows[0].index("JawOpen")
    np.testing.assert_allclose([float(r[col]) for r in rows[1:]], tr.weights[:, j], atol=1e-6)
    assert not list(tmp_path.glob(".*partial*"))


def test_unwritable(head, tmp_path):
    tr = make_tracks(head, n_frames=3)
    with pytest.raises(ExportError):
        export_csv.write_csv(tmp_path / "nope" / "a.csv", tr)


@pytest.mark.parametrize("fps", [24.0, 30.0, None])
def test_round_trip_export_import(head, tmp_path, fps):
    """export -> import equals the original within the CSV's 6 decimals (weights, frames, head rotation)."""
    tr = make_tracks(head, n_frames=60, fps=30.0, first_frame=7)
    if fps is not None:
        from dataclasses import replace
        tr = replace(tr, fps=fps)
    p = export_csv.write_csv(tmp_path / "take.csv", tr)
    take = export_csv.read_csv(p, fps=fps, start_frame=7)
    assert take.fps == (fps or 30.0) and len(take.names) == 52
    np.testing.assert_array_equal(take.frames, tr.frames)
    for j, n in enumerate(tr.key_names):
        np.testing.assert_allclose(take.column(n), tr.weights[:, j], atol=5e-7)
    np.testing.assert_allclose(take.head_rotation, tr.head_rotation, atol=3e-6)


def test_read_iphone_style_timecodes(tmp_path):
    p = tmp_path / "iphone.csv"
    names = export_csv.LIVE_LINK_FACE_BLENDSHAPES
    lines = [",".join(export_csv.HEADER)]
    for i, code in enumerate(["17:21:02:58.500", "17:21:02:59.000", "17:21:03:00.000", "17:21:03:01.250"]):
        lines.append(",".join([code, "61"] + [f"{0.01 * i:.6f}"] * 52 + ["0"] * 9))
    p.write_text("\n".join(lines) + "\n")
    take = export_csv.read_csv(p)
    assert take.fps == 60 and take.head_rotation is None
    np.testing.assert_allclose(take.frames, [1.0, 1.5, 2.5, 3.75])
    assert take.names == tuple(n[0].lower() + n[1:] for n in names)
    with pytest.raises(Exception):
        export_csv.read_csv(tmp_path / "missing.csv")


def test_take_round_trip_with_subframes(tmp_path):
    """A take (as read from Blender) with fractional frames -> CSV -> the same take."""
    from bake.retarget import Take
    rng = np.random.default_rng(1)
    names = ("jawOpen", "eyeBlinkLeft", "residual_00")
    frames = np.array([10.0, 10.5, 11.0, 12.25, 40.0])
    take = Take(names=names, weights=rng.uniform(0, 1, (5, 3)), frames=frames, fps=30.0)
    p = export_csv.write_take_csv(tmp_path / "take.csv", take)
    back = export_csv.read_csv(p, fps=30, start_frame=10)
    np.testing.assert_allclose(back.frames, frames)
    for n in ("jawOpen", "eyeBlinkLeft"):
        np.testing.assert_allclose(back.column(n), take.column(n), atol=5e-7)
    assert back.column("tongueOut").max() == 0 and back.head_rotation is None


def test_eye_columns_turn_each_eye_as_its_look_shapes_do(head, tmp_path):
    """Each eye's yaw and pitch are its eyeLook* weights' turn of the head's eyeball, signed as the head's: an eye
    looking out (towards its own side), in, up or down turns its iris centre (on the head as posed by the weights)
    that way; the subject's left eye's columns come first; a look both ways at half weight is the sum of the halves."""
    from core import landmark_template as lt
    names = head.arkit_names
    looks = ("eyeLookOutLeft", "eyeLookInLeft", "eyeLookUpLeft", "eyeLookDownLeft", "eyeLookOutRight",
             "eyeLookUpRight")
    w = np.zeros((len(looks) + 1, len(names)))
    for i, n in enumerate(looks):
        w[i, names.index(n)] = 1.0
    w[-1, names.index("eyeLookUpLeft")] = w[-1, names.index("eyeLookInLeft")] = 0.5
    angles = np.degrees(eye_turn.eye_yaw_pitch(names, w))          # (T, eye, yaw / pitch)
    template = lt.load()
    iris = template.points(head.vertices[None] + np.einsum("tk,kvc->tvc", w, head.arkit_deltas), head)
    at_rest = template.points(head.vertices.astype(np.float64), head)
    left, right = lt.IRIS_CENTRES[1], lt.IRIS_CENTRES[0]                 # the subject's: x > 0 is its left
    assert at_rest[left, 0] > 0 > at_rest[right, 0]
    moved = iris - at_rest                                               # head frame: x the subject's left, y up
    assert angles[0, 0, 0] > 5 and moved[0, left, 0] > 0.5               # out: towards the subject's left
    assert angles[1, 0, 0] < -5 and moved[1, left, 0] < -0.5             # in: towards the nose
    assert angles[2, 0, 1] < -5 and moved[2, left, 1] > 0.5              # up: pitch < 0, as a head looking up
    assert angles[3, 0, 1] > 5 and moved[3, left, 1] < -0.5
    assert angles[4, 1, 0] < -5 and moved[4, right, 0] < -0.5            # the right eye out: the subject's right
    assert angles[5, 1, 1] < -5 and np.abs(angles[5, 0]).max() < 1e-9    # the left eye stays
    np.testing.assert_allclose(angles[-1, 0], 0.5 * (angles[1, 0] + angles[2, 0]))
    assert np.abs(angles[:, :, 0]).max() < 30 and np.abs(angles[:, :, 1]).max() < 30
    tr = make_tracks(head, n_frames=8)
    with open(export_csv.write_csv(tmp_path / "take.csv", tr)) as f:
        rows = list(csv.reader(f))
    cols = [rows[0].index(c) for c in ("LeftEyeYaw", "LeftEyePitch", "RightEyeYaw", "RightEyePitch")]
    want = eye_turn.eye_yaw_pitch(tr.key_names, tr.weights).reshape(len(tr.weights), 4)
    assert np.abs(want).max() > 0.01                                     # the take's eyes look about
    np.testing.assert_allclose([[float(r[c]) for c in cols] for r in rows[1:]], want, atol=1e-6)
    assert {r[rows[0].index("LeftEyeRoll")] for r in rows[1:]} == {"0.000000"}
