"""An albedo texture for the head from the footage: the frames projected onto the template's UVs (pure: numpy +
OpenCV, ``core.mesh_render``'s z-buffer).

Every texel of the UV layout is a fixed point of the mesh surface (its triangle and barycentric weights, found
once by rasterising the UV layout). For each chosen frame the posed mesh (``bake.tracks.posed_vertices``) tells
where that point lies in the image; its colour is read there (bilinear) when the point is

* visible: its depth equals the frame's z-buffer depth at that pixel (within ``depth_tol_mm``), so the far side of
  the head and points hidden by the nose or the cheek read nothing;
* facing the camera: the weight is ``cos(angle between the surface normal and the view ray) ** sharpness``, so the
  frames that see a texel most frontally dominate (best-facing) without hard switches between frames.

Texels no frame sees are filled from their neighbourhood by a push-pull pyramid (``fill_holes``), which also extends
every island past its UV border so bilinear filtering and mip-maps at UV seams never reach an unfilled texel
(seam-aware). Both sides of a seam are the same surface point in 3-D, so they read the same footage pixel.
A single image gives a static textured head the same way (one frame).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import BakeError
from core.footage import open_footage
from core.mesh_render import project, rasterize

from .tracks import posed_vertices
from .types import SceneTracks


@dataclass(frozen=True, eq=False)
class Texture:
    image: np.ndarray        # (S, S, 3) uint8 RGB, row 0 = the top of the UV square (v = 1)
    weight: np.ndarray       # (S, S) float32 summed view weight per texel (0: never seen, filled)
    frames: tuple            # scene frames that contributed

    @property
    def coverage(self) -> float:
        """Fraction of the texels inside UV islands that some frame saw."""
        inside = self.weight >= 0
        return float((self.weight > 0).sum() / max(1, inside.sum()))


def uv_raster(uv: np.ndarray, faces: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(face id (S,S) int32, -1 outside islands; barycentrics (S,S,3)) of each texel centre. ``uv`` is per face
    corner (F*3, 2), v up; texel row 0 is v = 1 (image convention, as Blender reads images)."""
    F = len(faces)
    pts = np.empty((F * 3, 3))
    pts[:, 0] = uv[:, 0] * size
    pts[:, 1] = (1.0 - uv[:, 1]) * size
    pts[:, 2] = 1.0
    K = np.eye(3)
    fid, bary, _ = rasterize(pts, np.arange(F * 3).reshape(F, 3), K, (size, size), cull_backfaces=False)
    return fid, bary


def choose_frames(tracks: SceneTracks, count: int) -> np.ndarray:
    """Up to ``count`` tracked frame indices spread over the clip (all of them when there are fewer)."""
    ok = np.flatnonzero(np.asarray(tracks.tracked, bool))
    if len(ok) == 0:
        raise BakeError("no tracked frame to texture from")
    if len(ok) <= count:
        return ok
    return ok[np.unique(np.round(np.linspace(0, len(ok) - 1, count)).astype(int))]


def bake_texture(tracks: SceneTracks, size: int = 1024, max_frames: int = 16, sharpness: float = 4.0,
                 depth_tol_mm: float = 4.0, footage_path: str | None = None) -> Texture:
    """Project up to ``max_frames`` tracked frames of the footage onto the UVs; see the module docstring."""
    path = footage_path if footage_path is not None else tracks.footage_path
    if not path:
        raise BakeError("no footage to texture from (tracks.footage_path is empty)")
    faces = np.asarray(tracks.faces, np.int64)
    fid, bary = uv_raster(np.asarray(tracks.uv, np.float64), faces, size)
    hit = fid >= 0
    tex_f = fid[hit].astype(np.int64)
    tex_b = bary[hit].astype(np.float64)
    # outward normals: the winding's sign fixed once on the neutral head (normals point away from its centre)
    basis = np.asarray(tracks.basis, np.float64)
    tri0 = basis[faces]
    n0 = np.cross(tri0[:, 1] - tri0[:, 0], tri0[:, 2] - tri0[:, 0])
    outward = 1.0 if (n0 * (tri0.mean(1) - basis.mean(0))).sum() > 0 else -1.0
    acc = np.zeros((len(tex_f), 3))
    wsum = np.zeros(len(tex_f))
    picks = choose_frames(tracks, max_frames)
    wanted = {int(tracks.frames[i]) - 1: int(i) for i in picks}     # source frame index -> row in tracks
    w_img, h_img = (int(v) for v in tracks.image_size)
    K = np.asarray(tracks.K, np.float64)
    used = []
    lo, hi = min(wanted), max(wanted) + 1
    import cv2
    with open_footage(path, start=lo, end=hi) as footage:
        for frame in footage:
            i = wanted.get(int(frame.index))
            if i is None:
                continue
            img = frame.image
            if img.shape[:2] != (h_img, w_img):
                img = cv2.resize(img, (w_img, h_img), interpolation=cv2.INTER_AREA)
            v = posed_vertices(tracks, i).astype(np.float64)
            _, _, depth = rasterize(v, faces, K, (h_img, w_img))
            tri = v[faces[tex_f]]                                   # (N, 3, 3)
            P = (tri * tex_b[:, :, None]).sum(1)
            n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]) * outward
            n /= np.linalg.norm(n, axis=1, keepdims=True) + 1e-12
            ray = -P / (np.linalg.norm(P, axis=1, keepdims=True) + 1e-12)
            cos = np.clip((n * ray).sum(1), 0.0, 1.0)
            px = project(P, K)
            xi = np.floor(px[:, 0]).astype(np.int64)
            yi = np.floor(px[:, 1]).astype(np.int64)
            inside = (xi >= 0) & (yi >= 0) & (xi < w_img) & (yi < h_img) & (P[:, 2] > 1e-3) & (cos > 0)
            zbuf = np.zeros(len(P))
            zbuf[inside] = depth[yi[inside], xi[inside]]
            visible = inside & (zbuf > 0) & (np.abs(zbuf - P[:, 2]) < depth_tol_mm)
            if not visible.any():
                continue
            sel = np.flatnonzero(visible)
            col = _sample(img, px[sel] - 0.5)
            w = cos[sel] ** sharpness
            acc[sel] += col * w[:, None]
            wsum[sel] += w
            used.append(int(tracks.frames[i]))
    if not used:
        raise BakeError("no footage frame saw the head: no texture")
    rgb = np.zeros((size, size, 3))
    weight = np.full((size, size), -1.0, np.float32)      # -1: outside every UV island
    seen = wsum > 0
    vals = np.zeros((len(tex_f), 3))
    vals[seen] = acc[seen] / wsum[seen, None]
    rgb[hit] = vals
    weight[hit] = wsum
    known = np.zeros((size, size), bool)
    known[hit] = seen
    return Texture(image=fill_holes(rgb, known), weight=weight, frames=tuple(used))


def _sample(img: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Bilinear colours (N, 3) float at pixel coordinates ``xy`` (N, 2) (pixel centres at integers)."""
    import cv2
    n = len(xy)
    cols = 1024
    rows = -(-n // cols)
    m = np.zeros((rows * cols, 2), np.float32)
    m[:n] = xy
    m = m.reshape(rows, cols, 2)                  # remap wants maps under 32767 wide
    out = cv2.remap(img, m[..., 0], m[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(-1, 3)[:n].astype(np.float64)


def fill_holes(rgb: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill the texels where ``known`` is False from their neighbourhood (push-pull pyramid: averages of the known
    texels at ever coarser levels, pulled back into the holes), uint8 out."""
    import cv2
    img = rgb.astype(np.float32) * known[..., None]
    wgt = known.astype(np.float32)
    levels = [(img, wgt)]
    while min(levels[-1][1].shape) > 1:
        i, w = levels[-1]
        h2, w2 = (i.shape[0] + 1) // 2, (i.shape[1] + 1) // 2
        levels.append((cv2.resize(i, (w2, h2), interpolation=cv2.INTER_AREA),
                       cv2.resize(w, (w2, h2), interpolation=cv2.INTER_AREA)))
    i, w = levels[-1]
    filled = i / np.maximum(w, 1e-8)[..., None]
    for i, w in reversed(levels[:-1]):
        up = cv2.resize(filled, (i.shape[1], i.shape[0]), interpolation=cv2.INTER_LINEAR)
        a = np.clip(w, 0, 1)[..., None]
        filled = np.where(w[..., None] > 1e-6, i / np.maximum(w, 1e-8)[..., None], up) * a + up * (1 - a)
    filled[known] = rgb[known]
    return np.clip(np.round(filled), 0, 255).astype(np.uint8)


def write_texture(path, texture: Texture):
    """PNG of the texture (RGB as stored; Blender and every viewer read row 0 as the top)."""
    from pathlib import Path

    import cv2

    from core.errors import ExportError

    from .atomic import atomic_write
    p = Path(path).expanduser().resolve()
    with atomic_write(p, "the texture") as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(texture.image, cv2.COLOR_RGB2BGR)):
            raise ExportError(f"cannot write the texture {p}")
    return p
