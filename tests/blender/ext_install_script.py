"""Run in a fresh process (no repository on sys.path): install the built extension zip into a throw-away
Blender user folder, enable it, run the capture operator on a short clip, disable, uninstall.
Before anything, a foreign top-level ``core`` module is put in ``sys.modules``, as another add-on with a module of
that common name would; the extension must load inside its own package regardless.
Prints one JSON line with what it saw. Usage: python ext_install_script.py ZIP CLIP"""
import json
import os
import sys
import types

zip_path, clip = sys.argv[1], sys.argv[2]
OURS = ("core", "bake", "operators", "character_operators", "panels", "preferences", "properties", "blender_addon")
foreign = types.ModuleType("core")           # a plain module, not a package: `core.errors` cannot exist under it
foreign.__file__ = "/elsewhere/another_addon/core.py"
sys.modules["core"] = foreign
out = {"python": list(sys.version_info[:2])}
import bpy  # noqa: E402
import addon_utils  # noqa: E402,I001  (Blender's module: importable only after import bpy)

out["blender"] = bpy.app.version_string
MOD = "bl_ext.user_default.face_capture"
EXT_DIR = os.path.join(bpy.utils.user_resource("EXTENSIONS"), "user_default", "face_capture")


def isolation(tag):
    """Top-level modules of ours, sys.path entries inside the extension, and whether the foreign core survived."""
    out[f"{tag}_top_level"] = sorted(n for n in OURS if n in sys.modules and sys.modules[n] is not foreign)
    out[f"{tag}_foreign_core_kept"] = sys.modules.get("core") is foreign
    ext = os.path.realpath(EXT_DIR)
    out[f"{tag}_ext_on_sys_path"] = [p for p in sys.path
                                     if p and os.path.realpath(p).startswith(ext)]


bpy.ops.wm.read_factory_settings(use_empty=True)
res = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
out["install"] = sorted(res)
out["enabled"] = list(addon_utils.check(MOD))
out["operator_registered"] = hasattr(bpy.types, "FACE_CAPTURE_OT_run")
out["panel_registered"] = hasattr(bpy.types, "VIEW3D_PT_face_capture")
isolation("enabled")
out["ext_dir"] = EXT_DIR
import glob  # noqa: E402
local = glob.glob(os.path.join(bpy.utils.user_resource("EXTENSIONS"), ".local", "lib", "python*", "site-packages"))
out["local_site"] = sorted(os.listdir(local[0])) if local else []
prefs = bpy.context.preferences.addons[MOD].preferences
out["prefs"] = type(prefs).__name__

s = bpy.context.scene.face_capture
s.source, s.filepath, s.frame_end = "FILE", clip, 8
try:
    out["run"] = sorted(bpy.ops.face_capture.run())
except RuntimeError as e:
    out["run_error"] = str(e)
isolation("ran")           # the run imports the pipeline, tracker, runtime lazily
out["package_files"] = {n: getattr(sys.modules.get(f"{MOD}.{n}"), "__file__", None)
                        for n in ("operators", "core", "core.errors", "core.runtime", "bake", "bake.pipeline",
                                  "bake.blender_io")}
import onnxruntime  # noqa: E402
import cv2  # noqa: E402
out["onnxruntime_file"], out["cv2_file"] = onnxruntime.__file__, cv2.__file__
coll = bpy.data.collections.get("FaceCapture")
if coll is not None:
    head = coll.objects.get("FaceCapture_Head")
    out["key_count"] = len(head.data.shape_keys.key_blocks)
    out["frames"] = [bpy.context.scene.frame_start, bpy.context.scene.frame_end]
    out["camera"] = bpy.context.scene.camera.name if bpy.context.scene.camera else None
    st = bpy.context.window_manager.face_capture
    out["result"] = dict(tracked=st.frames_tracked, total=st.frames_total, bridged=st.frames_bridged)
addon_utils.disable(MOD, default_set=True)
out["after_disable_operator"] = hasattr(bpy.types, "FACE_CAPTURE_OT_run")
repos = bpy.context.preferences.extensions.repos
idx = next(i for i, r in enumerate(repos) if r.module == "user_default")
out["uninstall"] = sorted(bpy.ops.extensions.package_uninstall(repo_index=idx, pkg_id="face_capture"))
addon_utils.modules_refresh()
out["after_uninstall_modules"] = [m.__name__ for m in addon_utils.modules() if "face_capture" in m.__name__]
out["after_uninstall_registered"] = [n for n in dir(bpy.types) if "FACE_CAPTURE" in n or n.endswith("_face_capture")]
out["scene_prop"] = hasattr(bpy.types.Scene, "face_capture")
out["local_site_after"] = sorted(os.listdir(local[0])) if local and os.path.isdir(local[0]) else []
out["ext_dir_left"] = os.path.isdir(EXT_DIR)
print("RESULT " + json.dumps(out))
