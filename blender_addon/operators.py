"""The capture's operators: the run (modal with a worker thread, or blocking in execute), its cancel button and the
jump to the worst-fitting frame (the character's operators are in ``character_operators``).

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


def capture_running() -> bool:
    """Whether a capture job is running (the character operators wait for it)."""
    return _ACTIVE["job"] is not None


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


_CLASSES = (FACE_CAPTURE_OT_run, FACE_CAPTURE_OT_cancel, FACE_CAPTURE_OT_worst_fit)


_register, _unregister = bpy.utils.register_classes_factory(_CLASSES)
register = _register


def unregister():
    request_cancel()
    _unregister()
