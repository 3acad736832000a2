"""ARKit-52 CSV in the Live Link Face layout (pure: numpy + stdlib).

Columns: ``Timecode,BlendShapeCount``, the 52 blendshapes in Live Link Face's order and PascalCase, then
``HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll``
(BlendShapeCount = 61 = 52 + 9, as the app writes it). The order was checked against several open Live Link
Face readers/writers (e.g. pylivelinkface's ``FaceBlendShape`` and importers quoting the app's header).

* ``Timecode`` is ``HH:MM:SS:FF.mmm``: frames counted at the nominal rate ``round(fps)`` from the clip start
  (scene frame ``frames[0]`` is 00:00:00:00), ``.mmm`` the sub-frame fraction (always ``.000`` here).
* Head angles are radians of the head relative to facing the camera, from ``R = HEAD_TO_CV @ Ry(yaw) Rx(pitch)
  Rz(roll)`` in the head frame: yaw > 0 turns towards the subject's left, pitch > 0 looks down, roll > 0 tilts
  the top of the head towards the subject's right. Eye rotations are not estimated and are written as 0.
* Residual (non-ARKit) keys are not part of the layout and are left out.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from core.errors import ExportError

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
_HEAD_TO_CV = np.diag([1.0, -1.0, -1.0])


def timecode(index: int, fps: float, subframe: float = 0.0) -> str:
    """Frame ``index`` (0-based from the clip start) -> ``HH:MM:SS:FF.mmm`` at the nominal rate round(fps)."""
    rate = max(1, int(round(fps)))
    ff = index % rate
    s = index // rate
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{ff:02d}.{int(round(subframe * 1000)):03d}"


def head_yaw_pitch_roll(head_rotation: np.ndarray) -> np.ndarray:
    """(T,3,3) head->OpenCV-camera rotations -> (T,3) yaw, pitch, roll in radians (see module doc)."""
    M = _HEAD_TO_CV.T @ np.asarray(head_rotation, np.float64)
    yaw = np.arctan2(M[:, 0, 2], M[:, 2, 2])
    pitch = np.arcsin(np.clip(-M[:, 1, 2], -1.0, 1.0))
    roll = np.arctan2(M[:, 1, 0], M[:, 1, 1])
    return np.stack([yaw, pitch, roll], 1)


def csv_table(tracks) -> tuple[tuple, list[list[str]]]:
    """Header and rows (strings) for ``tracks`` (a bake.types.SceneTracks)."""
    lower = {str(n).lower(): i for i, n in enumerate(tracks.key_names)}
    missing = [n for n in LIVE_LINK_FACE_BLENDSHAPES if n.lower() not in lower]
    if missing:
        log.warning("CSV: %d ARKit shapes missing from the tracks (%s...), written as 0", len(missing), missing[0])
    w = np.asarray(tracks.weights, np.float64)
    cols = np.zeros((len(w), 52))
    for j, n in enumerate(LIVE_LINK_FACE_BLENDSHAPES):
        if n.lower() in lower:
            cols[:, j] = w[:, lower[n.lower()]]
    rot = np.zeros((len(w), 9))
    rot[:, :3] = head_yaw_pitch_roll(tracks.head_rotation)
    frames = np.asarray(tracks.frames, np.int64)
    rows = []
    for i in range(len(w)):
        vals = [f"{v:.6f}" for v in cols[i]] + [f"{v:.6f}" for v in rot[i]]
        rows.append([timecode(int(frames[i] - frames[0]), tracks.fps), str(len(ROTATION_COLUMNS) + 52), *vals])
    return HEADER, rows


def write_csv(path, tracks) -> Path:
    """Write the Live Link Face CSV atomically (temp file + rename); ExportError when it cannot be written."""
    p = Path(path).expanduser().resolve()
    if p.is_dir() or not p.parent.is_dir() or not os.access(p.parent, os.W_OK):
        raise ExportError(f"cannot write CSV {p}: the folder {p.parent} does not exist or is not writable"
                          if not p.is_dir() else f"CSV output {p} is a directory; give a file name")
    header, rows = csv_table(tracks)
    tmp = p.with_name(f".{p.stem}.{os.getpid()}.partial{p.suffix}")
    try:
        with open(tmp, "w", newline="") as f:
            f.write(",".join(header) + "\n")
            f.writelines(",".join(r) + "\n" for r in rows)
        os.replace(tmp, p)
    except OSError as e:
        raise ExportError(f"cannot write CSV {p}: {e}") from e
    finally:
        if tmp.exists():
            tmp.unlink()
    return p
