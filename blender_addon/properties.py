"""Scene settings (saved with the file) and window-manager run state (progress, last result; not saved)."""
import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, FloatVectorProperty, IntProperty,
                       PointerProperty, StringProperty)

from bake.config import CAMERA_TURNS, FUSION_MODES, HEAD_SIZES, setting


def limits(name: str, note: str = "", **override) -> dict:
    """Default, hard/soft limits and tooltip of the ``ReconConfig`` field ``name`` (``bake.config``) as property
    keywords; ``note`` ends the tooltip, ``override`` for what the panel shows differently (e.g. a default of its
    own)."""
    default, s = setting(name)
    kw = {"description": s.help[:1].upper() + s.help[1:] + (f"; {note}" if note else "")}
    if default is not None:
        kw["default"] = default
    for (lo_key, hi_key), r in ((("min", "max"), s.range), (("soft_min", "soft_max"), s.soft_range)):
        if r is not None:
            if r[0] is not None:
                kw[lo_key] = r[0]
            if r[1] is not None:
                kw[hi_key] = r[1]
    kw.update(override)
    return kw


def _device_items(self, context):
    items = [("CPU", "CPU", "onnxruntime on the CPU")]
    try:
        import onnxruntime
        if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            items.append(("CUDA", "CUDA", "onnxruntime-gpu on an NVIDIA GPU"))
    except ImportError:
        pass
    return items


QUALITY = {   # preset -> (network preset, frame stride)
    "FAST": ("cpu", 2),
    "BALANCED": ("cpu", 1),
    "HIGH": ("gpu", 1),
}


class FaceCaptureSettings(bpy.types.PropertyGroup):
    source: EnumProperty(name="Footage", items=[
        ("CLIP", "Movie Clip", "The active Movie Clip (or the one chosen below)"),
        ("FILE", "File", "A video file or a single image"),
        ("FOLDER", "Image Folder", "A folder of images, sorted naturally")], default="CLIP")
    clip: PointerProperty(name="Clip", type=bpy.types.MovieClip, description="Movie Clip to capture")
    filepath: StringProperty(name="File", subtype="FILE_PATH", description="Video file or image")
    folder: StringProperty(name="Folder", subtype="DIR_PATH", description="Folder of images")
    frame_start: IntProperty(name="Start", **limits("start"))
    frame_end: IntProperty(name="End", min=0, default=0, description="Last footage frame, exclusive (0 = to the end)")
    model: EnumProperty(name="Model", items=[
        ("DEFAULT", "Bundled", "The model shipped with the extension"),
        ("CUSTOM", "Custom", "A custom .onnx file")], default="DEFAULT")
    model_path: StringProperty(name="Model File", subtype="FILE_PATH", description="Custom .onnx model")
    device: EnumProperty(name="Device", items=_device_items, description="Where the network runs")
    quality: EnumProperty(name="Quality", items=[
        ("FAST", "Fast", "Small network, every second frame"),
        ("BALANCED", "Balanced", "Small network, every frame"),
        ("HIGH", "High", "Large network (best with CUDA) when its weights (face_anything_gpu.onnx) are installed, else the bundled small one; every frame")], default="BALANCED")
    face: EnumProperty(name="Face", items=[
        ("LARGEST", "Largest", "Follow the largest face in view"),
        ("POINT", "Nearest Point", "Follow the face nearest a point of the frame (several people in view)")],
        default="LARGEST", description="Which face to capture when several are in view")
    face_point: FloatVectorProperty(name="Point", size=2, subtype="XYZ",
                                    **limits("face_point", default=(0.5, 0.5),
                                             description="Point of the frame (0..1 from the left and from the top) "
                                                         "nearest the face to follow"))
    lens: FloatProperty(name="Lens (35 mm equiv.)", **limits("focal_mm"))
    eye_distance: FloatProperty(name="Eye Distance (mm)", **limits("eye_distance_mm", note="0 = not known", min=0.0,
                                                                   default=0.0))
    head_size: EnumProperty(name="Head Size", items=[(m, m.capitalize(), d) for m, d in zip(HEAD_SIZES, (
        "The dense network's reading of the face's relief (on real faces it reads small heads)",
        "The eye distance in iris widths (an iris is about 11.7 mm across in everyone)"))],
        **limits("head_size", note="used when Eye Distance is 0"))
    smoothing: FloatProperty(name="Smoothing", subtype="FACTOR", **limits("smoothing"))
    shape_keys: EnumProperty(name="Shape Keys", items=[
        ("ARKIT", "ARKit-52", "The 52 ARKit blendshapes"),
        ("ARKIT_RESIDUAL", "ARKit-52 + Residual", "ARKit plus residual keys for what ARKit cannot express")],
        default="ARKIT")
    residual_keys: IntProperty(name="Residual Keys", **limits("residual_keys", min=1, default=8))
    corrective_keys: IntProperty(name="Corrective Keys", **limits("corrective_keys"))
    camera_turn: EnumProperty(name="Camera", items=[(m, m.capitalize(), d) for m, d in zip(CAMERA_TURNS, (
        "The camera stays still: all motion in the footage is the head's",
        "The camera turns as the background shows (a handheld or panning camera): its motion goes on the camera, "
        "the head keeps its own"))], **limits("camera_turn"))
    head_motion: EnumProperty(name="Head Motion", items=[
        ("OBJECT", "On Object", "The head object moves, the camera is fixed"),
        ("CAMERA", "On Camera", "The head stays at the origin, the camera moves")], default="OBJECT")
    fusion: EnumProperty(name="Fusion", items=[(m, m.capitalize(), d) for m, d in zip(FUSION_MODES, (
        "The dense network and the face tracker's landmarks and blendshape scores together",
        "The dense network alone (ablation)",
        "The tracker's landmarks and blendshape scores alone (ablation; identity and scale unobserved)"))],
        **limits("fusion"))
    create_camera: BoolProperty(name="Camera", default=True, description="Create a camera matching the footage")
    background: BoolProperty(name="Background", default=True, description="Footage as the camera background")
    texture: BoolProperty(name="Texture", default=False,
                          description="Project the footage onto the head's UVs: an albedo texture on its material")
    texture_size: EnumProperty(name="Size", items=[("512", "512", ""), ("1024", "1024", ""), ("2048", "2048", "")],
                               default="1024", description="Texture width and height in pixels")


def _mesh_with_keys(self, obj):
    return obj.type == "MESH" and obj.data.shape_keys is not None


def _calibration_annotations() -> dict:
    """Gain and offset per region (bake.calibrate.REGIONS), generated so the region list lives in one place."""
    from bake.calibrate import REGIONS
    ann = {}
    for r in REGIONS:
        ann[f"gain_{r}"] = FloatProperty(name=r.capitalize(), min=0.0, soft_max=3.0, default=1.0,
                                         description=f"Gain on the {r} shapes (after the neutral is subtracted)")
        ann[f"offset_{r}"] = FloatProperty(name="Offset", min=-1.0, max=1.0, default=0.0,
                                           description=f"Offset added to the {r} shapes")
    return ann


FaceCaptureRetargetSettings = type("FaceCaptureRetargetSettings", (bpy.types.PropertyGroup,), {
    "__doc__": "Retarget and calibration settings (saved with the file)",
    "__annotations__": {
        "source": PointerProperty(name="Performance", type=bpy.types.Object, poll=_mesh_with_keys,
                                  description="The captured head whose shape-key animation drives the character "
                                              "(default: the last capture's head)"),
        "mapping_path": StringProperty(name="Mapping", subtype="FILE_PATH",
                                       description="Optional JSON override of the ARKit shape-key mapping, e.g. "
                                                   "{\"jawOpen\": \"MouthOpen\", \"tongueOut\": []}"),
        "head_target": PointerProperty(name="Head Motion To", type=bpy.types.Object,
                                       description="Object or armature that receives the head rotation (optional)"),
        "head_bone": StringProperty(name="Bone", description="Bone of the armature that receives the head rotation"),
        "left_eye_bone": StringProperty(name="Left Eye Bone",
                                        description="Bone of the armature that receives the subject's left eye's "
                                                    "turn from its eyeLook weights (for eyes rigged as bones)"),
        "right_eye_bone": StringProperty(name="Right Eye Bone",
                                         description="Bone of the armature that receives the subject's right eye's "
                                                     "turn from its eyeLook weights (for eyes rigged as bones)"),
        "calibrate": BoolProperty(name="Calibrate", default=False,
                                  description="Apply the calibration below when retargeting or importing"),
        "neutral": EnumProperty(name="Neutral", items=[
            ("NONE", "None", "No neutral subtraction"),
            ("FRAME", "Frame", "The actor's neutral face at a chosen frame"),
            ("AUTO", "Auto", "The most neutral stretch of the take (lowest summed weights)")], default="AUTO"),
        "neutral_frame": IntProperty(name="Neutral Frame", default=1, description="Scene frame of the neutral face"),
        "calibration_path": StringProperty(name="Per-Shape File", subtype="FILE_PATH",
                                           description="Optional calibration JSON (bake.calibrate) with per-shape "
                                                       "gains/offsets, combined with the region values"),
        **_calibration_annotations(),
    },
})


class FaceCaptureState(bpy.types.PropertyGroup):
    running: BoolProperty(default=False)
    progress: FloatProperty(name="Progress", min=0.0, max=1.0, subtype="FACTOR")
    status: StringProperty(name="Status")
    has_result: BoolProperty(default=False)
    frames_total: IntProperty()
    frames_tracked: IntProperty()
    frames_bridged: IntProperty()
    landmark_fit: FloatProperty()        # BakeStats.landmark_fit (bake.fit_report), in eye distances; -1: unread
    worst_fit: FloatProperty()           # ... its worst frame's ...
    worst_fit_frame: IntProperty()       # ... and that frame in the scene (footage frame + 1)
    seconds: FloatProperty()
    eye_distance_mm: FloatProperty()     # the baked head's (bake.head_size): its size, as the artist can check it
    iris_eye_distance_mm: FloatProperty()   # what the irises read (BakeStats.iris_eye_distance_mm; 0: unread)
    camera_degrees: FloatProperty()      # how far the baked camera turns (BakeStats.camera_degrees); -1: it stands still
    warnings: StringProperty()           # the bake's warnings (BakeStats.warnings, then the job's), one per line
    collection: StringProperty()


_CLASSES = (FaceCaptureSettings, FaceCaptureRetargetSettings, FaceCaptureState)


_register, _unregister = bpy.utils.register_classes_factory(_CLASSES)


def register():
    _register()
    bpy.types.Scene.face_capture = PointerProperty(type=FaceCaptureSettings)
    bpy.types.Scene.face_capture_retarget = PointerProperty(type=FaceCaptureRetargetSettings)
    bpy.types.WindowManager.face_capture = PointerProperty(type=FaceCaptureState)


def unregister():
    del bpy.types.WindowManager.face_capture
    del bpy.types.Scene.face_capture_retarget
    del bpy.types.Scene.face_capture
    _unregister()
