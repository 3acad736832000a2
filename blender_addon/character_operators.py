"""Operators on a character: the captured performance retargeted onto its meshes, a Live Link Face CSV imported
onto them or exported from them, and the non-destructive calibration of their curves (apply, save, remove).

Each operator calls ``bake.blender_io.retarget`` (or ``bake.export_csv``) on the main thread; an error is reported
and changes nothing. Retargeting waits while a capture runs (``operators.capture_running``).
"""
from __future__ import annotations

from pathlib import Path

import bpy

from .operators import capture_running


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
    rig = rs.head_target is not None and rs.head_target.type == "ARMATURE"
    try:
        result = blender_retarget.retarget(
            take, meshes, mapping=_mapping(rs), calibration=calibration_from_settings(rs, take),
            head_object=rs.head_target, head_bone=rs.head_bone if rig else "",
            eye_bones=(rs.left_eye_bone, rs.right_eye_bone) if rig else ("", ""))
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
        return not capture_running() and any(o.type == "MESH" for o in _selected(context))

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


_CLASSES = (FACE_CAPTURE_OT_retarget, FACE_CAPTURE_OT_import_csv, FACE_CAPTURE_OT_export_csv,
            FACE_CAPTURE_OT_calibrate, FACE_CAPTURE_OT_save_calibration, FACE_CAPTURE_OT_clear_calibration)

register, unregister = bpy.utils.register_classes_factory(_CLASSES)
