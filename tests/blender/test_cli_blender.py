"""bake.cli.run end to end with bpy, reconstruct replaced by synthetic tracks (the model is not involved)."""
from __future__ import annotations

import csv

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
        return tr, BakeStats(frames_total=12, frames_tracked=11, frames_bridged=1, mean_confidence=0.8,
                             seconds=0.1)
    monkeypatch.setattr(pipeline, "reconstruct", fake)
    monkeypatch.setattr(cli, "make_config", lambda ns: ns)
    return calls


@pytest.fixture()
def src(tmp_path):
    p = tmp_path / "clip.mp4"
    p.write_bytes(b"not decoded: reconstruct is faked")
    return p


def test_run_writes_all_outputs(bpy_mod, fake_reconstruct, src, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    argv = [str(src), "--out", str(out / "s.blend"), "--fbx", str(out / "s.fbx"), "--glb", str(out / "s.glb"),
            "--csv", str(out / "s.csv")]
    assert cli.run(argv) == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["s.blend", "s.csv", "s.fbx", "s.glb"]
    err = capsys.readouterr().err
    assert "tracked 11/12 frames" in err and "wrote" in err
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
