"""Synthetic 4D face data with exact ground truth (depth, canonical map, masks, pose, ARKit weights).

Everything is rendered by training/render.py (exact z-buffer, perspective-correct barycentrics) so the maps are
exact at pixel centres; only the RGB image receives appearance randomisation and sensor effects.

CROP FRAMING (make_batch; core/framing.py defines it; the face tracker and the bake's re-framing passes give the
same): a sample is rendered directly as a square S x S crop framed RELATIVE TO THE HEAD'S SIZE: with ``s`` the head
size ratio of the sample's neutral identity to the template (``head_size_ratio``; 0.7 .. 1.2 in the train stream),
the crop centre is the projection of the point ``s * CROP_ANCHOR`` (CROP_ANCHOR = (0, -10, 70) mm, nose area) and
its side covers ``s * CROP_SIDE_MM`` (260 mm) at depth z_origin (camera z of the head-frame origin), i.e. in a full
frame with focal f the crop side is ``s * 260 * f / z_origin`` pixels and the crop intrinsics have
``f_crop = S * z_origin / (s * 260)``. This is the framing of a template-size head at distance z_origin / s, which
is all that can be seen from an image (a small head near and a big head far look alike), and what the tracker (from
the face's apparent size) and PnP on the canonical map (template millimetres) recover; framing by the true depth
instead (``SynthConfig.frame_by_head_size=False``, the framing of the weights before 2026-11-24) shows the network
the head's true size as a crop-fill fraction that inference never has. Then jitter: side x exp(N(0, 0.12)) and a
shift of U(-8 %, +8 %) of the side on each axis.

make_batch keys: image (n,3,S,S) RGB [0,1]; depth (n,1,S,S) = (z - z_origin) / canon_scale where any surface
attached to the head is visible (head, hair, glasses, hands, microphone, strands; 0 on background and torso);
canon (n,3,S,S) = head.to_norm(template mm) where mask, else 0; mask (n,1,S,S) 1 on visible head surface that is
not the interior (mouth cavity/teeth/tongue) and not occluded; K (n,3,3); R (n,3,3), t (n,3) head -> camera;
verts_cam (n,V,3) DEFORMED vertices in camera mm; arkit (n,52); identity (n,40) coefficients (mm along the
orthonormal basis, i.e. already multiplied by identity_std).

SPLITS: ``split="train"`` is the endless training stream; ``split="eval"`` with a fixed seed (e.g. 0) is the held-out
set. Sample i depends only on (seed, split, i). Eval identities come from a region of identity space the train
stream rejects (``_in_eval_identity_region``: first identity coefficient > 1 sd and second < -0.3 sd) and 40 % of
eval samples use camera distances outside the train range (``SynthConfig.dist_mm`` x 0.8 .. x 1.3).

CLI: ``python -m training.synth --out DIR --count N --seed S [--size 256] [--sequence FRAMES] [--split eval]
[--check]``; the README demo clip is regenerated (deterministically) with
``python -m training.synth --sample-clip core/assets/sample_clip.mp4``.

make_sequence: full frames, canon in MILLIMETRES (template positions, 0 where mask is 0), depth in mm (camera z,
0 where no head-attached surface).
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from dataclasses import dataclass, asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import uniform_filter1d

from core import head_model as hm
from core.errors import FaceCaptureError
from core.framing import CROP_ANCHOR, CROP_SIDE_MM  # noqa: F401  (the framing is defined once, in core)
from core.head_model import HEAD_TO_CV, N_ARKIT
from . import render
from . import synth_appearance as ap
from . import synth_occluders as occ

log = logging.getLogger(__name__)

SPLITS = {"train": 0, "eval": 1}


@dataclass(frozen=True)
class SynthConfig:
    size: int = 128
    max_yaw: float = 90.0
    max_pitch: float = 45.0
    max_roll: float = 35.0
    dist_mm: tuple = (350.0, 2000.0)          # z_origin range (log-uniform), phone selfie .. telephoto
    identity_scale: float = 1.0
    local_scale: float = 0.6
    crop_scale_sd: float = 0.12
    crop_shift: float = 0.08
    frame_by_head_size: bool = True           # crop framing relative to the head's size (module docstring)
    p_hair: float = 0.85
    p_glasses: float = 0.22
    p_hand: float = 0.12
    p_mic: float = 0.06
    p_strands: float = 0.25
    p_torso: float = 0.9
    p_beard: float = 0.22
    p_freckles: float = 0.2
    p_makeup: float = 0.3
    p_blur: float = 0.4
    p_motion_blur: float = 0.15
    p_jpeg: float = 0.5
    p_lowres: float = 0.15
    noise_max: float = 0.035
    shadow_res: int = 72
    # torch intra-op threads while rendering on CPU (restored afterwards). 1 is fastest here: the renderer runs
    # many small ops and on a shared 2-core machine multi-threaded small ops stall (measured 10x slower with 2);
    # parallelise with DataLoader worker processes instead. 0 leaves the caller's setting.
    cpu_threads: int = 1


# ---------------------------------------------------------------- static assets per device

class _Assets:
    def __init__(self, head: hm.HeadModel, device):
        self.head = head
        self.device = device
        V = head.n_vertices
        f32 = lambda a: torch.as_tensor(np.asarray(a, np.float32), device=device)   # noqa: E731
        self.template = f32(head.vertices)
        self.faces = torch.as_tensor(head.faces.astype(np.int64), device=device)
        self.basis = torch.cat([f32(head.identity_basis.reshape(len(head.identity_std), -1)),
                                f32(head.arkit_deltas.reshape(N_ARKIT, -1)),
                                f32(head.local_pos.reshape(len(head.local_names), -1)),
                                f32(head.local_neg.reshape(len(head.local_names), -1))], 0)
        reg = np.zeros((V, 7), np.float32)
        reg[np.arange(V), head.region] = 1
        reg[:, 6] = cavity_occlusion(head.vertices, head.faces)
        self.region_corners = f32(reg[head.faces])                  # (F, 3, 6)
        self.template_corners = self.template[self.faces]           # (F, 3, 3)
        tv = head.vertices
        eyes = head.region_mask("eyes")
        self.eye_l = tv[eyes & (tv[:, 0] > 0)].mean(0)
        self.eye_r = tv[eyes & (tv[:, 0] < 0)].mean(0)
        self.eye_l[2] = tv[eyes & (tv[:, 0] > 0), 2].max()
        self.eye_r[2] = tv[eyes & (tv[:, 0] < 0), 2].max()
        self.front = np.nonzero((tv[:, 2] > 40) & ~head.region_mask("interior", "eyes"))[0]
        bad = head.region_mask("interior", "eyes", "lips")
        self.face_ok_for_hair = ~bad[head.faces].any(1)
        self.mouth = tv[head.region_mask("lips")].mean(0)


def cavity_occlusion(verts: np.ndarray, faces: np.ndarray, strength: float = 0.55, smooth: int = 3) -> np.ndarray:
    """Per-vertex ambient-occlusion proxy in [0.35, 1] from concavity (umbrella Laplacian along the normal):
    eye sockets, nasolabial folds, mouth corners and ear folds get darker."""
    from scipy.sparse import coo_matrix
    V = len(verts)
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e = np.concatenate([e, e[:, ::-1]])
    A = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(V, V)).tocsr()
    A.data[:] = 1.0
    deg = np.asarray(A.sum(1)).ravel().clip(1)
    tri = verts[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    vn = np.zeros_like(verts, dtype=np.float64)
    for k in range(3):
        np.add.at(vn, faces[:, k], fn)
    vn /= np.linalg.norm(vn, axis=1, keepdims=True) + 1e-12
    lap = (A @ verts) / deg[:, None] - verts
    c = (lap * vn).sum(1)
    c = np.clip(c / (np.percentile(c[c > 0], 97) + 1e-9), 0, 1)
    for _ in range(smooth):
        c = 0.5 * c + 0.5 * (A @ c) / deg
    return np.clip(1 - strength * c / (c.max() + 1e-9) * 1.6, 0.35, 1).astype(np.float32)


_ASSETS: dict = {}


def _assets(device) -> _Assets:
    key = str(device)
    if key not in _ASSETS:
        _ASSETS[key] = _Assets(hm.load(), device)
    return _ASSETS[key]


# ---------------------------------------------------------------- random parameters (numpy, per sample)

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


def sample_appearance(rng, cfg) -> dict:
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
    return dict(
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


def sample_lighting(rng) -> dict:
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
    return dict(key_dir=key, key_col=col(rng.uniform(-1, 1), key_s), wrap=[rng.uniform(0.05, 0.45)],
                env_up=up, env_sky=col(temp, env_s), env_ground=col(temp + rng.uniform(-.3, .3), env_s * rng.uniform(0.25, 0.7)),
                fill_dir=fill, fill_col=col(rng.uniform(-1, 1), rng.uniform(0, 0.25)))


def sample_sensor(rng, cfg) -> dict:
    return dict(wb=np.exp(rng.normal(0, [0.08, 0.03, 0.1])), exposure=[rng.uniform(0.30, 0.55)],
                contrast=[rng.uniform(0.85, 1.2)],
                blur=[rng.uniform(0.3, 1.4) if rng.random() < cfg.p_blur else 0.35],
                mblur=[rng.uniform(2, 9) if rng.random() < cfg.p_motion_blur else 0.0], mang=[rng.uniform(0, np.pi)],
                noise=[rng.uniform(0, cfg.noise_max) ** 1.0], jpeg_q=rng.integers(25, 95),
                jpeg=rng.random() < cfg.p_jpeg, lowres=rng.uniform(1.5, 3.0) if rng.random() < cfg.p_lowres else 1.0,
                bg_kind=int(rng.choice(4, p=[.3, .25, .3, .15])), bg_blur=[rng.uniform(0, 2.5)],
                bg_seed=int(rng.integers(2 ** 31)), noise_seed=int(rng.integers(2 ** 31)))


def sample_occluders(rng, cfg, A: _Assets) -> dict:
    hair = None
    if rng.random() < cfg.p_hair:
        hair = dict(y_front=rng.uniform(52, 100) if rng.random() < 0.8 else rng.uniform(38, 55),
                    y_back=rng.uniform(-70, 10), side_drop=rng.uniform(0, 45), vol=rng.uniform(2, 22),
                    ears=rng.random() < 0.35,
                    long=rng.uniform(20, 200) if rng.random() < 0.4 else 0.0, z_cut=rng.uniform(20, 70))
    return dict(hair=hair, glasses=rng.random() < cfg.p_glasses, hand=rng.random() < cfg.p_hand,
                mic=rng.random() < cfg.p_mic, strands=int(rng.integers(2, 14)) if rng.random() < cfg.p_strands else 0,
                torso=rng.random() < cfg.p_torso, seed=int(rng.integers(2 ** 31)))


def sample_pose_camera(rng, cfg, split, size) -> dict:
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
    return dict(yaw=yaw, pitch=pitch, roll=roll, z0=z0, tx=z0 * np.tan(off[0]), ty=z0 * np.tan(off[1]),
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


def sample_params(cfg: SynthConfig, seed: int, split: str, index: int, A: _Assets) -> dict:
    rng = np.random.default_rng([int(seed), SPLITS[split], int(index)])
    ident, loc = sample_identity(rng, A.head, cfg, split)
    return dict(identity=ident, local=loc, arkit=sample_arkit(rng, A.head.arkit_names),
                pose=sample_pose_camera(rng, cfg, split, cfg.size), app=sample_appearance(rng, cfg),
                light=sample_lighting(rng), sensor=sample_sensor(rng, cfg), occ=sample_occluders(rng, cfg, A))


# ---------------------------------------------------------------- scene assembly + rendering

HAIR_INSET_MM = 7.0


def hair_line(c: torch.Tensor, hp: torch.Tensor) -> torch.Tensor:
    """Signed distance-like value (mm) above the hairline at canonical points c (N,3); hp (N,4) =
    (y_front, y_back, side_drop, has_hair) -- the same formula as the hair shell."""
    u = ((120 - c[:, 2]) / 200).clamp(0, 1)
    hl = hp[:, 0] * (1 - u) + hp[:, 1] * u - hp[:, 2] * (c[:, 0].abs() / 85) ** 2
    return torch.where(hp[:, 3] > 0, c[:, 1] - hl, torch.full_like(hl, -1e3))


def _hair_shell(A: _Assets, hp: dict, verts: torch.Tensor, vn: torch.Tensor):
    """Offset shell of the (deformed) head over the hair area. Returns (verts (V,3), faces (M,3) long, tex)."""
    tv = A.head.vertices
    x, y, z = tv[:, 0], tv[:, 1], tv[:, 2]
    u = np.clip((120 - z) / 200, 0, 1)
    hl = hp["y_front"] * (1 - u) + hp["y_back"] * u - hp["side_drop"] * (np.abs(x) / 85) ** 2
    inside = y - hl
    if not hp["ears"]:
        ear = (np.abs(x) > 62) & (y > -35) & (y < 30) & (z > -25) & (z < 40)
        inside = np.where(ear, -1, inside)
    th = 1.5 + hp["vol"] * np.clip(inside / 25, 0, 1) ** 0.7
    vmask = inside > HAIR_INSET_MM        # the shell's jagged edge lies on painted hair (see hair_paint)
    fm = vmask[A.head.faces].all(1) & A.face_ok_for_hair
    faces = torch.as_tensor(A.head.faces[fm].astype(np.int64), device=verts.device)
    shell = verts + vn * torch.as_tensor(th[:, None].astype(np.float32), device=verts.device)
    return shell, faces


def _scene(A: _Assets, P: list[dict], verts_head: torch.Tensor, R: torch.Tensor, t: torch.Tensor):
    """Flat triangle list in camera space for a batch. Returns dict of tensors over triangles."""
    dev = verts_head.device
    n = len(P)
    Fh = A.faces.shape[0]
    vn_head = render.vertex_normals(verts_head, A.faces)
    vcam = verts_head @ R.transpose(1, 2) + t[:, None]
    ncam = vn_head @ R.transpose(1, 2)
    tris, norms, texs, regs, objs, bidx, culls = [], [], [], [], [], [], []
    tri_head = vcam[:, A.faces].reshape(n * Fh, 3, 3)
    tris.append(tri_head)
    norms.append(ncam[:, A.faces].reshape(n * Fh, 3, 3))
    texs.append(A.template_corners.expand(n, Fh, 3, 3).reshape(n * Fh, 3, 3))
    regs.append(A.region_corners.expand(n, Fh, 3, 7).reshape(n * Fh, 3, 7))
    objs.append(torch.full((n * Fh,), ap.OBJ_HEAD, dtype=torch.long, device=dev))
    bidx.append(torch.arange(n, device=dev).repeat_interleave(Fh))
    culls.append(torch.ones(n * Fh, dtype=torch.bool, device=dev))
    vh_np = verts_head.detach().cpu().numpy()

    def add(v, f, obj, i, tex=None, nrm=None, cull=False):
        if len(f) == 0:
            return
        v = torch.as_tensor(np.asarray(v, np.float32), device=dev) if not torch.is_tensor(v) else v
        f = torch.as_tensor(np.asarray(f, np.int64), device=dev) if not torch.is_tensor(f) else f
        if nrm is None:
            nrm = render.vertex_normals(v[None], f)[0]
        vc = v @ R[i].T + t[i]
        tris.append(vc[f])
        norms.append((nrm @ R[i].T)[f])
        texs.append((v if tex is None else tex)[f])
        regs.append(torch.cat([torch.zeros(len(f), 3, 6, device=dev), torch.ones(len(f), 3, 1, device=dev)], -1))
        objs.append(torch.full((len(f),), obj, dtype=torch.long, device=dev))
        bidx.append(torch.full((len(f),), i, dtype=torch.long, device=dev))
        culls.append(torch.full((len(f),), cull, dtype=torch.bool, device=dev))

    for i, p in enumerate(P):
        o = p["occ"]
        sub = lambda k: np.random.default_rng([o["seed"], k])     # noqa: E731  one stream per occluder kind
        vh = vh_np[i]
        if o["hair"] is not None:
            shell, hf = _hair_shell(A, o["hair"], verts_head[i], vn_head[i])
            add(shell, hf, ap.OBJ_HAIR, i, tex=A.template, nrm=vn_head[i], cull=True)
            if o["hair"].get("long", 0) > 0:
                cv, cf = occ.hair_curtain(sub(1), o["hair"]["vol"], o["hair"]["long"], o["hair"]["z_cut"])
                add(cv, cf, ap.OBJ_HAIR, i)
        eyes = A.head.region_mask("eyes")
        if o["glasses"]:
            el = vh[eyes & (A.head.vertices[:, 0] > 0)]
            er = vh[eyes & (A.head.vertices[:, 0] < 0)]
            cl, cr = el.mean(0), er.mean(0)
            cl[2], cr[2] = el[:, 2].max(), er[:, 2].max()
            (gv, gf), lens = occ.glasses(sub(2), cl, cr, float(cl[1]))
            add(gv, gf, ap.OBJ_FRAME, i)
            if lens is not None:
                add(lens[0], lens[1], ap.OBJ_LENS, i)
        if o["hand"]:
            cand = A.front[(A.head.vertices[A.front, 1] < 20) & (A.head.vertices[A.front, 1] > -120)]
            rng = sub(3)
            j = cand[rng.integers(len(cand))]
            nrm = vn_head[i, j].cpu().numpy().astype(np.float64)
            hv, hf = occ.hand(rng, vh[j], nrm)
            add(hv, hf, ap.OBJ_HAND, i)
        if o["mic"]:
            mv, mf = occ.microphone(sub(4), vh[A.head.region_mask("lips")].mean(0))
            add(mv, mf, ap.OBJ_MIC, i)
        if o["strands"]:
            hl = o["hair"]["y_front"] if o["hair"] is not None else 80.0
            sv, sf = occ.strands(sub(5), vh, A.front, o["strands"], hl)
            add(sv, sf, ap.OBJ_STRAND, i)
        if o["torso"]:
            # the body does not follow head rotation: express it in the head frame of this sample
            pose = p["pose"]
            Rb = _rot(pose["yaw"] * 0.3, 0, 0)
            Rh = _rot(pose["yaw"], pose["pitch"], pose["roll"])
            tv, tf = occ.torso(sub(6))
            tv = tv @ Rb.T @ Rh        # body pose in camera-aligned head frame, mapped back into the head frame
            add(tv, tf, ap.OBJ_TORSO, i)
    return dict(tri=torch.cat(tris), normal=torch.cat(norms), tex=torch.cat(texs), reg=torch.cat(regs),
                obj=torch.cat(objs), batch=torch.cat(bidx), cull=torch.cat(culls), verts_cam=vcam)


def _light_frame(d: np.ndarray):
    """Rotation whose +z is d (direction of propagation)."""
    z = d / np.linalg.norm(d)
    a = np.array([0.0, 1.0, 0.0]) if abs(z[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(a, z)
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z])


def _shadows(S, P, pos, normal, bidx, centres, dev, res):
    """Key-light visibility (N,) in [0,1] of camera-space points pos (N,3) of samples bidx (N,) (shadow map of
    all scene triangles seen from the distant key light, 5-tap percentage-closer filtering)."""
    n = len(P)
    D = 20000.0
    Rl = torch.as_tensor(np.stack([_light_frame(-np.asarray(p["light"]["key_dir"])) for p in P]), dtype=torch.float32,
                         device=dev)
    off = torch.tensor([0, 0, D], device=dev)
    tri_l = torch.einsum("tij,tkj->tki", Rl[S["batch"]], S["tri"] - centres[S["batch"]][:, None]) + off
    f = res * D / 520.0
    Kl = torch.tensor([[f, 0, res / 2], [0, f, res / 2], [0, 0, 1]], device=dev).expand(n, 3, 3)
    _, _, dmap = render.rasterize_triangles(tri_l, S["batch"], Kl, n, (res, res), S["cull"])
    dmap = torch.where(dmap > 0, dmap, torch.full_like(dmap, 1e9))
    texel = 520.0 / res
    pos = pos + normal * (2.0 * texel)                      # normal-offset lookup: no self-shadowing acne
    pl = torch.einsum("nij,nj->ni", Rl[bidx], pos - centres[bidx]) + off
    uv = pl[:, :2] / pl[:, 2:3] * f + res / 2
    vis = torch.zeros(len(pos), device=dev)
    offs = [(0, 0), (0.7, 0.7), (-0.7, 0.7), (0.7, -0.7), (-0.7, -0.7)]
    for ox, oy in offs:
        u = (uv[:, 0] + ox).floor().long().clamp(0, res - 1)
        v = (uv[:, 1] + oy).floor().long().clamp(0, res - 1)
        vis += (pl[:, 2] <= dmap[bidx, v, u] + 1.0 * texel).float()
    return vis / len(offs)


def _pstack(P, group, key, dev):
    return torch.as_tensor(np.stack([np.asarray(p[group][key], np.float64) for p in P]), dtype=torch.float32,
                           device=dev)


def render_params(P: list[dict], K: np.ndarray, size: tuple[int, int], device="cpu", cfg: SynthConfig | None = None,
                  R: np.ndarray | None = None, t: np.ndarray | None = None) -> dict:
    """Render a batch from explicit parameter dicts (see sample_params). K (n,3,3); R,t (n,3,3),(n,3)."""
    cfg = cfg or SynthConfig()
    A = _assets(device)
    dev = A.device
    n = len(P)
    h, w = size
    coeff = np.stack([np.concatenate([p["identity"], p["arkit"], np.maximum(p["local"], 0),
                                      np.maximum(-p["local"], 0)]) for p in P])
    coeff_t = torch.as_tensor(coeff, dtype=torch.float32, device=dev)
    verts_head = A.template[None] + (coeff_t @ A.basis).view(n, -1, 3)
    Rt = torch.as_tensor(R, dtype=torch.float32, device=dev)
    tt = torch.as_tensor(t, dtype=torch.float32, device=dev)
    Kt = torch.as_tensor(K, dtype=torch.float32, device=dev)
    S = _scene(A, P, verts_head, Rt, tt)
    face, bary, zbuf = render.rasterize_triangles(S["tri"], S["batch"], Kt, n, size, S["cull"])
    hit = face >= 0
    fidx = face.clamp_min(0)
    obj = torch.where(hit, S["obj"][fidx], torch.full_like(face, ap.OBJ_BG))
    attr = torch.cat([S["normal"], S["tex"], S["reg"]], -1)
    pix = render.interpolate(attr, face, bary)
    is_head = obj == ap.OBJ_HEAD
    region = pix[..., 6:12].argmax(-1)          # channels 6..11 region weights, 12 cavity occlusion
    mask = is_head & (region != 5)
    ys, xs = torch.meshgrid(torch.arange(h, device=dev) + 0.5, torch.arange(w, device=dev) + 0.5, indexing="ij")
    # ---- shading only at covered pixels (flat arrays of N pixels)
    flat = torch.nonzero(hit.reshape(-1)).squeeze(1)
    bq = torch.div(flat, h * w, rounding_mode="floor")
    pq = pix.reshape(-1, pix.shape[-1])[flat]
    normal = F.normalize(pq[:, :3], dim=-1, eps=1e-9)
    tex, reg, cav = pq[:, 3:6], pq[:, 6:12], pq[:, 12]
    oq = obj.reshape(-1)[flat]
    zq = zbuf.reshape(-1)[flat]
    xq, yq = xs.reshape(-1)[flat % (h * w)], ys.reshape(-1)[flat % (h * w)]
    pos = torch.stack([(xq - Kt[bq, 0, 2]) / Kt[bq, 0, 0] * zq, (yq - Kt[bq, 1, 2]) / Kt[bq, 1, 1] * zq, zq], -1)
    normal = torch.where(((normal * pos).sum(-1, keepdim=True) > 0), -normal, normal)
    Pa = {k: _pstack(P, "app", k, dev)[bq] for k in P[0]["app"]}
    Pa.update({k: _pstack(P, "light", k, dev)[bq] for k in P[0]["light"]})
    Nq = len(flat)
    seeds = [p["occ"]["seed"] for p in P]
    cloth = torch.as_tensor(np.stack([np.random.default_rng(sd + 7).uniform(0.02, 0.6, 3) for sd in seeds]),
                            dtype=torch.float32, device=dev)
    frame_col = torch.as_tensor(np.stack([np.random.default_rng(sd + 3).uniform(0.01, 0.4, 3) ** 1.5 for sd in seeds]),
                                dtype=torch.float32, device=dev)
    alb = torch.zeros(Nq, 3, device=dev)
    spec = torch.full((Nq,), 0.05, device=dev)
    shin = torch.full((Nq,), 20.0, device=dev)

    def sub(*objs):
        sel = torch.zeros(Nq, dtype=torch.bool, device=dev)
        for ob in objs:
            sel |= oq == ob
        return torch.nonzero(sel).squeeze(1)

    sel = sub(ap.OBJ_HEAD)
    if len(sel):   # albedo is computed only where each material is visible
        a_h, s_h, sh_h = ap.head_albedo(tex[sel], reg[sel], {k: v[sel] for k, v in Pa.items()}, A.eye_l, A.eye_r)
        hp = torch.as_tensor(np.array([[o["hair"]["y_front"], o["hair"]["y_back"], o["hair"]["side_drop"], 1.0]
                                        if (o := p["occ"])["hair"] is not None else [0, 0, 0, 0.0] for p in P]),
                             dtype=torch.float32, device=dev)[bq[sel]]
        ears = torch.as_tensor([bool(p["occ"]["hair"] and p["occ"]["hair"]["ears"]) for p in P], device=dev)[bq[sel]]
        cs = tex[sel]
        above = hair_line(cs, hp)
        on_ear = (cs[:, 0].abs() > 62) & (cs[:, 1] > -35) & (cs[:, 1] < 30) & (cs[:, 2] > -25) & (cs[:, 2] < 40)
        above = torch.where(on_ear & ~ears, torch.full_like(above, -1e3), above)
        jag = ap.noise3(cs * cs.new_tensor([1.0, 0.15, 1.0]), 1.0, Pa["noff"][sel] + 0.21)[:, 0]
        hw = ap.smoothstep(-1.0, 5.0, above + 6 * (jag - 0.5))[:, None]
        hcol = ap.hair_albedo(cs, {k: Pa[k][sel] for k in ("hair_col", "noff")})
        alb[sel] = a_h * (1 - hw) + hcol * hw
        spec[sel], shin[sel] = s_h * (1 - hw[:, 0]) + 0.15 * hw[:, 0], sh_h
    sel = sub(ap.OBJ_HAIR, ap.OBJ_STRAND)
    if len(sel):
        hcol = ap.hair_albedo(tex[sel], {k: Pa[k][sel] for k in ("hair_col", "noff")})
        alb[sel] = hcol * torch.where(oq[sel] == ap.OBJ_STRAND, 1.2, 1.0)[:, None]
        spec[sel] = 0.15
    sel = sub(ap.OBJ_HAND)
    if len(sel):
        alb[sel] = Pa["skin"][sel] * (0.9 + 0.2 * ap.noise3(tex[sel], 8.0, Pa["noff"][sel])[:, :1])
    sel = sub(ap.OBJ_FRAME)
    alb[sel], spec[sel] = frame_col[bq[sel]], 0.8
    sel = sub(ap.OBJ_LENS)
    alb[sel], spec[sel], shin[sel] = 0.01, 0.8, 300.0
    sel = sub(ap.OBJ_MIC)
    if len(sel):
        alb[sel] = 0.03 * (1 + ap.noise3(tex[sel], 1.0, Pa["noff"][sel])[:, :1]).expand(-1, 3)
    sel = sub(ap.OBJ_TORSO)
    if len(sel):
        alb[sel] = cloth[bq[sel]] * (0.8 + 0.4 * ap.noise3(tex[sel], 30.0, Pa["noff"][sel])[:, :1])
    hq = oq == ap.OBJ_HEAD
    # ---- lighting
    centres = Rt @ torch.tensor([0.0, 0.0, 30.0], device=dev) + tt
    shadow = _shadows(S, P, pos, normal, bq, centres, dev, cfg.shadow_res)
    irr = ap.lights(normal, pos, Pa, shadow, cav)
    ao = 1 - 0.35 * (reg[:, 5] * hq)                                       # interior darker
    colq = alb * irr * ao[:, None] + ap.specular(normal, pos, Pa, spec, shin, shadow)
    col = torch.zeros(n * h * w, 3, device=dev).index_copy(0, flat, colq).view(n, h, w, 3)
    # ---- background + exposure on the face
    img = torch.empty(n, 3, h, w, device=dev)
    for i, p in enumerate(P):
        g = torch.Generator().manual_seed(p["sensor"]["bg_seed"])
        hb, wb = max(16, h // 2), max(16, w // 2)                  # drawn at half resolution (defocused anyway)
        bgi = ap.background(1, hb, wb, g, dev, torch.tensor([p["sensor"]["bg_kind"]]))
        bgi = ap.gaussian_blur(bgi, torch.tensor([p["sensor"]["bg_blur"][0]] , device=dev) / 2)
        img[i] = F.interpolate(bgi, size=(h, w), mode="bilinear", align_corners=False)[0]
    img = img ** 2.2                                                        # backgrounds are drawn in sRGB
    colc = col.permute(0, 3, 1, 2)
    img = torch.where(hit[:, None], colc, img)
    Ps = {k: _pstack(P, "sensor", k, dev) for k in ("wb", "exposure", "contrast", "blur", "mblur", "mang", "noise")}
    lum = (colc * torch.tensor([0.2126, 0.7152, 0.0722], device=dev)[:, None, None]).sum(1)
    m = mask
    med = torch.stack([lum[i][m[i]].median() if m[i].any() else lum[i].mean() for i in range(n)]).clamp_min(1e-3)
    target = Ps["exposure"][:, 0] ** 2.2
    img = img * (target / med)[:, None, None, None] * Ps["wb"][:, :, None, None]
    # ---- sensor: optics blur, motion blur, low resolution, noise, tone curve, JPEG
    img = ap.gaussian_blur(img, Ps["blur"][:, 0])
    if (Ps["mblur"] > 0).any():
        mb = ap.motion_blur(img, Ps["mblur"][:, 0], Ps["mang"][:, 0])
        img = torch.where((Ps["mblur"][:, 0] > 0)[:, None, None, None], mb, img)
    for i, p in enumerate(P):
        f = p["sensor"]["lowres"]
        if f > 1:
            small = F.interpolate(img[i:i + 1], scale_factor=1 / f, mode="area", recompute_scale_factor=False)
            img[i] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)[0]
    noise = torch.stack([torch.randn(3, h, w, generator=torch.Generator().manual_seed(p["sensor"]["noise_seed"]))
                         for p in P]).to(dev)
    sig = Ps["noise"][:, 0, None, None, None]
    img = img + noise * sig * (0.3 + img.clamp(0, 1).sqrt())
    img = ap.to_srgb(img)
    c = Ps["contrast"][:, 0, None, None, None]
    img = ((img - 0.5) * c + 0.5).clamp(0, 1)
    img = ap.jpeg(img, np.array([p["sensor"]["jpeg_q"] for p in P]), np.array([p["sensor"]["jpeg"] for p in P]))
    attached = hit & (obj != ap.OBJ_TORSO)
    return dict(image=img, zbuf=zbuf, attached=attached, mask=mask, canon_mm=pix[..., 3:6] * mask[..., None],
                verts_cam=S["verts_cam"], obj=obj, verts_head=verts_head)


def _pose_Rt(pose):
    R = HEAD_TO_CV @ _rot(pose["yaw"], pose["pitch"], pose["roll"])
    t = np.array([pose["tx"], pose["ty"], pose["z0"]])
    return R, t


def make_batch(cfg: SynthConfig, n: int, seed: int, split: str = "train", device="cpu") -> dict[str, torch.Tensor]:
    """n training crops, deterministic per (seed, split); sample i depends only on (seed, split, i)."""
    if split not in SPLITS:
        raise FaceCaptureError(f"unknown split {split!r}; use 'train' or 'eval'")
    if n < 1 or cfg.size < 16:
        raise FaceCaptureError(f"make_batch needs n >= 1 and size >= 16 (got n={n}, size={cfg.size})")
    A = _assets(torch.device(device))
    P = [sample_params(cfg, seed, split, i, A) for i in range(n)]
    with _cpu_threads(cfg.cpu_threads if A.device.type == "cpu" else 0):
        return _batch_from_params(cfg, P, A)


class _cpu_threads:
    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        self.old = torch.get_num_threads()
        if self.n > 0 and self.n != self.old:
            torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        if torch.get_num_threads() != self.old:
            torch.set_num_threads(self.old)


def _batch_from_params(cfg: SynthConfig, P: list[dict], A: _Assets) -> dict[str, torch.Tensor]:
    Rs, ts, Ks = [], [], []
    for p in P:
        R, t = _pose_Rt(p["pose"])
        Rs.append(R)
        ts.append(t)
        hs = head_size_ratio(A.head, p["identity"], p["local"]) if cfg.frame_by_head_size else 1.0
        Ks.append(crop_intrinsics(R, t, cfg.size, p["pose"]["scale"], p["pose"]["shift"], hs))
    R, t, K = np.stack(Rs), np.stack(ts), np.stack(Ks)
    out = render_params(P, K, (cfg.size, cfg.size), A.device, cfg, R, t)
    dev = A.device
    f32 = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=dev)   # noqa: E731
    z0 = f32(t[:, 2])[:, None, None]
    head = A.head
    depth = torch.where(out["attached"], (out["zbuf"] - z0) / head.canon_scale, torch.zeros_like(out["zbuf"]))
    canon = (out["canon_mm"] - f32(head.canon_center)) / head.canon_scale
    canon = canon * out["mask"][..., None]
    return dict(image=out["image"].float().contiguous(), depth=depth[:, None].contiguous(),
                canon=canon.permute(0, 3, 1, 2).contiguous(), mask=out["mask"][:, None].float(),
                K=f32(K), R=f32(R), t=f32(t), verts_cam=out["verts_cam"].contiguous(),
                arkit=f32(np.stack([p["arkit"] for p in P])), identity=f32(np.stack([p["identity"] for p in P])))


# ---------------------------------------------------------------- 4D sequences

def _smooth_noise(rng, T: int, fps: float, rate_hz: float, lo=-1.0, hi=1.0) -> np.ndarray:
    """Smooth random curve (T,) in [lo, hi]: random knots at rate_hz, cubic interpolation."""
    from scipy.interpolate import CubicSpline  # noqa: F811
    dur = T / fps
    m = max(4, int(math.ceil(dur * rate_hz)) + 3)
    kt = np.linspace(-1.0 / rate_hz, dur + 1.0 / rate_hz, m)
    kv = rng.uniform(lo, hi, m)
    return np.clip(CubicSpline(kt, kv)(np.arange(T) / fps), lo, hi)


def sequence_params(cfg: SynthConfig, frames: int, seed: int, fps: float = 25.0, split: str = "eval"):
    """One person, smooth pose and expression curves (talking, blinking, smiling, head turns)."""
    A = _assets(torch.device("cpu"))
    rng = np.random.default_rng([int(seed), SPLITS[split], 10 ** 6])
    base = sample_params(cfg, seed, split, 10 ** 6, A)
    base["occ"].update(hand=False, mic=False, strands=0)
    T = frames
    tt = np.arange(T) / fps
    names = A.head.arkit_names
    idx = {n: i for i, n in enumerate(names)}
    W = np.zeros((T, N_ARKIT))
    # talking: syllables ~4 Hz, phrases with pauses
    env = (_smooth_noise(rng, T, fps, 0.8, -0.3, 1.0) > 0).astype(float)
    env = uniform_filter1d(env, 5, mode="nearest")
    syl = 0.5 + 0.5 * np.sin(2 * np.pi * np.cumsum(np.full(T, rng.uniform(3.5, 5.0)) / fps) + rng.uniform(0, 6.28))
    jaw = env * syl ** 1.5 * rng.uniform(0.25, 0.5) + 0.02
    W[:, idx["jawOpen"]] = jaw
    W[:, idx["mouthLowerDownLeft"]] = W[:, idx["mouthLowerDownRight"]] = 0.5 * jaw
    for nme, amp in (("mouthFunnel", 0.35), ("mouthPucker", 0.35), ("mouthStretchLeft", 0.2), ("mouthClose", 0.15),
                     ("mouthRollLower", 0.2), ("mouthShrugUpper", 0.2)):
        W[:, idx[nme]] = env * np.clip(_smooth_noise(rng, T, fps, 3.0, -1, 1), 0, 1) * amp
    W[:, idx["mouthStretchRight"]] = W[:, idx["mouthStretchLeft"]]
    # smile episodes
    sm = np.clip(_smooth_noise(rng, T, fps, 0.6, -1.2, 1.0), 0, 1) * rng.uniform(0.5, 0.9)
    for nme, r in (("mouthSmileLeft", 1), ("mouthSmileRight", 1), ("cheekSquintLeft", .5), ("cheekSquintRight", .5),
                   ("eyeSquintLeft", .3), ("eyeSquintRight", .3)):
        W[:, idx[nme]] = np.maximum(W[:, idx[nme]], sm * r)
    br = np.clip(_smooth_noise(rng, T, fps, 1.0, -1.5, 1.0), 0, 1) * 0.6
    W[:, idx["browInnerUp"]] = br
    W[:, idx["browOuterUpLeft"]] = W[:, idx["browOuterUpRight"]] = 0.7 * br
    # blinks every 2-5 s, ~0.25 s long
    tb = rng.uniform(0.2, 1.5)
    while tb < tt[-1] + 1:
        d = np.abs(tt - tb) / 0.12
        W[:, idx["eyeBlinkLeft"]] = np.maximum(W[:, idx["eyeBlinkLeft"]], np.clip(1 - d, 0, 1) ** 0.7)
        tb += rng.uniform(1.5, 4.5)
    W[:, idx["eyeBlinkRight"]] = W[:, idx["eyeBlinkLeft"]]
    # gaze follows the head a little
    W = np.clip(W, 0, 1)
    yaw = _smooth_noise(rng, T, fps, 0.7, -1, 1) * rng.uniform(20, 50)
    pitch = _smooth_noise(rng, T, fps, 0.6, -1, 1) * rng.uniform(5, 15)
    roll = _smooth_noise(rng, T, fps, 0.5, -1, 1) * rng.uniform(3, 10)
    return base, W, np.stack([yaw, pitch, roll], 1)


def make_sequence(cfg: SynthConfig, frames: int, seed: int, width: int, height: int, fps: float = 25.0,
                  device="cpu", split: str = "eval") -> dict:
    """A smooth full-frame 4D sequence of one synthetic person with exact ground truth.

    Returns numpy arrays: image (T,H,W,3) uint8 RGB; depth (T,H,W) float32 camera z in mm (0 where no
    head-attached surface); canon (T,H,W,3) float32 canonical TEMPLATE position in mm (0 where mask is 0);
    mask (T,H,W) bool; K (3,3); R (T,3,3), t (T,3) head -> camera; verts_cam (T,V,3) deformed vertices mm;
    arkit (T,52); identity (40,); fps."""
    if frames < 1 or width < 16 or height < 16:
        raise FaceCaptureError(f"make_sequence needs frames >= 1 and a frame of at least 16x16 "
                               f"(got {frames}, {width}x{height})")
    base, W, pose = sequence_params(cfg, frames, seed, fps, split)
    rng = np.random.default_rng([int(seed), 77])
    frac = rng.uniform(0.6, 0.8)                   # crop side (260 mm) as a fraction of the frame height
    f = rng.uniform(0.9, 1.6) * max(width, height)
    z0 = f * CROP_SIDE_MM / (frac * height)
    K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]])
    drift = np.stack([_smooth_noise(rng, frames, fps, 0.3, -1, 1), _smooth_noise(rng, frames, fps, 0.3, -1, 1)], 1)
    out = {k: [] for k in ("image", "depth", "canon", "mask", "R", "t", "verts_cam")}
    chunk = 8
    for s in range(0, frames, chunk):
        P, Rs, ts = [], [], []
        for i in range(s, min(frames, s + chunk)):
            p = dict(base)
            p["arkit"] = W[i]
            p["pose"] = dict(base["pose"], yaw=pose[i, 0], pitch=pose[i, 1], roll=pose[i, 2], z0=z0,
                             tx=drift[i, 0] * 0.08 * z0, ty=drift[i, 1] * 0.05 * z0 + 0.03 * z0)
            p["sensor"] = dict(base["sensor"], noise_seed=int(base["sensor"]["noise_seed"]) + i, mblur=[0.0],
                               lowres=1.0)
            R, t = _pose_Rt(p["pose"])
            P.append(p)
            Rs.append(R)
            ts.append(t)
        with _cpu_threads(cfg.cpu_threads if torch.device(device).type == "cpu" else 0):
            r = render_params(P, np.repeat(K[None], len(P), 0), (height, width), device, cfg, np.stack(Rs),
                              np.stack(ts))
        out["image"].append((r["image"].permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8))
        out["depth"].append(torch.where(r["attached"], r["zbuf"], torch.zeros_like(r["zbuf"])).cpu().numpy())
        out["canon"].append(r["canon_mm"].cpu().numpy())
        out["mask"].append(r["mask"].cpu().numpy())
        out["R"].append(np.stack(Rs))
        out["t"].append(np.stack(ts))
        out["verts_cam"].append(r["verts_cam"].cpu().numpy())
    res = {k: np.concatenate(v).astype(np.float32) if k not in ("image", "mask") else np.concatenate(v)
           for k, v in out.items()}
    res.update(K=K.astype(np.float32), arkit=W.astype(np.float32), identity=base["identity"].astype(np.float32),
               fps=float(fps))
    return res


# ---------------------------------------------------------------- files, checks, CLI

def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp" + path.suffix)
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _save_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    def w(p):
        if not cv2.imwrite(str(p), np.ascontiguousarray(rgb[..., ::-1])):
            raise FaceCaptureError(f"could not write {p}")
    _atomic_write(path, w)


def _save_npz(path: Path, **arrays) -> None:
    def w(p):
        with open(p, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    _atomic_write(path, w)


def contact_sheet(images: np.ndarray, cols: int = 8) -> np.ndarray:
    """images (N,H,W,3) uint8 -> one grid image."""
    N, H, W, _ = images.shape
    rows = int(math.ceil(N / cols))
    sheet = np.zeros((rows * H, cols * W, 3), np.uint8)
    for i in range(N):
        r, c = divmod(i, cols)
        sheet[r * H:(r + 1) * H, c * W:(c + 1) * W] = images[i]
    return sheet


def write_samples(out: Path, cfg: SynthConfig, count: int, seed: int, split: str, device="cpu", chunk: int = 32):
    out.mkdir(parents=True, exist_ok=True)
    thumbs = []
    for s in range(0, count, chunk):
        n = min(chunk, count - s)
        b = _batch_range(cfg, s, n, seed, split, device)
        img = (b["image"].permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
        arr = {k: v.cpu().numpy() for k, v in b.items() if k != "image"}
        for j in range(n):
            i = s + j
            _save_png(out / f"sample_{i:05d}.png", img[j])
            _save_npz(out / f"sample_{i:05d}.npz", **{k: v[j] for k, v in arr.items()})
            if len(thumbs) < 64:
                thumbs.append(img[j])
    _save_png(out / "contact_sheet.png", contact_sheet(np.stack(thumbs)))
    (out / "synth_config.json").write_text(json.dumps(dict(asdict(cfg), count=count, seed=seed, split=split), indent=1))


def _batch_range(cfg, start, n, seed, split, device):
    """Samples start..start+n of the stream (sample i depends only on (seed, split, i))."""
    A = _assets(torch.device(device))
    P = [sample_params(cfg, seed, split, i, A) for i in range(start, start + n)]
    with _cpu_threads(cfg.cpu_threads if A.device.type == "cpu" else 0):
        return _batch_from_params(cfg, P, A)


def check_sample(arrays: dict, head: hm.HeadModel | None = None, tol_mm: float = 0.5) -> dict:
    """Re-verify ground truth of one written sample (make_batch layout, arrays without the batch axis).

    Unprojects depth with K and checks every masked pixel lies on the mesh (distance to the triangle that the
    canonical coordinate identifies is below tol_mm); canonical coordinates must lie on the template surface
    near the same barycentric point. Returns stats; raises FaceCaptureError on failure."""
    head = head or hm.load()
    K, R, t = arrays["K"], arrays["R"], arrays["t"]
    m = arrays["mask"][0] > 0.5
    if not m.any():
        return dict(pixels=0, max_mesh_err_mm=0.0, max_canon_err_mm=0.0)
    ys, xs = np.nonzero(m)
    z = arrays["depth"][0][m] * head.canon_scale + t[2]
    p = np.stack([(xs + 0.5 - K[0, 2]) / K[0, 0] * z, (ys + 0.5 - K[1, 2]) / K[1, 1] * z, z], 1)
    canon = head.to_mm(arrays["canon"][:, m].T)
    V = arrays["verts_cam"].astype(np.float64)
    # find, for every point, the mesh triangle it lies on (inside, nearest plane) and compare canon there
    tri = V[head.faces]                                              # (F, 3, 3)
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    nrm = np.cross(e1, e2)
    nlen = np.linalg.norm(nrm, axis=1)
    good = nlen > 1e-9
    tri, e1, e2, nrm, nlen = tri[good], e1[good], e2[good], nrm[good], nlen[good]
    ctri = head.vertices[head.faces[good]].astype(np.float64)
    d11, d12, d22 = (e1 * e1).sum(1), (e1 * e2).sum(1), (e2 * e2).sum(1)
    den = d11 * d22 - d12 ** 2
    mesh_err = np.full(len(p), np.inf)
    canon_err = np.full(len(p), np.inf)
    for s0 in range(0, len(p), 64):
        q = p[s0:s0 + 64, None] - tri[None, :, 0]                    # (B, F, 3)
        dist = np.abs((q * nrm).sum(-1)) / nlen
        q1, q2 = (q * e1).sum(-1), (q * e2).sum(-1)
        l1 = (d22 * q1 - d12 * q2) / den
        l2 = (d11 * q2 - d12 * q1) / den
        inside = (l1 >= -1e-4) & (l2 >= -1e-4) & (1 - l1 - l2 >= -1e-4)
        dd = np.where(inside, dist, np.inf)
        j = dd.argmin(1)
        r = np.arange(len(j))
        mesh_err[s0:s0 + 64] = dd[r, j]
        bc = np.stack([1 - l1[r, j] - l2[r, j], l1[r, j], l2[r, j]], 1)
        cpos = (bc[:, :, None] * ctri[j]).sum(1)
        canon_err[s0:s0 + 64] = np.linalg.norm(cpos - canon[s0:s0 + 64], axis=1)
    ok = np.isfinite(mesh_err)
    stats = dict(pixels=int(len(p)), matched=float(ok.mean()),
                 max_mesh_err_mm=float(np.nanmax(np.where(ok, mesh_err, np.nan))) if ok.any() else float("nan"),
                 max_canon_err_mm=float(np.nanmax(np.where(ok, canon_err, np.nan))) if ok.any() else float("nan"))
    if ok.mean() < 0.95 or stats["max_mesh_err_mm"] > tol_mm or stats["max_canon_err_mm"] > tol_mm:
        raise FaceCaptureError(f"ground-truth check failed: {stats}")
    return stats


def check_dir(out: Path, max_samples: int = 8, pixels: int = 400) -> list[dict]:
    files = sorted(out.glob("sample_*.npz"))
    if not files:
        raise FaceCaptureError(f"no sample_*.npz files in {out}; write some with --out {out} --count N")
    head = hm.load()
    rng = np.random.default_rng(0)
    res = []
    for fpath in files[:max_samples]:
        with np.load(fpath) as z:
            a = {k: z[k] for k in z.files}
        m = a["mask"][0] > 0.5
        idx = np.flatnonzero(m)
        if len(idx) > pixels:                       # check a random subset of pixels (speed)
            keep = np.zeros(m.size, bool)
            keep[rng.choice(idx, pixels, replace=False)] = True
            a["mask"] = keep.reshape(a["mask"].shape).astype(np.float32)
        st = check_sample(a, head)
        st["file"] = fpath.name
        res.append(st)
    return res


SAMPLE_CLIP_SEED = 14


def check_sequence(path: Path, max_frames: int = 4, pixels: int = 400) -> list[dict]:
    """Re-verify a written sequence.npz (depth in mm, canon in mm) frame by frame on sampled pixels."""
    if not path.is_file():
        raise FaceCaptureError(f"{path} not found; write a sequence with --out DIR --sequence FRAMES")
    head = hm.load()
    with np.load(path) as z:
        seq = {k: z[k] for k in z.files}
    rng = np.random.default_rng(0)
    T = len(seq["R"])
    res = []
    for i in np.linspace(0, T - 1, min(T, max_frames)).astype(int):
        m = seq["mask"][i]
        idx = np.flatnonzero(m)
        keep = np.zeros(m.size, bool)
        keep[rng.choice(idx, min(pixels, len(idx)), replace=False)] = True
        z0 = seq["t"][i, 2]
        arrays = dict(K=seq["K"], R=seq["R"][i], t=seq["t"][i], verts_cam=seq["verts_cam"][i],
                      mask=keep.reshape(m.shape)[None].astype(np.float32),
                      depth=np.where(m, (seq["depth"][i] - z0) / head.canon_scale, 0)[None],
                      canon=np.moveaxis(np.where(m[..., None], head.to_norm(seq["canon"][i]), 0), -1, 0))
        st = check_sample(arrays, head)
        st["frame"] = int(i)
        res.append(st)
    return res


def write_sample_clip(path: Path, seed: int = SAMPLE_CLIP_SEED, frames: int = 75, size: int = 384,
                      fps: int = 25) -> None:
    """The README demo clip: one synthetic person talking, blinking and turning (mp4v, ~3 s)."""
    import cv2
    cfg = SynthConfig(p_blur=0.0, p_motion_blur=0.0, p_jpeg=0.0, p_lowres=0.0, noise_max=0.01)
    seq = make_sequence(cfg, frames, seed, size, size, fps)
    path.parent.mkdir(parents=True, exist_ok=True)

    def w(p):
        vw = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size, size))
        if not vw.isOpened():
            raise FaceCaptureError(f"OpenCV cannot write video {p}")
        for im in seq["image"]:
            vw.write(np.ascontiguousarray(im[..., ::-1]))
        vw.release()
    _atomic_write(path, w)


def main(argv=None) -> int:
    apa = argparse.ArgumentParser(prog="python -m training.synth", description=__doc__.split("\n")[0])
    apa.add_argument("--out", type=Path, help="output folder for samples (PNG + .npz) and contact_sheet.png")
    apa.add_argument("--count", type=int, default=None, help="number of samples (default 64)")
    apa.add_argument("--seed", type=int, default=0)
    apa.add_argument("--size", type=int, default=128)
    apa.add_argument("--split", choices=sorted(SPLITS), default="train")
    apa.add_argument("--sequence", type=int, default=0, metavar="FRAMES",
                     help="write a full-frame 4D sequence of FRAMES frames instead of crops")
    apa.add_argument("--check", action="store_true", help="re-verify ground truth of what is in --out")
    apa.add_argument("--sample-clip", type=Path, default=None, help="render the README demo clip (mp4) to this path")
    apa.add_argument("--device", default="cpu")
    a = apa.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if a.sample_clip is not None:
            write_sample_clip(a.sample_clip, seed=a.seed or SAMPLE_CLIP_SEED)
            print(a.sample_clip)
            return 0
        if a.out is None:
            apa.error("--out is required (or --sample-clip)")
        cfg = SynthConfig(size=a.size)
        if a.sequence:
            seq = make_sequence(cfg, a.sequence, a.seed, a.size * 2, a.size * 2, split=a.split)
            a.out.mkdir(parents=True, exist_ok=True)
            for i, im in enumerate(seq["image"]):
                _save_png(a.out / f"frame_{i:05d}.png", im)
            _save_npz(a.out / "sequence.npz", **{k: v for k, v in seq.items() if k != "image"})
            _save_png(a.out / "contact_sheet.png", contact_sheet(seq["image"][:64]))
        elif a.count is not None or not a.check:
            write_samples(a.out, cfg, a.count or 64, a.seed, a.split, a.device)
        if a.check:
            for st in (check_sequence(a.out / "sequence.npz") if a.sequence else check_dir(a.out)):
                print(json.dumps(st))
            print("check: ok")
        print(a.out)
    except FaceCaptureError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
