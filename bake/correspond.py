"""Template vertex positions per frame by canonical lookup.

For each template vertex, the frame's points whose canonical coordinate lies within ``radius`` mm of the vertex's
canonical coordinate (its template position) are found with a KD-tree over the frame's canonical coordinates
(``scipy.spatial.cKDTree``, k nearest within the radius). Their camera positions are combined by a weighted local
affine fit ``cam ~ b + A (canon - canon_v)`` (weights: point weight x Gaussian of the canonical distance, one robust
re-weighting round against mixed surfaces such as touching lips); ``b`` is the vertex's camera position, unbiased where
the points do not surround the vertex (silhouettes, mask borders), unlike a plain mean.

Per vertex the output also holds ``ray``, the same fit applied to the points' unprojection directions (z = 1), so the
bake can move a frame's anchor depth by ``dz``: ``position(z0 + dz) = position + dz * ray``.
Confidence: the summed weights / ``k``, times a penalty when the neighbours lie off to one side of the vertex; 0 where
unobserved (fewer than ``min_neighbors`` points, or a vertex outside ``vertex_mask``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from core.head_model import HeadModel
from core.types import PointCloud

OBSERVED_REGIONS = ("skin", "lips", "brows", "eyes")


@dataclass(frozen=True, eq=False)
class VertexObservation:
    frame: int
    position: np.ndarray     # (V, 3) float32 camera mm (0 where unobserved)
    ray: np.ndarray          # (V, 3) float32 d position / d z_origin
    confidence: np.ndarray   # (V,) float32 >= 0


def default_vertex_mask(head: HeadModel) -> np.ndarray:
    return head.region_mask(*OBSERVED_REGIONS)


def correspond(cloud: PointCloud, head: HeadModel, radius: float = 4.0, k: int = 16, min_neighbors: int = 6,
               vertex_mask: np.ndarray | None = None, robust_mm: float = 2.0) -> VertexObservation:
    V = head.n_vertices
    vmask = default_vertex_mask(head) if vertex_mask is None else vertex_mask
    vid = np.nonzero(vmask)[0]
    canon = np.asarray(cloud.canon, np.float64)
    n = len(canon)
    pos = np.zeros((V, 3), np.float32)
    ray_out = np.zeros((V, 3), np.float32)
    conf = np.zeros(V, np.float32)
    if n < min_neighbors:
        return VertexObservation(cloud.frame, pos, ray_out, conf)
    tree = cKDTree(canon)
    cv = head.vertices[vid].astype(np.float64)
    dist, idx = tree.query(cv, k=min(k, n), distance_upper_bound=radius)
    if dist.ndim == 1:
        dist, idx = dist[:, None], idx[:, None]
    found = idx < n
    idx = np.where(found, idx, 0)
    sigma = radius / 2
    w = np.where(found, np.asarray(cloud.weight, np.float64)[idx] * np.exp(-0.5 * (np.where(found, dist, 0) / sigma) ** 2), 0)
    dc = canon[idx] - cv[:, None]                                            # (Vm, k, 3)
    ray = getattr(cloud, "ray", None)
    cam = np.asarray(cloud.cam_xyz, np.float64)[idx]
    if ray is None:
        ray = cloud.cam_xyz / np.maximum(cloud.cam_xyz[:, 2:3], 1e-6)
    rays = np.asarray(ray, np.float64)[idx]
    rhs = np.concatenate([cam, rays], -1)                                    # (Vm, k, 6)
    ridge = np.eye(3) * (0.05 * sigma ** 2)

    def fit(wt):
        """Weighted affine fit per vertex; returns (b (Vm, 6), A (Vm, 3, 6)) with rhs ~ b + dc @ A."""
        sw = np.maximum(wt.sum(1), 1e-12)[:, None]
        m = (wt[..., None] * dc).sum(1) / sw                               # weighted mean offset
        ybar = (wt[..., None] * rhs).sum(1) / sw
        d = dc - m[:, None]
        dw = (d * wt[..., None]).transpose(0, 2, 1)
        cov = dw @ d + ridge * sw[:, :, None]
        A = _inv3(cov) @ (dw @ (rhs - ybar[:, None]))
        return ybar - (m[:, None, :] @ A)[:, 0], A

    b, A = fit(w)
    resid = np.linalg.norm(cam - b[:, None, :3] - dc @ A[:, :, :3], axis=-1)
    w = w / (1 + (resid / robust_mm) ** 2)
    b, _ = fit(w)
    sol = b[:, None, :]
    cnt = found.sum(1)
    sw = w.sum(1)
    off = np.linalg.norm((w[..., None] * dc).sum(1) / np.maximum(sw, 1e-12)[:, None], axis=1)
    c = sw / k * np.exp(-(off / (0.5 * radius)) ** 2)
    ok = (cnt >= min_neighbors) & np.isfinite(sol).all((1, 2)) & (sw > 0)
    pos[vid[ok]] = sol[ok, 0, :3]
    ray_out[vid[ok]] = sol[ok, 0, 3:]
    conf[vid[ok]] = c[ok]
    return VertexObservation(cloud.frame, pos, ray_out, conf)


def _inv3(m: np.ndarray) -> np.ndarray:
    """Inverse of a stack of 3x3 matrices by the adjugate (much faster than np.linalg for many small systems)."""
    a, b, c = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    d, e, f = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    g, h, i = m[:, 2, 0], m[:, 2, 1], m[:, 2, 2]
    co = np.stack([e * i - f * h, c * h - b * i, b * f - c * e,
                   f * g - d * i, a * i - c * g, c * d - a * f,
                   d * h - e * g, b * g - a * h, a * e - b * d], 1).reshape(-1, 3, 3)
    det = a * co[:, 0, 0] + b * co[:, 1, 0] + c * co[:, 2, 0]
    return co / np.where(np.abs(det) < 1e-30, 1e-30, det)[:, None, None]


def stack(observations: list[VertexObservation | None], V: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, V, 3) positions, (T, V, 3) rays, (T, V) confidences; a missing frame (None) has confidence 0."""
    T = len(observations)
    P = np.zeros((T, V, 3), np.float32)
    Rr = np.zeros((T, V, 3), np.float32)
    C = np.zeros((T, V), np.float32)
    for i, o in enumerate(observations):
        if o is not None:
            P[i], Rr[i], C[i] = o.position, o.ray, o.confidence
    return P, Rr, C
