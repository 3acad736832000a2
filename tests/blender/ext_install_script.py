"""Run in a fresh process (no repository on sys.path): install the built extension zip into a throw-away
Blender user folder, enable it, optionally run the capture operator on a short clip, disable, uninstall.
Prints one JSON line with what it saw. Usage: python ext_install_script.py ZIP [CLIP]"""
import json
import sys

zip_path = sys.argv[1]
clip = sys.argv[2] if len(sys.argv) > 2 else ""
out = {}
import bpy  # noqa: E402
import addon_utils  # noqa: E402,I001  (Blender's module: importable only after import bpy)

MOD = "bl_ext.user_default.face_capture"
bpy.ops.wm.read_factory_settings(use_empty=True)
res = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
out["install"] = sorted(res)
out["enabled"] = list(addon_utils.check(MOD))
out["operator_registered"] = hasattr(bpy.types, "FACE_CAPTURE_OT_run")
out["panel_registered"] = hasattr(bpy.types, "VIEW3D_PT_face_capture")
import bake  # noqa: E402
import core  # noqa: E402
import onnxruntime  # noqa: E402
import scipy  # noqa: E402
import glob  # noqa: E402
import os  # noqa: E402
local = glob.glob(os.path.join(bpy.utils.user_resource("EXTENSIONS"), ".local", "lib", "python*", "site-packages"))
out["local_site"] = sorted(os.listdir(local[0])) if local else []
out["bake_file"] = bake.__file__
out["core_file"] = core.__file__
out["onnxruntime_file"] = onnxruntime.__file__
out["scipy_file"] = scipy.__file__
prefs = bpy.context.preferences.addons[MOD].preferences
out["prefs"] = type(prefs).__name__
if clip:
    s = bpy.context.scene.face_capture
    s.source, s.filepath, s.frame_end = "FILE", clip, 8
    try:
        out["run"] = sorted(bpy.ops.face_capture.run())
    except RuntimeError as e:
        out["run_error"] = str(e)
    coll = bpy.data.collections.get("FaceCapture")
    if coll is not None:
        head = coll.objects.get("FaceCapture_Head")
        keys = head.data.shape_keys
        out["key_count"] = len(keys.key_blocks)
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
out["ext_dir_left"] = os.path.isdir(os.path.join(bpy.utils.user_resource("EXTENSIONS"), "user_default", "face_capture"))
print("RESULT " + json.dumps(out))
