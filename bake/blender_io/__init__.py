"""The Blender side of the bake (the only bpy modules in bake): SceneTracks -> Blender objects, Blender's exporters,
a render over the footage, and a capture put onto any character.

* ``axes``: Blender's spaces against the bake's, converted in one place (pure numpy);
* ``curves``: f-curves and actions across Blender 4.2 .. 5.x;
* ``scene``: the animated head with its shape keys and the matched camera, built into a new collection (undone on
  error), and a texture on the head;
* ``export``: FBX, glTF, USD and .blend, each written atomically;
* ``render``: a frame rendered over the footage frame it shows;
* ``retarget``: the performance on the artist's own character (imported by name, ``bake.blender_io.retarget``).

The names below are this package's interface; callers import them from ``bake.blender_io``.
"""
from .axes import MM, SENSOR_MM, camera_lens, camera_world_rotation, euler_xyz, head_to_blender, head_world_pose
from .curves import curve_group
from .export import check_writable, export_fbx, export_glb, export_usd, save_blend
from .render import render_over_footage
from .scene import FIT_PROPERTY, apply_texture, build_scene, open_blend, reset_scene

__all__ = ["MM", "SENSOR_MM", "camera_lens", "camera_world_rotation", "euler_xyz", "head_to_blender",
           "head_world_pose", "curve_group", "check_writable", "export_fbx", "export_glb", "export_usd", "save_blend",
           "render_over_footage", "FIT_PROPERTY", "apply_texture", "build_scene", "open_blend", "reset_scene"]
