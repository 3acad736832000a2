"""Blender's own exporters (FBX, glTF, USD) and the .blend, each written atomically: a failed export leaves the
output path as it was."""
from __future__ import annotations

import os
from pathlib import Path

import bpy

from core.errors import ExportError

from ..atomic import partial_path


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


def write_atomic(path, write) -> Path:
    """Run ``write(tmp)`` on a partial file beside ``path``, then put it in place; on any failure ``path`` is as it
    was, the partial file removed, and an ExportError says why."""
    p = check_writable(path)
    tmp = partial_path(p)
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


def _take_name(collection) -> str:
    """The exported take's name: the collection's (the CLI's ``--name``), for a list of objects the first one's."""
    objects = _objects(collection)
    return getattr(collection, "name", "") or (objects[0].name if objects else "") or "Take"


def export_fbx(path, collection) -> Path:
    """Write the collection's objects (mesh with blendshapes + baked curves, camera) as FBX, atomically; ``collection``
    may also be a list of objects. Its one take is named as the glTF's animation (``_take_name``, not "Scene" for
    every capture): Blender's exporter names it after the scene, which is renamed for the export and back."""
    def write(tmp):
        sc = bpy.context.scene
        keep = sc.name
        sc.name = _take_name(collection)
        try:
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
        finally:
            sc.name = keep
        if "FINISHED" not in res:
            raise ExportError(f"Blender's FBX exporter did not finish ({res})")
    return write_atomic(path, write)


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
    return write_atomic(path, write)


def export_glb(path, collection) -> Path:
    """Write the collection (or a list of objects) as binary glTF with morph targets and their animation, atomically.

    The take is one glTF animation, named as the FBX's one take (``_take_name``): the shape-key weights, the head's
    motion and a turning camera's play together in an engine, where separate animations would each play alone. It
    starts at 0 s, the first baked frame (the Live Link Face CSV's 00:00:00:00), not at the scene's frame 1, a frame
    after the footage's own time."""
    return _export_clip_range(path, collection, "glTF", lambda tmp: bpy.ops.export_scene.gltf(
        filepath=tmp, check_existing=False, export_format="GLB", use_selection=True,
        export_morph=True, export_morph_normal=False, export_animations=True,
        export_morph_animation=True, export_animation_mode="ACTIVE_ACTIONS",
        export_nla_strips_merged_animation_name=_take_name(collection), export_anim_slide_to_zero=True,
        export_force_sampling=True, export_frame_range=False, export_optimize_animation_size=False,
        export_apply=False, export_cameras=True, export_materials="NONE", export_try_sparse_sk=False))


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
    return write_atomic(path, write)
