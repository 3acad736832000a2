"""Evaluate the network.

    python -m training.eval synthetic --model PATH|default --count N     # held-out synthetic split, JSON metrics
    python -m training.eval synthetic --split train --seed 900000000      # the training distribution, for comparison
    python -m training.eval synthetic --frame-by-depth                     # the crop framing used before 2026-11-24
    python -m training.eval synthetic --exposure 0.35 [--no-lift]          # the renders darkened (core.exposure)
    python -m training.eval synthetic --side 0.2                           # ... their left half only (side light)
    python -m training.eval real --model default [--footage DIR] --out DIR  # overlays on real clips + stability

Synthetic metrics (inside the ground-truth mask): depth error in mm (median, p90; depth relative to the head
origin, i.e. the network's own parametrisation times canon_scale; ``depth_relief`` is the same with each crop's
median offset removed: the surface shape alone, which is what the bake uses, as the PnP anchor and the solve set
the head's distance), canonical correspondence error in mm
(median, p90), mask IoU at 0.5, and ms/frame of the onnxruntime model on this machine. Where the canonical error
comes from: its median by how far the head is turned from the camera (``canon_mm_median_by_turn_deg``: the angle
between the face's forward axis and the direction to the camera, so yaw and pitch both count) and by the pixel's
distance to the mask's edge (``canon_mm_median_by_edge_px``, crop pixels). The synthetic mode needs the training
extras (torch) to render the held-out set.

Real mode: for every clip, bake.pipeline.reconstruct runs as the product does (tracking, batching, re-framing from the
network's own head pose, ``--reframe``; core/framing.py) and hands over each frame's crop and prediction; an MP4 + a
PNG strip show
the canonical coordinates as colours, the mask and the depth. Stability: skin points are followed with
pyramidal Lucas-Kanade optical flow in the frames; the canonical coordinate the network predicts under each
followed point should not change. We report the median over points of the std over time (mm) and the
median frame-to-frame change (mm). Flow drifts a little too, so this is an upper bound on the network's
instability.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from core.errors import FaceCaptureError


def _model_path(arg: str | None):
    from core.presets import default_model_path
    return None if arg in (None, "default") else arg, (default_model_path() if arg in (None, "default") else Path(arg))


def half_in_shadow(images: np.ndarray, light: float) -> np.ndarray:
    """``images`` (..., H, W, 3) uint8 with every pixel left of the middle at ``light`` of its value, a soft edge
    over a tenth of the width (a window's hard side light: a face in the middle lit on one side). The one place
    the renders (``--side``), the footage (bench_real's ``--reshoot side:F``) and the tests darken it."""
    W = images.shape[-2]
    lit = np.clip((np.arange(W) - 0.45 * W) / (0.1 * W), 0.0, 1.0)          # 0 left of the middle
    return np.clip(np.rint(images * (light + (1.0 - light) * lit)[:, None]), 0, 255).astype(np.uint8)


def evaluate_synthetic(model: str | None, count: int, batch: int = 16, seed: int = 777, flip: bool = False,
                       split: str = "eval", frame_by_head_size: bool = True, exposure: float = 1.0,
                       lift: bool = True, side: float = 1.0) -> dict:
    """The metrics above on ``count`` held-out renders. ``exposure``: every crop's values times this, rounded and
    clipped, before the network (a dim or over-exposed camera; bench_real's ``--reshoot exposure:F`` does the same
    to footage); ``side``: the crop's left of its middle times this, a soft edge over a tenth of its width (a
    window's side light; bench_real's ``--reshoot side:F`` on the frame); ``lift=False`` feeds the network without
    core.exposure's lift of dark faces."""
    import cv2
    from core.head_model import load
    from core.runtime import Predictor
    from .synth import SynthConfig, make_batch
    head = load()
    pred = Predictor(_model_path(model)[0], threads=None, flip=flip, exposure=lift)
    depth_err, depth_rel, canon_err, inter, union, ms = [], [], [], 0, 0, []
    by_turn = {k: [] for k in TURN_BINS}
    by_edge = {k: [] for k in EDGE_BINS}
    for start in range(0, count, batch):
        n = min(batch, count - start)
        b = make_batch(SynthConfig(size=pred.size, frame_by_head_size=frame_by_head_size), n, seed + start,
                       split=split)
        crops = (b["image"].permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
        if exposure != 1.0:
            crops = np.clip(np.rint(crops * float(exposure)), 0, 255).astype(np.uint8)
        if side != 1.0:
            crops = half_in_shadow(crops, side)
        t0 = time.perf_counter()
        out = pred.predict(crops)
        ms.append(1000 * (time.perf_counter() - t0) / n)
        for i, o in enumerate(out):
            m = b["mask"][i, 0].numpy() > 0.5
            d_gt = b["depth"][i, 0].numpy()
            c_gt = b["canon"][i].permute(1, 2, 0).numpy()
            diff = (o.depth - d_gt)[m] * head.canon_scale
            depth_err.append(np.abs(diff))
            depth_rel.append(np.abs(diff - np.median(diff)))   # relief only: the per-crop offset removed
            ce = np.linalg.norm(o.canon - c_gt, axis=-1) * head.canon_scale
            canon_err.append(ce[m])
            by_turn[_bin(TURN_BINS, _turn_deg(b["R"][i].numpy(), b["t"][i].numpy()))].append(ce[m])
            edge = cv2.distanceTransform(m.astype(np.uint8), cv2.DIST_L2, 3)
            for k, (lo, hi) in EDGE_BINS.items():
                by_edge[k].append(ce[m & (edge > lo) & (edge <= hi)])
            pm = o.mask > 0.5
            inter += int((pm & m).sum())
            union += int((pm | m).sum())
    de, ce, dr = np.concatenate(depth_err), np.concatenate(canon_err), np.concatenate(depth_rel)
    return dict(split=split, seed=seed, count=count, model=str(pred.path),
                depth_mm_median=float(np.median(de)), depth_mm_p90=float(np.quantile(de, 0.9)),
                depth_relief_mm_median=float(np.median(dr)), depth_relief_mm_p90=float(np.quantile(dr, 0.9)),
                canon_mm_median=float(np.median(ce)), canon_mm_p90=float(np.quantile(ce, 0.9)),
                mask_iou=inter / max(union, 1), ms_per_frame=float(np.median(ms)), batch=batch, flip=flip,
                exposure=exposure, side=side, lift=lift,
                framing="head size" if frame_by_head_size else "true depth",
                canon_mm_median_by_turn_deg=_medians(by_turn), canon_mm_median_by_edge_px=_medians(by_edge))


TURN_BINS = {"0-20": (0, 20), "20-40": (20, 40), "40-60": (40, 60), "60+": (60, 181)}
EDGE_BINS = {"0-3": (0, 3), "3-8": (3, 8), "8-20": (8, 20), "20+": (20, 1e9)}


def _turn_deg(R: np.ndarray, t: np.ndarray) -> float:
    """Angle (degrees) between the face's forward axis (head-frame +Z, rotated by R into the OpenCV camera) and
    the direction from the head to the camera."""
    fwd = R @ np.array([0.0, 0.0, 1.0])
    to_cam = -t / max(np.linalg.norm(t), 1e-9)
    return float(np.degrees(np.arccos(np.clip(fwd @ to_cam, -1.0, 1.0))))


def _bin(bins: dict, v: float) -> str:
    return next(k for k, (lo, hi) in bins.items() if lo <= v < hi)


def _medians(groups: dict) -> dict:
    """{bin: {"median": mm, "pixels": n}} for the bins with data."""
    out = {}
    for k, v in groups.items():
        v = np.concatenate(v) if v else np.zeros(0)
        if len(v):
            out[k] = dict(median=float(np.median(v)), pixels=int(len(v)))
    return out


def canon_colors(canon_norm: np.ndarray) -> np.ndarray:
    return (np.clip((canon_norm + 1) / 2, 0, 1) * 255).astype(np.uint8)


def evaluate_real(model: str | None, footage: Path, out: Path, max_frames: int = 400, reframe: int = 2,
                  batch: int = 16) -> dict:
    """The network on the real clips as the product runs it: bake.pipeline.reconstruct (tracking, batching,
    re-framing) hands over each frame's crop and prediction; a second pass over the footage draws the overlays and
    follows skin points by optical flow, sampling the canonical map under them."""
    import cv2
    from bake.pipeline import ReconConfig, reconstruct
    from core.errors import BakeError
    from core.footage import open_footage
    from core.head_model import load
    from core.runtime import Predictor
    head = load()
    path = _model_path(model)[0]
    size = Predictor(path).size
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for clip in sorted(footage.glob("*.mp4")):
        seen: dict = {}                       # frame -> (box, prediction, crop)
        try:
            reconstruct(ReconConfig(source=str(clip), end=max_frames, model_path=path, reframe=reframe, batch=batch),
                        on_prediction=lambda k, box, p, crop: seen.__setitem__(k, (box, p, crop)))
        except BakeError:                     # no face in any frame: every frame is reported without one
            pass
        st = dict(writer=None, pts=None, prev_gray=None, strip=[], traj=[], coverage=[], found=0, total=0)
        with open_footage(clip, 0, max_frames) as fo:
            for frame in fo:
                box, p, crop = seen.get(frame.index, (None, None, None))
                _frame_overlay(st, frame.index, frame.image, box, p, crop, head, size, max_frames, clip, out,
                               fo.fps or 25)
        if st["writer"] is not None:
            st["writer"].release()
        if st["strip"]:
            cv2.imwrite(str(out / f"{clip.stem}_strip.png"), np.concatenate(st["strip"], 0)[..., ::-1])
        results[clip.name] = dict(frames=st["total"], face_found=st["found"],
                                  mask_coverage_min=min(st["coverage"], default=0), **_stability(st["traj"]))
    return dict(model=str(_model_path(model)[1]), clips=results)


def _frame_overlay(st: dict, k: int, img, box, p, crop, head, size: int, max_frames: int, clip: Path, out: Path,
                   fps: float) -> None:
    """One frame of evaluate_real: paste the prediction's overlay into the frame, write it to the clip's MP4, add
    a strip tile every so often, follow the skin points by optical flow and sample the canonical map under them."""
    import cv2
    from core.preprocess import crop_affine, crop_to_frame
    st["total"] += 1
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    vis = img.copy()
    canon_at = None
    if p is not None:
        st["found"] += 1
        m = p.mask > 0.5
        st["coverage"].append(float(m.mean()))
        col = canon_colors(p.canon)
        ov = np.where(m[..., None], (0.35 * crop + 0.65 * col).astype(np.uint8), crop)
        M = cv2.invertAffineTransform(crop_affine(box, size))          # crop indices -> frame indices
        warped = cv2.warpAffine(ov, M, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR)
        wm = cv2.warpAffine(np.ones(crop.shape[:2], np.uint8), M, (img.shape[1], img.shape[0])) > 0
        vis[wm] = warped[wm]
        corners = crop_to_frame(np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float64), box, size)
        cv2.polylines(vis, [np.round(corners - 0.5).astype(np.int32)], True, (255, 255, 0), 1)
        if st["pts"] is None:
            fm = cv2.warpAffine(m.astype(np.uint8) * 255, M, (img.shape[1], img.shape[0]))
            st["pts"] = cv2.goodFeaturesToTrack(gray, 60, 0.01, 6, mask=cv2.erode(fm, np.ones((9, 9), np.uint8)))
        canon_at = (p, box, m)
        if k % max(1, min(max_frames, 300) // 8) == 0 and len(st["strip"]) < 8:
            st["strip"].append(np.concatenate([crop, col * m[..., None], _depth_vis(p.depth, m)], 1))
    if st["pts"] is not None and st["prev_gray"] is not None:
        st["pts"], ok, _ = cv2.calcOpticalFlowPyrLK(st["prev_gray"], gray, st["pts"], None, winSize=(21, 21),
                                                    maxLevel=3)
        if ok is not None:
            st["pts"][ok[:, 0] == 0] = np.nan
    if st["pts"] is not None:
        st["traj"].append(_sample_canon(canon_at, st["pts"][:, 0], head, size))
    st["prev_gray"] = gray
    if st["writer"] is None:
        st["writer"] = cv2.VideoWriter(str(out / f"{clip.stem}_overlay.mp4"), cv2.VideoWriter_fourcc(*"mp4v"),
                                       fps, (img.shape[1], img.shape[0]))
    st["writer"].write(vis[..., ::-1])


def _depth_vis(depth, m):
    import cv2
    d = depth.copy()
    if m.any():
        lo, hi = np.quantile(d[m], [0.02, 0.98])
        d = np.clip((d - lo) / max(hi - lo, 1e-6), 0, 1)
    v = cv2.applyColorMap((d * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)[..., ::-1]
    return v * m[..., None]


def _sample_canon(canon_at, pts, head, size):
    from core.preprocess import frame_to_crop
    out = np.full((len(pts), 3), np.nan)
    if canon_at is None:
        return out
    p, box, m = canon_at
    c = frame_to_crop(pts, box, size)
    ok = np.isfinite(c).all(1)
    ci = np.round(np.nan_to_num(c)).astype(int)
    ok &= (ci >= 0).all(1) & (ci < size).all(1)
    ok[ok] &= m[ci[ok, 1], ci[ok, 0]]
    out[ok] = head.to_mm(p.canon[ci[ok, 1], ci[ok, 0]])
    return out


def _stability(traj):
    if len(traj) < 3:
        return dict(canon_std_mm=None, canon_step_mm=None, points=0)
    t = np.stack(traj)                                   # (T, P, 3)
    valid = np.isfinite(t).all(2)
    keep = valid.mean(0) > 0.5
    if not keep.any():
        return dict(canon_std_mm=None, canon_step_mm=None, points=0)
    t = t[:, keep]
    std = np.sqrt(np.nanvar(t, axis=0).sum(1))
    step = np.linalg.norm(np.diff(t, axis=0), axis=2)
    return dict(canon_std_mm=float(np.nanmedian(std)), canon_step_mm=float(np.nanmedian(step)), points=int(keep.sum()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.eval", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("synthetic")
    s.add_argument("--model", default="default")
    s.add_argument("--count", type=int, default=256)
    s.add_argument("--batch", type=int, default=16)
    s.add_argument("--json", type=Path, default=None, help="also write the metrics here")
    s.add_argument("--flip", action="store_true", help="average each crop with its mirror image (runtime flip=True)")
    s.add_argument("--split", default="eval", choices=("eval", "train"),
                   help="eval: the held-out set (default); train: fresh samples of the training distribution, to "
                        "tell the held-out shift from plain error (pick a --seed training never reached)")
    s.add_argument("--seed", type=int, default=777)
    s.add_argument("--frame-by-depth", action="store_true",
                   help="crops framed by the head's true depth instead of its size (the framing of the weights "
                        "before 2026-11-24; training/synth/), for comparisons with older figures")
    s.add_argument("--exposure", type=float, default=1.0, metavar="F",
                   help="every crop's values times F before the network (a dim camera under 1)")
    s.add_argument("--side", type=float, default=1.0, metavar="F",
                   help="the left half of every crop times F before the network (a window's side light)")
    s.add_argument("--no-lift", action="store_true",
                   help="feed the network without core.exposure's lift of dark faces (the runtime's default is on)")
    r = sub.add_parser("real")
    r.add_argument("--model", default="default")
    r.add_argument("--footage", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "footage")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--max-frames", type=int, default=400)
    r.add_argument("--reframe", type=int, default=2,
                   help="network passes more on the crop of the previous pass's head pose, as the bake does (0 = "
                        "the tracker's crop only)")
    r.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    try:
        if a.mode == "synthetic":
            res = evaluate_synthetic(a.model, a.count, a.batch, seed=a.seed, flip=a.flip, split=a.split,
                                     frame_by_head_size=not a.frame_by_depth, exposure=a.exposure,
                                     lift=not a.no_lift, side=a.side)
        else:
            if not a.footage.is_dir():
                print(f"error: footage folder not found: {a.footage}", file=sys.stderr)
                return 2
            res = evaluate_real(a.model, a.footage, a.out, a.max_frames, a.reframe)
    except FaceCaptureError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    text = json.dumps(res, indent=1)
    print(text)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
