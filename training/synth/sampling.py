"""Random parameters of one sample (numpy; sample i of a stream depends only on (seed, split, i))."""
from __future__ import annotations

import numpy as np

from core import head_model as hm
from core.framing import CROP_ANCHOR, CROP_SIDE_MM
from core.head_model import N_ARKIT

from .. import synth_appearance as ap
from .assets import _Assets
from .config import SPLITS, SynthConfig
from .params import Appearance, Hair, Lighting, Occluders, Pose, SampleParams, Sensor

_GROUPS = [  # (probability, {name: relative weight}) realistic co-activations
    (0.18, {"eyeBlinkLeft": 1, "eyeBlinkRight": 1}),
    (0.30, {"mouthSmileLeft": 1, "mouthSmileRight": 1, "cheekSquintLeft": .6, "cheekSquintRight": .6,
            "eyeSquintLeft": .4, "eyeSquintRight": .4, "mouthDimpleLeft": .2, "mouthDimpleRight": .2}),
    (0.22, {"jawOpen": 1, "mouthLowerDownLeft": .4, "mouthLowerDownRight": .4, "mouthUpperUpLeft": .15,
            "mouthUpperUpRight": .15}),
    (0.10, {"browInnerUp": 1, "browOuterUpLeft": .8, "browOuterUpRight": .8, "eyeWideLeft": .7,
            "eyeWideRight": .7, "jawOpen": .4}),
    (0.10, {"browDownLeft": 1, "browDownRight": 1, "mouthFrownLeft": .6, "mouthFrownRight": .6,
            "mouthPressLeft": .4, "mouthPressRight": .4}),
    (0.06, {"noseSneerLeft": 1, "noseSneerRight": 1, "mouthUpperUpLeft": .6, "mouthUpperUpRight": .6,
            "browDownLeft": .3, "browDownRight": .3}),
    (0.08, {"mouthPucker": 1, "mouthFunnel": .4}),
    (0.06, {"mouthFunnel": 1, "jawOpen": .3}),
    (0.08, {"mouthStretchLeft": 1, "mouthStretchRight": 1, "jawOpen": .2}),
    (0.06, {"mouthRollLower": 1, "mouthRollUpper": .7}),
    (0.05, {"cheekPuff": 1, "mouthClose": .3}),
    (0.05, {"mouthShrugLower": 1, "mouthShrugUpper": .5, "mouthPressLeft": .3, "mouthPressRight": .3}),
    (0.06, {"browInnerUp": 1, "mouthFrownLeft": .3, "mouthFrownRight": .3}),
    (0.03, {"tongueOut": 1, "jawOpen": .5}),
]
_SIDE = [("jawLeft", "jawRight"), ("mouthLeft", "mouthRight"), ("eyeLookOutLeft", "eyeLookInRight"),
         ("eyeLookInLeft", "eyeLookOutRight")]


def sample_arkit(rng, names) -> np.ndarray:
    w = np.zeros(N_ARKIT)
    idx = {n: i for i, n in enumerate(names)}
    for p, grp in _GROUPS:
        if rng.random() < p:
            a = rng.uniform(0.2, 1.0) ** 0.8
            asym = rng.normal(0, 0.12)
            for name, r in grp.items():
                s = 1 + (asym if name.endswith("Left") else -asym if name.endswith("Right") else 0)
                w[idx[name]] = max(w[idx[name]], a * r * s)
    if rng.random() < 0.3:
        pair = _SIDE[rng.integers(len(_SIDE))]
        a = rng.uniform(0.1, 0.8)
        for nme in pair:
            w[idx[nme]] += a
    if rng.random() < 0.35:        # vertical gaze
        a = rng.uniform(0.1, 0.8)
        for nme in (("eyeLookUpLeft", "eyeLookUpRight") if rng.random() < 0.4 else ("eyeLookDownLeft", "eyeLookDownRight")):
            w[idx[nme]] += a
    k = rng.poisson(1.2)
    for i in rng.choice(N_ARKIT, size=min(k, N_ARKIT), replace=False):
        w[i] += rng.uniform(0, 0.35)
    return np.clip(w, 0, 1)


def _rot(yaw, pitch, roll) -> np.ndarray:
    """Head rotation in the head frame: yaw about +Y, pitch about +X, roll about +Z (degrees)."""
    y, p, r = np.deg2rad([yaw, pitch, roll])
    Ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    Rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    Rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return Ry @ Rx @ Rz


def _in_eval_identity_region(z: np.ndarray) -> bool:
    """Held-out identity region: a corner of the first two identity coefficients (in std units)."""
    return bool(z[0] > 1.0 and z[1] < -0.3)


def sample_identity(rng, head, cfg, split) -> tuple[np.ndarray, np.ndarray]:
    K = len(head.identity_std)
    for _ in range(100):
        z = rng.normal(0, 1, K) * cfg.identity_scale
        if split == "eval":
            z[0] = abs(z[0]) + 1.0
            z[1] = -abs(z[1]) - 0.3
        if _in_eval_identity_region(z) == (split == "eval"):
            break
    L = len(head.local_names)
    loc = np.zeros(L)
    k = rng.integers(3, 12)
    loc[rng.choice(L, size=k, replace=False)] = rng.uniform(-1, 1, k) * cfg.local_scale
    return z * head.identity_std, loc


def sample_appearance(rng, cfg) -> Appearance:
    lin = ap.srgb_to_linear
    m = rng.uniform(0, len(ap.SKIN_SRGB) - 1)
    i0 = int(np.floor(m))
    i1 = min(i0 + 1, len(ap.SKIN_SRGB) - 1)
    skin = ap.SKIN_SRGB[i0] * (1 - (m - i0)) + ap.SKIN_SRGB[i1] * (m - i0)
    skin = skin * np.exp(rng.normal(0, [0.03, 0.04, 0.06]))              # hue variation (olive/pink/yellow)
    hair = ap.HAIR_SRGB[rng.choice(len(ap.HAIR_SRGB), p=[.3, .25, .15, .1, .07, .05, .05, .03])]
    hair = hair * np.exp(rng.normal(0, 0.1, 3))
    beard = rng.uniform(0.3, 1.0) if rng.random() < cfg.p_beard else 0.0
    makeup = rng.random() < cfg.p_makeup
    lipstick = np.array([rng.uniform(0.4, 0.8), rng.uniform(0.05, 0.3), rng.uniform(0.1, 0.35)])
    iris = ap.IRIS_SRGB[rng.integers(len(ap.IRIS_SRGB))] * np.exp(rng.normal(0, 0.15, 3))
    return Appearance(
        skin=lin(np.clip(skin, 0, 1)), redness=[rng.uniform(0, 1)],
        freckles=[rng.uniform(0.4, 1.0) if rng.random() < cfg.p_freckles else 0.0],
        beard=[beard], hair_col=lin(np.clip(hair, 0, 1)),
        lip_tint=np.array([rng.uniform(0.75, 0.95), rng.uniform(0.5, 0.7), rng.uniform(0.55, 0.75)]),
        lipstick=lin(lipstick), lipstick_a=[rng.uniform(0.3, 0.8) if makeup and rng.random() < 0.6 else 0.0],
        eye_makeup=[rng.uniform(0.2, 1) if makeup else 0.0],
        brow_col=lin(np.clip(np.minimum(hair, skin * 0.45) * rng.uniform(0.6, 1.0), 0, 1)), brow_dens=[rng.uniform(0.5, 1.0)],
        iris=lin(np.clip(iris, 0, 1)), iris_r=[rng.uniform(5.8, 6.8)],
        spec=[rng.uniform(0.02, 0.22)], noff=rng.uniform(-1, 1, 3),
    )


def sample_lighting(rng) -> Lighting:
    def unit(v):
        v = np.asarray(v, np.float64)
        return v / np.linalg.norm(v)
    temp = rng.uniform(-1, 1)           # warm .. cool
    col = lambda t, s: np.array([1 + 0.25 * t, 1.0, 1 - 0.3 * t]) * s   # noqa: E731
    # key light direction in camera space (towards the light): mostly in front, from the side/above
    az = rng.uniform(-100, 100)
    el = rng.uniform(-25, 70)
    a, e = np.deg2rad(az), np.deg2rad(el)
    key = unit([np.sin(a) * np.cos(e), -np.sin(e), -np.cos(a) * np.cos(e)])
    key_s = rng.uniform(0.4, 1.4) if rng.random() < 0.9 else 0.05
    env_s = rng.uniform(0.12, 0.7)
    up = unit([rng.normal(0, 0.3), -1, rng.normal(0, 0.3)])
    fa = np.deg2rad(rng.uniform(-90, 90))
    fill = unit([np.sin(fa), rng.uniform(-0.5, 0.3), -np.cos(fa)])
    return Lighting(key_dir=key, key_col=col(rng.uniform(-1, 1), key_s), wrap=[rng.uniform(0.05, 0.45)],
                env_up=up, env_sky=col(temp, env_s), env_ground=col(temp + rng.uniform(-.3, .3), env_s * rng.uniform(0.25, 0.7)),
                fill_dir=fill, fill_col=col(rng.uniform(-1, 1), rng.uniform(0, 0.25)))


def sample_sensor(rng, cfg) -> Sensor:
    return Sensor(wb=np.exp(rng.normal(0, [0.08, 0.03, 0.1])), exposure=[rng.uniform(0.30, 0.55)],
                contrast=[rng.uniform(0.85, 1.2)],
                blur=[rng.uniform(0.3, 1.4) if rng.random() < cfg.p_blur else 0.35],
                mblur=[rng.uniform(2, 9) if rng.random() < cfg.p_motion_blur else 0.0], mang=[rng.uniform(0, np.pi)],
                noise=[rng.uniform(0, cfg.noise_max) ** 1.0], jpeg_q=rng.integers(25, 95),
                jpeg=rng.random() < cfg.p_jpeg, lowres=rng.uniform(1.5, 3.0) if rng.random() < cfg.p_lowres else 1.0,
                bg_kind=int(rng.choice(4, p=[.3, .25, .3, .15])), bg_blur=[rng.uniform(0, 2.5)],
                bg_seed=int(rng.integers(2 ** 31)), noise_seed=int(rng.integers(2 ** 31)))


def sample_occluders(rng, cfg, A: _Assets) -> Occluders:
    hair = None
    if rng.random() < cfg.p_hair:
        hair = Hair(y_front=rng.uniform(52, 100) if rng.random() < 0.8 else rng.uniform(38, 55),
                    y_back=rng.uniform(-70, 10), side_drop=rng.uniform(0, 45), vol=rng.uniform(2, 22),
                    ears=rng.random() < 0.35,
                    long=rng.uniform(20, 200) if rng.random() < 0.4 else 0.0, z_cut=rng.uniform(20, 70))
    return Occluders(hair=hair, glasses=rng.random() < cfg.p_glasses, hand=rng.random() < cfg.p_hand,
                mic=rng.random() < cfg.p_mic, strands=int(rng.integers(2, 14)) if rng.random() < cfg.p_strands else 0,
                torso=rng.random() < cfg.p_torso, seed=int(rng.integers(2 ** 31)))


def sample_pose_camera(rng, cfg, split, size) -> Pose:
    ext = split == "eval"
    yaw = np.clip(rng.normal(0, 32) if rng.random() < 0.8 else rng.uniform(-90, 90), -cfg.max_yaw, cfg.max_yaw)
    pitch = np.clip(rng.normal(0, 14), -cfg.max_pitch, cfg.max_pitch)
    roll = np.clip(rng.normal(0, 9), -cfg.max_roll, cfg.max_roll)
    lo, hi = cfg.dist_mm
    if ext and rng.random() < 0.4:   # extreme distances the train stream never uses
        z0 = rng.uniform(0.8 * lo, lo) if rng.random() < 0.5 else rng.uniform(hi, 1.3 * hi)
    else:
        z0 = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    off = np.deg2rad(rng.uniform(-15, 15, 2))       # head off the optical axis (perspective varies)
    return Pose(yaw=yaw, pitch=pitch, roll=roll, z0=z0, tx=z0 * np.tan(off[0]), ty=z0 * np.tan(off[1]),
                scale=float(np.exp(rng.normal(0, cfg.crop_scale_sd))),
                shift=rng.uniform(-cfg.crop_shift, cfg.crop_shift, 2))


def head_size_ratio(head: hm.HeadModel, identity: np.ndarray, local: np.ndarray | None = None) -> float:
    """Least-squares scale of the neutral head (identity + local shape, no expression) against the template:
    ``s = sum(x . y) / sum(x . x)`` over all vertices, both centred (same axes, so no rotation)."""
    y = head.shape(identity=identity, local=local)
    x = head.vertices.astype(np.float64)
    x, y = x - x.mean(0), y - y.mean(0)
    return float((x * y).sum() / (x * x).sum())


def crop_intrinsics(R: np.ndarray, t: np.ndarray, size: int, scale: float = 1.0, shift=(0.0, 0.0),
                    head_size: float = 1.0) -> np.ndarray:
    """Crop K for the documented framing: centre = projection of head_size * CROP_ANCHOR, side = head_size *
    260 mm at z_origin (times the jitter ``scale``, shifted by ``shift`` sides)."""
    f = size * t[2] / (CROP_SIDE_MM * head_size) / scale
    p = R @ (head_size * np.asarray(CROP_ANCHOR)) + t
    cx = size / 2 - f * p[0] / p[2] + shift[0] * size
    cy = size / 2 - f * p[1] / p[2] + shift[1] * size
    return np.array([[f, 0, cx], [0, f, cy], [0, 0, 1]])


def sample_params(cfg: SynthConfig, seed: int, split: str, index: int, A: _Assets) -> SampleParams:
    rng = np.random.default_rng([int(seed), SPLITS[split], int(index)])
    ident, loc = sample_identity(rng, A.head, cfg, split)
    return SampleParams(identity=ident, local=loc, arkit=sample_arkit(rng, A.head.arkit_names),
                pose=sample_pose_camera(rng, cfg, split, cfg.size), app=sample_appearance(rng, cfg),
                light=sample_lighting(rng), sensor=sample_sensor(rng, cfg), occ=sample_occluders(rng, cfg, A))
