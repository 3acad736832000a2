"""SceneTracks -> Blender objects, and Blender's FBX/glTF exporters (the only bpy module in bake).

Spaces, converted in ONE place (``_HEAD_TO_BL``, ``_CV_TO_BLCAM``, ``MM``):
  * head frame (mm, +X subject's left, +Y up, +Z forward) -> Blender object space (m, +Z up, -Y forward):
    ``p_bl = MM * _HEAD_TO_BL @ p_head`` with ``_HEAD_TO_BL`` = (x, y, z) -> (x, -z, y), a 90 deg rotation about X;
  * OpenCV camera (x right, y down, z forward) -> Blender camera local space (x right, y up, looking down -Z):
    ``_CV_TO_BLCAM = diag(1, -1, -1)``;
  * world: the camera sits at the origin looking along +Y (rotation (90 deg, 0, 0)), so a frontal head stands
    at +Y facing the camera (-Y), like Blender's front view. With ``head_motion="object"`` (the default) the
    camera is static and the head object carries the per-frame pose; with ``"camera"`` the head stays at the
    origin and the camera carries the inverse pose.

Scene frame ``tracks.frames[i]`` shows footage frame ``tracks.frames[i] - 1`` (the background clip starts at
scene frame 1). Everything is built into a new collection that is linked to the scene only at the end; on
error everything created is removed and the scene is left as it was.
"""
from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import bpy
import numpy as np

from core.errors import ExportError, FootageError
from core.footage import list_images, open_footage

from ..calibrate import REGION_OF
from ..filter import turned_poses
from ..types import SceneTracks

log = logging.getLogger(__name__)

MM = 0.001                                                    # mm -> m
_HEAD_TO_BL = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])   # head frame axes -> Blender axes
_CV_TO_BLCAM = np.diag([1.0, -1.0, -1.0])                    # OpenCV camera -> Blender camera local
_CAM_WORLD_ROT = _HEAD_TO_BL                                  # camera at origin looking along +Y, +Z up
SENSOR_MM = 36.0


# ---------------------------------------------------------------- conversions (pure numpy)
def reset_scene() -> None:
    """An empty scene (factory settings) for headless runs, so nothing from a startup file leaks into outputs."""
    bpy.ops.wm.read_factory_settings(use_empty=True)


def open_blend(path) -> None:
    """Open a .blend (a character to retarget onto) as the current file; InputError when it cannot be read."""
    from core.errors import InputError
    p = Path(path).expanduser().resolve()
    try:
        bpy.ops.wm.open_mainfile(filepath=str(p), load_ui=False)
    except RuntimeError as e:
        raise InputError(f"cannot open {p}: {e}") from e


def head_to_blender(points_mm: np.ndarray) -> np.ndarray:
    """(..., 3) head-frame mm -> Blender object-space metres."""
    return np.asarray(points_mm, np.float64) @ _HEAD_TO_BL.T * MM


def head_world_pose(R: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame head object world rotation (T,3,3) and location (T,3) m for a camera at the origin."""
    C = _CAM_WORLD_ROT @ _CV_TO_BLCAM
    rot = C @ np.asarray(R, np.float64) @ _HEAD_TO_BL.T
    loc = np.asarray(t, np.float64) @ C.T * MM
    return rot, loc


def camera_world_rotation(turn: np.ndarray) -> np.ndarray:
    """(T,3,3) Blender world rotations of the camera object for the camera's turn ``turn`` (T,3,3: each frame's
    OpenCV camera -> the first frame's, SceneTracks.camera_rotation); the first frame's view is the still camera's."""
    return _CAM_WORLD_ROT @ _CV_TO_BLCAM @ np.asarray(turn, np.float64) @ _CV_TO_BLCAM


def euler_xyz(rot: np.ndarray) -> np.ndarray:
    """(T,3,3) rotation matrices -> (T,3) Blender 'XYZ' Euler angles (R = Rz Ry Rx), unwrapped over time."""
    a = np.arctan2(rot[:, 2, 1], rot[:, 2, 2])
    b = np.arcsin(np.clip(-rot[:, 2, 0], -1.0, 1.0))
    c = np.arctan2(rot[:, 1, 0], rot[:, 0, 0])
    return np.unwrap(np.stack([a, b, c], 1), axis=0)


def camera_lens(K: np.ndarray, image_size) -> dict:
    """Blender camera settings reproducing pinhole K on an image of (width, height) pixels."""
    w, h = (int(v) for v in image_size)
    fx, fy, cx, cy = float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])
    if w >= h:
        fit, size, f = "HORIZONTAL", w, fx
    else:
        fit, size, f = "VERTICAL", h, fy
    return dict(sensor_fit=fit, sensor_width=SENSOR_MM, sensor_height=SENSOR_MM, lens=f * SENSOR_MM / size,
                shift_x=(w / 2.0 - cx) / size, shift_y=(cy - h / 2.0) / size)


# ---------------------------------------------------------------- animation helpers
def _fcurve(action, datablock, data_path: str, index: int = 0, group: str = ""):
    """An f-curve on ``action`` for ``datablock`` (4.4+: slotted actions; 4.2: Action.fcurves)."""
    if hasattr(action, "fcurve_ensure_for_datablock"):
        return action.fcurve_ensure_for_datablock(datablock, data_path, index=index, group_name=group)
    return action.fcurves.new(data_path, index=index, action_group=group)   # Blender 4.2/4.3


def curve_group(key_name: str) -> str:
    """Channel group of a shape key's f-curve: its ARKit region ("Eyes", "Brows", "Mouth", "Jaw", "Cheeks", "Nose",
    "Tongue"), else "Residual". The Graph Editor and Dope Sheet list the curves under these groups, each as
    "Value (<shape key name>)"."""
    return REGION_OF[key_name].capitalize() if key_name in REGION_OF else "Residual"


def _key_linear(fc, frames: np.ndarray, values: np.ndarray) -> None:
    n = len(frames)
    kp = fc.keyframe_points
    kp.add(n)
    co = np.empty((n, 2), np.float32)
    co[:, 0] = frames
    co[:, 1] = values
    kp.foreach_set("co", co.ravel())
    kp.foreach_set("interpolation", np.full(n, 1, np.int32))   # 1 = LINEAR
    fc.update()


def _new_action(datablock, name: str):
    datablock.animation_data_create()
    action = bpy.data.actions.new(name)
    datablock.animation_data.action = action
    return action


# ---------------------------------------------------------------- footage
def _footage_file(path: str) -> Path | None:
    """The file Blender loads as the background clip: the video or image itself, or an image folder's first image
    in ``core.footage``'s natural order (Blender finds the rest of the numbered sequence from it)."""
    if not path:
        return None
    p = Path(path)
    if p.is_dir():
        imgs = list_images(p)
        return imgs[0] if imgs else None
    return p if p.is_file() else None


def _load_clip(path: str, created: list):
    f = _footage_file(path)
    if f is None:
        if path:
            log.warning("footage %s not found: camera has no background", path)
        return None
    try:
        clip = bpy.data.movieclips.load(str(f.resolve()), check_existing=False)
    except RuntimeError as e:
        raise FootageError(f"Blender cannot load the footage {f} as a movie clip: {e}") from e
    created.append(clip)
    clip.frame_start = 1
    return clip


# ---------------------------------------------------------------- the scene
def build_scene(tracks: SceneTracks, name: str = "FaceCapture", camera: bool = True, background: bool = True,
                scene=None, head_motion: str = "object") -> "bpy.types.Collection":
    """Build the animated head (+ camera) into a new collection linked to ``scene`` at the end.

    Also sets the scene's fps, frame range, render resolution and active camera (only on success).
    """
    if head_motion not in ("object", "camera"):
        raise ValueError(f"head_motion must be 'object' or 'camera', not {head_motion!r}")
    scene = scene or bpy.context.scene
    created: list = []
    try:
        coll = bpy.data.collections.new(name)
        created.append(coll)
        head = _build_head(tracks, name, coll, created)
        frames = np.asarray(tracks.frames, np.float64)
        cam_obj = None
        if camera:
            cam_obj = _build_camera(tracks, name, coll, created, background)
        if head_motion == "object" or cam_obj is None:
            turn = tracks.camera_rotation        # the camera's own turn (bake.camera_turn), the head's in the world
            R, t = tracks.head_rotation, tracks.head_translation
            if turn is not None:
                R, t = turned_poses(turn, R, t)
            _animate_object(head, frames, *head_world_pose(R, t), name + "_HeadMotion", created)
            if cam_obj is not None and turn is not None:
                _animate_object(cam_obj, frames, camera_world_rotation(turn), np.zeros((len(frames), 3)),
                                name + "_CameraMotion", created)
            elif cam_obj is not None:
                cam_obj.rotation_euler = euler_xyz(_CAM_WORLD_ROT[None])[0]
        else:   # camera moves around a static head: camera = inverse head pose (its own turn is in that already)
            rot, loc = head_world_pose(tracks.head_rotation, tracks.head_translation)
            inv = np.transpose(rot, (0, 2, 1))
            _animate_object(cam_obj, frames, inv @ _CAM_WORLD_ROT, -np.einsum("tij,tj->ti", inv, loc),
                            name + "_CameraMotion", created)
        _animate_fit(head, tracks, frames, name, created)
    except BaseException:
        _remove(created)
        raise
    # success: only now touch the scene
    scene.collection.children.link(coll)
    fps = float(tracks.fps)
    scene.render.fps = max(1, int(round(fps)))
    scene.render.fps_base = scene.render.fps / fps if fps > 0 else 1.0
    scene.frame_start = int(frames.min())
    scene.frame_end = int(frames.max())
    scene.frame_current = scene.frame_start
    scene.render.resolution_x, scene.render.resolution_y = (int(v) for v in tracks.image_size)
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    if cam_obj is not None:
        scene.camera = cam_obj
        clip = cam_obj.data.background_images[0].clip if cam_obj.data.background_images else None
        if clip is not None:
            scene.active_clip = clip
    log.info("built %s: %d vertices, %d keys, %d frames", name, len(tracks.basis), len(tracks.key_names),
             len(frames))
    return coll


def _build_head(tracks: SceneTracks, name: str, coll, created: list):
    verts = head_to_blender(tracks.basis).astype(np.float32)
    faces = np.asarray(tracks.faces, np.int32)
    me = bpy.data.meshes.new(name + "_Head")
    created.append(me)
    me.vertices.add(len(verts))
    me.vertices.foreach_set("co", verts.ravel())
    nf = len(faces)
    me.loops.add(nf * 3)
    me.loops.foreach_set("vertex_index", faces.ravel())
    me.polygons.add(nf)
    me.polygons.foreach_set("loop_start", np.arange(0, nf * 3, 3, dtype=np.int32))
    me.polygons.foreach_set("use_smooth", np.ones(nf, bool))
    me.update(calc_edges=True)
    if me.validate(verbose=False):
        log.warning("head mesh needed repairs (topology data was inconsistent)")
    uv = me.uv_layers.new(name="UVMap")
    uv.data.foreach_set("uv", np.asarray(tracks.uv, np.float32).ravel())
    obj = bpy.data.objects.new(name + "_Head", me)
    created.append(obj)
    coll.objects.link(obj)
    if tracks.region is not None and tracks.region_names:
        region = np.asarray(tracks.region)
        for i, rn in enumerate(tracks.region_names):
            idx = np.flatnonzero(region == i)
            if len(idx):
                obj.vertex_groups.new(name=str(rn)).add(idx.tolist(), 1.0, "REPLACE")
    # shape keys: Basis + one per key, positions via the fast ShapeKey.points path
    obj.shape_key_add(name="Basis", from_mix=False)
    deltas = head_to_blender(tracks.key_deltas).astype(np.float32)
    weights = np.asarray(tracks.weights, np.float32)
    for k, kname in enumerate(tracks.key_names):
        kb = obj.shape_key_add(name=str(kname), from_mix=False)
        kb.points.foreach_set("co", (verts + deltas[k]).ravel())
        lo, hi = float(weights[:, k].min(initial=0.0)), float(weights[:, k].max(initial=1.0))
        kb.slider_min = max(-10.0, min(0.0, math.floor(lo)))
        kb.slider_max = min(10.0, max(1.0, math.ceil(hi)))
    key = me.shape_keys
    key.name = name + "_Keys"
    key.use_relative = True
    action = _new_action(key, name + "_Expressions")
    created.append(action)
    frames = np.asarray(tracks.frames, np.float64)
    for k, kname in enumerate(tracks.key_names):
        fc = _fcurve(action, key, f'key_blocks["{kname}"].value', group=curve_group(str(kname)))
        _key_linear(fc, frames, weights[:, k])
    return obj


def _animate_object(obj, frames, rot, loc, action_name: str, created: list) -> None:
    obj.rotation_mode = "XYZ"
    eul = euler_xyz(rot)
    obj.location = loc[0]
    obj.rotation_euler = eul[0]
    action = _new_action(obj, action_name)
    created.append(action)
    for i in range(3):
        _key_linear(_fcurve(action, obj, "location", i, "Object Transforms"), frames, loc[:, i])
    for i in range(3):
        _key_linear(_fcurve(action, obj, "rotation_euler", i, "Object Transforms"), frames, eul[:, i])


FIT_PROPERTY = "landmark_fit"


def _animate_fit(head, tracks: SceneTracks, frames: np.ndarray, name: str, created: list) -> None:
    """The head's custom property ``FIT_PROPERTY``, keyed on every frame the fit was read (bake.fit_report: how far
    the head is off the face's landmarks, in eye distances): its value is the current frame's, and the Graph Editor
    shows where to look. On the head's motion action where it has one; the exporters leave custom properties out."""
    fit = None if tracks.landmark_fit is None else np.asarray(tracks.landmark_fit, np.float64)
    if fit is None or not np.isfinite(fit).any():
        return
    read = np.isfinite(fit)
    head[FIT_PROPERTY] = float(fit[read][0])
    head.id_properties_ui(FIT_PROPERTY).update(
        min=0.0, description="How far the baked head is off the face's landmarks on this frame, in eye distances")
    ad = head.animation_data
    action = ad.action if ad is not None and ad.action is not None else None
    if action is None:
        action = _new_action(head, name + "_Fit")
        created.append(action)
    _key_linear(_fcurve(action, head, f'["{FIT_PROPERTY}"]', 0, "Face Capture"), frames[read], fit[read])


def _build_camera(tracks: SceneTracks, name: str, coll, created: list, background: bool):
    cam = bpy.data.cameras.new(name + "_Camera")
    created.append(cam)
    for attr, val in camera_lens(np.asarray(tracks.K), tracks.image_size).items():
        setattr(cam, attr, val)
    cam.clip_start, cam.clip_end = 0.01, 100.0
    obj = bpy.data.objects.new(name + "_Camera", cam)
    created.append(obj)
    coll.objects.link(obj)
    obj.rotation_mode = "XYZ"
    obj.rotation_euler = euler_xyz(_CAM_WORLD_ROT[None])[0]
    if background:
        clip = _load_clip(tracks.footage_path, created)
        if clip is not None:
            bg = cam.background_images.new()
            bg.source = "MOVIE_CLIP"
            bg.clip = clip
            bg.alpha = 1.0
            bg.frame_method = "FIT"
            cam.show_background_images = True
    return obj


def _remove(created: list) -> None:
    """Remove every datablock in ``created`` (newest first); used to undo a failed build."""
    colls = {
        bpy.types.Object: bpy.data.objects, bpy.types.Mesh: bpy.data.meshes, bpy.types.Camera: bpy.data.cameras,
        bpy.types.Action: bpy.data.actions, bpy.types.MovieClip: bpy.data.movieclips,
        bpy.types.Collection: bpy.data.collections, bpy.types.Image: bpy.data.images,
    }
    for idb in reversed(created):
        try:
            for t, store in colls.items():
                if isinstance(idb, t):
                    store.remove(idb)
                    break
        except ReferenceError:
            pass


# ---------------------------------------------------------------- texture
def apply_texture(obj, image_path, name: str = "") -> "bpy.types.Material":
    """Give ``obj`` a material whose base colour is the texture PNG at ``image_path`` (read through the mesh's UVMap;
    the image is packed into the .blend). Returns the material; replaces the object's materials."""
    name = name or obj.name
    p = Path(image_path).expanduser().resolve()
    try:
        img = bpy.data.images.load(str(p), check_existing=False)
    except RuntimeError as e:
        raise ExportError(f"Blender cannot read the texture {p}: {e}") from e
    img.name = name + "_Albedo"
    img.pack()
    mat = bpy.data.materials.new(name + "_Skin")
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = next(n for n in nodes if n.type == "BSDF_PRINCIPLED")
    tex = nodes.new("ShaderNodeTexImage")
    tex.image = img
    tex.location = (-400, 200)
    uvn = nodes.new("ShaderNodeUVMap")
    uvn.uv_map = "UVMap"
    uvn.location = (-650, 200)
    links.new(uvn.outputs["UV"], tex.inputs["Vector"])
    links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = 0.6
    nodes.active = tex                        # the Workbench's Texture colour shows the active image node
    obj.data.materials.clear()
    obj.data.materials.append(mat)
    return mat


# ---------------------------------------------------------------- exports
def check_writable(path) -> Path:
    """Raise ExportError unless ``path`` can be created (called before any expensive work)."""
    p = Path(path).expanduser().resolve()
    if p.is_dir():
        raise ExportError(f"output path {p} is a directory; give a file name")
    if not p.parent.is_dir():
        raise ExportError(f"cannot write {p}: folder {p.parent} does not exist")
    if not os.access(p.parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise ExportError(f"cannot write {p}: permission denied")
    return p


def _tmp_for(p: Path) -> Path:
    return p.with_name(f".{p.stem}.{os.getpid()}.partial{p.suffix}")


def _write_atomic(path, write) -> Path:
    p = check_writable(path)
    tmp = _tmp_for(p)
    try:
        write(tmp)
        if not tmp.is_file():
            raise ExportError(f"exporter wrote nothing for {p}")
        os.replace(tmp, p)
    except ExportError:
        raise
    except (RuntimeError, OSError) as e:
        raise ExportError(f"cannot write {p}: {e}") from e
    finally:
        if tmp.exists():
            tmp.unlink()
    return p


class _SelectOnly:
    """Temporarily select exactly ``objects`` (restores selection and active object afterwards)."""

    def __init__(self, objects):
        self.objects = list(objects)

    def __enter__(self):
        vl = bpy.context.view_layer
        self.prev = [o for o in vl.objects if o.select_get()]
        self.active = vl.objects.active
        for o in self.prev:
            o.select_set(False)
        for o in self.objects:
            o.select_set(True)
        vl.objects.active = next((o for o in self.objects if o.type == "MESH"), None)
        return self

    def __exit__(self, *exc):
        vl = bpy.context.view_layer
        for o in self.objects:
            if o.name in vl.objects:
                o.select_set(False)
        for o in self.prev:
            try:
                o.select_set(True)
            except ReferenceError:
                pass
        vl.objects.active = self.active


def _objects(what) -> list:
    """The objects to export: a collection's (all, nested included) or an explicit list (a retargeted character)."""
    return list(what.all_objects) if hasattr(what, "all_objects") else list(what)


def _frame_range(collection) -> tuple[int, int]:
    lo, hi = [], []
    for o in _objects(collection):
        for ad in (o.animation_data, getattr(getattr(o.data, "shape_keys", None), "animation_data", None)):
            if ad and ad.action:
                a, b = ad.action.frame_range
                lo.append(a)
                hi.append(b)
    sc = bpy.context.scene
    return (int(min(lo)), int(max(hi))) if lo else (sc.frame_start, sc.frame_end)


def export_fbx(path, collection) -> Path:
    """Write the collection's objects (mesh with blendshapes + baked curves, camera) as FBX, atomically; ``collection``
    may also be a list of objects."""
    def write(tmp):
        with _SelectOnly(_objects(collection)):
            res = bpy.ops.export_scene.fbx(
                filepath=str(tmp), check_existing=False, use_selection=True,
                object_types={"MESH", "CAMERA", "EMPTY"},
                use_mesh_modifiers=False,        # any modifier would silently drop every shape key
                add_leaf_bones=False, mesh_smooth_type="FACE",
                bake_anim=True, bake_anim_use_nla_strips=False, bake_anim_use_all_actions=False,
                bake_anim_force_startend_keying=True, bake_anim_step=1.0,
                bake_anim_simplify_factor=0.0,   # default 1.0 drops keys (error 1.5e-4)
                axis_forward="-Z", axis_up="Y", path_mode="AUTO")
        if "FINISHED" not in res:
            raise ExportError(f"Blender's FBX exporter did not finish ({res})")
    return _write_atomic(path, write)


def _export_clip_range(path, collection, what: str, export) -> Path:
    """Run ``export(tmp)`` (one of Blender's exporters, on the selected objects) with only ``collection``'s objects
    selected and the scene's frame range set to the clip's, both restored afterwards; written atomically."""
    start, end = _frame_range(collection)
    sc = bpy.context.scene
    keep = sc.frame_start, sc.frame_end

    def write(tmp):
        sc.frame_start, sc.frame_end = start, end
        try:
            with _SelectOnly(_objects(collection)):
                res = export(str(tmp))
        finally:
            sc.frame_start, sc.frame_end = keep
        if "FINISHED" not in res:
            raise ExportError(f"Blender's {what} exporter did not finish ({res})")
    return _write_atomic(path, write)


def export_glb(path, collection) -> Path:
    """Write the collection (or a list of objects) as binary glTF with morph targets and their animation, atomically."""
    return _export_clip_range(path, collection, "glTF", lambda tmp: bpy.ops.export_scene.gltf(
        filepath=tmp, check_existing=False, export_format="GLB", use_selection=True,
        export_morph=True, export_morph_normal=False, export_animations=True,
        export_morph_animation=True, export_animation_mode="ACTIONS", export_force_sampling=True,
        export_frame_range=False, export_optimize_animation_size=False, export_apply=False,
        export_cameras=True, export_materials="NONE", export_try_sparse_sk=False))


def export_usd(path, collection) -> Path:
    """Write the collection (or a list of objects) as USD with Blender's own exporter (``.usd``/``.usda``/``.usdc``/``.usdz``): the head as a
    SkelRoot whose mesh carries one UsdSkel BlendShape per shape key, their per-frame weights as the time samples of
    a SkelAnimation (the assigned action: the calibrated curves when a calibration is in force), the head motion as
    xform time samples, and the camera; atomically. Blender's custom properties are left out (the head's keyed
    ``FIT_PROPERTY`` would be written as one time sample)."""
    p = Path(path)
    if p.suffix.lower() not in (".usd", ".usda", ".usdc", ".usdz"):
        raise ExportError(f"a USD file name ends in .usd, .usda, .usdc or .usdz, not {p.name}")
    return _export_clip_range(path, collection, "USD", lambda tmp: bpy.ops.wm.usd_export(
        filepath=tmp, check_existing=False, selected_objects_only=True, export_animation=True,
        export_shapekeys=True, export_uvmaps=True, export_normals=True, export_materials=False,
        export_cameras=True, export_lights=False, export_custom_properties=False))


def save_blend(path) -> Path:
    """Save the current file as a copy at ``path`` atomically (the session's own file path is unchanged)."""
    def write(tmp):
        bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True, check_existing=False, compress=False)
    return _write_atomic(path, write)


# ---------------------------------------------------------------- pictures
def render_over_footage(path, frame: int, footage_path: str = "", scene=None, alpha: float = 0.75,
                        engine: str = "BLENDER_WORKBENCH", color_type: str = "SINGLE") -> Path:
    """Render ``frame`` from the scene camera (Workbench, transparent film) and composite it over the footage
    frame ``frame - 1`` (the camera background clip convention); without footage, over grey. Returns the PNG.
    ``color_type`` is the Workbench colour: "SINGLE" (skin-coloured clay) or "TEXTURE" (the material's image).

    Workbench renders headless in the bpy module (software EGL, ~2 s for 640x480); camera background images are
    viewport-only, hence the composite in numpy/OpenCV.
    """
    import cv2
    scene = scene or bpy.context.scene
    p = check_writable(path)
    tmp = _tmp_for(p).with_suffix(".png")
    keep = (scene.render.engine, scene.render.film_transparent, scene.render.filepath, scene.frame_current,
            scene.render.image_settings.color_mode)
    keep_view = scene.view_settings.view_transform
    try:
        scene.render.engine = engine
        scene.render.film_transparent = True
        scene.render.image_settings.color_mode = "RGBA"
        scene.render.filepath = str(tmp)
        if engine == "BLENDER_WORKBENCH":
            shading = scene.display.shading
            textured = color_type == "TEXTURE"
            # a texture is the footage's own colours: shown unlit, through the Standard view transform
            shading.light, shading.color_type = ("FLAT" if textured else "STUDIO"), color_type
            shading.single_color = (0.85, 0.62, 0.5)
            shading.show_cavity = not textured
            if textured:
                scene.view_settings.view_transform = "Standard"
        scene.frame_set(int(frame))
        bpy.ops.render.render(write_still=True)
        rgba = cv2.imread(str(tmp), cv2.IMREAD_UNCHANGED)
        if rgba is None or rgba.shape[2] != 4:
            raise ExportError(f"the render of frame {frame} could not be read back")
        h, w = rgba.shape[:2]
        bg = _footage_frame(footage_path, int(frame) - 1, (w, h))
        a = rgba[..., 3:4].astype(np.float32) / 255.0 * alpha
        out = (rgba[..., :3].astype(np.float32) * a + bg.astype(np.float32) * (1 - a)).astype(np.uint8)
        if not cv2.imwrite(str(tmp), out):
            raise ExportError(f"cannot write {p}")
        os.replace(tmp, p)
    finally:
        (scene.render.engine, scene.render.film_transparent, scene.render.filepath, fc,
         scene.render.image_settings.color_mode) = keep
        scene.view_settings.view_transform = keep_view
        scene.frame_set(fc)
        if tmp.exists():
            tmp.unlink()
    return p


def _footage_frame(footage_path: str, index: int, size) -> np.ndarray:
    """BGR footage frame ``index`` (source numbering, 0-based) resized to ``size`` (w, h); mid grey when unavailable.
    Read with ``core.footage``, the pipeline's own reader (natural order of image folders, rotation metadata applied),
    so the frame is the one the bake saw."""
    import cv2
    w, h = size
    img = None
    if footage_path and index >= 0:
        try:
            with open_footage(footage_path, start=index, end=index + 1) as footage:
                frame = next(iter(footage), None)
            img = None if frame is None else cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR)
        except FootageError as e:
            log.warning("no footage frame %d under the render: %s", index, e)
    if img is None:
        return np.full((h, w, 3), 90, np.uint8)
    return img if img.shape[:2] == (h, w) else cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
