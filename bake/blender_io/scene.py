"""SceneTracks -> Blender objects: the animated head with its shape keys, the matched camera over the footage.

Scene frame ``tracks.frames[i]`` shows footage frame ``tracks.frames[i] - 1`` (the background clip starts at
scene frame 1). With ``head_motion="object"`` (the default) the camera is static and the head object carries the
per-frame pose; with ``"camera"`` the head stays at the origin and the camera carries the inverse pose. A camera cut in
the footage (``SceneTracks.cuts``) gets a timeline marker "<collection> cut" on the frame that begins the new shot.
Everything is built into a new collection that is linked to the scene only at the end; on error everything created is
removed and the scene is left as it was.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import bpy
import numpy as np

from core.errors import ExportError, FootageError, InputError
from core.footage import list_images

from ..filter import turned_poses
from ..types import SceneTracks
from .axes import CAM_WORLD_ROT, camera_lens, camera_world_rotation, euler_xyz, head_to_blender, head_world_pose
from .curves import curve_group, fcurve, key_linear, new_action

log = logging.getLogger(__name__)


def reset_scene() -> None:
    """An empty scene (factory settings) for headless runs, so nothing from a startup file leaks into outputs."""
    bpy.ops.wm.read_factory_settings(use_empty=True)


def open_blend(path) -> None:
    """Open a .blend (a character to retarget onto) as the current file; InputError when it cannot be read."""
    p = Path(path).expanduser().resolve()
    try:
        bpy.ops.wm.open_mainfile(filepath=str(p), load_ui=False)
    except RuntimeError as e:
        raise InputError(f"cannot open {p}: {e}") from e


def footage_file(path: str) -> Path | None:
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
    f = footage_file(path)
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
                cam_obj.rotation_euler = euler_xyz(CAM_WORLD_ROT[None])[0]
        else:   # camera moves around a static head: camera = inverse head pose (its own turn is in that already)
            rot, loc = head_world_pose(tracks.head_rotation, tracks.head_translation)
            inv = np.transpose(rot, (0, 2, 1))
            _animate_object(cam_obj, frames, inv @ CAM_WORLD_ROT, -np.einsum("tij,tj->ti", inv, loc),
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
    for f in tracks.cuts:            # where a camera cut begins a new shot (the head's pose jumps there)
        scene.timeline_markers.new(f"{coll.name} cut", frame=int(f))     # (the name Blender gave the collection)
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
    action = new_action(key, name + "_Expressions")
    created.append(action)
    frames = np.asarray(tracks.frames, np.float64)
    for k, kname in enumerate(tracks.key_names):
        fc = fcurve(action, key, f'key_blocks["{kname}"].value', group=curve_group(str(kname)))
        key_linear(fc, frames, weights[:, k])
    return obj


def _animate_object(obj, frames, rot, loc, action_name: str, created: list) -> None:
    obj.rotation_mode = "XYZ"
    eul = euler_xyz(rot)
    obj.location = loc[0]
    obj.rotation_euler = eul[0]
    action = new_action(obj, action_name)
    created.append(action)
    for i in range(3):
        key_linear(fcurve(action, obj, "location", i, "Object Transforms"), frames, loc[:, i])
    for i in range(3):
        key_linear(fcurve(action, obj, "rotation_euler", i, "Object Transforms"), frames, eul[:, i])


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
        action = new_action(head, name + "_Fit")
        created.append(action)
    key_linear(fcurve(action, head, f'["{FIT_PROPERTY}"]', 0, "Face Capture"), frames[read], fit[read])


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
    obj.rotation_euler = euler_xyz(CAM_WORLD_ROT[None])[0]
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
