"""Small numpy + OpenCV mesh renderer for previews and overlays (painter's algorithm, Lambert shading).

Not the training renderer (that is training/render.py, exact z-buffer in torch); this one draws a mesh
for a person to look at: head previews and the fitted mesh over footage. Cameras are OpenCV pinhole:
x right, y down, z forward, pixels at (fx * x / z + cx, fy * y / z + cy).
"""
from __future__ import annotations

import cv2
import numpy as np

from .head_model import HEAD_TO_CV  # noqa: F401  (defined with the head frame; imported from here too)


def rotation_y(deg: float) -> np.ndarray:
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def project(points_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    z = np.maximum(points_cam[..., 2:3], 1e-6)
    return points_cam[..., :2] / z * np.array([K[0, 0], K[1, 1]]) + np.array([K[0, 2], K[1, 2]])


def rasterize(verts_cam: np.ndarray, faces: np.ndarray, K: np.ndarray, size: tuple[int, int],
              cull_backfaces: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-buffer rasterisation at pixel centres (vectorised numpy).

    Returns (face_id (h, w) int32 with -1 for empty, barycentrics (h, w, 3) float32 perspective-correct,
    depth (h, w) float32 camera z, 0 where empty)."""
    h, w = size
    tri = verts_cam[faces].astype(np.float64)
    z = tri[:, :, 2]
    ok = z.min(1) > 1e-3
    px = project(tri, K)
    if cull_backfaces:
        e1, e2 = px[:, 1] - px[:, 0], px[:, 2] - px[:, 0]
        ok &= (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) < 0   # outward (anny) winding appears clockwise on screen (y down)
    lo = np.clip(np.floor(px.min(1) - 0.5), 0, [w, h]).astype(np.int64)
    hi = np.clip(np.ceil(px.max(1) - 0.5), -1, [w - 1, h - 1]).astype(np.int64)
    bw, bh = hi[:, 0] - lo[:, 0] + 1, hi[:, 1] - lo[:, 1] + 1
    ok &= (bw > 0) & (bh > 0)
    fid = np.nonzero(ok)[0]
    face_id = np.full((h, w), -1, np.int32)
    bary = np.zeros((h, w, 3), np.float32)
    depth = np.zeros((h, w), np.float32)
    if len(fid) == 0:
        return face_id, bary, depth
    counts = (bw * bh)[fid]
    t = np.repeat(fid, counts)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    k = np.arange(len(t)) - start
    bwt = bw[t]
    x = lo[t, 0] + k % bwt
    y = lo[t, 1] + k // bwt
    p = np.stack([x + 0.5, y + 0.5], 1)
    a, b, c = px[t, 0], px[t, 1], px[t, 2]
    v0, v1, v2 = b - a, c - a, p - a
    den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    den = np.where(np.abs(den) < 1e-12, 1e-12, den)
    l1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
    l2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
    l0 = 1 - l1 - l2
    eps = -1e-7
    inside = (l0 >= eps) & (l1 >= eps) & (l2 >= eps)
    t, x, y, l0, l1, l2 = t[inside], x[inside], y[inside], l0[inside], l1[inside], l2[inside]
    zt = z[t]
    iz = l0 / zt[:, 0] + l1 / zt[:, 1] + l2 / zt[:, 2]          # perspective-correct interpolation
    zz = 1.0 / iz
    pix = y * w + x
    order = np.lexsort((zz, pix))
    pix_s = pix[order]
    first = np.ones(len(order), bool)
    first[1:] = pix_s[1:] != pix_s[:-1]
    sel = order[first]
    pb = np.stack([l0[sel] / zt[sel, 0], l1[sel] / zt[sel, 1], l2[sel] / zt[sel, 2]], 1) * zz[sel, None]
    face_id.reshape(-1)[pix[sel]] = t[sel]
    bary.reshape(-1, 3)[pix[sel]] = pb
    depth.reshape(-1)[pix[sel]] = zz[sel]
    return face_id, bary, depth


def render_mesh(verts_cam: np.ndarray, faces: np.ndarray, K: np.ndarray, size: tuple[int, int],
                background: np.ndarray | None = None, vertex_colors: np.ndarray | None = None,
                base_color=(205, 170, 150), alpha: float = 1.0) -> np.ndarray:
    """Draw a triangle mesh given in OpenCV camera space. Returns an RGB uint8 image (h, w, 3)."""
    h, w = size
    img = np.full((h, w, 3), 40, np.uint8) if background is None else background.copy()
    face_id, bary, _ = rasterize(verts_cam, faces, K, size)
    hit = face_id >= 0
    f = face_id[hit]
    tri = verts_cam[faces[f]]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.linalg.norm(n, axis=1, keepdims=True) + 1e-12
    n *= -np.sign((n * tri.mean(1)).sum(1, keepdims=True))     # towards the camera
    light = np.array([-0.3, -0.4, -1.0])
    light /= np.linalg.norm(light)
    shade = 0.25 + 0.75 * np.clip((n * light).sum(1), 0, 1)
    if vertex_colors is None:
        col = np.broadcast_to(np.asarray(base_color, np.float64), (len(f), 3))
    else:
        col = (vertex_colors[faces[f]] * bary[hit][:, :, None]).sum(1)
    col = np.clip(col * shade[:, None], 0, 255)
    out = img.astype(np.float64)
    out[hit] = alpha * col + (1 - alpha) * out[hit]
    return out.astype(np.uint8)


def render_turntable_view(verts_head: np.ndarray, faces: np.ndarray, yaw_deg: float, size: int = 512,
                          vertex_colors: np.ndarray | None = None) -> np.ndarray:
    """A head (head frame, mm) seen from the front, turned by yaw_deg about +Y, framed to fill the image."""
    centre = (verts_head.min(0) + verts_head.max(0)) / 2
    v = (verts_head - centre) @ rotation_y(yaw_deg).T
    cam = v @ HEAD_TO_CV.T
    dist = 900.0
    cam[:, 2] += dist
    extent = np.abs(v[:, :2]).max()
    f = 0.45 * size * dist / extent
    K = np.array([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1]])
    return render_mesh(cam, faces, K, (size, size), vertex_colors=vertex_colors)


def region_colors(model) -> np.ndarray:
    palette = {"skin": (205, 170, 150), "lips": (200, 60, 70), "brows": (70, 50, 30), "eyes": (240, 240, 255),
               "scalp": (90, 120, 200), "interior": (120, 40, 40)}
    cols = np.array([palette.get(n, (128, 128, 128)) for n in model.region_names], np.float64)
    return cols[model.region]


def label_image(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.putText(out, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
    return out
