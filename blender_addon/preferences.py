"""Add-on preferences: default model, threads, execution provider, installation check."""
import time

import bpy
from bpy.props import EnumProperty, IntProperty, StringProperty

from .properties import limits

ADDON = __package__


def _provider_items(self, context):
    items = [("CPUExecutionProvider", "CPU", "onnxruntime CPU")]
    try:
        import onnxruntime
        for p in onnxruntime.get_available_providers():
            if p != "CPUExecutionProvider":
                items.append((p, p.replace("ExecutionProvider", ""), p))
    except ImportError:
        pass
    return items


def get(context=None):
    """This add-on's preferences (None when the add-on is not registered under its package name)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON)
    return addon.preferences if addon else None


class FaceCapturePreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON

    model_path: StringProperty(name="Default Model", subtype="FILE_PATH",
                               description="Model used when the panel says Bundled (empty: the bundled model)")
    threads: IntProperty(name="Threads", **limits("threads"))
    provider: EnumProperty(name="Execution Provider", items=_provider_items)

    def draw(self, context):
        col = self.layout.column()
        col.prop(self, "model_path")
        col.prop(self, "threads")
        col.prop(self, "provider")
        col.operator(FACE_CAPTURE_OT_check_installation.bl_idname, icon="CHECKMARK")


def check_installation(model_path=None, providers=("CPUExecutionProvider",), threads=0) -> str:
    """Run the model once on a built-in image (the head template rendered frontally); returns a summary."""
    import numpy as np
    from core import head_model, mesh_render
    from core.runtime import Predictor
    t0 = time.perf_counter()
    pred = Predictor(model_path or None, providers=list(providers), threads=threads or None)
    t_load = time.perf_counter() - t0
    s = pred.size
    head = head_model.load()
    K = np.array([[s * 2.2, 0, s / 2], [0, s * 2.2, s / 2], [0, 0, 1]])
    verts = head.vertices @ mesh_render.HEAD_TO_CV.T + np.array([0, 0, 520.0])
    img = mesh_render.render_mesh(verts, head.faces, K, (s, s))
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = np.ascontiguousarray(img[..., :3]).astype(np.uint8)
    t1 = time.perf_counter()
    out = pred.predict(img[None])[0]
    t_run = time.perf_counter() - t1
    mask = float(np.mean(np.asarray(out.mask) > 0.5))
    return (f"model {pred.path.name} on {', '.join(pred.providers)}: loaded in {t_load:.2f} s, "
            f"one {s}x{s} crop in {1000 * t_run:.0f} ms, face mask covers {100 * mask:.0f}%")


class FACE_CAPTURE_OT_check_installation(bpy.types.Operator):
    """Run the model once on a built-in image and report the timing"""
    bl_idname = "face_capture.check_installation"
    bl_label = "Check Installation"

    def execute(self, context):
        prefs = get(context)
        try:
            msg = check_installation(bpy.path.abspath(prefs.model_path) if prefs and prefs.model_path else None,
                                     (prefs.provider,) if prefs else ("CPUExecutionProvider",),
                                     prefs.threads if prefs else 0)
        except Exception as e:   # noqa: BLE001 -- shown to the user
            self.report({"ERROR"}, f"Face Capture is not working: {e}")
            return {"CANCELLED"}
        self.report({"INFO"}, msg)
        return {"FINISHED"}


_CLASSES = (FACE_CAPTURE_OT_check_installation, FaceCapturePreferences)


register, unregister = bpy.utils.register_classes_factory(_CLASSES)
