"""The add-on registered from the repository: registration, the capture operator's success, error and cancel
paths (reconstruct replaced by synthetic tracks; the model is not involved)."""
from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from bake import pipeline
from bake.types import BakeStats
from core.errors import BakeError

from .conftest import FakeLayout, make_tracks
from .test_blender_io import _datablock_counts


@pytest.fixture()
def addon(bpy_mod, empty_scene):
    import blender_addon
    blender_addon.register()
    yield blender_addon
    blender_addon.unregister()


@pytest.fixture()
def clip_file(tmp_path):
    p = tmp_path / "clip.mp4"
    p.write_bytes(b"x")
    return p


def _stats(n=12):
    return BakeStats(frames_total=n, frames_tracked=n - 1, frames_bridged=1, seconds=0.2, landmark_fit=0.021,
                     worst_fit_frame=4, worst_fit=0.043)


@pytest.fixture()
def use_file(addon, bpy_mod, clip_file, monkeypatch):
    from blender_addon import operators
    monkeypatch.setattr(operators, "make_recon_config", lambda options: options)
    s = bpy_mod.context.scene.face_capture
    s.source = "FILE"
    s.filepath = str(clip_file)
    return s


def test_register_unregister_leaves_nothing(bpy_mod, empty_scene):
    import blender_addon
    blender_addon.register()
    assert hasattr(bpy_mod.types, "FACE_CAPTURE_OT_run") and hasattr(bpy_mod.types.Scene, "face_capture")
    assert hasattr(bpy_mod.types, "VIEW3D_PT_face_capture") and hasattr(bpy_mod.types, "CLIP_PT_face_capture")
    blender_addon.unregister()
    for name in ("FACE_CAPTURE_OT_run", "FACE_CAPTURE_OT_cancel", "VIEW3D_PT_face_capture", "CLIP_PT_face_capture",
                 "FaceCapturePreferences", "FaceCaptureSettings"):
        assert not hasattr(bpy_mod.types, name), name
    assert not hasattr(bpy_mod.types.Scene, "face_capture")


def test_operator_success_builds_collection(bpy_mod, use_file, head, monkeypatch):
    seen = {}

    def fake(config, progress=None, cancel=None):
        seen["config"], seen["thread"] = config, threading.current_thread().name
        for i in range(5):
            progress(i / 5, "tracking")
        return make_tracks(head, n_frames=12), _stats()
    monkeypatch.setattr(pipeline, "reconstruct", fake)
    use_file.smoothing = 0.3
    use_file.corrective_keys = 3
    assert bpy_mod.ops.face_capture.run() == {"FINISHED"}
    assert seen["thread"] == "face-capture"               # reconstruct ran on the worker thread
    assert seen["config"]["smoothing"] == pytest.approx(0.3) and seen["config"]["residual_keys"] == 0
    assert seen["config"]["corrective_keys"] == 3
    scene = bpy_mod.context.scene
    coll = scene.collection.children["FaceCapture"]
    head_obj = coll.objects["FaceCapture_Head"]
    assert len(head_obj.data.shape_keys.key_blocks) == 53
    assert scene.camera.name == "FaceCapture_Camera" and scene.frame_end == 12
    state = bpy_mod.context.window_manager.face_capture
    assert state.has_result and state.frames_tracked == 11 and state.frames_bridged == 1 and not state.running
    assert state.landmark_fit == pytest.approx(0.021) and state.worst_fit == pytest.approx(0.043)
    assert state.worst_fit_frame == 5                       # footage frame 4 is scene frame 5
    assert bpy_mod.ops.face_capture.worst_fit() == {"FINISHED"} and scene.frame_current == 5
    from bake.head_size import eye_distance
    assert state.eye_distance_mm == pytest.approx(float(eye_distance(make_tracks(head, n_frames=12).basis, head)))
    assert 40 < state.eye_distance_mm < 90


def test_invoke_default_falls_back_to_blocking_execute(bpy_mod, use_file, head, monkeypatch):
    monkeypatch.setattr(pipeline, "reconstruct", lambda c, progress=None, cancel=None: (make_tracks(head, 6), _stats(6)))
    assert bpy_mod.ops.face_capture.run("INVOKE_DEFAULT") == {"FINISHED"}
    assert "FaceCapture" in bpy_mod.context.scene.collection.children


def test_operator_error_reports_and_leaves_scene(bpy_mod, use_file, monkeypatch):
    def fake(config, progress=None, cancel=None):
        raise BakeError("no face found in any of the 12 frames")
    monkeypatch.setattr(pipeline, "reconstruct", fake)
    before = _datablock_counts(bpy_mod)
    with pytest.raises(RuntimeError, match="no face found"):
        bpy_mod.ops.face_capture.run()
    assert _datablock_counts(bpy_mod) == before
    assert not bpy_mod.context.window_manager.face_capture.running


def test_build_error_leaves_scene(bpy_mod, use_file, head, monkeypatch):
    bad = replace(make_tracks(head, 6), weights=make_tracks(head, 6).weights[:, :3])
    monkeypatch.setattr(pipeline, "reconstruct", lambda c, progress=None, cancel=None: (bad, _stats(6)))
    before = _datablock_counts(bpy_mod)
    with pytest.raises(RuntimeError, match="unexpected error"):
        bpy_mod.ops.face_capture.run()
    assert _datablock_counts(bpy_mod) == before


def test_operator_cancel_leaves_scene(bpy_mod, use_file, monkeypatch):
    from blender_addon import operators
    from core.errors import Cancelled

    def fake(config, progress=None, cancel=None):
        assert not cancel()
        operators.request_cancel()          # what ESC / the panel's Cancel button do
        for _ in range(100):
            if cancel():
                raise Cancelled("stopped")
        raise AssertionError("cancel() never became true")
    monkeypatch.setattr(pipeline, "reconstruct", fake)
    before = _datablock_counts(bpy_mod)
    assert bpy_mod.ops.face_capture.run() == {"CANCELLED"}
    assert _datablock_counts(bpy_mod) == before
    assert bpy_mod.context.window_manager.face_capture.status == "cancelled"


def test_missing_footage_is_reported(bpy_mod, addon):
    s = bpy_mod.context.scene.face_capture
    s.source = "FILE"
    s.filepath = "/nonexistent/clip.mp4"
    with pytest.raises(RuntimeError, match="footage not found"):
        bpy_mod.ops.face_capture.run()
    s.source = "CLIP"
    with pytest.raises(RuntimeError, match="no Movie Clip"):
        bpy_mod.ops.face_capture.run()


def _tiny_model(path, size=32):
    """An ONNX file with the runtime's interface ('image' -> depth, depth_conf, canon, canon_conf, mask)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    mean = helper.make_node("ReduceMean", ["image"], ["m"], keepdims=1, axes=[1])
    nodes = [mean, helper.make_node("Squeeze", ["m", "one"], ["depth"]),
             helper.make_node("Identity", ["depth"], ["depth_conf"]),
             helper.make_node("Transpose", ["image"], ["canon"], perm=[0, 2, 3, 1]),
             helper.make_node("Identity", ["depth"], ["canon_conf"]),
             helper.make_node("Identity", ["depth"], ["mask"])]
    one = helper.make_tensor("one", TensorProto.INT64, [1], [1])
    out = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
           for n in ("depth", "depth_conf", "canon", "canon_conf", "mask")]
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                                       ["b", 3, size, size])], out, [one])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


def test_check_installation_reports_timing(tmp_path):
    from blender_addon.preferences import check_installation
    msg = check_installation(_tiny_model(tmp_path / "tiny.onnx"))
    assert "tiny.onnx on CPUExecutionProvider" in msg and "one 32x32 crop in" in msg and "ms" in msg


def test_check_installation_operator_reports_bad_model(bpy_mod, addon, monkeypatch, tmp_path):
    from blender_addon import preferences
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    monkeypatch.setattr(preferences, "get", lambda context=None: type("P", (), dict(
        model_path=str(bad), provider="CPUExecutionProvider", threads=0))())
    with pytest.raises(RuntimeError, match="cannot load model"):
        bpy_mod.ops.face_capture.check_installation()


def test_modal_timer_drains_and_esc_cancels(bpy_mod, use_file, head, monkeypatch):
    """The modal path driven by hand (background Blender has no event loop): TIMER events drain the
    queue, ESC sets the cancel flag, the scene stays unchanged."""
    import types

    from blender_addon.operators import FACE_CAPTURE_OT_run
    started = threading.Event()

    def fake(config, progress=None, cancel=None):
        progress(0.25, "tracking")
        started.set()
        while not cancel():
            threading.Event().wait(0.01)
        raise KeyboardInterrupt
    monkeypatch.setattr(pipeline, "reconstruct", fake)
    reports = []
    op = types.SimpleNamespace(report=lambda kind, msg: reports.append((kind, msg)), _job=None, _timer=None)
    op._start = lambda ctx: FACE_CAPTURE_OT_run._start(op, ctx)
    op._finish = lambda ctx: FACE_CAPTURE_OT_run._finish(op, ctx)
    ctx = bpy_mod.context
    before = _datablock_counts(bpy_mod)
    # invoke() minus modal_handler_add (which needs a real operator instance)
    assert op._start(ctx)
    op._timer = ctx.window_manager.event_timer_add(0.1, window=ctx.window)
    assert started.wait(10)
    timer = types.SimpleNamespace(type="TIMER", value="NOTHING")
    assert FACE_CAPTURE_OT_run.modal(op, ctx, timer) == {"PASS_THROUGH"}
    state = ctx.window_manager.face_capture
    assert state.running and state.progress == pytest.approx(0.25) and "tracking" in state.status
    FACE_CAPTURE_OT_run.modal(op, ctx, types.SimpleNamespace(type="ESC", value="PRESS"))
    result = {"PASS_THROUGH"}
    for _ in range(500):
        threading.Event().wait(0.01)
        result = FACE_CAPTURE_OT_run.modal(op, ctx, timer)
        if result != {"PASS_THROUGH"}:
            break
    assert result == {"CANCELLED"} and not state.running and state.status == "cancelled"
    assert reports and "cancelled" in reports[-1][1]
    assert _datablock_counts(bpy_mod) == before


def test_result_shows_the_baked_head_size_and_how_to_set_it(bpy_mod, use_file, head, monkeypatch):
    """After a bake the panel shows the head's eye distance and what the irises read; while Eye Distance is 0 (not
    known) it offers Head Size and, while that is the network's, says so and how to give the true one."""
    from blender_addon.panels import draw_panel
    stats = replace(_stats(6), iris_eye_distance_mm=61.4)
    monkeypatch.setattr(pipeline, "reconstruct", lambda c, progress=None, cancel=None: (make_tracks(head, 6), stats))
    assert bpy_mod.ops.face_capture.run() == {"FINISHED"}
    state = bpy_mod.context.window_manager.face_capture
    layout = FakeLayout()
    draw_panel(layout, bpy_mod.context)
    assert f"{state.eye_distance_mm:.0f} mm" in layout.labels and "eye_distance" in layout.props
    assert "The irises read" in layout.labels and "61 mm" in layout.labels
    assert any("set Eye Distance" in t for t in layout.labels) and "head_size" in layout.props
    use_file.head_size = "irises"
    layout = FakeLayout()
    draw_panel(layout, bpy_mod.context)
    assert not any("set Eye Distance" in t for t in layout.labels) and "head_size" in layout.props
    use_file.eye_distance = 63.0
    layout = FakeLayout()
    draw_panel(layout, bpy_mod.context)
    assert not any("set Eye Distance" in t for t in layout.labels) and "head_size" not in layout.props
    assert "Camera" not in layout.labels and "camera_turn" in layout.props      # asked to stand still: no row


def test_result_keeps_the_bakes_warnings_in_the_panel(bpy_mod, use_file, head, monkeypatch):
    """The bake's warnings are reported and kept in the result box, each wrapped to the panel's width (Blender does
    not wrap labels); a bake without warnings shows none."""
    from blender_addon.panels import draw_panel
    from bake.fusion import UNLIT_CLIP
    said = ("frames 0-11 (12 frames) read with the brows and eyes in shadow (a hat brim?)", UNLIT_CLIP)
    for warnings in (said, ()):
        stats = replace(_stats(6), warnings=warnings)
        monkeypatch.setattr(pipeline, "reconstruct", lambda c, progress=None, cancel=None, s=stats:
                            (make_tracks(head, 6), s))
        assert bpy_mod.ops.face_capture.run() == {"FINISHED"}
        state = bpy_mod.context.window_manager.face_capture
        assert state.warnings == "\n".join(warnings)
        layout = FakeLayout()
        draw_panel(layout, bpy_mod.context)
        shown = [t for t in layout.labels if t.startswith("Warnings")]
        if not warnings:
            assert not shown
            continue
        assert shown == ["Warnings (2)"]
        lines = layout.labels[layout.labels.index("Warnings (2)") + 1:]
        assert all(len(t) <= 60 for t in lines) and len(lines) > 2           # the long one wrapped
        assert " ".join(lines) == " ".join(said)                               # and nothing lost


def test_result_shows_how_far_the_camera_turns_when_asked_to(bpy_mod, use_file, head, monkeypatch):
    """bake.camera_turn: with Camera: Background the result says how far the baked camera turns, or that it stood
    still (the warning says why)."""
    from blender_addon.panels import draw_panel
    use_file.camera_turn = "background"
    asked = []
    for degrees, text in ((2.34, "turns up to 2.3 degrees"), (None, "still (see the warnings)")):
        stats = replace(_stats(6), camera_degrees=degrees)
        monkeypatch.setattr(pipeline, "reconstruct", lambda c, progress=None, cancel=None, s=stats:
                            asked.append(c["camera_turn"]) or (make_tracks(head, 6), s))
        assert bpy_mod.ops.face_capture.run() == {"FINISHED"}
        layout = FakeLayout()
        draw_panel(layout, bpy_mod.context)
        assert "Camera" in layout.labels and text in layout.labels, layout.labels
    assert asked == ["background", "background"]
    use_file.camera_turn = "still"
