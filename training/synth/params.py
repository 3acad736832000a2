"""Typed parameters of one synthetic sample, as ``sampling`` draws them and ``scene``/``shading`` render them.

Every field is plain numpy/python (no tensors): a sample is reproduced from its parameters alone. Lists of one float
(``redness=[0.4]``) are per-sample scalars that ``shading`` stacks into (n, 1) tensors like the vector fields.
Parameters are frozen; a variant is ``dataclasses.replace(p, pose=replace(p.pose, yaw=10.0))``.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


def names(obj) -> tuple:
    """Field names of a parameter record, in declaration order (the order ``shading`` stacks them in)."""
    return tuple(f.name for f in fields(obj))


@dataclass(frozen=True, eq=False)
class Pose:
    """Head pose (degrees), head-frame origin in camera mm (``tx``, ``ty``, ``z0``) and the crop jitter."""
    yaw: float
    pitch: float
    roll: float
    z0: float
    tx: float
    ty: float
    scale: float                 # crop side x this
    shift: np.ndarray            # (2,) crop shift in crop sides


@dataclass(frozen=True, eq=False)
class Appearance:
    """Albedo parameters (linear RGB where a colour; see synth_appearance.head_albedo)."""
    skin: np.ndarray
    redness: list
    freckles: list
    beard: list
    hair_col: np.ndarray
    lip_tint: np.ndarray
    lipstick: np.ndarray
    lipstick_a: list
    eye_makeup: list
    brow_col: np.ndarray
    brow_dens: list
    iris: np.ndarray
    iris_r: list
    spec: list
    noff: np.ndarray             # (3,) noise-field offset


@dataclass(frozen=True, eq=False)
class Lighting:
    """Key light, wrap, sky/ground environment and fill light (directions in camera space, towards the light)."""
    key_dir: np.ndarray
    key_col: np.ndarray
    wrap: list
    env_up: np.ndarray
    env_sky: np.ndarray
    env_ground: np.ndarray
    fill_dir: np.ndarray
    fill_col: np.ndarray


@dataclass(frozen=True, eq=False)
class Sensor:
    """White balance, exposure, tone, blur, noise, JPEG, low resolution and the background."""
    wb: np.ndarray
    exposure: list
    contrast: list
    blur: list
    mblur: list
    mang: list
    noise: list
    jpeg_q: int
    jpeg: bool
    lowres: float
    bg_kind: int
    bg_blur: list
    bg_seed: int
    noise_seed: int


@dataclass(frozen=True, eq=False)
class Hair:
    """Hair cap (head-frame mm): hairline at the front/back, side drop, volume, ears covered, optional long curtain
    (``long`` mm below ``z_cut``; 0 = none)."""
    y_front: float
    y_back: float
    side_drop: float
    vol: float
    ears: bool
    long: float = 0.0
    z_cut: float = 45.0


@dataclass(frozen=True, eq=False)
class Occluders:
    """What covers the face; ``seed`` seeds one random stream per occluder kind."""
    hair: Hair | None
    glasses: bool
    hand: bool
    mic: bool
    strands: int
    torso: bool
    seed: int


@dataclass(frozen=True, eq=False)
class SampleParams:
    """One sample: identity (40,) and local (L,) shape coefficients, ARKit weights (52,), pose, appearance, light,
    sensor and occluders."""
    identity: np.ndarray
    local: np.ndarray
    arkit: np.ndarray
    pose: Pose
    app: Appearance
    light: Lighting
    sensor: Sensor
    occ: Occluders
