"""bake.cli.run end to end with bpy, reconstruct replaced by synthetic tracks (the model is not involved)."""
from __future__ import annotations

import csv

import numpy as np

import pytest

from bake import cli, pipeline
from bake.types import BakeStats
from core.errors import BakeError, ExportError, ModelError

from .conftest import make_tracks


@pytest.fixture()
def fake_reconstruct(monkeypatch, head):
    calls = []

    def fake(config, progress=None, cancel=None):
        calls.append(config)
        if progress:
            progress(1.0, "done")
        tr = make_tracks(head, n_frames=12)
        return tr, BakeStats(frames_total=12, frames_tracked=11, frames_bridged=1, seconds=0.1,
                             iris_eye_distance_mm=61.4, landmark_fit=0.0214, worst_fit_frame=7, worst_fit=0.0433)
    monkeypatch.setattr(pipeline, "reconstruct", fake)
    monkeypatch.setattr(cli, "make_config", lambda ns: ns)
    return calls


@pytest.fixture()
def src(tmp_path):
    p = tmp_path / "clip.mp4"
    p.write_bytes(b"not decoded: reconstruct is faked")
    return p


def test_run_writes_all_outputs(bpy_mod, fake_reconstruct, src, tmp_path, capsys, head):
    out = tmp_path / "out"
    out.mkdir()
    argv = [str(src), "--out", str(out / "s.blend"), "--fbx", str(out / "s.fbx"), "--glb", str(out / "s.glb"),
            "--csv", str(out / "s.csv")]
    assert cli.run(argv) == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["s.blend", "s.csv", "s.fbx", "s.glb"]
    err = capsys.readouterr().err
    assert "tracked 11/12 frames" in err and "wrote" in err
    assert "landmark fit: 2.1 % of the eye distance (worst 4.3 %, frame 7)" in err
    from bake.head_size import eye_distance
    baked = float(eye_distance(make_tracks(head, n_frames=12).basis, head))
    assert f"head: eye distance {baked:.0f} mm, the network's reading; the irises read 61 mm" in err
    with open(out / "s.csv") as f:
        assert len(list(csv.reader(f))) == 13
    bpy_mod.ops.wm.open_mainfile(filepath=str(out / "s.blend"))
    head = bpy_mod.data.objects["FaceCapture_Head"]
    assert len(head.data.shape_keys.key_blocks) == 53
    assert bpy_mod.context.scene.frame_end == 12
    bpy_mod.ops.wm.read_factory_settings(use_empty=True)


@pytest.mark.parametrize("exc,code", [(BakeError("no face found in any frame"), 4), (ModelError("bad onnx"), 3),
                                      (KeyboardInterrupt(), 130)])
def test_reconstruct_errors_map_to_exit_codes(exc, code, monkeypatch, src, tmp_path, capsys):
    def boom(*a, **k):
        raise exc
    monkeypatch.setattr(pipeline, "reconstruct", boom)
    monkeypatch.setattr(cli, "make_config", lambda ns: ns)
    assert cli.run([str(src), "--out", str(tmp_path / "s.blend")]) == code
    assert not (tmp_path / "s.blend").exists()
    err = capsys.readouterr().err
    assert (str(exc) in err) if code != 130 else ("cancelled" in err)


def test_failed_export_removes_earlier_outputs(bpy_mod, fake_reconstruct, src, tmp_path, monkeypatch):
    from bake import blender_io

    def fail(path, coll):
        raise ExportError("disk full (simulated)")
    monkeypatch.setattr(blender_io, "export_glb", fail)
    argv = [str(src), "--out", str(tmp_path / "s.blend"), "--fbx", str(tmp_path / "s.fbx"),
            "--glb", str(tmp_path / "s.glb")]
    assert cli.run(argv) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
    bpy_mod.ops.wm.read_factory_settings(use_empty=True)


def _character_blend(bpy, path):
    """A .blend with a face mesh carrying a few ARKit shapes under Live Link Face names + _L/_R, and a rig."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    me = bpy.data.meshes.new("Face")
    me.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    face = bpy.data.objects.new("Face", me)
    bpy.context.scene.collection.objects.link(face)
    for k in ("Basis", "JawOpen", "EyeBlink_L", "EyeBlink_R", "Smirk"):
        face.shape_key_add(name=k, from_mix=False)
    bpy.ops.wm.save_as_mainfile(filepath=str(path), check_existing=False)
    bpy.ops.wm.read_factory_settings(use_empty=True)


def test_retarget_calibrate_usd_plot_from_the_cli(bpy_mod, fake_reconstruct, src, tmp_path, capsys):
    from bake.blender_io.retarget import CALIB, RAW
    char = tmp_path / "char.blend"
    _character_blend(bpy_mod, char)
    out = tmp_path / "out"
    out.mkdir()
    argv = [str(src), "--out", str(out / "s.blend"), "--retarget", str(char), "--head-target", "Face",
            "--gain", "jaw=0.5", "--neutral-frame", "auto", "--usd", str(out / "s.usdc"), "--plot", str(out / "p.png"),
            "--csv", str(out / "s.csv"), "--glb", str(out / "s.glb")]
    assert cli.run(argv) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "Face: 3 shape keys driven" in err and "Face: 49 ARKit shapes missing" in err and "tongueOut" in err
    assert sorted(p.name for p in out.iterdir()) == ["p.png", "s.blend", "s.csv", "s.glb", "s.usdc"]
    from .test_blender_io import _glb_json
    (take,) = _glb_json(out / "s.glb")["animations"]        # the character's keys and head turn in one take
    assert {c["target"]["path"] for c in take["channels"]} == {"weights", "rotation"}
    bpy_mod.ops.wm.open_mainfile(filepath=str(out / "s.blend"))
    face = bpy_mod.data.objects["Face"]
    key = face.data.shape_keys
    assert CALIB in key and key[RAW] is not None and key.animation_data.action != key[RAW]
    assert CALIB in bpy_mod.data.objects["FaceCapture_Head"].data.shape_keys     # our head calibrated as well
    assert face.animation_data.action is not None                              # the head rotation
    bpy_mod.ops.wm.read_factory_settings(use_empty=True)
    from pxr import Usd, UsdSkel                     # the USD holds the driven character, not our head
    stage = Usd.Stage.Open(str(out / "s.usdc"))
    assert sorted(p.GetName() for p in stage.Traverse() if p.IsA(UsdSkel.BlendShape)) == \
        ["EyeBlink_L", "EyeBlink_R", "JawOpen", "Smirk"]
    # a Live Link Face CSV drives the same character without any capture; USD and a calibrated CSV come out
    out2 = tmp_path / "csv_take.blend"
    assert cli.run([str(out / "s.csv"), "--retarget", str(char), "--targets", "Face", "--out", str(out2),
                    "--usd", str(tmp_path / "c.usda"), "--csv", str(tmp_path / "c.csv"), "--gain", "eyes=0.5"]) == 0
    assert "read 12 frames of 52 ARKit shapes" in capsys.readouterr().err
    from bake import export_csv
    a, b = export_csv.read_csv(out / "s.csv"), export_csv.read_csv(tmp_path / "c.csv")
    np.testing.assert_allclose(b.column("eyeBlinkLeft"), 0.5 * a.column("eyeBlinkLeft"), atol=2e-6)
    assert (tmp_path / "c.usda").is_file()
    assert cli.run([str(out / "s.csv"), "--retarget", str(char), "--out", str(out2), "--texture",
                    str(tmp_path / "t.png")]) == 2                      # no footage behind a CSV
    assert cli.run([str(out / "s.csv"), "--out", str(out2)]) == 2             # a CSV needs a character
    assert cli.run([str(src), "--out", str(out2), "--retarget", str(char), "--targets", "Nobody"]) == 2
    bpy_mod.ops.wm.read_factory_settings(use_empty=True)


def test_texture_from_the_cli(bpy_mod, monkeypatch, head, tmp_path, capsys):
    """--texture projects the footage onto the head, writes the PNG and the .blend's head wears it; --overlay-video."""
    from dataclasses import replace

    import numpy as np

    from .test_texture import W, H, _gradient_footage
    photo, _ = _gradient_footage(tmp_path)
    tr = make_tracks(head, n_frames=1, image_size=(W, H), footage_path=str(photo))
    tr = replace(tr, tracked=np.ones(1, bool))
    monkeypatch.setattr(pipeline, "reconstruct", lambda config, progress=None, cancel=None: (
        tr, BakeStats(frames_total=1, frames_tracked=1, frames_bridged=0, seconds=0.1)))
    monkeypatch.setattr(cli, "make_config", lambda ns: ns)
    out = tmp_path / "out"
    out.mkdir()
    argv = [str(photo), "--out", str(out / "s.blend"), "--texture", str(out / "albedo.png"), "--texture-size", "256",
            "--render", str(out / "r.png"), "--overlay-video", str(out / "o.mp4")]
    assert cli.run(argv) == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["albedo.png", "o.mp4", "r.png", "s.blend"]
    import cv2
    video = cv2.VideoCapture(str(out / "o.mp4"))
    ok, frame = video.read()
    assert ok and frame.shape == (H, W, 3)
    video.release()
    bpy_mod.ops.wm.open_mainfile(filepath=str(out / "s.blend"))
    mat = bpy_mod.data.objects["FaceCapture_Head"].active_material
    assert mat is not None and mat.node_tree.nodes.active.image.packed_file is not None
    bpy_mod.ops.wm.read_factory_settings(use_empty=True)
