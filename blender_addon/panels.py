"""Sidebar panels in the 3D View and the Clip Editor (same content)."""
import bpy

from .operators import FACE_CAPTURE_OT_cancel, FACE_CAPTURE_OT_run


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
    col.prop(s, "face")
    if s.face == "POINT":
        col.prop(s, "face_point")
    col.prop(s, "smoothing", slider=True)
    col.prop(s, "shape_keys")
    if s.shape_keys == "ARKIT_RESIDUAL":
        col.prop(s, "residual_keys")
    col.prop(s, "head_motion")
    row = col.row(heading="Create")
    row.prop(s, "create_camera")
    sub = row.row()
    sub.active = s.create_camera
    sub.prop(s, "background")
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
        grid.label(text="Mean confidence")
        grid.label(text=f"{state.mean_confidence:.2f}")
        grid.label(text="Time")
        grid.label(text=f"{state.seconds:.1f} s")


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


_CLASSES = (VIEW3D_PT_face_capture, CLIP_PT_face_capture)


register, unregister = bpy.utils.register_classes_factory(_CLASSES)
