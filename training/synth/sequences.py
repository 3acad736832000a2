"""4D sequences: one synthetic person with smooth pose and expression curves (talking, blinking, smiling, turning)
rendered as full frames with exact ground truth."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch
from scipy.ndimage import uniform_filter1d

from core.errors import FaceCaptureError
from core.framing import CROP_SIDE_MM
from core.head_model import N_ARKIT

from .assets import _assets
from .batch import _cpu_threads, _pose_Rt
from .config import SPLITS, SynthConfig
from .sampling import sample_params
from .shading import render_params

def _smooth_noise(rng, T: int, fps: float, rate_hz: float, lo=-1.0, hi=1.0) -> np.ndarray:
    """Smooth random curve (T,) in [lo, hi]: random knots at rate_hz, cubic interpolation."""
    from scipy.interpolate import CubicSpline  # noqa: F811
    dur = T / fps
    m = max(4, int(math.ceil(dur * rate_hz)) + 3)
    kt = np.linspace(-1.0 / rate_hz, dur + 1.0 / rate_hz, m)
    kv = rng.uniform(lo, hi, m)
    return np.clip(CubicSpline(kt, kv)(np.arange(T) / fps), lo, hi)


def _gaze(rng, T: int, fps: float) -> np.ndarray:
    """(T, 2) gaze as eyes move: horizontal (+ towards the subject's left) and vertical (+ up) in ARKit weights,
    fixations of 0.3-1.5 s joined by saccades of about 60 ms; each fixation looks up to 0.7 sideways, 0.5 down or
    0.3 up (anny's eyeLookOut 1 turns the iris about 5.6 mm, 30 degrees)."""
    knots_t, knots = [0.0], [np.array([rng.uniform(-0.7, 0.7), rng.uniform(-0.5, 0.3)])]
    t = rng.uniform(0.3, 1.5)
    while t < T / fps:
        knots_t += [t, t + 0.06]
        knots += [knots[-1], np.array([rng.uniform(-0.7, 0.7), rng.uniform(-0.5, 0.3)])]
        t += 0.06 + rng.uniform(0.3, 1.5)
    tt, k = np.arange(T) / fps, np.array(knots)
    return np.stack([np.interp(tt, knots_t, k[:, 0]), np.interp(tt, knots_t, k[:, 1])], 1)


TURN_HOLD = 0.6       # of a one-way turn's clip ("away", "toward"), the share over which the head turns


def _turn_curve(T: int, path: str) -> np.ndarray:
    """(T,) share of the turn per frame for ``sequence_params``' ``turn_path``."""
    t = np.arange(T) / max(1, T - 1)
    if path == "back":
        return np.sin(np.pi * t) ** 2
    if path not in ("away", "toward"):
        raise FaceCaptureError(f"turn_path is 'back', 'away' or 'toward', not {path!r}")
    away = np.sin(0.5 * np.pi * np.clip(t / TURN_HOLD, 0.0, 1.0)) ** 2
    return away if path == "away" else away[::-1]


def sequence_params(cfg: SynthConfig, frames: int, seed: int, fps: float = 25.0, split: str = "eval",
                    gaze: bool = False, turn: float | None = None, turn_path: str = "back"):
    """One person, smooth pose and expression curves (talking, blinking, smiling, head turns); with ``gaze`` the
    eyes also look about (``_gaze``, from a random stream of its own: every other curve stays as without it); with
    ``turn`` (degrees) the head turns to that yaw instead of its random yaw (a turn to a profile), every other curve
    as without it: ``turn_path`` "back" turns there and back over the clip (sin^2 of its time), "away" turns there
    over its first ``TURN_HOLD`` and stays (a clip that ends turned away), "toward" is "away" backwards (a clip that
    starts turned away)."""
    A = _assets(torch.device("cpu"))
    rng = np.random.default_rng([int(seed), SPLITS[split], 10 ** 6])
    base = sample_params(cfg, seed, split, 10 ** 6, A)
    base = replace(base, occ=replace(base.occ, hand=False, mic=False, strands=0))
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
    if gaze:
        g = _gaze(np.random.default_rng([int(seed), SPLITS[split], 10 ** 6, 1]), T, fps)
        side, up = g[:, 0], g[:, 1]
        for nme, w in (("eyeLookOutLeft", side), ("eyeLookInRight", side), ("eyeLookInLeft", -side),
                       ("eyeLookOutRight", -side), ("eyeLookUpLeft", up), ("eyeLookUpRight", up),
                       ("eyeLookDownLeft", -up), ("eyeLookDownRight", -up)):
            W[:, idx[nme]] = np.maximum(w, 0)
    W = np.clip(W, 0, 1)
    yaw = _smooth_noise(rng, T, fps, 0.7, -1, 1) * rng.uniform(20, 50)
    if turn is not None:
        yaw = float(turn) * _turn_curve(T, turn_path)
    pitch = _smooth_noise(rng, T, fps, 0.6, -1, 1) * rng.uniform(5, 15)
    roll = _smooth_noise(rng, T, fps, 0.5, -1, 1) * rng.uniform(3, 10)
    return base, W, np.stack([yaw, pitch, roll], 1)


def make_sequence(cfg: SynthConfig, frames: int, seed: int, width: int, height: int, fps: float = 25.0,
                  device="cpu", split: str = "eval", gaze: bool = False, turn: float | None = None,
                  turn_path: str = "back") -> dict:
    """A smooth full-frame 4D sequence of one synthetic person with exact ground truth.

    Returns numpy arrays: image (T,H,W,3) uint8 RGB; depth (T,H,W) float32 camera z in mm (0 where no
    head-attached surface); canon (T,H,W,3) float32 canonical TEMPLATE position in mm (0 where mask is 0);
    mask (T,H,W) bool; K (3,3); R (T,3,3), t (T,3) head -> camera; verts_cam (T,V,3) deformed vertices mm;
    arkit (T,52); identity (40,); fps. ``gaze``: the eyes look about too; ``turn``: the head turns to that yaw and
    back, or one way (``turn_path``; ``sequence_params``)."""
    if frames < 1 or width < 16 or height < 16:
        raise FaceCaptureError(f"make_sequence needs frames >= 1 and a frame of at least 16x16 "
                               f"(got {frames}, {width}x{height})")
    base, W, pose = sequence_params(cfg, frames, seed, fps, split, gaze, turn, turn_path)
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
            p = replace(base, arkit=W[i],
                        pose=replace(base.pose, yaw=pose[i, 0], pitch=pose[i, 1], roll=pose[i, 2], z0=z0,
                                     tx=drift[i, 0] * 0.08 * z0, ty=drift[i, 1] * 0.05 * z0 + 0.03 * z0),
                        sensor=replace(base.sensor, noise_seed=int(base.sensor.noise_seed) + i, mblur=[0.0],
                                       lowres=1.0))
            R, t = _pose_Rt(p.pose)
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
    res.update(K=K.astype(np.float32), arkit=W.astype(np.float32), identity=base.identity.astype(np.float32),
               fps=float(fps))
    return res
