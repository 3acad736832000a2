"""Bake accuracy on ground-truth sequences (no network) and bake speed for 1,000 frames.

    python benchmarks/bench_bake.py [--frames 120] [--speed-frames 1000] [--crop 128]

Accuracy: sequences from training.groundtruth (random identity ~ N(0, identity_std) or the template, smooth ARKit
trajectories, head motion), perfect network output rendered per frame, then the real path: PnP anchor ->
correspondence -> solve -> filter (strength 0, so the numbers are the solve's) -> tracks. Reported: vertex error of the
face vertices (skin, lips, brows, eyes; seen or not) in camera space (median, p90), the same over only the vertices
observed in their frame, the same after a per-frame rigid alignment (shape error), the anchor depth
error, and the ARKit weight MAE. Speed: solve + filter + tracks on 1,000 frames of observations (exact vertices of a
sequence), and correspondence ms per frame. Writes benchmarks/results/bake.json.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training import groundtruth as gt  # noqa: E402
from bake.correspond import VertexObservation, correspond, default_vertex_mask  # noqa: E402
from bake.pipeline import bake_observations  # noqa: E402
from bake.solve import kabsch  # noqa: E402
from bake.tracks import posed_vertices  # noqa: E402
from core import head_model  # noqa: E402
from core.points import to_point_cloud  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402


def accuracy(head, T, seed, id_scale, crop, noise):
    seq = gt.make_sequence(head, T, seed=seed, id_scale=id_scale)
    rng = np.random.default_rng(seed)
    obs, t_corr = [], 0.0
    for t in range(T):
        pred, box = gt.render_prediction(head, seq.verts_cam[t], seq.translation[t], seq.K, crop, rng=rng,
                                         depth_noise_mm=noise, canon_noise_mm=noise,
                                         outlier_frac=0.02 if noise else 0.0)
        cloud = to_point_cloud(pred, box, seq.K, head, t)
        a = time.perf_counter()
        obs.append(None if cloud is None else correspond(cloud, head))
        t_corr += time.perf_counter() - a
    a = time.perf_counter()
    tracks, stats = bake_observations(obs, np.arange(T), 30.0, seq.K, seq.size, head, smoothing=0.0)
    t_bake = time.perf_counter() - a
    face = default_vertex_mask(head)
    seen = np.stack([o.confidence > 0 if o is not None else np.zeros(head.n_vertices, bool) for o in obs])
    posed = np.stack([posed_vertices(tracks, i) for i in range(T)])
    err_seen = np.linalg.norm(posed - seq.verts_cam, axis=-1)[seen]       # vertices observed in their frame
    verts = posed[:, face]
    true = seq.verts_cam[:, face]
    err = np.linalg.norm(verts - true, axis=-1)
    R, t = kabsch(verts, true, np.ones(err.shape))
    aligned = np.linalg.norm(verts @ R.transpose(0, 2, 1) + t[:, None] - true, axis=-1)
    w = tracks.weights[:, :head_model.N_ARKIT]
    return dict(frames=T, seed=seed, identity_sd=id_scale, crop=crop, noise_mm=noise,
                vertex_err_mm_median=float(np.median(err)), vertex_err_mm_p90=float(np.percentile(err, 90)),
                observed_vertex_err_mm_median=float(np.median(err_seen)),
                observed_vertex_err_mm_p90=float(np.percentile(err_seen, 90)),
                aligned_err_mm_median=float(np.median(aligned)), aligned_err_mm_p90=float(np.percentile(aligned, 90)),
                depth_err_mm_median=float(np.median(np.abs(tracks.head_translation[:, 2] - seq.translation[:, 2]))),
                depth_bias_mm=float(np.mean(tracks.head_translation[:, 2] - seq.translation[:, 2])),
                arkit_mae=float(np.abs(w - seq.weights).mean()),
                arkit_mae_active=float(np.abs(w - seq.weights)[seq.weights > 0.05].mean()),
                frames_tracked=stats.frames_tracked, correspond_ms_per_frame=1000 * t_corr / T, bake_seconds=t_bake)


def speed(head, T):
    seq = gt.make_sequence(head, T, seed=11, id_scale=1.0)
    conf = default_vertex_mask(head).astype(np.float32)
    ray = seq.verts_cam / seq.verts_cam[..., 2:3]
    z0 = seq.translation[:, 2] + np.random.default_rng(0).normal(0, 20, T)   # PnP-like anchor errors
    Y = seq.verts_cam + (z0 - seq.translation[:, 2])[:, None, None] * ray
    off = np.zeros_like(Y[0])               # exact vertices: no canonical offset (the transport pass still runs)
    obs = [VertexObservation(t, Y[t] * conf[:, None], ray[t] * conf[:, None], conf, float(z0[t]), off)
           for t in range(T)]
    stage = {}
    a = time.perf_counter()
    tracks, _ = bake_observations(obs, np.arange(T), 30.0, seq.K, seq.size, head, smoothing=0.5,
                                  stage_seconds=stage)
    total = time.perf_counter() - a
    return dict(frames=T, seconds=total, stage_seconds=stage,
                arkit_mae_exact_vertices=float(np.abs(tracks.weights[:, :head_model.N_ARKIT] - seq.weights).mean()))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--speed-frames", type=int, default=1000)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bake.json")
    a = ap.parse_args(argv)
    head = head_model.load()
    runs = []
    for id_scale, noise in ((0.0, 0.0), (1.0, 0.0), (1.0, 0.5)):
        r = accuracy(head, a.frames, 1, id_scale, a.crop, noise)
        runs.append(r)
        print(f"identity {id_scale:.0f} sd, noise {noise} mm: vertex err median {r['vertex_err_mm_median']:.2f} "
              f"p90 {r['vertex_err_mm_p90']:.2f} mm (observed vertices {r['observed_vertex_err_mm_median']:.2f}/"
              f"{r['observed_vertex_err_mm_p90']:.2f}) | aligned median {r['aligned_err_mm_median']:.2f} "
              f"p90 {r['aligned_err_mm_p90']:.2f} | depth {r['depth_err_mm_median']:.1f} mm | ARKit MAE "
              f"{r['arkit_mae']:.4f} (active {r['arkit_mae_active']:.3f}) | correspond "
              f"{r['correspond_ms_per_frame']:.1f} ms/frame", flush=True)
    s = speed(head, a.speed_frames)
    print(f"bake (solve+filter+tracks) {s['frames']} frames: {s['seconds']:.2f} s "
          f"{ {k: round(v, 2) for k, v in s['stage_seconds'].items()} }; ARKit MAE on exact vertices "
          f"{s['arkit_mae_exact_vertices']:.4f}")
    out = dict(machine=describe_machine("shared"), accuracy=runs, speed=s)
    write_result(a.out, out)


if __name__ == "__main__":
    main()
