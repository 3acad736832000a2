"""Sidebar panels in the 3D View and the Clip Editor (same content)."""
import textwrap

import bpy

from .character_operators import (FACE_CAPTURE_OT_calibrate, FACE_CAPTURE_OT_clear_calibration,
                                  FACE_CAPTURE_OT_export_csv, FACE_CAPTURE_OT_import_csv, FACE_CAPTURE_OT_retarget,
                                  FACE_CAPTURE_OT_save_calibration)
from .operators import FACE_CAPTURE_OT_cancel, FACE_CAPTURE_OT_run, FACE_CAPTURE_OT_worst_fit


def draw_panel(layout, context):
    s = context.scene.face_capture
    state = context.window_manager.face_capture
    layout.use_property_split = True
    layout.use_property_decorate = False
    col = layout.column()
    col.prop(s, "source")
    if s.source == "CLIP":
        col.prop(s, "clip")
    elif s.source == "FILE":
        col.prop(s, "filepath")
    else:
        col.prop(s, "folder")
    row = col.row(align=True)
    row.prop(s, "frame_start")
    row.prop(s, "frame_end")
    col.separator()
    col.prop(s, "model")
    if s.model == "CUSTOM":
        col.prop(s, "model_path")
    col.prop(s, "device")
    col.prop(s, "quality")
    col.prop(s, "lens")
    col.prop(s, "eye_distance")
    if not s.eye_distance:
        col.prop(s, "head_size")
    col.prop(s, "face")
    if s.face == "POINT":
        col.prop(s, "face_point")
    col.prop(s, "smoothing", slider=True)
    col.prop(s, "shape_keys")
    if s.shape_keys == "ARKIT_RESIDUAL":
        col.prop(s, "residual_keys")
    col.prop(s, "corrective_keys")
    col.prop(s, "camera_turn")
    col.prop(s, "head_motion")
    row = col.row(heading="Create")
    row.prop(s, "create_camera")
    sub = row.row()
    sub.active = s.create_camera
    sub.prop(s, "background")
    row = col.row(heading="Texture")
    row.prop(s, "texture", text="")
    sub = row.row()
    sub.active = s.texture
    sub.prop(s, "texture_size", text="")
    header, body = layout.panel("face_capture_advanced", default_closed=True)
    header.label(text="Advanced")
    if body is not None:
        body.prop(s, "fusion")
    layout.separator()
    if state.running:
        if hasattr(layout, "progress"):        # Blender 4.0+
            layout.progress(factor=state.progress, type="BAR", text=state.status or "working")
        else:
            layout.label(text=f"{100 * state.progress:.0f}% {state.status}")
        layout.operator(FACE_CAPTURE_OT_cancel.bl_idname, icon="CANCEL")
    else:
        layout.operator(FACE_CAPTURE_OT_run.bl_idname, icon="PLAY")
    if state.has_result and not state.running:
        box = layout.box()
        box.label(text=f"Result: {state.collection}", icon="CHECKMARK")
        grid = box.grid_flow(columns=2, align=True)
        grid.label(text="Frames tracked")
        grid.label(text=f"{state.frames_tracked} / {state.frames_total}")
        grid.label(text="Frames bridged")
        grid.label(text=str(state.frames_bridged))
        grid.label(text="Landmark fit")       # bake.fit_report: the head's distance from the face's landmarks
        grid.label(text=f"{100 * state.landmark_fit:.1f} % of eye distance" if state.landmark_fit >= 0 else "not read")
        if state.landmark_fit >= 0:
            grid.label(text="Worst")
            grid.label(text=f"{100 * state.worst_fit:.1f} %, frame {state.worst_fit_frame}")
        grid.label(text="Time")
        grid.label(text=f"{state.seconds:.1f} s")
        grid.label(text="Eye distance")
        grid.label(text=f"{state.eye_distance_mm:.0f} mm")
        if state.iris_eye_distance_mm > 0:
            grid.label(text="The irises read")
            grid.label(text=f"{state.iris_eye_distance_mm:.0f} mm")
        if s.camera_turn == "background":   # bake.camera_turn: what the background gave the camera
            grid.label(text="Camera")
            grid.label(text=f"turns up to {state.camera_degrees:.1f} degrees" if state.camera_degrees >= 0
                       else "still (see the warnings)")
        if state.landmark_fit >= 0:
            box.operator(FACE_CAPTURE_OT_worst_fit.bl_idname, icon="ZOOM_SELECTED")
        if not s.eye_distance and s.head_size == "network":
            box.label(text="Head size read by the network; set Eye Distance or Head Size: Irises", icon="INFO")
        if state.warnings:                      # the bake's warnings stay here after the status bar has moved on
            lines = state.warnings.split("\n")
            header, body = box.panel("face_capture_warnings", default_closed=False)
            header.label(text=f"Warnings ({len(lines)})", icon="ERROR")
            if body is not None:
                width = _label_chars(context)
                for line in lines:
                    for k, part in enumerate(textwrap.wrap(line, width) or [""]):
                        body.label(text=part, icon="DOT" if k == 0 else "BLANK1")


def _label_chars(context) -> int:
    """How many characters of a label fit across the panel's region (Blender does not wrap labels): about 7 pixels a
    character at the interface's scale, less the icon's; at least 30, and 60 where no region is drawn (headless)."""
    region = getattr(context, "region", None)
    if region is None or not region.width:
        return 60
    prefs = getattr(context, "preferences", None)
    scale = prefs.system.ui_scale if prefs is not None else 1.0
    return max(30, int(region.width / (7.0 * scale)) - 6)


class _FaceCapturePanel:
    """The same sidebar panel in the 3D View and in the Clip Editor."""
    bl_label = "Face Capture"
    bl_region_type = "UI"
    bl_category = "Face Capture"

    def draw(self, context):
        draw_panel(self.layout, context)


class VIEW3D_PT_face_capture(_FaceCapturePanel, bpy.types.Panel):
    bl_space_type = "VIEW_3D"


class CLIP_PT_face_capture(_FaceCapturePanel, bpy.types.Panel):
    bl_space_type = "CLIP_EDITOR"


def draw_retarget(layout, context):
    """Retarget onto the selected character meshes, import a Live Link Face CSV, calibrate (3D View only)."""
    from bake.calibrate import REGIONS
    rs = context.scene.face_capture_retarget
    layout.use_property_split = True
    layout.use_property_decorate = False
    col = layout.column()
    col.prop(rs, "source")
    col.prop(rs, "mapping_path")
    col.prop(rs, "head_target")
    if rs.head_target is not None and rs.head_target.type == "ARMATURE":
        col.prop_search(rs, "head_bone", rs.head_target.data, "bones")
        col.prop_search(rs, "left_eye_bone", rs.head_target.data, "bones")
        col.prop_search(rs, "right_eye_bone", rs.head_target.data, "bones")
    row = layout.row(align=True)
    row.operator(FACE_CAPTURE_OT_retarget.bl_idname, icon="MOD_DATA_TRANSFER")
    row.operator(FACE_CAPTURE_OT_import_csv.bl_idname, text="Import CSV", icon="IMPORT")
    row.operator(FACE_CAPTURE_OT_export_csv.bl_idname, text="Export CSV", icon="EXPORT")
    box = layout.box()
    box.prop(rs, "calibrate")
    col = box.column()
    col.prop(rs, "neutral")
    if rs.neutral == "FRAME":
        col.prop(rs, "neutral_frame")
    grid = box.grid_flow(columns=2, align=True)
    grid.use_property_split = False
    for r in REGIONS:
        grid.prop(rs, f"gain_{r}")
        grid.prop(rs, f"offset_{r}")
    box.prop(rs, "calibration_path")
    row = box.row(align=True)
    row.operator(FACE_CAPTURE_OT_calibrate.bl_idname, icon="MODIFIER")
    row.operator(FACE_CAPTURE_OT_clear_calibration.bl_idname, icon="LOOP_BACK")
    box.operator(FACE_CAPTURE_OT_save_calibration.bl_idname, icon="FILE_TICK")
    obj = context.active_object
    key = obj.data.shape_keys if obj is not None and obj.type == "MESH" else None
    if key is not None and key.get("face_capture_raw") is not None:
        state = "calibrated" if "face_capture_calibration" in key else "raw capture"
        box.label(text=f"{obj.name}: {state} (raw kept as {key['face_capture_raw'].name})", icon="INFO")


class VIEW3D_PT_face_capture_retarget(bpy.types.Panel):
    """Retarget, calibrate and import Live Link Face CSVs"""
    bl_label = "Retarget & Calibrate"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Face Capture"
    bl_parent_id = "VIEW3D_PT_face_capture"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        draw_retarget(self.layout, context)


_CLASSES = (VIEW3D_PT_face_capture, CLIP_PT_face_capture, VIEW3D_PT_face_capture_retarget)


register, unregister = bpy.utils.register_classes_factory(_CLASSES)
