"""F-curves and actions across Blender 4.2 .. 5.x (4.4+: slotted actions), keyed linearly in one call."""
from __future__ import annotations

import bpy
import numpy as np

from ..calibrate import REGION_OF


def fcurve(action, datablock, data_path: str, index: int = 0, group: str = ""):
    """An f-curve on ``action`` for ``datablock`` (4.4+: slotted actions; 4.2: Action.fcurves)."""
    if hasattr(action, "fcurve_ensure_for_datablock"):
        return action.fcurve_ensure_for_datablock(datablock, data_path, index=index, group_name=group)
    return action.fcurves.new(data_path, index=index, action_group=group)   # Blender 4.2/4.3


def curve_group(key_name: str) -> str:
    """Channel group of a shape key's f-curve: its ARKit region ("Eyes", "Brows", "Mouth", "Jaw", "Cheeks", "Nose",
    "Tongue"), else "Residual". The Graph Editor and Dope Sheet list the curves under these groups, each as
    "Value (<shape key name>)"."""
    return REGION_OF[key_name].capitalize() if key_name in REGION_OF else "Residual"


def key_linear(fc, frames: np.ndarray, values: np.ndarray) -> None:
    """Key ``values`` at ``frames`` on f-curve ``fc`` in one call, linear between keys (a baked curve's own samples)."""
    n = len(frames)
    kp = fc.keyframe_points
    kp.add(n)
    co = np.empty((n, 2), np.float32)
    co[:, 0] = frames
    co[:, 1] = values
    kp.foreach_set("co", co.ravel())
    kp.foreach_set("interpolation", np.full(n, 1, np.int32))   # 1 = LINEAR
    fc.update()


def new_action(datablock, name: str):
    """A new action ``name`` assigned to ``datablock`` (an object or a shape-key datablock)."""
    datablock.animation_data_create()
    action = bpy.data.actions.new(name)
    datablock.animation_data.action = action
    return action
