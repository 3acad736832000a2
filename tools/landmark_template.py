"""Build ``core/assets/landmark_template.npz``: each MediaPipe landmark as a fixed point of our template (dev only).

    python -m tools.landmark_template [--count 240] [--seed 7] [--out core/assets/landmark_template.npz]

How: synthetic heads (training.synth, held-out-style sampling but near-frontal, no occluders, no blur) are rendered
with exact canonical maps; the real-face landmark model (core.face_models) runs on each render (detector ROI, then one
refinement from its own landmarks, as the tracker does); each landmark reads the canonical position (template mm)
under its pixel where every neighbouring pixel is head surface (the inner lip contour only where the mouth is open). The per-landmark median over the renders, projected
onto the nearest point of the template's surface, gives the triangle and barycentric weights. Deterministic
for a seed (renders, models and the median are). Prints the per-landmark spread (median absolute deviation, mm), which
says how firmly each landmark is a material point: the face oval's is the largest.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bake.atomic import atomic_write
from core import head_model
from core.landmark_template import ASSET_PATH, FACE_OVAL, NUM_LANDMARKS

from .synthetic_faces import read_faces


# The inner lip contour is read only where the mouth is open (inner lip midpoints at least this many inter-ocular
# distances apart): on closed lips its pixels show the upper or the lower lip by chance.
MOUTH_OPEN = 0.08
INNER_LIPS = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415]


def observe(count: int, seed: int) -> tuple[np.ndarray, dict]:
    """(count, 478, 3) canonical mm of every landmark on every render (NaN where unreadable), and counts."""
    head = head_model.load()
    out = np.full((count, NUM_LANDMARKS, 3), np.nan)
    stats = dict(renders=count, detected=0)
    for k, batch, i, pts in read_faces(count, seed):
        canon = head.to_mm(batch["canon"][i].permute(1, 2, 0).numpy().astype(np.float64))
        stats["detected"] += 1
        out[k] = _lookup(pts[:, :2], canon, batch["mask"][i, 0].numpy() > 0.5)
        iod = np.linalg.norm(pts[263, :2] - pts[33, :2])
        if np.linalg.norm(pts[13, :2] - pts[14, :2]) < MOUTH_OPEN * iod:
            out[k, INNER_LIPS] = np.nan                  # touching lips: the pixel shows either lip
    return out, stats


def _lookup(px: np.ndarray, canon: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Bilinear canonical position under each pixel coordinate (pixel centres at i + 0.5); NaN unless all four
    neighbouring pixels are head surface."""
    h, w = mask.shape
    x, y = px[:, 0] - 0.5, px[:, 1] - 0.5
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    ok = (x0 >= 0) & (y0 >= 0) & (x0 < w - 1) & (y0 < h - 1)
    x0c, y0c = np.clip(x0, 0, w - 2), np.clip(y0, 0, h - 2)
    fx, fy = (x - x0c)[:, None], (y - y0c)[:, None]
    ok &= mask[y0c, x0c] & mask[y0c, x0c + 1] & mask[y0c + 1, x0c] & mask[y0c + 1, x0c + 1]
    v = (canon[y0c, x0c] * (1 - fx) * (1 - fy) + canon[y0c, x0c + 1] * fx * (1 - fy)
         + canon[y0c + 1, x0c] * (1 - fx) * fy + canon[y0c + 1, x0c + 1] * fx * fy)
    v[~ok] = np.nan
    return v


def closest_on_triangles(p: np.ndarray, tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest points of triangles ``tri`` (..., 3, 3) to points ``p`` (..., 3): barycentrics (..., 3) and distance.
    Inside the triangle it is the plane projection; otherwise the nearest point of the three edges."""
    a, b, c = tri[..., 0, :], tri[..., 1, :], tri[..., 2, :]
    n = np.cross(b - a, c - a)
    n2 = np.maximum((n * n).sum(-1), 1e-18)
    q = p - ((p - a) * n).sum(-1, keepdims=True) * n / n2[..., None]
    bary = np.stack([(np.cross(c - b, q - b) * n).sum(-1), (np.cross(a - c, q - c) * n).sum(-1),
                     (np.cross(b - a, q - a) * n).sum(-1)], -1) / n2[..., None]
    inside = (bary >= 0).all(-1)
    best_d = np.where(inside, np.linalg.norm(p - q, axis=-1), np.inf)
    best = np.where(inside[..., None], bary, 0.0)
    for i, j in ((0, 1), (1, 2), (2, 0)):
        u, v = tri[..., i, :], tri[..., j, :]
        t = np.clip(((p - u) * (v - u)).sum(-1) / np.maximum(((v - u) ** 2).sum(-1), 1e-18), 0.0, 1.0)
        d = np.linalg.norm(p - (u + t[..., None] * (v - u)), axis=-1)
        closer = ~inside & (d < best_d)
        e = np.zeros(bary.shape)
        e[..., i], e[..., j] = 1 - t, t
        best = np.where(closer[..., None], e, best)
        best_d = np.where(closer, d, best_d)
    return best, best_d


def project_to_surface(points: np.ndarray, verts: np.ndarray, faces: np.ndarray, k: int = 12):
    """Nearest surface point of the mesh (verts, faces) to each point: (triangle (N,), barycentrics (N, 3), distance
    (N,)); candidates are the triangles around the point's k nearest vertices."""
    from scipy.spatial import cKDTree
    _, near = cKDTree(verts).query(points, k)
    vf = [[] for _ in range(len(verts))]
    for f, corners in enumerate(faces):
        for v in corners:
            vf[v].append(f)
    out_f, out_b, out_d = [], [], []
    for p, nv in zip(points, near):
        cand = np.unique(np.concatenate([vf[v] for v in nv if vf[v]]).astype(int))
        bary, d = closest_on_triangles(p[None], verts[faces[cand]])
        i = int(np.argmin(d))
        out_f.append(cand[i]), out_b.append(bary[i]), out_d.append(d[i])
    return np.array(out_f, np.int32), np.array(out_b), np.array(out_d)


def build(count: int, seed: int) -> tuple[dict, dict]:
    head = head_model.load()
    obs, stats = observe(count, seed)
    seen = np.isfinite(obs[..., 0]).sum(0)
    if (seen < 5).any():
        raise SystemExit(f"landmarks {np.nonzero(seen < 5)[0].tolist()} were readable on fewer than 5 renders")
    med = np.nanmedian(obs, axis=0)                                           # (478, 3) canonical mm
    spread = np.nanmedian(np.linalg.norm(obs - med, axis=-1), axis=0)
    keep = ~np.isin(head.faces, np.nonzero(head.region_mask("interior", "scalp"))[0]).any(1)
    faces = head.faces[keep]
    tri, bary, dist = project_to_surface(med, head.vertices.astype(np.float64), faces)
    face = np.nonzero(keep)[0][tri].astype(np.int32)
    oval = np.isin(np.arange(NUM_LANDMARKS), FACE_OVAL)
    stats.update(readable_min=int(seen.min()), spread_mm_median=float(np.median(spread[~oval])),
                 spread_mm_oval=float(np.median(spread[oval])), surface_distance_mm_p90=float(np.quantile(dist, 0.9)))
    return dict(face=face, bary=bary.astype(np.float32), spread_mm=spread.astype(np.float32),
                build_info=np.array(json.dumps(dict(count=count, seed=seed)))), stats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=240)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ASSET_PATH)
    a = ap.parse_args(argv)
    data, stats = build(a.count, a.seed)
    with atomic_write(a.out, "the landmark template") as tmp:
        np.savez_compressed(tmp, **data)
    print(json.dumps(stats, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
