"""End to end on a synthetic 4D sequence with ground truth: footage -> tracking -> network -> bake, measured against
the true vertices, plus per-stage throughput. Prints JSON and writes benchmarks/results/e2e.json.

    python benchmarks/bench_e2e.py [--frames 60] [--size 512] [--seed 5] [--model default]

Two rows: "model" runs the real path (the ONNX network on the tracked crops); "ground truth maps" replaces only the
network with the renderer's exact depth/canonical maps (same crops, same bake), so bake error and model error
are separated. Errors: camera-space vertex distance (mm) over the observed face regions, the same after a per-frame
rigid alignment (shape only), the image-space reprojection error / inter-ocular distance, ARKit weight MAE, and
jitter = median over vertices and frames of |second difference| of the projected vertices divided by the
inter-ocular distance (the ground truth's own value is reported for reference: real motion is not zero).
Needs the training extras (torch) to render the sequence.
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bake.correspond import default_vertex_mask  # noqa: E402
from bake.pipeline import ReconConfig, reconstruct  # noqa: E402
from bake.tracks import posed_vertices  # noqa: E402
from core import head_model  # noqa: E402
from core.types import FramePrediction  # noqa: E402


class GroundTruthPredictor:
    """Stands in for core.runtime.Predictor: crops the renderer's exact maps with the tracker's boxes."""

    def __init__(self, seq, head, size):
        self.seq, self.head, self.size, self.i = seq, head, size, 0
        self.boxes = []

    def predict(self, crops):
        import cv2
        out = []
        for _ in crops:
            i, box = self.boxes.pop(0)
            s = self.size / box.size
            M = np.array([[s, 0, -box.x0 * s], [0, s, -box.y0 * s]])
            warp = lambda a: cv2.warpAffine(a.astype(np.float32), M, (self.size, self.size), flags=cv2.INTER_NEAREST)  # noqa: E731
            z = warp(self.seq["depth"][i])
            m = warp(self.seq["mask"][i].astype(np.float32)) > 0.5
            c = warp(self.seq["canon"][i])
            d = np.where(m, (z - self.seq["t"][i][2]) / self.head.canon_scale, 0)
            out.append(FramePrediction(depth=d.astype(np.float32), depth_conf=np.ones_like(d, np.float32),
                                       canon=self.head.to_norm(c).astype(np.float32),
                                       canon_conf=np.ones_like(d, np.float32), mask=m.astype(np.float32)))
        return out


def metrics(tracks, seq, head, K):
    mask = default_vertex_mask(head)
    idx = [int(f) - 1 for f in tracks.frames]
    pv = np.stack([posed_vertices(tracks, k) for k in range(len(idx))])
    gt = seq["verts_cam"][idx]
    err = np.linalg.norm(pv - gt, axis=-1)[:, mask]
    proj = lambda v: v[..., :2] / v[..., 2:3] * [K[0, 0], K[1, 1]] + K[:2, 2]   # noqa: E731
    eyes = head.region_mask("eyes")
    left, right = eyes & (head.vertices[:, 0] > 0), eyes & (head.vertices[:, 0] < 0)
    iod = np.linalg.norm(proj(gt[:, left].mean(1)) - proj(gt[:, right].mean(1)), axis=-1).mean()

    def jitter(v):
        p = proj(v[:, mask])
        return float(np.median(np.linalg.norm(p[2:] - 2 * p[1:-1] + p[:-2], axis=-1)) / iod)
    # shape only: each frame rigidly aligned (Kabsch) to the truth; image: reprojection error / inter-ocular
    aligned = []
    for p, g in zip(pv[:, mask], gt[:, mask]):
        pc, gc = p - p.mean(0), g - g.mean(0)
        u, _, vt = np.linalg.svd(pc.T @ gc)
        r = u @ np.diag([1, 1, np.sign(np.linalg.det(u @ vt))]) @ vt
        aligned.append(np.linalg.norm(pc @ r - gc, axis=-1))
    reproj = np.linalg.norm(proj(pv[:, mask]) - proj(gt[:, mask]), axis=-1) / iod
    return dict(vertex_mm_median=float(np.median(err)), vertex_mm_p90=float(np.quantile(err, 0.9)),
                aligned_mm_median=float(np.median(aligned)), reprojection_iod_median=float(np.median(reproj)),
                arkit_mae=float(np.abs(tracks.weights[:, :52] - seq["arkit"][idx]).mean()),
                jitter_iod=jitter(pv), jitter_iod_ground_truth=jitter(gt), frames=len(idx))


def run(seq, head, folder, focal, model, gt_maps):
    import bake.pipeline as pl
    cfg = ReconConfig(source=str(folder), focal_px=focal, model_path=None if model == "default" else model)
    if not gt_maps:
        t = time.perf_counter()
        tracks, stats = reconstruct(cfg)
        return tracks, stats, time.perf_counter() - t
    import core.runtime
    import core.track
    orig_pred, orig_update = core.runtime.Predictor, core.track.FaceTracker.update
    gtp = GroundTruthPredictor(seq, head, 128)
    counter = {"i": -1}

    def update(self, image):                # remember which frame each crop box belongs to
        counter["i"] += 1
        box = orig_update(self, image)
        if box is not None:
            gtp.boxes.append((counter["i"], box))
        return box
    core.runtime.Predictor = lambda *a, **k: type("P", (), {"size": 128, "predict": gtp.predict})()
    core.track.FaceTracker.update = update
    try:
        t = time.perf_counter()
        tracks, stats = pl.reconstruct(cfg)
        return tracks, stats, time.perf_counter() - t
    finally:
        core.runtime.Predictor, core.track.FaceTracker.update = orig_pred, orig_update


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--model", default="default")
    a = ap.parse_args()
    import cv2
    from core.train.synth import SynthConfig, make_sequence
    head = head_model.load()
    seq = make_sequence(SynthConfig(), a.frames, a.seed, a.size, a.size)
    folder = Path(tempfile.mkdtemp(prefix="e2e_"))
    for i, img in enumerate(seq["image"]):
        cv2.imwrite(str(folder / f"frame_{i:04d}.png"), img[..., ::-1])
    K = seq["K"]
    res = dict(machine=f"{platform.machine()} {os.cpu_count()} cores", frames=a.frames, size=a.size, seed=a.seed)
    for name, gt_maps in (("model", False), ("ground_truth_maps", True)):
        tracks, stats, secs = run(seq, head, folder, float(K[0, 0]), a.model, gt_maps)
        res[name] = dict(**metrics(tracks, seq, head, K), frames_tracked=stats.frames_tracked,
                         frames_bridged=stats.frames_bridged, seconds=secs, fps=a.frames / secs,
                         stage_seconds={k: round(v, 3) for k, v in stats.stage_seconds.items()})
    print(json.dumps(res, indent=1))
    out = Path(__file__).resolve().parent / "results" / "e2e.json"
    out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
