"""Exact, batched z-buffer triangle rasteriser in PyTorch (same code on CPU and CUDA).

Camera convention (as core/mesh_render): OpenCV pinhole, x right, y down, z forward, a point projects to
``(fx * x / z + cx, fy * y / z + cy)`` and pixel (i, j) is sampled at its centre (j + 0.5, i + 0.5).

The core is :func:`rasterize_triangles`, which takes a flat list of triangles (each tagged with the batch
sample it belongs to), so every sample may hold a different scene (head + hair + occluders). For each pixel it
returns the nearest triangle, perspective-correct barycentrics and camera z. Nothing is approximated: the depth
of a covered pixel is the exact camera z of the triangle plane along that pixel's ray, and any per-vertex
attribute interpolated with the barycentrics is the exact attribute of that ray's surface point.

:func:`render_head` renders a batch of deformed heads and returns the ground-truth maps used for training:
depth (mm), the canonical map (TEMPLATE vertex positions interpolated with the barycentrics of the DEFORMED
mesh), masks and the template vertices in camera space.
"""
from __future__ import annotations

import torch

# Outward (anny) winding appears clockwise on screen (y down): the signed area below is negative for front faces.


def project(points: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """points (..., 3) camera space, K (..., 3, 3) broadcastable -> pixels (..., 2)."""
    z = points[..., 2:3].clamp_min(1e-6)
    f = torch.stack([K[..., 0, 0], K[..., 1, 1]], -1)
    c = torch.stack([K[..., 0, 2], K[..., 1, 2]], -1)
    return points[..., :2] / z * f + c


def rasterize_triangles(tri: torch.Tensor, batch: torch.Tensor, K: torch.Tensor, n: int, size: tuple[int, int],
                        cull: torch.Tensor | None = None, max_pairs: int = 40_000_000):
    """Z-buffer a flat triangle list.

    tri (T, 3, 3) camera-space corners; batch (T,) long sample index of each triangle; K (n, 3, 3);
    cull (T,) bool: True -> drop the triangle when it faces away (clockwise on screen is front), None -> cull all.
    Returns face (n, h, w) long index into ``tri`` (-1 empty), bary (n, h, w, 3) perspective-correct,
    depth (n, h, w) camera z (0 empty).
    """
    h, w = size
    dev = tri.device
    face = torch.full((n * h * w,), -1, dtype=torch.long, device=dev)
    bary = torch.zeros((n * h * w, 3), dtype=tri.dtype, device=dev)
    depth = torch.zeros((n * h * w,), dtype=tri.dtype, device=dev)
    if tri.shape[0] == 0:
        return face.view(n, h, w), bary.view(n, h, w, 3), depth.view(n, h, w)
    Kt = K[batch]                                                   # (T, 3, 3)
    z = tri[..., 2]
    px = project(tri, Kt[:, None])                                  # (T, 3, 2)
    e1, e2 = px[:, 1] - px[:, 0], px[:, 2] - px[:, 0]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = (z.min(1).values > 1e-3) & (area.abs() > 1e-12)
    front = area < 0
    ok &= front if cull is None else (front | ~cull)
    lo = torch.floor(px.min(1).values - 0.5)
    hi = torch.ceil(px.max(1).values - 0.5)
    lim = torch.tensor([w - 1, h - 1], dtype=tri.dtype, device=dev)
    lo = torch.maximum(lo, torch.zeros_like(lo)).long()
    hi = torch.minimum(hi, lim).long()
    bw, bh = hi[:, 0] - lo[:, 0] + 1, hi[:, 1] - lo[:, 1] + 1
    ok &= (bw > 0) & (bh > 0)
    tid = torch.nonzero(ok).squeeze(1)
    if tid.numel() == 0:
        return face.view(n, h, w), bary.view(n, h, w, 3), depth.view(n, h, w)
    counts = (bw * bh)[tid]
    total = int(counts.sum())
    if total > max_pairs:
        raise MemoryError(f"rasterize_triangles: {total} triangle-pixel pairs exceed max_pairs={max_pairs}; "
                          "render fewer samples at once")
    seg = torch.repeat_interleave(torch.arange(tid.numel(), device=dev), counts)
    k = torch.arange(total, device=dev) - (torch.cumsum(counts, 0) - counts)[seg]
    t = tid[seg]
    bwt = bw[t]
    x = lo[t, 0] + k % bwt
    y = lo[t, 1] + torch.div(k, bwt, rounding_mode="floor")
    a = px[t, 0]
    v0, v1 = px[t, 1] - a, px[t, 2] - a
    qx, qy = x.to(tri.dtype) + 0.5 - a[:, 0], y.to(tri.dtype) + 0.5 - a[:, 1]
    den = area[t]
    l1 = (qx * v1[:, 1] - v1[:, 0] * qy) / den
    l2 = (v0[:, 0] * qy - qx * v0[:, 1]) / den
    l0 = 1 - l1 - l2
    eps = -1e-6
    inside = (l0 >= eps) & (l1 >= eps) & (l2 >= eps)
    t, x, y, l0, l1, l2 = t[inside], x[inside], y[inside], l0[inside], l1[inside], l2[inside]
    zt = z[t]
    w0, w1, w2 = l0 / zt[:, 0], l1 / zt[:, 1], l2 / zt[:, 2]
    zz = 1.0 / (w0 + w1 + w2)                                     # perspective-correct depth
    pix = (batch[t] * h + y) * w + x
    zmin = torch.full((n * h * w,), float("inf"), dtype=tri.dtype, device=dev)
    zmin.scatter_reduce_(0, pix, zz, reduce="amin")
    win = zz <= zmin[pix]
    cand = torch.arange(t.numel(), device=dev)
    best = torch.full((n * h * w,), -1, dtype=torch.long, device=dev)
    best.scatter_reduce_(0, pix[win], cand[win], reduce="amax")     # ties: one deterministic winner
    sel = best[best >= 0]
    p = pix[sel]
    face[p] = t[sel]
    bary[p] = torch.stack([w0[sel], w1[sel], w2[sel]], 1) * zz[sel, None]
    depth[p] = zz[sel]
    return face.view(n, h, w), bary.view(n, h, w, 3), depth.view(n, h, w)


def rasterize(verts_cam: torch.Tensor, faces: torch.Tensor, K: torch.Tensor, size: tuple[int, int],
              cull_backfaces: bool = True):
    """Batched counterpart of core.mesh_render.rasterize: verts_cam (n, V, 3), faces (F, 3), K (n, 3, 3).

    Returns face_id (n, h, w) long in [0, F) or -1, bary (n, h, w, 3), depth (n, h, w)."""
    n = verts_cam.shape[0]
    F = faces.shape[0]
    tri = verts_cam[:, faces].reshape(n * F, 3, 3)
    batch = torch.arange(n, device=verts_cam.device).repeat_interleave(F)
    cull = None if cull_backfaces else torch.zeros(n * F, dtype=torch.bool, device=verts_cam.device)
    face, bary, depth = rasterize_triangles(tri, batch, K, n, size, cull)
    face = torch.where(face >= 0, face % F, face)
    return face, bary, depth


def interpolate(attr_corners: torch.Tensor, face: torch.Tensor, bary: torch.Tensor) -> torch.Tensor:
    """attr_corners (T, 3, C) per triangle corner; face/bary from rasterize_triangles -> (n, h, w, C), 0 empty."""
    hit = face >= 0
    out = torch.zeros(face.shape + (attr_corners.shape[-1],), dtype=attr_corners.dtype, device=attr_corners.device)
    f = face[hit]
    out[hit] = (attr_corners[f] * bary[hit][..., None].to(attr_corners.dtype)).sum(1)
    return out


def vertex_normals(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted vertex normals (n, V, 3) of meshes (n, V, 3) with outward anny winding."""
    tri = verts[:, faces]                                           # (n, F, 3, 3)
    fn = torch.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0], dim=-1)
    vn = torch.zeros_like(verts)
    idx = faces.reshape(-1)
    vn.index_add_(1, idx, fn.repeat_interleave(3, dim=1))
    return torch.nn.functional.normalize(vn, dim=-1, eps=1e-12)


def render_head(verts_head: torch.Tensor, template: torch.Tensor, faces: torch.Tensor, R: torch.Tensor,
                t: torch.Tensor, K: torch.Tensor, size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """Render deformed heads (n, V, 3) head frame mm with pose p_cam = R p + t and intrinsics K (n, 3, 3).

    Returns dict: face (n,h,w) long, bary (n,h,w,3), depth (n,h,w) mm (0 empty), canon (n,h,w,3) template mm
    (0 empty), mask (n,h,w) bool, normal (n,h,w,3) camera-space shading normal, verts_cam (n,V,3),
    template_cam (n,V,3) (template vertices under the same pose)."""
    verts_cam = verts_head @ R.transpose(1, 2) + t[:, None]
    template_cam = template[None] @ R.transpose(1, 2) + t[:, None]
    face, bary, depth = rasterize(verts_cam, faces, K, size)
    F = faces.shape[0]
    canon = interpolate(template[faces].expand(1, F, 3, 3).reshape(F, 3, 3), face, bary)
    vn = vertex_normals(verts_cam, faces)
    n = verts_cam.shape[0]
    off = (torch.arange(n, device=face.device) * F)[:, None, None]
    gface = torch.where(face >= 0, face + off, face)
    normal = interpolate(vn[:, faces].reshape(n * F, 3, 3), gface, bary)
    return dict(face=face, bary=bary, depth=depth, canon=canon, mask=face >= 0,
                normal=torch.nn.functional.normalize(normal, dim=-1, eps=1e-12),
                verts_cam=verts_cam, template_cam=template_cam)
