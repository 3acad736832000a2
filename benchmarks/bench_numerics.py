"""Speed of the bake's filter and correspondence, the two places that used scipy (issue 19, item 11).

    python benchmarks/bench_numerics.py [--root PATH] [--frames 1000] [--repeat 5] [--out FILE]

``--root`` times the ``bake``/``core`` packages of another checkout (e.g. an export of the commit before the numpy
replacements) with the same inputs. Timed (best of ``--repeat``): ``temporal_filter`` on ``--frames`` frames of 52 +
16 weights with a random-walk head pose and a 6-frame gap, at smoothing 0.5 and 1.0 (30 fps); the correspondence's
voxel look-up table (built once per head model; ``lookup_first_s`` the process's first build, whose fresh memory
costs page faults that the best of the repeats does not show); ``correspond`` per frame on 30 ground-truth clouds; the fusion's
dense weight map. Writes benchmarks/results/numerics.json (or ``--out``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from machine import describe as describe_machine, write_result  # benchmarks/, the script's folder

ROOT = Path(__file__).resolve().parents[1]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        a = time.perf_counter()
        fn()
        times.append(time.perf_counter() - a)
    return min(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose bake/core packages are timed")
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "numerics.json")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))               # training.groundtruth (the clouds) from this checkout
    sys.path.insert(0, str(a.root.resolve()))   # bake/core from the checkout under test
    from bake import correspond as corr, fusion
    from bake.filter import temporal_filter
    from core import head_model
    from core.points import to_point_cloud
    from training import groundtruth as gt

    rng = np.random.default_rng(0)
    T = a.frames
    W = np.clip(rng.normal(0.3, 0.2, (T, 68)), 0, 1)
    rv = np.cumsum(rng.normal(0, 0.01, (T, 3)), 0)
    theta = np.linalg.norm(rv, axis=1, keepdims=True)
    k = rv / np.maximum(theta, 1e-12)
    Kx = np.zeros((T, 3, 3))
    Kx[:, 0, 1], Kx[:, 0, 2], Kx[:, 1, 2] = -k[:, 2], k[:, 1], -k[:, 0]
    Kx -= Kx.transpose(0, 2, 1)
    R = np.eye(3) + np.sin(theta)[:, :, None] * Kx + (1 - np.cos(theta))[:, :, None] * Kx @ Kx
    t = np.cumsum(rng.normal(0, 0.5, (T, 3)), 0) + [0, 0, 600]
    valid = np.ones(T, bool)
    valid[T // 2:T // 2 + 6] = False
    conf = rng.uniform(0.5, 1.5, T)
    res = {"machine": describe_machine("shared, other jobs running"), "root": str(a.root), "frames": T,
           "bake_from": str(Path(corr.__file__).parent)}
    for s in (0.5, 1.0):
        res[f"filter_s_smoothing_{s}"] = best(lambda: temporal_filter(W, R, t, valid, 30.0, s, confidence=conf,
                                                                        n_bounded=52), a.repeat)
    head = head_model.load()
    vmask = corr.default_vertex_mask(head)

    def lookup():
        corr._LOOKUPS.clear()
        corr._lookup(head, vmask)
    res["lookup_first_s"] = best(lookup, 1)          # the process's first build, as a bake pays it (fresh memory)
    res["lookup_s"] = best(lookup, a.repeat)
    seq = gt.make_sequence(head, 30, seed=1)
    clouds = []
    for i in range(30):
        pred, box = gt.render_prediction(head, seq.verts_cam[i], seq.translation[i], seq.K, 128, rng=rng)
        clouds.append(to_point_cloud(pred, box, seq.K, head, i))
    corr._lookup(head, vmask)
    res["correspond_ms_per_frame"] = 1000 * best(lambda: [corr.correspond(c, head) for c in clouds], a.repeat) / 30
    res["dense_weight_map_ms"] = 1000 * best(lambda: fusion.dense_weight_map(head), a.repeat)
    print(json.dumps(res, indent=1))
    write_result(a.out, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
