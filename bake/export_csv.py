"""ARKit-52 CSV in the Live Link Face layout (pure: numpy + stdlib).

Columns: ``Timecode,BlendShapeCount``, the 52 blendshapes in Live Link Face's order and PascalCase, then
``HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll``
(BlendShapeCount = 61 = 52 + 9, as the app writes it). The order was checked against several open Live Link
Face readers/writers (e.g. pylivelinkface's ``FaceBlendShape`` and importers quoting the app's header).

* ``Timecode`` is ``HH:MM:SS:FF.mmm``: frames counted at the nominal rate ``round(fps)`` from the clip start
  (scene frame ``frames[0]`` is 00:00:00:00), ``.mmm`` the sub-frame fraction (always ``.000`` here).
* Head angles are radians of the head relative to facing the camera (the first frame's, where the camera turns:
  bake.camera_turn, so the head's own turn in the world), from ``R = HEAD_TO_CV @ Ry(yaw) Rx(pitch)
  Rz(roll)`` in the head frame: yaw > 0 turns towards the subject's left, pitch > 0 looks down, roll > 0 tilts
  the top of the head towards the subject's right. Each eye's yaw and pitch (same signs; roll 0) are the turn of the
  head asset's eyeball that its eyeLook* weights make (bake.eye_turn): the baked head's own look, for rigs that turn
  eye bones rather than read the eyeLook shapes.
* Residual (non-ARKit) keys are not part of the layout and are left out.
"""
from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

import numpy as np

from core.errors import ExportError, InputError
from core.head_model import HEAD_TO_CV

from .atomic import atomic_write
from .camera_turn import world_rotation
from .eye_turn import eye_yaw_pitch
from .numerics import axis_rotation, look_yaw_pitch

log = logging.getLogger(__name__)

LIVE_LINK_FACE_BLENDSHAPES = (
    "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft", "EyeSquintLeft",
    "EyeWideLeft", "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight", "EyeLookOutRight", "EyeLookUpRight",
    "EyeSquintRight", "EyeWideRight", "JawForward", "JawRight", "JawLeft", "JawOpen", "MouthClose",
    "MouthFunnel", "MouthPucker", "MouthRight", "MouthLeft", "MouthSmileLeft", "MouthSmileRight",
    "MouthFrownLeft", "MouthFrownRight", "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft",
    "MouthStretchRight", "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper",
    "MouthPressLeft", "MouthPressRight", "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft",
    "MouthUpperUpRight", "BrowDownLeft", "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight",
    "CheekPuff", "CheekSquintLeft", "CheekSquintRight", "NoseSneerLeft", "NoseSneerRight", "TongueOut",
)
ROTATION_COLUMNS = ("HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                    "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
HEADER = ("Timecode", "BlendShapeCount", *LIVE_LINK_FACE_BLENDSHAPES, *ROTATION_COLUMNS)


def timecode(index: int, fps: float, subframe: float = 0.0) -> str:
    """Frame ``index`` (0-based from the clip start) -> ``HH:MM:SS:FF.mmm`` at the nominal rate round(fps)."""
    rate = max(1, int(round(fps)))
    ff = index % rate
    s = index // rate
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{ff:02d}.{int(round(subframe * 1000)):03d}"


def head_yaw_pitch_roll(head_rotation: np.ndarray) -> np.ndarray:
    """(T,3,3) head->OpenCV-camera rotations -> (T,3) yaw, pitch, roll in radians (see module doc)."""
    M = HEAD_TO_CV.T @ np.asarray(head_rotation, np.float64)
    roll = np.arctan2(M[:, 1, 0], M[:, 1, 1])
    return np.concatenate([look_yaw_pitch(M[:, :, 2]), roll[:, None]], 1)


def csv_table(tracks) -> tuple[tuple, list[list[str]]]:
    """Header and rows (strings) for ``tracks`` (a bake.types.SceneTracks)."""
    return table(tracks.key_names, tracks.weights, tracks.frames, tracks.fps, world_rotation(tracks))


def table(names, weights, frames, fps: float, head_rotation=None) -> tuple[tuple, list[list[str]]]:
    """Header and rows for weight columns ``names`` (any case; others ignored, missing ones written as 0) at scene
    ``frames`` (a fractional frame becomes the timecode's sub-frame part) with optional (T,3,3) head rotations."""
    lower = {str(n).lower(): i for i, n in enumerate(names)}
    missing = [n for n in LIVE_LINK_FACE_BLENDSHAPES if n.lower() not in lower]
    if missing:
        log.warning("CSV: %d ARKit shapes missing from the tracks (%s...), written as 0", len(missing), missing[0])
    w = np.asarray(weights, np.float64)
    cols = np.zeros((len(w), len(LIVE_LINK_FACE_BLENDSHAPES)))
    for j, n in enumerate(LIVE_LINK_FACE_BLENDSHAPES):
        if n.lower() in lower:
            cols[:, j] = w[:, lower[n.lower()]]
    rot = np.zeros((len(w), 9))
    if head_rotation is not None:
        rot[:, :3] = head_yaw_pitch_roll(head_rotation)
    eyes = eye_yaw_pitch(names, w)
    rot[:, 3:5], rot[:, 6:8] = eyes[:, 0], eyes[:, 1]               # yaw, pitch; each eye's roll stays 0
    rel = np.asarray(frames, np.float64) - float(frames[0])
    whole = np.floor(rel + 1e-6)
    rows = []
    for i in range(len(w)):
        vals = [f"{v:.6f}" for v in cols[i]] + [f"{v:.6f}" for v in rot[i]]
        code = timecode(int(whole[i]), fps, max(0.0, float(rel[i] - whole[i])))
        rows.append([code, str(len(ROTATION_COLUMNS) + len(LIVE_LINK_FACE_BLENDSHAPES)), *vals])
    return HEADER, rows


def write_csv(path, tracks) -> Path:
    """Write the Live Link Face CSV atomically (temp file + rename); ExportError when it cannot be written."""
    return _write(path, *csv_table(tracks))


def write_take_csv(path, take) -> Path:
    """Write a ``bake.retarget.Take`` (e.g. the calibrated curves read back from Blender) as a Live Link Face CSV."""
    return _write(path, *table(take.names, take.weights, take.frames, take.fps, take.head_rotation))


def _write(path, header, rows) -> Path:
    p = Path(path).expanduser().resolve()
    if p.is_dir() or not p.parent.is_dir() or not os.access(p.parent, os.W_OK):
        raise ExportError(f"cannot write CSV {p}: the folder {p.parent} does not exist or is not writable"
                          if not p.is_dir() else f"CSV output {p} is a directory; give a file name")
    with atomic_write(p, "CSV") as tmp:
        with open(tmp, "w", newline="") as f:
            f.write(",".join(header) + "\n")
            f.writelines(",".join(r) + "\n" for r in rows)
    return p


# ---------------------------------------------------------------- reading (our files and the iPhone app's)
def parse_timecode(text: str, rate: int) -> float:
    """``HH:MM:SS:FF[.mmm]`` -> frames since 00:00:00:00 at the nominal ``rate`` (the ``.mmm`` sub-frame
    fraction added)."""
    try:
        hh, mm, ss, rest = text.strip().split(":")
        ff, _, frac = rest.partition(".")
        return ((int(hh) * 60 + int(mm)) * 60 + int(ss)) * rate + int(ff) + (float("0." + frac) if frac else 0.0)
    except ValueError:
        raise InputError(f"not a Live Link Face timecode (HH:MM:SS:FF.mmm): {text!r}") from None


def _rotation_from_ypr(ypr: np.ndarray) -> np.ndarray:
    """(T,3) yaw, pitch, roll -> (T,3,3) head -> OpenCV camera rotations (inverse of ``head_yaw_pitch_roll``)."""
    ypr = np.asarray(ypr, np.float64)
    return HEAD_TO_CV @ axis_rotation(ypr[:, 0], 1) @ axis_rotation(ypr[:, 1], 0) @ axis_rotation(ypr[:, 2], 2)


def read_csv(path, fps: float | None = None, start_frame: float = 1.0):
    """A Live Link Face CSV (ours or the iPhone app's) -> ``bake.retarget.Take``.

    Blendshape columns are found by name (any case); the first row lands on scene frame ``start_frame`` and the
    others follow their timecodes at the nominal rate ``round(fps)``; without ``fps`` the rate is read from the
    timecodes (the highest frame number within a second + 1, when the take spans a second boundary), else 30.
    Head yaw/pitch/roll become the head rotation (all zero: no head motion)."""
    from .retarget import Take, normalize
    from core.head_model import ARKIT_NAMES
    p = Path(path).expanduser()
    try:
        with open(p, newline="") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read the CSV {p}: {e}") from e
    if len(rows) < 2 or rows[0][0].strip().lower() != "timecode":
        raise InputError(f"{p} is not a Live Link Face CSV (a 'Timecode' header and at least one row)")
    header = [h.strip() for h in rows[0]]
    arkit = {normalize(n): n for n in ARKIT_NAMES}
    cols = [(j, arkit[normalize(h)]) for j, h in enumerate(header) if normalize(h) in arkit]
    if not cols:
        raise InputError(f"{p} has no ARKit blendshape columns")
    try:
        data = np.array([[float(r[j]) for j, _ in cols] for r in rows[1:]])
        rot_idx = [header.index(c) if c in header else None for c in ROTATION_COLUMNS[:3]]
        ypr = np.array([[float(r[j]) if j is not None else 0.0 for j in rot_idx] for r in rows[1:]])
    except (ValueError, IndexError) as e:
        raise InputError(f"{p}: a row is short or not numeric ({e})") from e
    codes = [r[0] for r in rows[1:]]
    if fps is None:
        ff = [int(c.strip().split(":")[3].split(".")[0]) for c in codes]
        secs = {c.strip().rsplit(":", 1)[0] for c in codes}
        rate = max(ff) + 1 if len(secs) > 1 else 30
        if len(secs) <= 1:
            log.warning("%s: the frame rate cannot be read from under a second of timecodes; 30 assumed", p)
    else:
        rate = max(1, int(round(fps)))
    idx = np.array([parse_timecode(c, rate) for c in codes])
    order = np.argsort(idx, kind="stable")
    names = tuple(n for _, n in cols)
    head = _rotation_from_ypr(ypr[order]) if np.any(ypr) else None
    return Take(names=names, weights=data[order], frames=float(start_frame) + idx[order] - idx[order][0],
                fps=float(fps if fps is not None else rate), head_rotation=head)
