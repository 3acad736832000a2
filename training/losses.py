"""Training losses: confidence-weighted regression (DUSt3R-style), scale-aware depth, gradients, mask BCE.

Every loss returns (scalar, details) where details holds floats for logging.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def conf_weighted(err: torch.Tensor, conf: torch.Tensor, w: torch.Tensor, alpha: float) -> torch.Tensor:
    """sum(w * (conf * err - alpha * log conf)) / sum(w): confident pixels pay more for errors."""
    return (w * (conf * err - alpha * torch.log(conf))).sum() / w.sum().clamp_min(1.0)


def _grad(x: torch.Tensor):
    return x[:, :, 1:] - x[:, :, :-1], x[:, 1:, :] - x[:, :-1, :]


def depth_terms(pred: torch.Tensor, gt: torch.Tensor, w: torch.Tensor):
    """Scale-aware depth: absolute error (relative to the head origin, so metric after the anchor), a
    shift-invariant term (error after removing each sample's median offset), and gradient matching."""
    absolute = (pred - gt).abs()
    n = w.sum((1, 2)).clamp_min(1.0)
    offset = ((pred - gt) * w).sum((1, 2)) / n
    shift_inv = (pred - gt - offset[:, None, None]).abs()
    gx_p, gy_p = _grad(pred)
    gx_g, gy_g = _grad(gt)
    wx, wy = w[:, :, 1:] * w[:, :, :-1], w[:, 1:, :] * w[:, :-1, :]
    grad = ((gx_p - gx_g).abs() * wx).sum() / wx.sum().clamp_min(1) + ((gy_p - gy_g).abs() * wy).sum() / wy.sum().clamp_min(1)
    return absolute, shift_inv, grad


def total_loss(out: dict, batch: dict, alpha: float = 0.2, weights: dict | None = None):
    """out: network outputs (training/model.py); batch: training.synth.make_batch dict."""
    wts = dict(depth=1.0, depth_si=0.5, depth_grad=1.0, canon=2.0, canon_grad=0.5, mask=0.5)
    wts.update(weights or {})
    m = batch["mask"][:, 0]
    absolute, shift_inv, grad = depth_terms(out["depth"], batch["depth"][:, 0], m)
    l_depth = conf_weighted(absolute, out["depth_conf"], m, alpha)
    l_depth_si = (shift_inv * m).sum() / m.sum().clamp_min(1)
    canon_gt = batch["canon"].permute(0, 2, 3, 1)
    cerr = (out["canon"] - canon_gt).norm(dim=-1)
    l_canon = conf_weighted(cerr, out["canon_conf"], m, alpha)
    cgx = (out["canon"][:, :, 1:] - out["canon"][:, :, :-1]) - (canon_gt[:, :, 1:] - canon_gt[:, :, :-1])
    cgy = (out["canon"][:, 1:] - out["canon"][:, :-1]) - (canon_gt[:, 1:] - canon_gt[:, :-1])
    wx, wy = (m[:, :, 1:] * m[:, :, :-1])[..., None], (m[:, 1:] * m[:, :-1])[..., None]
    l_canon_grad = (cgx.abs() * wx).sum() / wx.sum().clamp_min(1) + (cgy.abs() * wy).sum() / wy.sum().clamp_min(1)
    l_mask = F.binary_cross_entropy(out["mask"].clamp(1e-5, 1 - 1e-5), m)
    terms = dict(depth=l_depth, depth_si=l_depth_si, depth_grad=grad, canon=l_canon, canon_grad=l_canon_grad,
                 mask=l_mask)
    loss = sum(wts[k] * v for k, v in terms.items())
    details = {k: float(v.detach()) for k, v in terms.items()}
    with torch.no_grad():
        n = m.sum().clamp_min(1)
        details["canon_err"] = float((cerr * m).sum() / n)           # normalised units (x canon_scale = mm)
        details["depth_err"] = float((absolute * m).sum() / n)
    return loss, details
