"""Template vertex positions per frame by canonical lookup (splatting, about 1 ms per frame).

Each point of the frame's cloud carries a canonical coordinate ``c_p`` (mm, on the template surface) and a camera
position ``x_p``. The point is assigned to the template vertex nearest to ``c_p`` through a voxel look-up table built
once per head model (``VOXEL_MM`` voxels within ``band_mm`` of the observed face vertices; points farther off the
template are dropped as outliers). The vertex's camera position is then the confidence-weighted mean over its points of
    x_p - R (c_p - c_v)
with ``R`` the frame's head rotation (the cloud's PnP rotation, else a weighted Kabsch of canon -> camera): the small
canonical offset of each point to its vertex is carried into the camera with the local rigid motion. The error of
that first-order transport is (J - R)(c_p - c_v) for the true local Jacobian J (stretch from identity and
expression), a fraction of a millimetre for offsets of half a vertex spacing, and it averages out around the vertex.
One robust (Cauchy) re-weighting round then down-weights points that disagree with their vertex (outlier pixels,
mixed surfaces such as touching lips).

Per vertex the output also holds ``ray``, the weighted mean of the points' unprojection directions (unit depth along
the crop's axis, core.points; z = 1 for a cloud without them), so the bake can move the frame's anchor depth by
``dz``: ``position(z0 + dz) = position + dz * ray``, and ``z_origin``, the anchor depth the positions were unprojected
with (``None`` when the positions are not tied to an anchor, e.g. exact vertices; the solve then leaves the depth
free).
Confidence: the summed robust weights of the vertex's points (0 where unobserved or outside ``vertex_mask``).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.head_model import HeadModel
from core.types import PointCloud

from .numerics import nearest_point_per_cell

OBSERVED_REGIONS = ("skin", "lips", "brows", "eyes")
VOXEL_MM = 1.5
BAND_MM = 6.0


@dataclass(frozen=True, eq=False)
class VertexObservation:
    frame: int
    position: np.ndarray     # (V, 3) float32 camera mm (0 where unobserved)
    ray: np.ndarray          # (V, 3) float32 d position / d z_origin
    confidence: np.ndarray   # (V,) float32 >= 0
    z_origin: float | None = None   # anchor depth (mm) the positions were unprojected with; None = not anchored
    offset: np.ndarray | None = None  # (V, 3) float32 weighted mean canonical offset c_p - c_v of the vertex's points


def default_vertex_mask(head: HeadModel) -> np.ndarray:
    return head.region_mask(*OBSERVED_REGIONS)


@dataclass(frozen=True, eq=False)
class _Lookup:
    origin: np.ndarray       # (3,) canonical mm of voxel (0, 0, 0)'s corner
    shape: tuple             # grid shape
    table: np.ndarray        # flat int32 vertex index per voxel, -1 = off the template
    verts: np.ndarray        # (V, 3) float32 template positions


_LOOKUPS: dict = {}


def _lookup(head: HeadModel, vmask: np.ndarray, voxel: float = VOXEL_MM, band: float = BAND_MM) -> _Lookup:
    """Voxel table: nearest vertex of ``vmask`` for every voxel whose centre lies within ``band`` mm of one."""
    key = (id(head), vmask.tobytes(), voxel, band)
    hit = _LOOKUPS.get(key)
    if hit is not None and hit[0] is head:
        return hit[1]
    vid = np.nonzero(vmask)[0]
    cv = head.vertices[vid].astype(np.float64)
    origin = cv.min(0) - band - voxel
    shape = tuple(np.ceil((cv.max(0) + band + voxel - origin) / voxel).astype(int) + 1)
    nn = nearest_point_per_cell(cv, origin, voxel, shape, band)
    table = np.append(vid, -1).astype(np.int32)[nn]                     # nn = -1 (no vertex) picks the -1
    lut = _Lookup(origin.astype(np.float32), shape, table, head.vertices.astype(np.float32))
    if len(_LOOKUPS) > 8:
        _LOOKUPS.clear()
    _LOOKUPS[key] = (head, lut)
    return lut


def prepare(head: HeadModel, vertex_mask: np.ndarray | None = None) -> None:
    """Build the voxel table ``correspond`` uses for ``head`` now (about 0.1 s, once per head model in a process):
    bake.pipeline does it on a thread that would otherwise wait, not on the first batch's correspondence."""
    _lookup(head, default_vertex_mask(head) if vertex_mask is None else np.asarray(vertex_mask, bool))


def nearest_vertex(lut: _Lookup, canon: np.ndarray) -> np.ndarray:
    """Template vertex index per canonical point (N,), -1 where the point is off the template."""
    g = np.floor((canon - lut.origin) / VOXEL_MM).astype(np.int64)
    inside = ((g >= 0) & (g < np.asarray(lut.shape))).all(1)
    out = np.full(len(canon), -1, np.int32)
    out[inside] = lut.table[np.ravel_multi_index(g[inside].T, lut.shape)]
    return out


def _rotation(rvec, c: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Head rotation of the frame: the PnP's when given, else a weighted Kabsch of canonical -> camera points."""
    if rvec is not None:
        return cv2.Rodrigues(np.asarray(rvec, np.float64).reshape(3, 1))[0]
    sw = w.sum()
    cc, xc = (w @ c) / sw, (w @ x) / sw
    U, _, Vt = np.linalg.svd(((c - cc) * w[:, None]).T @ (x - xc))
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(Vt.T @ U.T))])
    return Vt.T @ D @ U.T


def correspond(cloud: PointCloud, head: HeadModel, vertex_mask: np.ndarray | None = None,
               robust_mm: float = 2.0) -> VertexObservation:
    V = head.n_vertices
    vmask = default_vertex_mask(head) if vertex_mask is None else np.asarray(vertex_mask, bool)
    lut = _lookup(head, vmask)
    canon = np.asarray(cloud.canon, np.float32)
    idx = nearest_vertex(lut, canon)
    keep = idx >= 0
    z0 = getattr(cloud, "z_origin", None)
    pos = np.zeros((V, 3), np.float32)
    ray_out = np.zeros((V, 3), np.float32)
    conf = np.zeros(V, np.float32)
    if keep.sum() < 3:
        return VertexObservation(cloud.frame, pos, ray_out, conf, z0)
    idx = idx[keep]
    w = np.asarray(cloud.weight, np.float64)[keep]
    cam = np.asarray(cloud.cam_xyz, np.float64)[keep]
    ray = getattr(cloud, "ray", None)
    ray = cam / np.maximum(cam[:, 2:3], 1e-6) if ray is None else np.asarray(ray, np.float64)[keep]
    ck = canon[keep].astype(np.float64)
    R = _rotation(getattr(cloud, "rvec", None), ck, cam, w)
    est = cam - (ck - lut.verts[idx]) @ R.T

    def mean(wt, x):
        sw = np.bincount(idx, wt, V)
        s = np.stack([np.bincount(idx, wt * x[:, k], V) for k in range(3)], 1)
        return s / np.maximum(sw, 1e-12)[:, None], sw

    m, _ = mean(w, est)
    r = np.linalg.norm(est - m[idx], axis=1)
    w = w / (1 + (r / robust_mm) ** 2)
    m, sw = mean(w, est)
    rm, _ = mean(w, ray)
    om, _ = mean(w, ck - lut.verts[idx])
    off = np.zeros((V, 3), np.float32)
    ok = sw > 0
    pos[ok], ray_out[ok], conf[ok], off[ok] = m[ok], rm[ok], sw[ok], om[ok]
    return VertexObservation(cloud.frame, pos, ray_out, conf, z0, off)


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


def offsets(observations: list[VertexObservation | None], V: int) -> np.ndarray | None:
    """(T, V, 3) canonical offsets of the observations (0 where missing), or None when none carries them."""
    if not any(o is not None and o.offset is not None for o in observations):
        return None
    out = np.zeros((len(observations), V, 3), np.float32)
    for i, o in enumerate(observations):
        if o is not None and o.offset is not None:
            out[i] = o.offset
    return out
