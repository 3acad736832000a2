"""The add-on's retarget, calibration and CSV-import operators on a character built in the test (bpy)."""
from __future__ import annotations

import numpy as np
import pytest

from .conftest import FakeLayout, make_tracks
from .test_retarget import _curves, _mesh_with_keys


@pytest.fixture()
def addon(bpy_mod, empty_scene):
    import blender_addon
    blender_addon.register()
    yield blender_addon
    blender_addon.unregister()


def _select(bpy, objs):
    bpy.context.view_layer.update()          # objects linked since the last update join the view layer
    for o in bpy.context.view_layer.objects:
        o.select_set(o in objs)
    bpy.context.view_layer.objects.active = objs[0]


def test_operators_retarget_calibrate_and_import(bpy_mod, addon, head, tmp_path):
    from bake import blender_io, export_csv
    from bake.blender_io.retarget import CALIB, RAW
    tr = make_tracks(head, n_frames=16)
    coll = blender_io.build_scene(tr, name="FC")
    face = _mesh_with_keys(bpy_mod, "Face", ("JawOpen", "EyeBlink_L", "Grin"))
    rs = bpy_mod.context.scene.face_capture_retarget
    rs.source = coll.objects["FC_Head"]
    _select(bpy_mod, [face])
    assert bpy_mod.ops.face_capture.retarget() == {"FINISHED"}
    assert set(_curves(face)) == {"JawOpen", "EyeBlink_L"}
    key = face.data.shape_keys
    raw = key[RAW]
    # calibrate from the panel: jaw gain 0.5, no neutral
    rs.neutral, rs.gain_jaw = "NONE", 0.5
    assert bpy_mod.ops.face_capture.calibrate() == {"FINISHED"}
    j = tr.key_names.index("jawOpen")
    for i in (0, 9):
        f = float(tr.frames[i])
        assert _curves(face)["JawOpen"].evaluate(f) == pytest.approx(0.5 * tr.weights[i, j], abs=1e-6)
    assert CALIB in key and key.animation_data.action != raw
    # the calibration saved as JSON loads back equal (the CLI's --calibration, the panel's per-shape file)
    from bake.blender_io.retarget import get_calibration
    from bake.calibrate import Calibration
    saved = tmp_path / "cal.json"
    assert bpy_mod.ops.face_capture.save_calibration(filepath=str(saved)) == {"FINISHED"}
    assert Calibration.load(saved) == get_calibration(key) and Calibration.load(saved).region_gain == {"jaw": 0.5}
    # the CSV export from Blender writes the calibrated curves
    out = tmp_path / "calibrated.csv"
    assert bpy_mod.ops.face_capture.export_csv(filepath=str(out)) == {"FINISHED"}
    back = export_csv.read_csv(out, fps=tr.fps, start_frame=tr.frames[0])
    np.testing.assert_allclose(back.column("jawOpen"), 0.5 * tr.weights[:, j], atol=2e-6)
    np.testing.assert_allclose(back.column("eyeBlinkLeft"), tr.weights[:, tr.key_names.index("eyeBlinkLeft")],
                               atol=2e-6)
    assert back.column("mouthSmileLeft").max() == 0                # the character lacks it: written as 0
    assert bpy_mod.ops.face_capture.clear_calibration() == {"FINISHED"}
    assert key.animation_data.action == raw and CALIB not in key
    # a Live Link Face CSV onto the same mesh
    csv_path = export_csv.write_csv(tmp_path / "t.csv", make_tracks(head, n_frames=10, seed=4))
    assert bpy_mod.ops.face_capture.import_csv(filepath=str(csv_path), fps=24.0) == {"FINISHED"}
    tr2 = make_tracks(head, n_frames=10, seed=4)
    got = np.array([_curves(face)["EyeBlink_L"].evaluate(float(f)) for f in tr2.frames])
    np.testing.assert_allclose(got, tr2.weights[:, tr.key_names.index("eyeBlinkLeft")], atol=1e-6)
    # nothing ARKit-named selected: cancelled with a message, nothing created
    other = _mesh_with_keys(bpy_mod, "Rock", ("Crack",))
    _select(bpy_mod, [other])
    assert bpy_mod.ops.face_capture.retarget() == {"CANCELLED"}


def test_calibration_is_undone_with_blender_undo(bpy_mod, addon, head):
    """Edit > Undo after Apply Calibration gives back the raw curves (memfile undo works in the bpy module)."""
    from bake import blender_io
    from bake.blender_io.retarget import CALIB, RAW
    tr = make_tracks(head, n_frames=8)
    coll = blender_io.build_scene(tr, name="FC")
    _select(bpy_mod, [coll.objects["FC_Head"]])
    bpy_mod.ops.ed.undo_push(message="captured")
    rs = bpy_mod.context.scene.face_capture_retarget
    rs.neutral, rs.gain_eyes = "AUTO", 0.25
    bpy_mod.ops.ed.undo_push(message="settings")
    assert bpy_mod.ops.face_capture.calibrate() == {"FINISHED"}
    bpy_mod.ops.ed.undo_push(message="calibrated")
    key = bpy_mod.data.objects["FC_Head"].data.shape_keys
    assert CALIB in key and key.animation_data.action != key[RAW]
    bpy_mod.ops.ed.undo()
    key = bpy_mod.data.objects["FC_Head"].data.shape_keys      # undo reloads the data: fetch again
    assert CALIB not in key and key.animation_data.action.name == "FC_Expressions"
    fc = _curves(bpy_mod.data.objects["FC_Head"])["eyeBlinkLeft"]
    j = tr.key_names.index("eyeBlinkLeft")
    assert fc.evaluate(float(tr.frames[3])) == pytest.approx(float(tr.weights[3, j]), abs=1e-6)


def test_capture_with_texture(bpy_mod, addon, head, tmp_path, monkeypatch):
    """The capture panel's Texture option: the worker projects the footage, the new head wears it (packed)."""
    from dataclasses import replace

    from bake import pipeline
    from bake.types import BakeStats
    from blender_addon import operators

    from .test_texture import H, W, _gradient_footage
    photo, _ = _gradient_footage(tmp_path)
    tr = replace(make_tracks(head, n_frames=1, image_size=(W, H), footage_path=str(photo)), tracked=np.ones(1, bool))
    monkeypatch.setattr(pipeline, "reconstruct", lambda config, progress=None, cancel=None: (
        tr, BakeStats(frames_total=1, frames_tracked=1, frames_bridged=0, seconds=0.1)))
    monkeypatch.setattr(operators, "make_recon_config", lambda options: options)
    s = bpy_mod.context.scene.face_capture
    s.source, s.filepath, s.texture, s.texture_size = "FILE", str(photo), True, "512"
    assert bpy_mod.ops.face_capture.run() == {"FINISHED"}
    head_obj = bpy_mod.data.objects["FaceCapture_Head"]
    img = head_obj.active_material.node_tree.nodes.active.image
    assert img.packed_file is not None and tuple(img.size) == (512, 512)


def test_retarget_panel_draws(bpy_mod, addon):
    from blender_addon.panels import draw_retarget
    layout = FakeLayout()
    draw_retarget(layout, bpy_mod.context)
    assert {"source", "head_target", "neutral", "gain_mouth", "offset_cheeks"} <= set(layout.props)


def test_file_browser_default_names(bpy_mod, addon):
    """Export CSV and Save Calibration open the file browser on the active object's name (+ "_calibration") with
    their extension, and keep a path the artist already chose."""
    from types import SimpleNamespace

    from blender_addon import character_operators
    opened = []
    ctx = SimpleNamespace(view_layer=SimpleNamespace(objects=SimpleNamespace(active=SimpleNamespace(name="Face"))),
                          window_manager=SimpleNamespace(fileselect_add=opened.append))
    csv, cal, chosen = (SimpleNamespace(filepath=p) for p in ("", "", "/takes/a.csv"))
    assert character_operators._ask_path(csv, ctx, ".csv") == {"RUNNING_MODAL"}
    character_operators._ask_path(cal, ctx, ".json", "_calibration")
    character_operators._ask_path(chosen, ctx, ".csv")
    assert (csv.filepath, cal.filepath, chosen.filepath) == ("Face.csv", "Face_calibration.json", "/takes/a.csv")
    assert opened == [csv, cal, chosen]
