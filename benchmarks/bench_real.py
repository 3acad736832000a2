"""The whole path on the real clips (../shared/footage): how well the baked head follows the face.

    python benchmarks/bench_real.py [--footage ../shared/footage] [--png /tmp/real] [--model default]
        [--json benchmarks/results/real.json] [clip.mp4 ...]

There is no ground truth for real footage, so three numbers per clip, all in inter-ocular distances (IOD, the
distance between the projected eye centres of the fitted head, per frame):
  - fit residual: median over frames and observed face vertices of the image distance between the fitted vertex and
    where the network's canonical lookup saw that vertex (the pixel its observation projects to). Large = the head
    model could not follow what the network saw (a wrong pose, or expressions the fit missed).
  - jitter: median over vertices and consecutive frame triples of |second difference| of the projected fitted
    vertices (the issue's definition). Real motion is not zero; on the synthetic clips the truth has 0.001-0.005.
  - bridged: frames the bake replaced by interpolation (no face, or a pose that jumped away from its neighbours).
With --png, an overlay strip per clip (fitted mesh over the footage) is written for a person to judge; these images
show third-party footage and must never be committed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bake.pipeline as pipeline  # noqa: E402
from bake.correspond import default_vertex_mask, stack  # noqa: E402
from bake.tracks import posed_vertices  # noqa: E402
from core import head_model  # noqa: E402

CLIPS = ("talking_green_screen.mp4", "expressions_office.mp4", "press_wide_shot.mp4")


def project(v: np.ndarray, K: np.ndarray) -> np.ndarray:
    return v[..., :2] / v[..., 2:3] * [K[0, 0], K[1, 1]] + K[:2, 2]


def follow_metrics(tracks, observations, head) -> dict:
    """Fit residual and jitter (IOD) of baked tracks against the observations they were fitted to."""
    K = tracks.K
    mask = default_vertex_mask(head)
    eyes = head.region_mask("eyes")
    left, right = eyes & (head.vertices[:, 0] > 0), eyes & (head.vertices[:, 0] < 0)
    pv = np.stack([posed_vertices(tracks, i) for i in range(len(tracks.frames))])
    p = project(pv, K)
    iod = np.linalg.norm(p[:, left].mean(1) - p[:, right].mean(1), axis=-1)            # (T,)
    Y, _, C = stack(observations, head.n_vertices)
    seen = (C > 0) & mask[None] & tracks.tracked[:, None]
    resid = np.linalg.norm(project(np.where(seen[..., None], Y, 1.0), K) - p, axis=-1) / iod[:, None]
    d2 = np.linalg.norm(p[2:, mask] - 2 * p[1:-1, mask] + p[:-2, mask], axis=-1) / iod[1:-1, None]
    return dict(fit_residual_iod_median=float(np.median(resid[seen])),
                fit_residual_iod_p90=float(np.quantile(resid[seen], 0.9)),
                jitter_iod=float(np.median(d2)), iod_px_median=float(np.median(iod)))


def run_clip(path: Path, model: str, png: Path | None, head) -> dict:
    captured = {}
    original = pipeline.bake_observations

    def capture(observations, *a, **k):        # keep what the network saw, to compare the fit against it
        captured["observations"] = observations
        return original(observations, *a, **k)
    pipeline.bake_observations = capture
    try:
        t = time.perf_counter()
        tracks, stats = pipeline.reconstruct(pipeline.ReconConfig(source=str(path),
                                                                  model_path=None if model == "default" else model))
        seconds = time.perf_counter() - t
    finally:
        pipeline.bake_observations = original
    out = dict(frames=stats.frames_total, tracked=stats.frames_tracked, bridged=stats.frames_bridged,
               seconds=round(seconds, 2), fps=round(stats.frames_total / seconds, 1),
               **follow_metrics(tracks, captured["observations"], head))
    if png is not None:
        from bake.overlay import write_overlays
        write_overlays(tracks, png / path.stem, n_strip=6)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clips", nargs="*")
    ap.add_argument("--footage", default=str(ROOT.parent / "shared" / "footage"))
    ap.add_argument("--model", default="default")
    ap.add_argument("--png", default=None, help="folder for overlay strips (never commit them)")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "real.json"))
    a = ap.parse_args(argv)
    footage = Path(a.footage)
    clips = [Path(c) for c in a.clips] or [footage / c for c in CLIPS if (footage / c).exists()]
    if not clips:
        print(f"no clips found in {footage}", file=sys.stderr)
        return 1
    head = head_model.load()
    res = dict(machine=f"{platform.machine()} {os.cpu_count()} cores", model=a.model, clips={})
    for c in clips:
        res["clips"][c.name] = run_clip(c, a.model, Path(a.png) if a.png else None, head)
        print(c.name, json.dumps(res["clips"][c.name]), flush=True)
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
