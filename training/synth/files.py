"""Files and checks: samples as PNG + .npz with a contact sheet, the ground-truth re-checks, the README sample clip."""
from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from core import head_model as hm
from core.errors import FaceCaptureError
from core.types import axis_through

from .assets import _assets
from .batch import _batch_from_params, _cpu_threads, axis_scale
from .config import SynthConfig
from .sampling import sample_params
from .sequences import make_sequence

def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp" + path.suffix)
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _save_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    def w(p):
        if not cv2.imwrite(str(p), np.ascontiguousarray(rgb[..., ::-1])):
            raise FaceCaptureError(f"could not write {p}")
    _atomic_write(path, w)


def _save_npz(path: Path, **arrays) -> None:
    def w(p):
        with open(p, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    _atomic_write(path, w)


def contact_sheet(images: np.ndarray, cols: int = 8) -> np.ndarray:
    """images (N,H,W,3) uint8 -> one grid image."""
    N, H, W, _ = images.shape
    rows = int(math.ceil(N / cols))
    sheet = np.zeros((rows * H, cols * W, 3), np.uint8)
    for i in range(N):
        r, c = divmod(i, cols)
        sheet[r * H:(r + 1) * H, c * W:(c + 1) * W] = images[i]
    return sheet


def write_samples(out: Path, cfg: SynthConfig, count: int, seed: int, split: str, device="cpu", chunk: int = 32):
    out.mkdir(parents=True, exist_ok=True)
    thumbs = []
    for s in range(0, count, chunk):
        n = min(chunk, count - s)
        b = _batch_range(cfg, s, n, seed, split, device)
        img = (b["image"].permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
        arr = {k: v.cpu().numpy() for k, v in b.items() if k != "image"}
        for j in range(n):
            i = s + j
            _save_png(out / f"sample_{i:05d}.png", img[j])
            _save_npz(out / f"sample_{i:05d}.npz", **{k: v[j] for k, v in arr.items()})
            if len(thumbs) < 64:
                thumbs.append(img[j])
    _save_png(out / "contact_sheet.png", contact_sheet(np.stack(thumbs)))
    (out / "synth_config.json").write_text(json.dumps(dict(asdict(cfg), count=count, seed=seed, split=split), indent=1))


def _batch_range(cfg, start, n, seed, split, device):
    """Samples start..start+n of the stream (sample i depends only on (seed, split, i))."""
    A = _assets(torch.device(device))
    P = [sample_params(cfg, seed, split, i, A) for i in range(start, start + n)]
    with _cpu_threads(cfg.cpu_threads if A.device.type == "cpu" else 0):
        return _batch_from_params(cfg, P, A)


def check_sample(arrays: dict, head: hm.HeadModel | None = None, tol_mm: float = 0.5) -> dict:
    """Re-verify ground truth of one written sample (make_batch layout, arrays without the batch axis).

    Unprojects depth with K and checks every masked pixel lies on the mesh (distance to the triangle that the
    canonical coordinate identifies is below tol_mm); canonical coordinates must lie on the template surface
    near the same barycentric point. Returns stats; raises FaceCaptureError on failure."""
    head = head or hm.load()
    K, R, t = arrays["K"], arrays["R"], arrays["t"]
    m = arrays["mask"][0] > 0.5
    if not m.any():
        return dict(pixels=0, max_mesh_err_mm=0.0, max_canon_err_mm=0.0)
    ys, xs = np.nonzero(m)
    axis = axis_through(K, (m.shape[1] / 2, m.shape[0] / 2))       # depth runs along the image's axis (core.types)
    ray = np.stack([(xs + 0.5 - K[0, 2]) / K[0, 0], (ys + 0.5 - K[1, 2]) / K[1, 1], np.ones(len(xs))], 1)
    p = ray * ((arrays["depth"][0][m] * head.canon_scale + t @ axis) / (ray @ axis))[:, None]
    canon = head.to_mm(arrays["canon"][:, m].T)
    V = arrays["verts_cam"].astype(np.float64)
    # find, for every point, the mesh triangle it lies on (inside, nearest plane) and compare canon there
    tri = V[head.faces]                                              # (F, 3, 3)
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    nrm = np.cross(e1, e2)
    nlen = np.linalg.norm(nrm, axis=1)
    good = nlen > 1e-9
    tri, e1, e2, nrm, nlen = tri[good], e1[good], e2[good], nrm[good], nlen[good]
    ctri = head.vertices[head.faces[good]].astype(np.float64)
    d11, d12, d22 = (e1 * e1).sum(1), (e1 * e2).sum(1), (e2 * e2).sum(1)
    den = d11 * d22 - d12 ** 2
    mesh_err = np.full(len(p), np.inf)
    canon_err = np.full(len(p), np.inf)
    for s0 in range(0, len(p), 64):
        q = p[s0:s0 + 64, None] - tri[None, :, 0]                    # (B, F, 3)
        dist = np.abs((q * nrm).sum(-1)) / nlen
        q1, q2 = (q * e1).sum(-1), (q * e2).sum(-1)
        l1 = (d22 * q1 - d12 * q2) / den
        l2 = (d11 * q2 - d12 * q1) / den
        inside = (l1 >= -1e-4) & (l2 >= -1e-4) & (1 - l1 - l2 >= -1e-4)
        dd = np.where(inside, dist, np.inf)
        j = dd.argmin(1)
        r = np.arange(len(j))
        mesh_err[s0:s0 + 64] = dd[r, j]
        bc = np.stack([1 - l1[r, j] - l2[r, j], l1[r, j], l2[r, j]], 1)
        cpos = (bc[:, :, None] * ctri[j]).sum(1)
        canon_err[s0:s0 + 64] = np.linalg.norm(cpos - canon[s0:s0 + 64], axis=1)
    ok = np.isfinite(mesh_err)
    stats = dict(pixels=int(len(p)), matched=float(ok.mean()),
                 max_mesh_err_mm=float(np.nanmax(np.where(ok, mesh_err, np.nan))) if ok.any() else float("nan"),
                 max_canon_err_mm=float(np.nanmax(np.where(ok, canon_err, np.nan))) if ok.any() else float("nan"))
    if ok.mean() < 0.95 or stats["max_mesh_err_mm"] > tol_mm or stats["max_canon_err_mm"] > tol_mm:
        raise FaceCaptureError(f"ground-truth check failed: {stats}")
    return stats


def check_dir(out: Path, max_samples: int = 8, pixels: int = 400) -> list[dict]:
    files = sorted(out.glob("sample_*.npz"))
    if not files:
        raise FaceCaptureError(f"no sample_*.npz files in {out}; write some with --out {out} --count N")
    head = hm.load()
    rng = np.random.default_rng(0)
    res = []
    for fpath in files[:max_samples]:
        with np.load(fpath) as z:
            a = {k: z[k] for k in z.files}
        m = a["mask"][0] > 0.5
        idx = np.flatnonzero(m)
        if len(idx) > pixels:                       # check a random subset of pixels (speed)
            keep = np.zeros(m.size, bool)
            keep[rng.choice(idx, pixels, replace=False)] = True
            a["mask"] = keep.reshape(a["mask"].shape).astype(np.float32)
        st = check_sample(a, head)
        st["file"] = fpath.name
        res.append(st)
    return res


SAMPLE_CLIP_SEED = 14


def check_sequence(path: Path, max_frames: int = 4, pixels: int = 400) -> list[dict]:
    """Re-verify a written sequence.npz (depth in mm, canon in mm) frame by frame on sampled pixels."""
    if not path.is_file():
        raise FaceCaptureError(f"{path} not found; write a sequence with --out DIR --sequence FRAMES")
    head = hm.load()
    with np.load(path) as z:
        seq = {k: z[k] for k in z.files}
    rng = np.random.default_rng(0)
    T = len(seq["R"])
    res = []
    for i in np.linspace(0, T - 1, min(T, max_frames)).astype(int):
        m = seq["mask"][i]
        idx = np.flatnonzero(m)
        keep = np.zeros(m.size, bool)
        keep[rng.choice(idx, min(pixels, len(idx)), replace=False)] = True
        K = np.asarray(seq["K"], np.float64)                     # a frame's depth along its axis, as check_sample
        axis = axis_through(K, (m.shape[1] / 2, m.shape[0] / 2))
        along = axis_scale(K[None], axis[None], m.shape[1], m.shape[0])[0]
        z0 = seq["t"][i] @ axis
        arrays = dict(K=seq["K"], R=seq["R"][i], t=seq["t"][i], verts_cam=seq["verts_cam"][i],
                      mask=keep.reshape(m.shape)[None].astype(np.float32),
                      depth=np.where(m, (seq["depth"][i] * along - z0) / head.canon_scale, 0)[None],
                      canon=np.moveaxis(np.where(m[..., None], head.to_norm(seq["canon"][i]), 0), -1, 0))
        st = check_sample(arrays, head)
        st["frame"] = int(i)
        res.append(st)
    return res


def write_sample_clip(path: Path, seed: int = SAMPLE_CLIP_SEED, frames: int = 75, size: int = 384,
                      fps: int = 25) -> None:
    """The README demo clip: one synthetic person talking, blinking and turning (mp4v, ~3 s)."""
    import cv2
    cfg = SynthConfig(p_blur=0.0, p_motion_blur=0.0, p_jpeg=0.0, p_lowres=0.0, noise_max=0.01)
    seq = make_sequence(cfg, frames, seed, size, size, fps)
    path.parent.mkdir(parents=True, exist_ok=True)

    def w(p):
        vw = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size, size))
        if not vw.isOpened():
            raise FaceCaptureError(f"OpenCV cannot write video {p}")
        for im in seq["image"]:
            vw.write(np.ascontiguousarray(im[..., ::-1]))
        vw.release()
    _atomic_write(path, w)
