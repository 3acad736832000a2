"""A captured performance onto any character in Blender: shape-key curves, calibration, head motion, eye bones
(bpy).

Pure parts live elsewhere: name matching and the ``Take`` in ``bake.retarget``, the calibration math in
``bake.calibrate``; this module only reads and writes Blender data.

What a driven shape-key datablock (``bpy.types.Key``) carries, so a calibration stays non-destructive and can be
changed or removed after the bake (custom properties on the Key):

* ``face_capture_raw``: the action with the raw capture (kept, fake user), never modified once written;
* ``face_capture_map``: JSON ``{target key name: ARKit name}`` for the driven keys;
* ``face_capture_calibration``: JSON of the ``Calibration`` in force (absent: none);
* ``face_capture_calibrated``: the action with the calibrated curves, assigned while a calibration is in force.

The assigned action is what Blender's FBX/glTF/USD exporters write, so they export the calibrated curves. F-curves
are grouped by region ("Eyes", "Brows", "Mouth", ...): the Graph Editor lists them under those groups as
"Value (eyeBlinkLeft)", the shape-key name.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import bpy
import numpy as np

from core.errors import InputError
from core.head_model import ARKIT_NAMES

from .axes import euler_xyz, head_rotation_from_world, head_world_pose
from .curves import curve_group, fcurve, key_linear
from ..calibrate import REGION_OF, Calibration
from ..eye_turn import SIDES, eye_yaw_pitch
from ..numerics import axis_rotation
from ..retarget import Match, Take, describe, match_shape_keys, normalize

log = logging.getLogger(__name__)

RAW, MAP, CALIB, CALIBRATED = ("face_capture_raw", "face_capture_map", "face_capture_calibration",
                               "face_capture_calibrated")


def region_group(arkit_name: str) -> str:
    """The f-curve group (Graph Editor / Dope Sheet channel group) of an ARKit shape (``blender_io.curve_group``)."""
    return curve_group(arkit_name)


# ---------------------------------------------------------------- action helpers (4.2 .. 5.x)
def action_fcurves(action) -> list:
    """Every f-curve of ``action`` (4.4+ layered actions: all channelbags; 4.2/4.3: Action.fcurves)."""
    if hasattr(action, "fcurves"):
        return list(action.fcurves)
    out = []
    for layer in action.layers:
        for strip in layer.strips:
            for bag in strip.channelbags:
                out.extend(bag.fcurves)
    return out


def _keys(fc) -> tuple[np.ndarray, np.ndarray]:
    n = len(fc.keyframe_points)
    co = np.empty(2 * n, np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co[0::2].astype(np.float64), co[1::2].astype(np.float64)


def _set_values(fc, values: np.ndarray) -> None:
    n = len(fc.keyframe_points)
    co = np.empty(2 * n, np.float32)
    fc.keyframe_points.foreach_get("co", co)
    co[1::2] = values
    fc.keyframe_points.foreach_set("co", co)
    fc.update()


def _shape_key_name(data_path: str) -> str | None:
    pre, post = 'key_blocks["', '"].value'
    if data_path.startswith(pre) and data_path.endswith(post):
        return data_path[len(pre):-len(post)]
    return None


def _replace_curve(action, datablock, data_path, index, group, frames, values):
    fc = fcurve(action, datablock, data_path, index, group)
    fc.keyframe_points.clear()
    key_linear(fc, frames, values)
    return fc


# ---------------------------------------------------------------- reading a take from Blender
def take_from_object(obj, calibrated: bool = False) -> Take:
    """The ARKit performance on a mesh (our baked head, or a character driven before): its shape-key curves (the raw
    action even when a calibration is in force; ``calibrated=True``: the assigned, calibrated curves) and, when the
    object's rotation is animated, its head motion."""
    key = getattr(obj.data, "shape_keys", None)
    ad = key.animation_data if key is not None else None
    action = key.get(RAW) if key is not None and not calibrated else None
    action = action or (ad.action if ad else None)
    if action is None:
        raise InputError(f"{obj.name} has no shape-key animation to take the performance from")
    mapping = json.loads(key.get(MAP, "{}"))
    arkit_by_norm = {normalize(n): n for n in REGION_OF}
    cols: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for fc in action_fcurves(action):
        target = _shape_key_name(fc.data_path)
        arkit = mapping.get(target) or arkit_by_norm.get(normalize(target or ""))
        if arkit and arkit not in cols and len(fc.keyframe_points):
            cols[arkit] = _keys(fc)
    if not cols:
        raise InputError(f"{obj.name}'s shape-key animation has no ARKit-named curves")
    frames = max((f for f, _ in cols.values()), key=len)
    names = tuple(n for n in ARKIT_NAMES if n in cols)
    weights = np.zeros((len(frames), len(names)))
    for j, n in enumerate(names):
        f, v = cols[n]
        weights[:, j] = v if len(f) == len(frames) and np.array_equal(f, frames) else np.interp(frames, f, v)
    fps = bpy.context.scene.render.fps / bpy.context.scene.render.fps_base
    return Take(names=names, weights=weights, frames=frames, fps=float(fps), head_rotation=_head_rotation(obj, frames))


def _head_rotation(obj, frames) -> np.ndarray | None:
    """Head frame -> OpenCV camera rotations (T,3,3) from the object's animated rotation, or None."""
    ad = obj.animation_data
    if ad is None or ad.action is None:
        return None
    curves = {fc.array_index: fc for fc in action_fcurves(ad.action) if fc.data_path == "rotation_euler"}
    if len(curves) != 3:
        return None
    from mathutils import Euler
    rot = np.array([np.array(Euler([curves[i].evaluate(float(f)) for i in range(3)], obj.rotation_mode
                                   if obj.rotation_mode in ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX") else "XYZ")
                                   .to_matrix()) for f in frames])
    return head_rotation_from_world(rot)


# ---------------------------------------------------------------- writing a take onto shape keys
def _write_raw(key, take: Take, pairs, action_name: str):
    """A new raw action on ``key`` with one curve per (ARKit, target key) pair; returns it."""
    key.animation_data_create()
    action = bpy.data.actions.new(action_name)
    action.use_fake_user = True
    key.animation_data.action = action
    for arkit, target in pairs:
        key_linear(fcurve(action, key, f'key_blocks["{target}"].value', group=region_group(arkit)),
                    take.frames, take.column(arkit))
    old = key.get(CALIBRATED)
    if old is not None and old.name in bpy.data.actions:
        bpy.data.actions.remove(old)
    for prop in (CALIB, CALIBRATED):
        if prop in key:
            del key[prop]
    key[RAW] = action
    key[MAP] = json.dumps({t: a for a, t in pairs})
    return action


def mark_raw(key) -> None:
    """Record ``key``'s assigned action as its raw capture (our baked head) unless one is recorded already."""
    if key.get(RAW) is not None:
        return
    action = key.animation_data.action if key.animation_data else None
    if action is None:
        raise InputError(f"{key.user.name if key.user else key.name} has no shape-key animation to calibrate")
    arkit_by_norm = {normalize(n): n for n in REGION_OF}
    mapping = {}
    for fc in action_fcurves(action):
        t = _shape_key_name(fc.data_path)
        if t and normalize(t) in arkit_by_norm:
            mapping[t] = arkit_by_norm[normalize(t)]
    action.use_fake_user = True
    key[RAW] = action
    key[MAP] = json.dumps(mapping)


def get_calibration(key) -> Calibration | None:
    text = key.get(CALIB)
    return Calibration.from_json(text) if text else None


def set_calibration(key, calibration: Calibration | None) -> None:
    """Calibrated curves on ``key`` from its untouched raw action (``None`` or an identity calibration: the raw
    action again). Can be called again with other settings at any time."""
    mark_raw(key)
    if calibration is None or calibration.is_identity:
        clear_calibration(key)
        return
    raw = key[RAW]
    mapping = json.loads(key[MAP])
    cal = key.get(CALIBRATED)
    if cal is None or cal.name not in bpy.data.actions:
        cal = raw.copy()
        cal.name = raw.name.replace("_Raw", "") + "_Calibrated"
        cal.use_fake_user = False
        key[CALIBRATED] = cal
    raw_curves = {(fc.data_path, fc.array_index): fc for fc in action_fcurves(raw)}
    for fc in action_fcurves(cal):
        src = raw_curves.get((fc.data_path, fc.array_index))
        arkit = mapping.get(_shape_key_name(fc.data_path) or "")
        if src is None:
            continue
        _, v = _keys(src)
        _set_values(fc, calibration.apply(v[:, None], (arkit or "",))[:, 0] if arkit else v)
    key[CALIB] = calibration.to_json()
    if key.animation_data.action != cal:
        key.animation_data.action = cal
    _fix_slot(key)


def clear_calibration(key) -> None:
    """Back to the raw capture: the raw action assigned, the calibrated action and the calibration removed."""
    raw = key.get(RAW)
    if raw is None:
        return
    key.animation_data_create()
    key.animation_data.action = raw
    _fix_slot(key)
    cal = key.get(CALIBRATED)
    for prop in (CALIB, CALIBRATED):
        if prop in key:
            del key[prop]
    if cal is not None and cal.name in bpy.data.actions and cal.users == 0:
        bpy.data.actions.remove(cal)


def _fix_slot(key) -> None:
    """Layered actions (4.4+): make sure the assigned action's slot animates ``key``."""
    ad = key.animation_data
    if hasattr(ad, "action_slot") and ad.action is not None and ad.action_slot is None and len(ad.action.slots):
        ad.action_slot = ad.action.slots[0]


# ---------------------------------------------------------------- head motion
def _mean_rotation(rot: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(rot.sum(0))
    r = u @ vt
    if np.linalg.det(r) < 0:
        u[:, -1] *= -1
        r = u @ vt
    return r


def head_deltas(take: Take) -> np.ndarray:
    """(T,3,3) head rotation of each frame relative to the clip's mean head rotation, in the head object's axes
    (Blender: +Z up, the face towards -Y), i.e. what a character's head facing -Y should turn by."""
    rot, _ = head_world_pose(take.head_rotation, np.zeros((len(take.head_rotation), 3)))
    ref = _mean_rotation(rot)
    return np.einsum("ji,tjk->tik", ref, rot)


def eye_deltas(take: Take) -> np.ndarray:
    """(2, T, 3, 3) each eye's turn (``bake.eye_turn.SIDES``' order: the subject's left first) from the take's
    eyeLook* weights, in a character's axes (Blender: +Z up, the face towards -Y): its yaw about +Z (towards the
    subject's left, +X), then its pitch about +X (down)."""
    yp = eye_yaw_pitch(take.names, take.weights).transpose(1, 0, 2)    # (2, T, 2)
    return axis_rotation(yp[..., 0], 2) @ axis_rotation(yp[..., 1], 0)


def _check_bone(obj, bone: str, what: str) -> None:
    """InputError unless ``bone`` is "" or a pose bone of armature ``obj`` (None: none given) to receive ``what``."""
    if bone and (obj is None or obj.type != "ARMATURE" or bone not in obj.pose.bones):
        owner = "no armature was given" if obj is None else f"{obj.name} has no bone {bone!r}"
        raise InputError(f"{owner} for {what}")


def _motion_action(obj, name: str, what: str):
    """``obj``'s action (made, named for ``what``, when it has none) for the head's and eyes' rotation keys."""
    obj.animation_data_create()
    action = obj.animation_data.action
    if action is None:
        action = bpy.data.actions.new(f"{obj.name}_{name}{what}")
        obj.animation_data.action = action
    return action


def _key_bone(obj, action, bone: str, frames: np.ndarray, D: np.ndarray) -> None:
    """Key pose bone ``bone`` of armature ``obj`` turned by ``D`` (T, 3, 3; armature axes) from its rest, as
    quaternions without sign jumps between neighbouring frames."""
    pb = obj.pose.bones[bone]
    B = np.array(pb.bone.matrix_local.to_3x3().normalized())
    local = np.einsum("ji,tjk,kl->til", B, D, B)
    from mathutils import Matrix
    q = np.array([list(Matrix(m.tolist()).to_quaternion()) for m in local])
    flip = np.concatenate([[1.0], np.sign(np.einsum("ti,ti->t", q[1:], q[:-1]) + 1e-12)])
    q *= np.cumprod(flip)[:, None]
    pb.rotation_mode = "QUATERNION"
    path = f'pose.bones["{bone}"].rotation_quaternion'
    for i in range(4):
        _replace_curve(action, obj, path, i, bone, frames, q[:, i])


def apply_head_motion(take: Take, obj, bone: str = "", name: str = "FaceCapture") -> str:
    """Key the take's head rotation (relative to its mean) on ``obj`` (its rotation on top of its current one) or on
    pose bone ``bone`` of an armature ``obj`` (rotation relative to the bone's rest). Location is left alone."""
    if take.head_rotation is None:
        raise InputError("the performance carries no head motion")
    D = head_deltas(take)
    _check_bone(obj, bone, "the head motion")
    action = _motion_action(obj, name, "Head")
    if bone:
        _key_bone(obj, action, bone, take.frames, D)
        return f"head motion -> {obj.name}:{bone} (rotation keys in action {action.name})"
    rest = np.array(obj.matrix_basis.to_3x3().normalized())
    if obj.rotation_mode not in ("XYZ",):
        obj.rotation_mode = "XYZ"
    eul = euler_xyz(np.einsum("ij,tjk->tik", rest, D))
    for i in range(3):
        _replace_curve(action, obj, "rotation_euler", i, "Object Transforms", take.frames, eul[:, i])
    return f"head motion -> {obj.name} (rotation keys in action {action.name})"


def apply_eye_motion(take: Take, obj, bones, name: str = "FaceCapture") -> str:
    """Key each eye's turn from the take's eyeLook* weights (``eye_deltas``) on pose bones ``bones`` (left, right;
    "" for none) of armature ``obj``, relative to each bone's rest, for a character whose eyes are bones rather
    than look shapes (its eyeLook keys, if any, are driven as well by the retarget)."""
    for bone in bones:
        _check_bone(obj, bone, "the eyes' turn")
    D = eye_deltas(take)
    action = _motion_action(obj, name, "Eyes")
    done = []
    for e, bone in enumerate(bones):
        if bone:
            _key_bone(obj, action, bone, take.frames, D[e])
            done.append(f"{SIDES[e].lower()} {bone}")
    return f"eyes' turn -> {obj.name}: {', '.join(done)} (rotation keys in action {action.name})"


# ---------------------------------------------------------------- retarget
@dataclass
class RetargetResult:
    matches: dict = field(default_factory=dict)     # object name -> bake.retarget.Match
    lines: list = field(default_factory=list)       # report lines (driven counts, missing shapes by name)
    warnings: list = field(default_factory=list)    # meshes that got nothing
    objects: list = field(default_factory=list)     # what was animated: driven meshes, the head-motion object

    def text(self) -> str:
        return "\n".join(self.lines + self.warnings)


def retarget(take: Take, meshes, mapping: dict | None = None, calibration: Calibration | None = None,
             head_object=None, head_bone: str = "", name: str = "FaceCapture", eye_bones=("", "")) -> RetargetResult:
    """Put ``take`` onto each mesh in ``meshes`` whose shape keys carry ARKit names: a raw action per mesh (kept),
    plus calibrated curves when ``calibration`` is given (its neutral read from the take when it has none). The
    head rotation goes to ``head_object`` (or its bone ``head_bone``) when given, each eye's turn to its bone of
    ``eye_bones`` (left, right; "" for none) of that armature. Meshes without any ARKit key are reported and left
    untouched."""
    result = RetargetResult()
    meshes = [m for m in meshes if m is not None]
    for bone, what in ((head_bone, "the head motion"), *((b, "the eyes' turn") for b in eye_bones)):
        _check_bone(head_object, bone, what)                                                  # before any change
    if not meshes and head_object is None:
        raise InputError("nothing to retarget onto: select meshes with ARKit-named shape keys")
    for obj in meshes:
        key = getattr(obj.data, "shape_keys", None) if obj.type == "MESH" else None
        if key is None or len(key.key_blocks) < 2:
            result.warnings.append(f"{obj.name}: no shape keys, nothing driven")
            continue
        names = [kb.name for kb in key.key_blocks if kb != key.reference_key]
        match = match_shape_keys(names, mapping)
        result.matches[obj.name] = match
        if not match.pairs:
            result.warnings.append(f"{obj.name}: none of its {len(names)} shape keys carries an ARKit name")
            continue
        old = key.animation_data.action if key.animation_data else None
        if old is not None and old != key.get(RAW) and old != key.get(CALIBRATED):
            old.use_fake_user = True          # the character's own shape-key animation is kept in the file
            result.lines.append(f"{obj.name}: its shape-key action {old.name} is replaced (kept in the file)")
        _write_raw(key, take, match.pairs, f"{obj.name}_{name}_Raw")
        if calibration is not None:
            set_calibration(key, calibration)
        result.lines += describe(obj.name, match)
        result.objects.append(obj)
    if head_object is not None and take.head_rotation is None:
        result.warnings.append(f"{head_object.name}: the take carries no head motion (all head angles 0)")
    elif head_object is not None:
        result.lines.append(apply_head_motion(take, head_object, head_bone, name))
        if head_object not in result.objects:
            result.objects.append(head_object)
    if any(eye_bones):
        result.lines.append(apply_eye_motion(take, head_object, eye_bones, name))
        if head_object not in result.objects:
            result.objects.append(head_object)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = int(np.floor(take.frames.min())), int(np.ceil(take.frames.max()))
    fps = scene.render.fps / scene.render.fps_base
    if take.fps > 0 and abs(fps - take.fps) > 1e-3:      # the take's frames are its own: play them at its rate
        scene.render.fps = max(1, int(round(take.fps)))
        scene.render.fps_base = scene.render.fps / take.fps
        result.lines.append(f"scene frame rate {fps:g} -> {take.fps:g} fps (the take's)")
    for line in result.lines + result.warnings:
        log.info("%s", line)
    return result


def find_targets(names, head_target: str = "", mapping: dict | None = None, exclude=None):
    """(meshes, head object or None, bone name) in the open file: the objects ``names`` (default: every mesh, not in
    collection ``exclude``, whose shape keys carry ARKit names) and ``head_target`` "OBJ" or "OBJ:BONE".
    InputError naming what is missing."""
    ours = set(exclude.all_objects) if exclude is not None else set()
    if names:
        lacking = [n for n in names if n not in bpy.data.objects]
        if lacking:
            raise InputError(f"no object {', '.join(lacking)} in this file")
        meshes = [bpy.data.objects[n] for n in names]
    else:
        meshes = [o for o in bpy.data.objects if o.type == "MESH" and o not in ours and o.data.shape_keys
                  and match_shape_keys([k.name for k in o.data.shape_keys.key_blocks[1:]], mapping).pairs]
        if not meshes:
            raise InputError("no mesh in this file has shape keys with ARKit names")
    head_obj, bone = None, ""
    if head_target:
        obj_name, _, bone = head_target.partition(":")
        if obj_name not in bpy.data.objects:
            raise InputError(f"no object {obj_name!r} for the head motion in this file")
        head_obj = bpy.data.objects[obj_name]
    return meshes, head_obj, bone


__all__ = ["Match", "RetargetResult", "action_fcurves", "apply_eye_motion", "apply_head_motion", "clear_calibration",
           "eye_deltas", "find_targets", "get_calibration", "mark_raw", "region_group", "retarget", "set_calibration",
           "take_from_object"]
