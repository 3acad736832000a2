"""Operators: the capture run (modal with a worker thread, or blocking in execute) and its cancel button.

The operator turns the panel's settings into a ``ReconConfig`` and calls the pipeline itself:
``bake.pipeline.reconstruct`` on a worker thread, then ``bake.blender_io.build_scene`` on the main thread (the
headless CLI, ``bake.cli``, is a separate entry point over the same two calls; nothing here imports it).

Threading rule: the worker runs only ``bake.pipeline.reconstruct`` (numpy/onnxruntime) and talks to the main thread
through a ``queue.Queue``; every bpy call (progress, status, build_scene, reports) happens on the main thread.
The scene is touched only after a successful reconstruction (build_scene builds a new collection and links it
at the end), so an error or a cancel leaves the scene exactly as it was.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path

import bpy

from . import preferences

log = logging.getLogger(__name__)

_ACTIVE: dict = {"job": None}     # the running job (at most one)


def request_cancel() -> bool:
    """Ask the running job to stop (safe from any thread). Returns False when nothing is running."""
    job = _ACTIVE["job"]
    if job is None:
        return False
    job.cancel_event.set()
    return True


# ------------------------------------------------------------------ settings -> options -> config
def footage_source(settings, context) -> str:
    """The footage path chosen in the panel (raises FootageError when none is set)."""
    from core.errors import FootageError
    if settings.source == "CLIP":
        clip = settings.clip or getattr(context.space_data, "clip", None) or context.scene.active_clip
        if clip is None:
            raise FootageError("no Movie Clip: open one in the Clip Editor or choose File/Image Folder")
        path = bpy.path.abspath(clip.filepath, library=clip.library)
        if clip.source == "SEQUENCE":
            path = str(Path(path).parent)
    elif settings.source == "FILE":
        path = bpy.path.abspath(settings.filepath)
    else:
        path = bpy.path.abspath(settings.folder)
    if not path or not Path(path).exists():
        raise FootageError(f"footage not found: {path or '(nothing chosen)'}")
    return str(Path(path).resolve())


def settings_to_options(settings, prefs, context) -> dict:
    """Plain options for ``make_recon_config`` (read on the main thread, before the worker starts)."""
    from core.errors import ModelError
    from .properties import QUALITY
    net, stride = QUALITY[settings.quality]
    model = None
    if settings.model == "CUSTOM":
        model = bpy.path.abspath(settings.model_path)
        if not model or not Path(model).is_file():
            raise ModelError(f"custom model not found: {model or '(no file chosen)'}")
    elif prefs is not None and prefs.model_path:
        model = bpy.path.abspath(prefs.model_path)
    elif net != "cpu":
        from core.presets import default_model_path
        candidate = default_model_path(net)
        model = str(candidate) if candidate.is_file() else None
    providers = ("CUDAExecutionProvider", "CPUExecutionProvider") if settings.device == "CUDA" else \
        ((prefs.provider,) if prefs is not None and prefs.provider else ("CPUExecutionProvider",))
    if providers[-1] != "CPUExecutionProvider":
        providers = (*providers, "CPUExecutionProvider")
    return dict(source=footage_source(settings, context), start=settings.frame_start,
                end=settings.frame_end or None, stride=stride, model_path=model, providers=providers,
                threads=prefs.threads if prefs is not None else 0, smoothing=settings.smoothing,
                focal_mm=settings.lens, fusion=settings.fusion,
                eye_distance_mm=settings.eye_distance if settings.eye_distance > 0 else None,
                head_size=settings.head_size, camera_turn=settings.camera_turn,
                face_point=tuple(settings.face_point) if settings.face == "POINT" else None,
                residual_keys=settings.residual_keys if settings.shape_keys == "ARKIT_RESIDUAL" else 0,
                corrective_keys=settings.corrective_keys)


def make_recon_config(options: dict):
    from bake.pipeline import ReconConfig
    return ReconConfig(**options)


# ------------------------------------------------------------------ the job
class CaptureJob:
    """Worker thread running reconstruct(); ``drain`` (main thread) applies its messages."""

    def __init__(self, config, build_kwargs: dict, texture_size: int = 0):
        self.config, self.build_kwargs = config, build_kwargs
        self.texture_size = texture_size      # > 0: project the footage onto the head's UVs (on the worker)
        self.warnings: list[str] = []
        self.queue: queue.Queue = queue.Queue()
        self.cancel_event = threading.Event()
        self.thread = threading.Thread(target=self._work, name="face-capture", daemon=True)
        self.result = None       # (collection name, stats) on success
        self.error = None        # exception on failure
        self.cancelled = False
        self.t0 = 0.0

    def start(self):
        self.t0 = time.perf_counter()
        _ACTIVE["job"] = self
        self.thread.start()

    # worker thread: no bpy here
    def _work(self):
        from bake import pipeline
        try:
            tracks, stats = pipeline.reconstruct(self.config, progress=self._progress,
                                                 cancel=self.cancel_event.is_set)
            tex = None
            if self.texture_size:
                from core.errors import FaceCaptureError
                from bake import texture
                self._progress(1.0, "texture from the footage")
                try:
                    tex = texture.bake_texture(tracks, size=self.texture_size)
                except FaceCaptureError as e:
                    self.warnings.append(f"no texture: {e}")
            self.queue.put(("done", tracks, stats, tex))
        except BaseException as e:   # noqa: BLE001 -- handed to the main thread
            self.queue.put(("error", e))

    def _progress(self, fraction: float, message: str) -> None:
        """The pipeline's progress callback (worker thread): queued for the main thread."""
        self.queue.put(("progress", fraction, message))

    # main thread
    def drain(self, context, block=False) -> bool:
        """Apply queued messages; True once the job has finished (result, error or cancel set)."""
        state = context.window_manager.face_capture
        while True:
            try:
                msg = self.queue.get(timeout=0.1) if block else self.queue.get_nowait()
            except queue.Empty:
                return False
            kind = msg[0]
            if kind == "progress":
                _, frac, text = msg
                state.progress = min(1.0, max(0.0, float(frac)))
                context.window_manager.progress_update(state.progress)
                state.status = text
                _status_text(context, f"Face Capture: {text}")
                continue
            self.thread.join()
            _ACTIVE["job"] = None
            if kind == "error":
                from core.errors import Cancelled
                e = msg[1]
                if self.cancel_event.is_set() or isinstance(e, (Cancelled, KeyboardInterrupt)):
                    self.cancelled = True
                else:
                    self.error = e
                return True
            _, tracks, stats, tex = msg
            if self.cancel_event.is_set():
                self.cancelled = True
                return True
            try:
                from bake import blender_io
                coll = blender_io.build_scene(tracks, scene=context.scene, **self.build_kwargs)
            except Exception as e:   # noqa: BLE001
                self.error = e
                return True
            if tex is not None:
                self._apply_texture(coll, tex)
            self.result = (coll.name, stats)
            state.has_result = True
            state.frames_total, state.frames_tracked = stats.frames_total, stats.frames_tracked
            state.frames_bridged = stats.frames_bridged
            read = stats.landmark_fit is not None
            state.landmark_fit = stats.landmark_fit if read else -1.0
            state.worst_fit = stats.worst_fit if read else -1.0
            state.worst_fit_frame = stats.worst_fit_frame + 1 if read else 0    # scene frames start at 1
            state.seconds = time.perf_counter() - self.t0
            state.eye_distance_mm = _eye_distance(tracks)
            state.iris_eye_distance_mm = stats.iris_eye_distance_mm or 0.0
            state.camera_degrees = -1.0 if stats.camera_degrees is None else stats.camera_degrees
            state.warnings = "\n".join((*stats.warnings, *self.warnings))     # kept in the panel, not only reported
            state.collection = coll.name
            return True


    def _apply_texture(self, coll, tex) -> None:
        """The texture onto the new head (packed into the file; the PNG written on the way is removed)."""
        import tempfile

        from core.errors import FaceCaptureError
        from bake import blender_io, texture
        head = next(o for o in coll.all_objects if o.type == "MESH")
        with tempfile.TemporaryDirectory(prefix="face_capture_") as d:
            try:
                blender_io.apply_texture(head, texture.write_texture(Path(d) / f"{head.name}_Albedo.png", tex))
            except FaceCaptureError as e:
                self.warnings.append(f"no texture: {e}")


def _eye_distance(tracks) -> float:
    """The baked head's eye distance (mm), shown with the result: how large the bake made the head."""
    from bake.head_size import eye_distance
    from core import head_model
    return float(eye_distance(tracks.basis, head_model.load()))


def _status_text(context, text):
    ws = getattr(context, "workspace", None)
    if ws is not None:
        try:
            ws.status_text_set(text)
        except (AttributeError, RuntimeError):
            pass


class FACE_CAPTURE_OT_run(bpy.types.Operator):
    """Capture the face in the chosen footage: build an animated head with ARKit shape keys and a camera"""
    bl_idname = "face_capture.run"
    bl_label = "Capture Face"
    bl_options = {"REGISTER", "UNDO"}

    _job = None
    _timer = None

    @classmethod
    def poll(cls, context):
        return _ACTIVE["job"] is None and context.scene is not None

    def _start(self, context):
        settings = context.scene.face_capture
        try:
            options = settings_to_options(settings, preferences.get(context), context)
            config = make_recon_config(options)
        except Exception as e:   # noqa: BLE001
            self.report({"ERROR"}, str(e))
            return False
        build = dict(name="FaceCapture", camera=settings.create_camera, background=settings.background,
                     head_motion=settings.head_motion.lower())
        state = context.window_manager.face_capture
        state.running, state.progress, state.status = True, 0.0, "starting"
        context.window_manager.progress_begin(0.0, 1.0)
        self._job = CaptureJob(config, build, texture_size=int(settings.texture_size) if settings.texture else 0)
        self._job.start()
        return True

    def _finish(self, context):
        job = self._job
        wm = context.window_manager
        wm.progress_end()
        _status_text(context, None)
        wm.face_capture.running = False
        if job.cancelled:
            wm.face_capture.status = "cancelled"
            self.report({"WARNING"}, "Face capture cancelled; the scene is unchanged")
            return {"CANCELLED"}
        if job.error is not None:
            e = job.error
            from core.errors import FaceCaptureError
            msg = str(e) if isinstance(e, FaceCaptureError) else f"unexpected error: {type(e).__name__}: {e}"
            wm.face_capture.status = "failed"
            self.report({"ERROR"}, f"Face capture failed: {msg}")
            return {"CANCELLED"}
        name, stats = job.result
        wm.face_capture.status = "done"
        for line in (*stats.warnings, *job.warnings):   # odd footage (rotation, frame rate...), bridged gaps, texture
            self.report({"WARNING"}, f"Face capture: {line}")
        self.report({"INFO"}, f"Face capture: {stats.frames_tracked}/{stats.frames_total} frames tracked, "
                              f"{stats.frames_bridged} bridged -> collection '{name}'")
        return {"FINISHED"}

    def execute(self, context):
        """Blocking run (headless, scripts, tests): the same job, drained on this thread."""
        if not self._start(context):
            return {"CANCELLED"}
        while not self._job.drain(context, block=True):
            pass
        return self._finish(context)

    def invoke(self, context, event):
        if not self._start(context):
            return {"CANCELLED"}
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC" and event.value == "PRESS":
            self._job.cancel_event.set()
        if event.type == "TIMER" and self._job.drain(context):
            context.window_manager.event_timer_remove(self._timer)
            for area in context.screen.areas if context.screen else ():
                area.tag_redraw()
            return self._finish(context)
        return {"PASS_THROUGH"}


class FACE_CAPTURE_OT_cancel(bpy.types.Operator):
    """Stop the running face capture (the scene stays as it was)"""
    bl_idname = "face_capture.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context):
        return _ACTIVE["job"] is not None

    def execute(self, context):
        request_cancel()
        return {"FINISHED"}


class FACE_CAPTURE_OT_worst_fit(bpy.types.Operator):
    """Go to the frame where the baked head is furthest off the face's landmarks"""
    bl_idname = "face_capture.worst_fit"
    bl_label = "Go to Worst Frame"

    @classmethod
    def poll(cls, context):
        state = context.window_manager.face_capture
        return state.has_result and state.landmark_fit >= 0

    def execute(self, context):
        context.scene.frame_set(context.window_manager.face_capture.worst_fit_frame)
        return {"FINISHED"}


# ------------------------------------------------------------------ retarget, calibration, CSV import
def _selected(context) -> list:
    """Selected objects of the view layer (``context.selected_objects`` is missing without a window)."""
    vl = getattr(context, "view_layer", None)
    return [o for o in vl.objects if o.select_get()] if vl is not None else []


def calibration_from_settings(rs, take, force: bool = False):
    """The panel's calibration (None when 'Calibrate' is off and not ``force``), its neutral read from ``take``."""
    if not (rs.calibrate or force):
        return None
    from dataclasses import replace

    from bake.calibrate import REGIONS, Calibration
    base = Calibration.load(bpy.path.abspath(rs.calibration_path)) if rs.calibration_path else Calibration()
    c = replace(base, region_gain={**base.region_gain, **{r: getattr(rs, f"gain_{r}") for r in REGIONS
                                                           if getattr(rs, f"gain_{r}") != 1.0}},
                region_offset={**base.region_offset, **{r: getattr(rs, f"offset_{r}") for r in REGIONS
                                                         if getattr(rs, f"offset_{r}") != 0.0}})
    if rs.neutral != "NONE":
        c = c.with_neutral(take.weights, take.names, take.frames,
                           float(rs.neutral_frame) if rs.neutral == "FRAME" else None)
    return c


def _mapping(rs):
    from bake.retarget import load_mapping
    return load_mapping(bpy.path.abspath(rs.mapping_path)) if rs.mapping_path else None


def _source_head(context):
    """The performance to retarget: the panel's choice, else the last capture's head."""
    rs = context.scene.face_capture_retarget
    if rs.source is not None:
        return rs.source
    coll = bpy.data.collections.get(context.window_manager.face_capture.collection or "")
    heads = [o for o in (coll.all_objects if coll else ()) if o.type == "MESH" and o.data.shape_keys]
    return heads[0] if heads else None


def _report_result(op, result):
    for line in result.lines:
        op.report({"INFO"}, f"Face Capture: {line}")
    for line in result.warnings:
        op.report({"WARNING"}, f"Face Capture: {line}")


def _retarget(op, context, take, meshes) -> set:
    from core.errors import FaceCaptureError
    from bake.blender_io import retarget as blender_retarget
    rs = context.scene.face_capture_retarget
    try:
        result = blender_retarget.retarget(
            take, meshes, mapping=_mapping(rs), calibration=calibration_from_settings(rs, take),
            head_object=rs.head_target, head_bone=rs.head_bone if rs.head_target and
            rs.head_target.type == "ARMATURE" else "")
    except FaceCaptureError as e:
        op.report({"ERROR"}, f"Face Capture: {e}")
        return {"CANCELLED"}
    _report_result(op, result)
    if not result.lines:
        return {"CANCELLED"}
    return {"FINISHED"}


class FACE_CAPTURE_OT_retarget(bpy.types.Operator):
    """Put the captured performance onto the selected meshes whose shape keys carry ARKit names (face, teeth,
    lashes...); shapes a mesh lacks are reported by name"""
    bl_idname = "face_capture.retarget"
    bl_label = "Retarget to Selected"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return _ACTIVE["job"] is None and any(o.type == "MESH" for o in _selected(context))

    def execute(self, context):
        from core.errors import FaceCaptureError
        from bake.blender_io.retarget import take_from_object
        src = _source_head(context)
        if src is None:
            self.report({"ERROR"}, "Face Capture: no performance: capture first or choose one under Performance")
            return {"CANCELLED"}
        try:
            take = take_from_object(src)
        except FaceCaptureError as e:
            self.report({"ERROR"}, f"Face Capture: {e}")
            return {"CANCELLED"}
        meshes = [o for o in _selected(context) if o.type == "MESH" and o != src]
        if not meshes:
            self.report({"ERROR"}, "Face Capture: select the character's meshes (not the captured head)")
            return {"CANCELLED"}
        return _retarget(self, context, take, meshes)


class FACE_CAPTURE_OT_import_csv(bpy.types.Operator):
    """Import a Live Link Face CSV (the iPhone app's or ours) onto the selected meshes with ARKit-named shape keys"""
    bl_idname = "face_capture.import_csv"
    bl_label = "Import Live Link Face CSV"
    bl_options = {"REGISTER", "UNDO"}

    filepath: bpy.props.StringProperty(subtype="FILE_PATH")
    filter_glob: bpy.props.StringProperty(default="*.csv", options={"HIDDEN"})
    fps: bpy.props.FloatProperty(name="Frame Rate", min=0.0, default=0.0,
                                 description="Timecode rate of the file (0 = read from the timecodes)")
    start_frame: bpy.props.IntProperty(name="Start Frame", default=1, description="Scene frame of the first row")

    @classmethod
    def poll(cls, context):
        return any(o.type == "MESH" for o in _selected(context))

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        from core.errors import FaceCaptureError
        from bake.export_csv import read_csv
        try:
            take = read_csv(bpy.path.abspath(self.filepath), fps=self.fps or None, start_frame=self.start_frame)
        except FaceCaptureError as e:
            self.report({"ERROR"}, f"Face Capture: {e}")
            return {"CANCELLED"}
        meshes = [o for o in _selected(context) if o.type == "MESH"]
        return _retarget(self, context, take, meshes)


def _active_shape_keys(context):
    """The active object's shape-key datablock when it is a mesh with shape keys, else None."""
    obj = getattr(context.view_layer.objects, "active", None) if getattr(context, "view_layer", None) else None
    return obj.data.shape_keys if obj is not None and obj.type == "MESH" else None


def _ask_path(op, context, ext: str, suffix: str = ""):
    """Open the file browser for ``op.filepath``; unless already set, it is the active object's name + ``suffix`` +
    ``ext``."""
    if not op.filepath:
        op.filepath = bpy.path.ensure_ext(context.view_layer.objects.active.name + suffix, ext)
    context.window_manager.fileselect_add(op)
    return {"RUNNING_MODAL"}


class FACE_CAPTURE_OT_export_csv(bpy.types.Operator):
    """Export the active mesh's ARKit curves as a Live Link Face CSV: the calibrated ones when a calibration is in
    force (our head or a driven character; shapes it lacks are written as 0)"""
    bl_idname = "face_capture.export_csv"
    bl_label = "Export Live Link Face CSV"

    filepath: bpy.props.StringProperty(subtype="FILE_PATH")
    filter_glob: bpy.props.StringProperty(default="*.csv", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        return _active_shape_keys(context) is not None

    def invoke(self, context, event):
        return _ask_path(self, context, ".csv")

    def execute(self, context):
        from core.errors import FaceCaptureError
        from bake.blender_io.retarget import take_from_object
        from bake.export_csv import write_take_csv
        obj = context.view_layer.objects.active
        try:
            take = take_from_object(obj, calibrated=True)
            path = write_take_csv(bpy.path.abspath(self.filepath), take)
        except FaceCaptureError as e:
            self.report({"ERROR"}, f"Face Capture: {e}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Face Capture: wrote {path} ({len(take.frames)} frames, {len(take.names)} shapes)")
        return {"FINISHED"}


def _calibration_keys(context):
    return [o.data.shape_keys for o in _selected(context)
            if o.type == "MESH" and o.data.shape_keys and o.data.shape_keys.animation_data]


class FACE_CAPTURE_OT_calibrate(bpy.types.Operator):
    """Calibrate the selected driven meshes with the panel's settings (from their untouched raw capture; run again
    to change it, Remove Calibration to go back)"""
    bl_idname = "face_capture.calibrate"
    bl_label = "Apply Calibration"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return bool(_calibration_keys(context))

    def execute(self, context):
        from core.errors import FaceCaptureError
        from bake.blender_io.retarget import set_calibration, take_from_object
        rs = context.scene.face_capture_retarget
        done = 0
        for obj in [o for o in _selected(context) if o.type == "MESH" and o.data.shape_keys]:
            try:
                take = take_from_object(obj)
                cal = calibration_from_settings(rs, take, force=True)
                set_calibration(obj.data.shape_keys, cal)
            except FaceCaptureError as e:
                self.report({"WARNING"}, f"Face Capture: {obj.name}: {e}")
                continue
            done += 1
        if not done:
            return {"CANCELLED"}
        self.report({"INFO"}, f"Face Capture: calibrated {done} mesh(es); the raw capture is kept")
        return {"FINISHED"}


class FACE_CAPTURE_OT_save_calibration(bpy.types.Operator):
    """Save the active mesh's calibration as JSON: load it again as the Per-Shape File, or in the command line with
    --calibration (its neutral values included)"""
    bl_idname = "face_capture.save_calibration"
    bl_label = "Save Calibration"

    filepath: bpy.props.StringProperty(subtype="FILE_PATH")
    filter_glob: bpy.props.StringProperty(default="*.json", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        from bake.blender_io.retarget import CALIB
        key = _active_shape_keys(context)
        return key is not None and CALIB in key

    def invoke(self, context, event):
        return _ask_path(self, context, ".json", "_calibration")

    def execute(self, context):
        from bake.blender_io.retarget import get_calibration
        cal = get_calibration(context.view_layer.objects.active.data.shape_keys)
        path = Path(bpy.path.abspath(self.filepath))
        try:
            path.write_text(cal.to_json())
        except OSError as e:
            self.report({"ERROR"}, f"Face Capture: cannot write {path}: {e}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Face Capture: wrote {path}")
        return {"FINISHED"}


class FACE_CAPTURE_OT_clear_calibration(bpy.types.Operator):
    """Remove the calibration of the selected meshes: their raw capture is assigned again"""
    bl_idname = "face_capture.clear_calibration"
    bl_label = "Remove Calibration"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        from bake.blender_io.retarget import CALIB
        return any(CALIB in k for k in _calibration_keys(context))

    def execute(self, context):
        from bake.blender_io.retarget import clear_calibration
        for key in _calibration_keys(context):
            clear_calibration(key)
        return {"FINISHED"}


_CLASSES = (FACE_CAPTURE_OT_run, FACE_CAPTURE_OT_cancel, FACE_CAPTURE_OT_worst_fit, FACE_CAPTURE_OT_retarget,
            FACE_CAPTURE_OT_import_csv, FACE_CAPTURE_OT_export_csv, FACE_CAPTURE_OT_calibrate,
            FACE_CAPTURE_OT_save_calibration, FACE_CAPTURE_OT_clear_calibration)


_register, _unregister = bpy.utils.register_classes_factory(_CLASSES)
register = _register


def unregister():
    request_cancel()
    _unregister()
