"""Training crops: ``make_batch`` renders n samples framed as the network sees them (see the package docstring)."""
from __future__ import annotations

import numpy as np
import torch

from core.errors import FaceCaptureError
from core.head_model import HEAD_TO_CV
from core.types import axis_through

from .assets import _Assets, _assets
from .config import SPLITS, SynthConfig
from .params import Pose, SampleParams
from .sampling import _rot, crop_intrinsics, head_size_ratio, sample_params
from .shading import render_params

def _pose_Rt(pose: Pose):
    R = HEAD_TO_CV @ _rot(pose.yaw, pose.pitch, pose.roll)
    t = np.array([pose.tx, pose.ty, pose.z0])
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


def axis_scale(K: np.ndarray, axis: np.ndarray, width: int, height: int) -> np.ndarray:
    """(n, height, width) per pixel centre, the depth along ``axis`` (n, 3) of the point at camera depth 1 seen there
    (intrinsics ``K`` (n, 3, 3)): the pixel's ray (z = 1) dotted with the axis. A map of camera depths times it is
    the depths along the axis (core.types' depth parametrisation)."""
    x = (np.arange(width)[None, None, :] + 0.5 - K[:, 0, 2, None, None]) / K[:, 0, 0, None, None]
    y = (np.arange(height)[None, :, None] + 0.5 - K[:, 1, 2, None, None]) / K[:, 1, 1, None, None]
    return x * axis[:, 0, None, None] + y * axis[:, 1, None, None] + axis[:, 2, None, None]


def _batch_from_params(cfg: SynthConfig, P: list[SampleParams], A: _Assets) -> dict[str, torch.Tensor]:
    Rs, ts, Ks = [], [], []
    for p in P:
        R, t = _pose_Rt(p.pose)
        Rs.append(R)
        ts.append(t)
        hs = head_size_ratio(A.head, p.identity, p.local) if cfg.frame_by_head_size else 1.0
        Ks.append(crop_intrinsics(R, t, cfg.size, p.pose.scale, p.pose.shift, hs))
    R, t, K = np.stack(Rs), np.stack(ts), np.stack(Ks)
    out = render_params(P, K, (cfg.size, cfg.size), A.device, cfg, R, t)
    dev = A.device
    f32 = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=dev)   # noqa: E731
    head = A.head
    axis = np.stack([axis_through(k, (cfg.size / 2, cfg.size / 2)) for k in K])    # the crop's axis (core.types)
    z0 = f32((t * axis).sum(1))[:, None, None]                       # the head origin's depth along it
    along = f32(axis_scale(K, axis, cfg.size, cfg.size))             # (n, S, S) a pixel's depth along it per unit z
    depth = torch.where(out["attached"], (out["zbuf"] * along - z0) / head.canon_scale, torch.zeros_like(out["zbuf"]))
    canon = (out["canon_mm"] - f32(head.canon_center)) / head.canon_scale
    canon = canon * out["mask"][..., None]
    return dict(image=out["image"].float().contiguous(), depth=depth[:, None].contiguous(),
                canon=canon.permute(0, 3, 1, 2).contiguous(), mask=out["mask"][:, None].float(),
                K=f32(K), R=f32(R), t=f32(t), verts_cam=out["verts_cam"].contiguous(),
                arkit=f32(np.stack([p.arkit for p in P])), identity=f32(np.stack([p.identity for p in P])))
