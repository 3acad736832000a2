"""Which axis the network's depth answers along, for a head off the camera's optical axis. Prints JSON and writes
benchmarks/results/depth_axis.json.

    python benchmarks/bench_depth_axis.py [--model default] [--samples 24] [--distances 500 1750] [--angles -15 15]

core.types reads the network's depth along the crop's own axis (the camera's direction through the crop's centre):
the network sees the crop alone, so it cannot tell where in the frame it was cut. The shipped network was trained
(training/synth, before this convention) with depths along the camera's optical axis for heads up to 15 degrees off
it, a target it can only guess at from perspective within the crop. Here held-out renders of the training distribution
(the "eval" split's identities, looks and lights) are placed ``--angles`` degrees off the axis at ``--distances`` mm
(yaw within 40 degrees, the crop framed without jitter) and the network's depth over the face is regressed, after
each map's mean is taken off, on the two readings: ``lambda`` = 0 where it answers along the crop's axis, 1 along the
camera's (``tilt_share``: ((net - axis) . (optical - axis)) / |optical - axis|^2 over the face's pixels). Median,
mean and the mean's standard error over the samples per distance and angle.
Needs the training extras (torch) to render.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from core.runtime import Predictor  # noqa: E402
from core.types import axis_through  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402

MIN_PIXELS = 500          # face pixels both the render and the network keep, else the sample is skipped


def tilt_share(net: np.ndarray, along_axis: np.ndarray, along_optical: np.ndarray) -> float:
    """The share of the difference between the two readings (each (N,) depths over the same pixels) the network's
    depths (N,) take, every map's mean taken off: 0 = along the crop's axis, 1 = along the camera's."""
    n, a, o = (np.asarray(x, np.float64) - np.mean(x) for x in (net, along_axis, along_optical))
    d = o - a
    return float(((n - a) * d).sum() / (d * d).sum())


def sample(cfg, assets, index: int, distance: float, angle: float):
    """One eval-split render ``angle`` degrees off the axis at ``distance`` mm: (crop uint8 RGB, mask, depth along
    the crop's axis, depth along the camera's), the depths in the network's units."""
    from training.synth.batch import _batch_from_params, axis_scale
    from training.synth.sampling import sample_params
    p = sample_params(cfg, 11, "eval", index, assets)
    pose = dataclasses.replace(p.pose, z0=distance, tx=distance * np.tan(np.deg2rad(angle)), ty=0.0,
                               yaw=float(np.clip(p.pose.yaw, -40, 40)), scale=1.0, shift=np.zeros(2))
    b = _batch_from_params(cfg, [dataclasses.replace(p, pose=pose)], assets)
    K, t = (b[k][0].numpy().astype(np.float64) for k in ("K", "t"))
    S = cfg.size
    axis = axis_through(K, (S / 2, S / 2))
    along = axis_scale(K[None], axis[None], S, S)[0]
    depth = b["depth"][0, 0].numpy().astype(np.float64)
    scale = assets.head.canon_scale
    optical = ((depth * scale + t @ axis) / along - t[2]) / scale
    image = (b["image"][0].numpy().transpose(1, 2, 0) * 255).round().clip(0, 255).astype(np.uint8)
    return image, b["mask"][0, 0].numpy() > 0.5, depth, optical


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--samples", type=int, default=24)
    ap.add_argument("--distances", type=float, nargs="+", default=[500.0, 1750.0])
    ap.add_argument("--angles", type=float, nargs="+", default=[-15.0, 15.0])
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "depth_axis.json"))
    a = ap.parse_args(argv)
    import torch
    from training.synth.assets import _assets
    from training.synth.config import SynthConfig
    cfg = SynthConfig()
    assets = _assets(torch.device("cpu"))
    net = Predictor(None if a.model == "default" else a.model)
    if net.size != cfg.size:
        raise SystemExit(f"the network reads {net.size}-px crops, the renders are {cfg.size} px")
    rows = []
    for distance in a.distances:
        for angle in a.angles:
            shares = []
            for i in range(a.samples):
                image, mask, axis_depth, optical = sample(cfg, assets, i, distance, angle)
                pred = net.predict(image[None])[0]
                ok = mask & (pred.mask > 0.5)
                if ok.sum() >= MIN_PIXELS:
                    shares.append(tilt_share(pred.depth[ok], axis_depth[ok], optical[ok]))
            s = np.array(shares)
            rows.append(dict(distance_mm=distance, angle_deg=angle, samples=len(s), median=float(np.median(s)),
                             mean=float(s.mean()), mean_se=float(s.std(ddof=1) / np.sqrt(len(s)))))
            print(json.dumps(rows[-1]), flush=True)
    every = [r["mean"] for r in rows]
    res = dict(machine=describe_machine(), model=a.model, samples=a.samples, rows=rows,
               mean_over_rows=float(np.mean(every)))
    write_result(a.json, res)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
