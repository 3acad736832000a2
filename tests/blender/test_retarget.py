"""Retarget onto a character built in the test, calibration on top, head motion onto an object and a bone (bpy)."""
from __future__ import annotations

import numpy as np
import pytest

from bake.calibrate import Calibration
from bake.retarget import take_from_tracks

from .conftest import make_tracks

# a character with a subset of the ARKit shapes under the Live Link Face / side-suffix variant, plus its own keys
CHARACTER_KEYS = ("EyeBlink_L", "EyeBlink_R", "JawOpen", "MouthSmile_L", "MouthSmile_R", "BrowInnerUp",
                  "MouthFunnel", "Cheek_Puff", "CustomSneer")
CHARACTER_ARKIT = {"EyeBlink_L": "eyeBlinkLeft", "EyeBlink_R": "eyeBlinkRight", "JawOpen": "jawOpen",
                   "MouthSmile_L": "mouthSmileLeft", "MouthSmile_R": "mouthSmileRight", "BrowInnerUp": "browInnerUp",
                   "MouthFunnel": "mouthFunnel", "Cheek_Puff": "cheekPuff"}


def _mesh_with_keys(bpy, name, keys):
    me = bpy.data.meshes.new(name)
    me.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0)], [], [(0, 1, 3, 2)])
    obj = bpy.data.objects.new(name, me)
    bpy.context.scene.collection.objects.link(obj)
    obj.shape_key_add(name="Basis", from_mix=False)
    for k in keys:
        kb = obj.shape_key_add(name=k, from_mix=False)
        kb.data[0].co.z = 0.1
    return obj


def _curves(obj):
    from bake.blender_io.retarget import action_fcurves
    key = obj.data.shape_keys
    return {fc.data_path.split('"')[1]: fc for fc in action_fcurves(key.animation_data.action)}


@pytest.fixture()
def character(bpy_mod, empty_scene):
    face = _mesh_with_keys(bpy_mod, "Face", CHARACTER_KEYS)
    teeth = _mesh_with_keys(bpy_mod, "Teeth", ("jaw_open",))
    lashes = _mesh_with_keys(bpy_mod, "Lashes", ("eyeBlink.L", "eyeBlink.R"))
    hat = _mesh_with_keys(bpy_mod, "Hat", ())
    return face, teeth, lashes, hat


def test_retarget_drives_exactly_the_shapes_the_character_has(bpy_mod, character, head):
    from bake.blender_io.retarget import retarget
    face, teeth, lashes, hat = character
    tr = make_tracks(head, n_frames=30)
    take = take_from_tracks(tr)
    own = bpy_mod.data.actions.new("FaceOwnAnimation")       # the character's own shape-key animation
    face.data.shape_keys.animation_data_create()
    face.data.shape_keys.animation_data.action = own
    res = retarget(take, [face, teeth, lashes, hat])
    assert own.use_fake_user and "FaceOwnAnimation is replaced (kept in the file)" in res.text()
    curves = _curves(face)
    assert set(curves) == set(CHARACTER_ARKIT)                      # not CustomSneer, nothing invented
    for target, arkit in CHARACTER_ARKIT.items():
        j = tr.key_names.index(arkit)
        for i in (0, 11, 29):
            assert curves[target].evaluate(float(tr.frames[i])) == pytest.approx(float(tr.weights[i, j]), abs=1e-6)
    assert set(_curves(teeth)) == {"jaw_open"} and set(_curves(lashes)) == {"eyeBlink.L", "eyeBlink.R"}
    m = res.matches["Face"]
    assert len(m.missing) == 52 - len(CHARACTER_ARKIT) and "eyeWideLeft" in m.missing and m.unmatched == ("CustomSneer",)
    text = res.text()
    assert "Face: 44 ARKit shapes missing" in text and "tongueOut" in text and "mouthSmileLeft" not in \
        text.split("missing:")[1].split("\n")[0]
    assert "Hat: no shape keys" in text
    # f-curves grouped by region for the Graph Editor; the shape key the curve drives resolves by its name
    key = face.data.shape_keys
    assert curves["EyeBlink_L"].group.name == "Eyes" and curves["JawOpen"].group.name == "Jaw"
    assert key.path_resolve(curves["JawOpen"].data_path.rsplit(".", 1)[0]).name == "JawOpen"


def test_take_from_our_head_round_trips(bpy_mod, empty_scene, head):
    from bake import blender_io
    from bake.blender_io.retarget import take_from_object
    tr = make_tracks(head, n_frames=20)
    coll = blender_io.build_scene(tr, name="FC")
    take = take_from_object(coll.objects["FC_Head"])
    ref = take_from_tracks(tr)
    groups = {n: fc.group.name for n, fc in _curves(coll.objects["FC_Head"]).items()}
    assert groups["eyeBlinkLeft"] == "Eyes" and groups["browInnerUp"] == "Brows" and groups["tongueOut"] == "Tongue"
    assert set(groups.values()) == {"Eyes", "Brows", "Mouth", "Jaw", "Cheeks", "Nose", "Tongue"}
    assert take.names == ref.names
    np.testing.assert_allclose(take.frames, ref.frames)
    np.testing.assert_allclose(take.weights, ref.weights, atol=1e-6)
    np.testing.assert_allclose(take.head_rotation, ref.head_rotation, atol=1e-5)


def test_calibration_changes_values_and_is_undone(bpy_mod, character, head):
    from bake.blender_io.retarget import (CALIB, RAW, action_fcurves, clear_calibration, get_calibration, retarget,
                                       set_calibration)
    face = character[0]
    tr = make_tracks(head, n_frames=30)
    take = take_from_tracks(tr)
    cal = Calibration(region_gain={"eyes": 0.5}, shape_offset={"jawOpen": 0.1}).with_neutral(
        take.weights, take.names, take.frames, frame=float(tr.frames[3]))
    retarget(take, [face], calibration=cal)
    key = face.data.shape_keys
    raw = key[RAW]
    assert key.animation_data.action != raw and get_calibration(key) == cal
    curves = _curves(face)
    for target in ("EyeBlink_L", "JawOpen", "MouthFunnel"):
        arkit = CHARACTER_ARKIT[target]
        expect = cal.apply(take.column(arkit)[:, None], (arkit,))[:, 0]
        got = np.array([curves[target].evaluate(float(f)) for f in take.frames])
        np.testing.assert_allclose(got, expect, atol=1e-6)
    # adjustable afterwards: a new gain, computed from the untouched raw curves
    set_calibration(key, Calibration(region_gain={"mouth": 2.0}))
    raw_vals = {fc.data_path: fc.evaluate(5.0) for fc in action_fcurves(raw)}
    funnel = _curves(face)["MouthFunnel"]
    assert funnel.evaluate(5.0) == pytest.approx(min(1.0, 2 * raw_vals['key_blocks["MouthFunnel"].value']), abs=1e-6)
    assert _curves(face)["EyeBlink_L"].evaluate(5.0) == pytest.approx(raw_vals['key_blocks["EyeBlink_L"].value'])
    # undone: the raw capture is assigned again, unchanged
    clear_calibration(key)
    assert key.animation_data.action == raw and CALIB not in key
    for target, arkit in CHARACTER_ARKIT.items():
        got = np.array([_curves(face)[target].evaluate(float(f)) for f in take.frames])
        np.testing.assert_allclose(got, take.column(arkit), atol=1e-6)


def _rig(bpy, eyes: bool = False):
    """An armature "Rig" with a head bone pointing up (+Z) and, with ``eyes``, two eye bones pointing forward (-Y),
    the subject's left eye ("eye.L") at +X, parented to it."""
    arm_data = bpy.data.armatures.new("Rig")
    rig = bpy.data.objects.new("Rig", arm_data)
    bpy.context.scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    hb = arm_data.edit_bones.new("Head")
    hb.head, hb.tail = (0, 0, 1.5), (0, 0, 1.8)
    for name, x in (("eye.L", 0.03), ("eye.R", -0.03)) if eyes else ():
        b = arm_data.edit_bones.new(name)
        b.head, b.tail = (x, -0.08, 1.65), (x, -0.1, 1.65)
        b.parent = hb
    bpy.ops.object.mode_set(mode="OBJECT")
    return rig


def test_head_motion_onto_object_and_bone(bpy_mod, character, head):
    from bake.blender_io.retarget import action_fcurves, head_deltas, retarget
    face = character[0]
    take = take_from_tracks(make_tracks(head, n_frames=24))
    rig = _rig(bpy_mod)
    retarget(take, [face], head_object=rig, head_bone="Head")
    D = head_deltas(take)
    # the pose bone's rotation, seen in armature space, equals the head's turn
    scene = bpy_mod.context.scene
    for i in (0, 6, 17):
        scene.frame_set(int(take.frames[i]))
        pb = rig.pose.bones["Head"]
        got = np.array(pb.matrix.to_3x3())
        rest = np.array(pb.bone.matrix_local.to_3x3())
        np.testing.assert_allclose(got, D[i] @ rest, atol=1e-4)
    retarget(take, [], head_object=face)
    for i in (3, 20):
        scene.frame_set(int(take.frames[i]))
        np.testing.assert_allclose(np.array(face.matrix_world.to_3x3()), D[i], atol=1e-4)
    assert sorted(fc.array_index for fc in action_fcurves(face.animation_data.action)
                  if fc.data_path == "rotation_euler") == [0, 1, 2]


def test_eye_bones_turn_as_the_looks(bpy_mod, character, head):
    """A character whose eyes are bones (pointing forward, -Y): each eye bone turns by its eye's look, the subject's
    left eye towards the subject's left (+X) where eyeLookOutLeft is 1 and the right one up where eyeLookUpRight is,
    by the head asset's eyeball turn (bake.eye_turn); the head bone keeps the head's turn. A bone the armature lacks
    is bad input, and nothing is changed."""
    from dataclasses import replace
    from bake import eye_turn
    from bake.blender_io.retarget import eye_deltas, head_deltas, retarget
    from core.errors import InputError
    take = take_from_tracks(make_tracks(head, n_frames=12))
    names = list(take.names)
    w = np.zeros_like(take.weights)
    w[3, names.index("eyeLookOutLeft")] = 1.0
    w[7, names.index("eyeLookUpRight")] = 1.0
    take = replace(take, weights=w)
    rig = _rig(bpy_mod, eyes=True)
    with pytest.raises(InputError, match="eye.X"):
        retarget(take, [], head_object=rig, head_bone="Head", eye_bones=("eye.L", "eye.X"))
    assert rig.animation_data is None or rig.animation_data.action is None
    with pytest.raises(InputError, match="no armature"):
        retarget(take, [character[0]], eye_bones=("eye.L", ""))
    res = retarget(take, [], head_object=rig, head_bone="Head", eye_bones=("eye.L", "eye.R"))
    assert "eyes' turn -> Rig: left eye.L, right eye.R" in res.text()
    scene = bpy_mod.context.scene
    angles = np.degrees(eye_turn.eye_yaw_pitch(take.names, take.weights))
    E, D = eye_deltas(take), head_deltas(take)
    for i in (0, 3, 7):
        scene.frame_set(int(take.frames[i]))
        head_now = np.array(rig.pose.bones["Head"].matrix.to_3x3())
        np.testing.assert_allclose(head_now, D[i] @ np.array(rig.pose.bones["Head"].bone.matrix_local.to_3x3()),
                                   atol=1e-4)
        for e, name in enumerate(("eye.L", "eye.R")):
            pb = rig.pose.bones[name]
            rest = np.array(pb.bone.matrix_local.to_3x3())
            turned = np.linalg.inv(D[i]) @ np.array(pb.matrix.to_3x3())        # in the head's frame
            np.testing.assert_allclose(turned, E[e, i] @ rest, atol=1e-4)
            look = turned[:, 1]                                                  # the bone's axis, along -Y at rest
            yaw, pitch = np.degrees(np.arctan2(look[0], -look[1])), np.degrees(np.arcsin(-look[2]))
            np.testing.assert_allclose([yaw, pitch], angles[i, e], atol=0.05)
    assert angles[3, 0, 0] > 10 and abs(angles[3, 1]).max() < 1e-9             # out: the left eye, to +X
    assert angles[7, 1, 1] < -7 and abs(angles[7, 0]).max() < 1e-9             # up: the right eye, pitch < 0
    assert abs(angles[0]).max() < 1e-9


def test_csv_import_onto_our_head_and_a_character(bpy_mod, character, head, tmp_path):
    """A Live Link Face CSV (exported by us) drives our head and a character; values equal the original."""
    from dataclasses import replace
    from bake import blender_io, export_csv
    from bake.blender_io.retarget import retarget
    tr = make_tracks(head, n_frames=30)
    take = export_csv.read_csv(export_csv.write_csv(tmp_path / "t.csv", tr), fps=tr.fps, start_frame=tr.frames[0])
    coll = blender_io.build_scene(make_tracks(head, n_frames=5, seed=3), name="Other")
    ours = coll.objects["Other_Head"]
    res = retarget(take, [ours, character[0]], head_object=ours)
    assert not res.matches["Other_Head"].missing
    for obj, target, arkit in ((ours, "mouthRollLower", "mouthRollLower"), (character[0], "EyeBlink_R", "eyeBlinkRight")):
        fc = _curves(obj)[target]
        j = tr.key_names.index(arkit)
        got = np.array([fc.evaluate(float(f)) for f in tr.frames])
        np.testing.assert_allclose(got, tr.weights[:, j], atol=1e-6)
    assert bpy_mod.context.scene.frame_end == int(tr.frames[-1])
    # a CSV without head angles: the head target is reported, nothing fails half-way
    from core.errors import InputError
    res = retarget(replace(take, head_rotation=None), [character[0]], head_object=character[1])
    assert "Teeth: the take carries no head motion" in res.text() and character[1].animation_data is None
    with pytest.raises(InputError):
        retarget(take, [character[0]], head_object=character[1], head_bone="Head")
    # a take at another rate sets the scene's rate, and says so
    res = retarget(replace(take, fps=60.0), [character[0]])
    assert bpy_mod.context.scene.render.fps == 60 and "-> 60 fps" in res.text()


def test_fbx_export_carries_the_calibrated_curves(bpy_mod, character, head, tmp_path):
    """FBX of a retargeted, calibrated character re-imported: its shape-key curves are the calibrated ones."""
    from bake import blender_io
    from bake.blender_io.retarget import action_fcurves, retarget
    face = character[0]
    tr = make_tracks(head, n_frames=12)
    take = take_from_tracks(tr)
    cal = Calibration(region_gain={"jaw": 0.5}, region_offset={"eyes": 0.1})
    retarget(take, [face], calibration=cal)
    out = blender_io.export_fbx(tmp_path / "face.fbx", [face])
    bpy_mod.ops.wm.read_factory_settings(use_empty=True)
    bpy_mod.ops.import_scene.fbx(filepath=str(out), use_anim=True, anim_offset=0.0)
    obj = next(o for o in bpy_mod.data.objects if o.type == "MESH")
    key = obj.data.shape_keys
    curves = {fc.data_path.split('"')[1]: fc for fc in action_fcurves(key.animation_data.action)}
    expect = cal.apply(tr.weights, tr.key_names)
    for target, arkit in (("JawOpen", "jawOpen"), ("EyeBlink_L", "eyeBlinkLeft"), ("MouthFunnel", "mouthFunnel")):
        j = tr.key_names.index(arkit)
        got = np.array([curves[target].evaluate(float(f)) for f in tr.frames])
        np.testing.assert_allclose(got, expect[:, j], atol=1e-4)
