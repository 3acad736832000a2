"""bake.blender_io with the real bpy module: scene contents, animation values, camera geometry, exports."""
from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from dataclasses import replace

import numpy as np
import pytest

from core.errors import ExportError

from .conftest import make_tracks

FRAMES_TO_CHECK = (0, 5, 12, 23)


def _datablock_counts(bpy):
    return {k: len(getattr(bpy.data, k)) for k in
            ("objects", "meshes", "cameras", "actions", "collections", "movieclips", "shape_keys", "images")}


def _fcurves(action, datablock):
    """All f-curves of ``action`` for ``datablock`` (5.0 channelbags, or 4.2 Action.fcurves)."""
    if hasattr(action, "fcurves"):
        return list(action.fcurves)
    from bpy_extras import anim_utils
    bag = anim_utils.action_get_channelbag_for_slot(action, datablock.animation_data.action_slot)
    return list(bag.fcurves)


def _project(K, p):
    q = p @ K.T
    return q[..., :2] / q[..., 2:3]


@pytest.fixture()
def built(bpy_mod, empty_scene, tracks):
    from bake import blender_io
    coll = blender_io.build_scene(tracks, name="FC")
    return coll


def test_collection_mesh_and_shape_keys(bpy_mod, built, tracks, head):
    from bake.blender_io import head_to_blender
    scene = bpy_mod.context.scene
    assert built.name in scene.collection.children
    names = sorted(o.name for o in built.objects)
    assert names == ["FC_Camera", "FC_Head"]
    obj = built.objects["FC_Head"]
    me = obj.data
    assert len(me.vertices) == head.n_vertices and len(me.polygons) == len(head.faces)
    assert all(p.use_smooth for p in me.polygons[:50])
    # UVs in loop order, vertex groups from region labels
    uv = np.empty(len(me.loops) * 2, np.float32)
    me.uv_layers["UVMap"].data.foreach_get("uv", uv)
    np.testing.assert_allclose(uv.reshape(-1, 2), head.uv, atol=1e-6)
    assert [g.name for g in obj.vertex_groups] == [n for i, n in enumerate(head.region_names)
                                                  if (head.region == i).any()]
    kbs = me.shape_keys.key_blocks
    assert [k.name for k in kbs] == ["Basis", *head.arkit_names]
    co = np.empty(len(me.vertices) * 3, np.float32)
    kbs["jawOpen"].points.foreach_get("co", co)
    j = head.arkit_names.index("jawOpen")
    expect = head_to_blender(head.vertices + head.arkit_deltas[j])
    np.testing.assert_allclose(co.reshape(-1, 3), expect, atol=1e-6)
    # the jaw opens downwards in Blender (-Z): mean displacement of moving vertices points down
    d = co.reshape(-1, 3) - head_to_blender(head.vertices)
    moving = np.linalg.norm(d, axis=1) > 1e-4
    assert d[moving, 2].mean() < 0


def test_fcurves_values_per_frame(bpy_mod, built, tracks):
    scene = bpy_mod.context.scene
    obj = built.objects["FC_Head"]
    key = obj.data.shape_keys
    fcs = _fcurves(key.animation_data.action, key)
    assert len(fcs) == 52
    assert all(len(fc.keyframe_points) == len(tracks.frames) for fc in fcs)
    assert all(fc.keyframe_points[3].interpolation == "LINEAR" for fc in fcs)
    for i in FRAMES_TO_CHECK:
        scene.frame_set(int(tracks.frames[i]))
        vals = np.array([key.key_blocks[n].value for n in tracks.key_names])
        np.testing.assert_allclose(vals, tracks.weights[i], atol=1e-6)


def test_scene_settings_and_camera(bpy_mod, built, tracks):
    scene = bpy_mod.context.scene
    assert (scene.frame_start, scene.frame_end) == (1, 24)
    assert scene.render.fps == 24 and scene.render.fps_base == pytest.approx(1.0)
    assert (scene.render.resolution_x, scene.render.resolution_y) == (640, 480)
    cam = built.objects["FC_Camera"]
    assert scene.camera == cam
    assert cam.data.lens == pytest.approx(700 * 36 / 640)
    assert cam.data.sensor_fit == "HORIZONTAL"


def _check_projection(bpy_mod, tracks, obj_name="FC_Head", tol_px=0.05):
    """Head vertices seen through the Blender camera land where K projects R p + t (pixels)."""
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector
    scene = bpy_mod.context.scene
    head = scene.objects[obj_name]
    cam = scene.camera
    w, h = tracks.image_size
    idx = np.arange(0, len(tracks.basis), 97)
    for i in FRAMES_TO_CHECK:
        scene.frame_set(int(tracks.frames[i]))
        mw = np.array(head.matrix_world)
        local = np.array([head.data.vertices[j].co for j in idx])
        world = local @ mw[:3, :3].T + mw[:3, 3]
        ndc = np.array([world_to_camera_view(scene, cam, Vector(p))[:2] for p in world])
        px = np.stack([ndc[:, 0] * w, (1 - ndc[:, 1]) * h], 1)
        p_cam = tracks.basis[idx] @ tracks.head_rotation[i].T + tracks.head_translation[i]
        np.testing.assert_allclose(px, _project(tracks.K, p_cam), atol=tol_px)


def test_object_motion_matches_camera_projection(bpy_mod, built, tracks):
    cam = built.objects["FC_Camera"]
    assert cam.animation_data is None          # static camera, the head moves
    assert built.objects["FC_Head"].animation_data.action is not None
    _check_projection(bpy_mod, tracks)


def test_camera_motion_mode_projects_the_same(bpy_mod, empty_scene, tracks):
    from bake import blender_io
    coll = blender_io.build_scene(tracks, name="FC", head_motion="camera")
    head = coll.objects["FC_Head"]
    assert head.animation_data is None and coll.objects["FC_Camera"].animation_data.action is not None
    _check_projection(bpy_mod, tracks)


def test_a_head_objects_world_rotation_reads_back_as_the_baked_rotation(bpy_mod, tracks):
    """axes.head_rotation_from_world (what retargeting reads off a head object) undoes head_world_pose."""
    from bake.blender_io.axes import head_rotation_from_world, head_world_pose
    rot, _ = head_world_pose(tracks.head_rotation, tracks.head_translation)
    np.testing.assert_allclose(head_rotation_from_world(rot), tracks.head_rotation, atol=1e-12)


def test_a_turning_camera_carries_its_turn_and_the_head_its_own(bpy_mod, empty_scene, tracks, tmp_path):
    """bake.camera_turn: the camera object takes the footage's camera turn, the head in the world its pose turned with
    it, so the head seen through the camera lands where it did (the footage's pixels), and the take a character is
    driven by is the head's world turn."""
    import cv2

    from bake import blender_io
    from bake.retarget import take_from_tracks
    n = len(tracks.frames)
    turn = np.stack([cv2.Rodrigues(np.radians([1.5 * np.sin(k), 2.0 * np.cos(0.7 * k) - 2.0, 0.8 * np.sin(0.3 * k)]))[0]
                     for k in range(n)])
    turning = replace(tracks, camera_rotation=turn)
    coll = blender_io.build_scene(turning, name="FC")
    cam = coll.objects["FC_Camera"]
    assert cam.animation_data.action is not None
    _check_projection(bpy_mod, turning)
    scene = bpy_mod.context.scene
    head = coll.objects["FC_Head"]
    for i in FRAMES_TO_CHECK:
        scene.frame_set(int(turning.frames[i]))
        still = blender_io.head_world_pose(turn[i:i + 1] @ turning.head_rotation[i:i + 1],
                                           (turn[i] @ turning.head_translation[i])[None])[0][0]
        np.testing.assert_allclose(np.array(head.matrix_world)[:3, :3], still, atol=1e-5)
    np.testing.assert_allclose(take_from_tracks(turning).head_rotation, turn @ turning.head_rotation, atol=1e-12)
    gl = _glb_json(blender_io.export_glb(tmp_path / "turning.glb", coll))      # the exported camera turns too
    cameras = {i for i, node in enumerate(gl["nodes"]) if "camera" in node}
    assert any(c["target"].get("node") in cameras and c["target"]["path"] == "rotation"
               for a in gl["animations"] for c in a["channels"]), gl["animations"]


def test_portrait_footage_and_29_97(bpy_mod, empty_scene, head):
    from bake import blender_io
    tr = make_tracks(head, n_frames=24, fps=30000 / 1001, image_size=(360, 640))
    blender_io.build_scene(tr, name="FC")
    scene = bpy_mod.context.scene
    assert scene.render.fps == 30 and scene.render.fps / scene.render.fps_base == pytest.approx(29.97, abs=1e-3)
    assert scene.camera.data.sensor_fit == "VERTICAL"
    _check_projection(bpy_mod, tr)


def test_residual_keys_beyond_unit_range(bpy_mod, empty_scene, head):
    from bake import blender_io
    tr = make_tracks(head, n_frames=10, residual=3)
    coll = blender_io.build_scene(tr, name="FC")
    key = coll.objects["FC_Head"].data.shape_keys
    assert len(key.key_blocks) == 1 + 55
    scene = bpy_mod.context.scene
    for i in (0, 4, 9):
        scene.frame_set(int(tr.frames[i]))
        vals = np.array([key.key_blocks[n].value for n in tr.key_names])
        np.testing.assert_allclose(vals, tr.weights[i], atol=1e-6)
    assert (tr.weights[:, 52:] < 0).any()


def test_camera_cuts_are_timeline_markers(bpy_mod, empty_scene, tracks):
    """``SceneTracks.cuts`` (scene frames where a camera cut begins a shot) become timeline markers named after the
    build's collection (as Blender named it, beside an earlier build of the same name); a clip without cuts adds
    none."""
    from bake import blender_io
    blender_io.build_scene(tracks, name="FC")
    assert len(bpy_mod.context.scene.timeline_markers) == 0
    cut = replace(tracks, cuts=(int(tracks.frames[3]), int(tracks.frames[7])))
    coll = blender_io.build_scene(cut, name="FC")
    assert coll.name != "FC"
    marks = sorted((m.frame, m.name) for m in bpy_mod.context.scene.timeline_markers)
    assert marks == [(int(tracks.frames[3]), f"{coll.name} cut"), (int(tracks.frames[7]), f"{coll.name} cut")]


def test_error_leaves_scene_unchanged(bpy_mod, empty_scene, tracks):
    from bake import blender_io
    before = _datablock_counts(bpy_mod)
    bad = replace(tracks, weights=tracks.weights[:, :10])    # fewer weight columns than keys -> IndexError
    with pytest.raises(IndexError):
        blender_io.build_scene(bad, name="FC")
    assert _datablock_counts(bpy_mod) == before
    assert len(bpy_mod.context.scene.collection.children) == 0
    assert bpy_mod.context.scene.frame_end == 250 and bpy_mod.context.scene.camera is None


def test_footage_becomes_camera_background(bpy_mod, empty_scene, head, tmp_path):
    import cv2
    from bake import blender_io
    video = tmp_path / "clip.avi"
    wr = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 24, (64, 48))
    for i in range(5):
        wr.write(np.full((48, 64, 3), i * 40, np.uint8))
    wr.release()
    tr = make_tracks(head, n_frames=5, image_size=(64, 48), footage_path=str(video))
    coll = blender_io.build_scene(tr, name="FC")
    cam = coll.objects["FC_Camera"].data
    assert cam.show_background_images and cam.background_images[0].clip.frame_duration == 5
    assert bpy_mod.context.scene.active_clip == cam.background_images[0].clip


def test_background_frame_is_the_pipelines_frame(bpy_mod, tmp_path):
    """The frame under the render comes from core.footage, the reader the bake used: an image folder in natural
    order (f2 before f10), a video's frame by its source number."""
    import cv2
    from bake.blender_io.render import footage_frame
    from bake.blender_io.scene import footage_file
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(1, 13):                                   # lexical order would be f1, f10, f11, f12, f2, ...
        cv2.imwrite(str(folder / f"f{i}.png"), np.full((24, 32, 3), 10 * i, np.uint8))
    assert footage_file(str(folder)).name == "f1.png"
    for index, value in ((0, 10), (1, 20), (9, 100), (11, 120)):
        assert np.abs(footage_frame(str(folder), index, (32, 24)).astype(int) - value).max() <= 1, index
    assert (footage_frame(str(folder), 12, (32, 24)) == 90).all()     # past the end: grey
    video = tmp_path / "clip.avi"
    wr = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 24, (64, 48))
    for i in range(5):
        wr.write(np.full((48, 64, 3), i * 40, np.uint8))
    wr.release()
    assert np.abs(footage_frame(str(video), 3, (64, 48)).astype(int) - 120).mean() < 4
    assert footage_frame(str(video), 2, (32, 24)).shape == (24, 32, 3)


# ------------------------------------------------------------------ exports
def test_fbx_round_trip(bpy_mod, built, tracks, tmp_path):
    from bake import blender_io
    out = blender_io.export_fbx(tmp_path / "head.fbx", built)
    assert out.is_file() and not list(tmp_path.glob(".*partial*"))
    bpy_mod.ops.wm.read_factory_settings(use_empty=True)
    bpy_mod.ops.import_scene.fbx(filepath=str(out), use_anim=True, anim_offset=0.0)
    meshes = [o for o in bpy_mod.context.scene.objects if o.type == "MESH"]
    assert len(meshes) == 1
    key = meshes[0].data.shape_keys
    assert [k.name for k in key.key_blocks] == ["Basis", *tracks.key_names]
    scene = bpy_mod.context.scene
    for i in FRAMES_TO_CHECK:
        scene.frame_set(int(tracks.frames[i]))
        vals = np.array([key.key_blocks[n].value for n in tracks.key_names])
        np.testing.assert_allclose(vals, tracks.weights[i], atol=1e-4)
    assert any(o.type == "CAMERA" for o in scene.objects)


def test_fbx_unwritable_path_fails_before_work(built, tmp_path):
    from bake import blender_io
    with pytest.raises(ExportError, match="does not exist"):
        blender_io.export_fbx(tmp_path / "missing" / "head.fbx", built)
    with pytest.raises(ExportError, match="directory"):
        blender_io.export_fbx(tmp_path, built)


def _glb_json(path):
    data = path.read_bytes()
    magic, version, _ = struct.unpack_from("<III", data, 0)
    assert magic == 0x46546C67 and version == 2
    length, kind = struct.unpack_from("<II", data, 12)
    assert kind == 0x4E4F534A
    return json.loads(data[20:20 + length])


def _glb_accessor(path, gl, index):
    """The float values of accessor ``index`` of a GLB (its binary chunk), flat."""
    data = path.read_bytes()
    json_length = struct.unpack_from("<I", data, 12)[0]
    binary = 20 + json_length + 8                   # the BIN chunk's data, after its length and type
    acc = gl["accessors"][index]
    view = gl["bufferViews"][acc["bufferView"]]
    assert acc["componentType"] == 5126             # FLOAT
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[acc["type"]]
    start = binary + view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    return np.frombuffer(data, np.float32, acc["count"] * width, start)


def test_the_heads_landmark_fit_is_keyed_where_it_was_read(bpy_mod, empty_scene, tracks, tmp_path):
    """bake.fit_report's per-frame fit becomes the head's custom property, keyed per frame (not where unread), in
    either motion mode; the exports still write."""
    from bake import blender_io
    fit = np.linspace(0.01, 0.05, len(tracks.frames)).astype(np.float32)
    fit[3] = np.nan
    with_fit = replace(tracks, landmark_fit=fit)
    for mode in ("object", "camera"):
        coll = blender_io.build_scene(with_fit, name=f"FC_{mode}", head_motion=mode)
        head = coll.objects[f"FC_{mode}_Head"]
        curves = [fc for fc in _fcurves(head.animation_data.action, head)
                  if fc.data_path == f'["{blender_io.FIT_PROPERTY}"]']
        assert len(curves) == 1 and len(curves[0].keyframe_points) == len(fit) - 1
        bpy_mod.context.scene.frame_set(int(tracks.frames[7]))           # the property reads the frame's
        assert head[blender_io.FIT_PROPERTY] == pytest.approx(float(fit[7]), abs=1e-6)
    assert blender_io.export_glb(tmp_path / "head.glb", coll).is_file()
    assert blender_io.export_fbx(tmp_path / "head.fbx", coll).is_file()
    usd = blender_io.export_usd(tmp_path / "head.usda", coll).read_text()
    assert "SkelAnimation" in usd and blender_io.FIT_PROPERTY not in usd      # not as one frame's value
    built = blender_io.build_scene(tracks, name="FC_none")          # no fit read: no property
    assert blender_io.FIT_PROPERTY not in built.objects["FC_none_Head"]


def test_glb_has_morph_targets_and_weight_animation(built, tracks, tmp_path):
    from bake import blender_io
    out = blender_io.export_glb(tmp_path / "head.glb", built)
    gl = _glb_json(out)
    mesh = gl["meshes"][0]
    assert len(mesh["primitives"][0]["targets"]) == 52
    assert mesh["extras"]["targetNames"] == list(tracks.key_names)
    (take,) = gl["animations"]                   # one take, as the FBX's: weights and head motion play together
    assert take["name"] == built.name
    assert {c["target"]["path"] for c in take["channels"]} == {"weights", "translation", "rotation"}
    times = _glb_accessor(out, gl, take["samplers"][0]["input"])
    np.testing.assert_allclose(times, (np.asarray(tracks.frames) - tracks.frames[0]) / tracks.fps, atol=1e-5)


def test_fbx_read_by_assimp(bpy_mod, built, tracks, tmp_path):
    """Independent reader (Debian's assimp-utils): the file parses, has one mesh and an animation."""
    exe = shutil.which("assimp")
    if exe is None:
        pytest.skip("assimp (apt package assimp-utils) is not installed")
    from bake import blender_io
    out = blender_io.export_fbx(tmp_path / "head.fbx", built)
    info = subprocess.run([exe, "info", str(out)], capture_output=True, text=True, timeout=120)
    assert info.returncode == 0, info.stderr
    text = info.stdout

    def count(label):
        m = re.search(rf"^{label}:\s+(\d+)\s*$", text, re.M)
        assert m, f"assimp info lacks {label!r}:\n{text}"
        return int(m.group(1))
    assert count("Meshes") == 1 and count("Faces") == len(tracks.faces)
    assert count("Animations") == 1 and count("Animation Channels") >= 1 and count("Cameras") == 1
    assert re.search(r"Named Animations:\s+'FC'", text), text           # the take named as the capture, not 'Scene'
    assert bpy_mod.context.scene.name == "Scene"                        # the scene's own name back


def test_workbench_render_matches_opencv_projection(bpy_mod, empty_scene, head, tmp_path):
    """The head rendered by Blender from the scene camera covers the pixels core.mesh_render rasterises with
    K, R, t (footage drawn by the project's own OpenCV-convention renderer)."""
    import cv2
    from core.mesh_render import rasterize
    from bake import blender_io
    tr = make_tracks(head, n_frames=6, image_size=(320, 240))
    tr = replace(tr, K=tr.K * np.array([[0.5], [0.5], [1]]))
    folder = tmp_path / "frames"
    folder.mkdir()
    masks = []
    for i in range(6):
        v = tr.basis + np.tensordot(tr.weights[i], tr.key_deltas, axes=(0, 0))
        face_id, _, _ = rasterize(v @ tr.head_rotation[i].T + tr.head_translation[i], tr.faces, tr.K, (240, 320))
        masks.append(face_id >= 0)
        cv2.imwrite(str(folder / f"f{i:03d}.png"), np.where(masks[-1][..., None], 200, 30).astype(np.uint8)
                    .repeat(3, 2))
    tr = replace(tr, footage_path=str(folder))
    blender_io.build_scene(tr, name="FC")
    out = blender_io.render_over_footage(tmp_path / "over.png", 4, str(folder), alpha=1.0)
    img = cv2.imread(str(out))
    assert img.shape == (240, 320, 3)
    raw = tmp_path / "raw.png"
    scene = bpy_mod.context.scene
    scene.render.engine = "BLENDER_WORKBENCH"     # render_over_footage restored the default (EEVEE: slow)
    scene.render.film_transparent, scene.render.filepath = True, str(raw)
    scene.render.image_settings.color_mode = "RGBA"
    scene.frame_set(4)
    bpy_mod.ops.render.render(write_still=True)
    a8 = cv2.imread(str(raw), cv2.IMREAD_UNCHANGED)[..., 3]
    alpha = a8 > 127
    gt = masks[3]                                   # scene frame 4 = footage frame 3
    iou = (alpha & gt).sum() / (alpha | gt).sum()
    assert iou > 0.97, iou
    assert (img[(a8 == 0) & ~gt] == 30).all()       # footage visible where there is no head
    assert (np.abs(img[alpha & gt].astype(int) - 200) > 8).mean() > 0.5   # the render covers the head
