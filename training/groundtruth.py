"""Ground-truth sequences straight from the head model, to measure the bake apart from the network.

A sequence has a random identity (coefficients ~ N(0, identity_std)), smooth sparse ARKit trajectories in [0, 1],
a smooth head pose in front of a pinhole camera, and per frame the network output a perfect model would give for a
square crop around the head: the mesh is rasterised (``core.mesh_render.rasterize`` gives the triangle and
barycentrics per pixel), the canonical map is the template interpolated with the same barycentrics, the depth map is
``(z - z_origin) / canon_scale`` along the crop's axis (core.types) and the mask covers the face regions (skin, lips,
brows, eyes). Noise on depth and canonical coordinates and outlier pixels can be added for robustness tests.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.spatial.transform import Rotation

from core.head_model import HEAD_TO_CV, N_ARKIT, HeadModel
from core.mesh_render import rasterize
from core.points import intrinsics
from core.types import CropBox, FramePrediction

FACE_REGIONS = ("skin", "lips", "brows", "eyes")


@dataclass(frozen=True, eq=False)
class GTSequence:
    identity: np.ndarray       # (40,)
    weights: np.ndarray        # (T, 52)
    rotation: np.ndarray       # (T, 3, 3) head -> camera
    translation: np.ndarray    # (T, 3) mm
    K: np.ndarray
    size: tuple                # (width, height)
    verts_cam: np.ndarray      # (T, V, 3) float32 camera-space vertices


def arkit_trajectories(T: int, rng: np.random.Generator, active: float = 0.35, smooth: float = 4.0,
                       neutral_frames: int = 10) -> np.ndarray:
    """Smooth sparse ARKit weights (T, 52) in [0, 1]; the first ``neutral_frames`` frames are neutral."""
    noise = gaussian_filter1d(rng.normal(size=(T + 40, N_ARKIT)), smooth, axis=0, mode="wrap")[20:T + 20]
    noise /= noise.std(0, keepdims=True) + 1e-9
    on = rng.random(N_ARKIT) < active
    w = np.clip((noise - 0.6) * rng.uniform(0.4, 0.9, N_ARKIT), 0, 1) * on
    ramp = np.clip((np.arange(T) - neutral_frames) / 8.0, 0, 1)[:, None]
    return w * ramp


def pose_trajectory(T: int, rng: np.random.Generator, yaw=30.0, pitch=15.0, roll=8.0, dist=600.0):
    """Smooth head rotations (T, 3, 3) and translations (T, 3) of the head origin in camera space."""
    def smooth(n, amp):
        x = gaussian_filter1d(rng.normal(size=(T + 60, n)), 10.0, axis=0, mode="wrap")[30:T + 30]
        return x / (np.abs(x).max(0, keepdims=True) + 1e-9) * amp
    ang = smooth(3, np.array([pitch, yaw, roll]))
    R = Rotation.from_euler("xyz", ang, degrees=True).as_matrix() @ HEAD_TO_CV   # head axes -> camera
    t = np.column_stack([smooth(2, np.array([40.0, 30.0])), dist + smooth(1, np.array([60.0]))])
    return R, t


def make_sequence(head: HeadModel, T: int, seed: int = 0, width: int = 640, height: int = 480,
                  focal_px: float | None = None, id_scale: float = 1.0, **pose) -> GTSequence:
    rng = np.random.default_rng(seed)
    identity = rng.normal(size=len(head.identity_std)) * head.identity_std * id_scale
    w = arkit_trajectories(T, rng)
    R, t = pose_trajectory(T, rng, **pose)
    verts = head.shape(identity[None], w)                          # (T, V, 3) head frame
    cam = np.einsum("tij,tvj->tvi", R, verts) + t[:, None]
    return GTSequence(identity, w, R, t, intrinsics(width, height, focal_px), (width, height), cam.astype(np.float32))


def crop_box(verts_cam: np.ndarray, K: np.ndarray, margin: float = 1.25) -> CropBox:
    uv = verts_cam[:, :2] / verts_cam[:, 2:3] * np.diag(K)[:2] + K[:2, 2]
    lo, hi = uv.min(0), uv.max(0)
    c, side = (lo + hi) / 2, (hi - lo).max() * margin
    return CropBox(float(c[0] - side / 2), float(c[1] - side / 2), float(side))


def render_prediction(head: HeadModel, verts_cam: np.ndarray, origin_cam: np.ndarray, K: np.ndarray, S: int = 192,
                      rng: np.random.Generator | None = None, depth_noise_mm: float = 0.0,
                      canon_noise_mm: float = 0.0, outlier_frac: float = 0.0, conf: float = 10.0,
                      box: CropBox | None = None) -> tuple[FramePrediction, CropBox]:
    """The perfect network output for one frame (optionally noisy) in ``box`` (default: around the head) and
    that box."""
    box = crop_box(verts_cam, K) if box is None else box
    R, Kc = box.crop_camera(K, S)                                       # a turned box: the camera rolled to it
    seen = verts_cam @ R.T.astype(verts_cam.dtype) if box.angle else verts_cam
    fid, bary, _ = rasterize(seen, head.faces, Kc, (S, S))
    hit = fid >= 0
    face_v = head.faces[np.where(hit, fid, 0)]                           # (S, S, 3)
    canon = (head.vertices[face_v] * bary[..., None]).sum(-2)
    vis = head.region_mask(*FACE_REGIONS)[face_v].all(-1) & hit
    rng = rng or np.random.default_rng(0)
    axis = box.view_axis(K)                                              # depth along the crop's axis (core.types)
    seen_at = (verts_cam[face_v].astype(np.float64) * bary[..., None]).sum(-2)      # (S, S, 3) camera mm
    d = (seen_at @ axis - np.asarray(origin_cam, np.float64) @ axis) / head.canon_scale
    if depth_noise_mm:
        d = d + rng.normal(0, depth_noise_mm / head.canon_scale, d.shape)
    if canon_noise_mm:
        canon = canon + rng.normal(0, canon_noise_mm, canon.shape)
    if outlier_frac:
        bad = vis & (rng.random(vis.shape) < outlier_frac)
        canon[bad] += rng.normal(0, 30.0, (bad.sum(), 3))
        d[bad] += rng.normal(0, 30.0 / head.canon_scale, bad.sum())
    cn = head.to_norm(canon).astype(np.float32)
    one = np.full((S, S), conf, np.float32)
    pred = FramePrediction(depth=np.where(vis, d, 0).astype(np.float32), depth_conf=one, canon=cn, canon_conf=one,
                           mask=vis.astype(np.float32))
    return pred, box
