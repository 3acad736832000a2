"""Issue 5 target: bake + Blender objects + FBX for 1,000 frames < 10 s.

    python benchmarks/bench_blender.py [--frames 1000] [--no-bake]

Stages timed on synthetic data (the network is not involved):
  * bake: bake.pipeline.bake_observations on exact per-frame vertex observations of a moving, expressive head
    (solve + filter + tracks), when bake.pipeline is importable;
  * build_scene: bake.blender_io.build_scene (mesh, 52 shape keys, 52 f-curves x N keys, head motion, camera);
  * export_fbx: Blender's FBX exporter with the settings of bake.blender_io.export_fbx;
  * export_glb (reported, not part of the target).
Prints a table and writes benchmarks/results/blender.json.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from machine import describe as describe_machine, write_result  # benchmarks/, the script's folder

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "blender"))
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="fc_bench_user_"))


def observations_from(tracks, head):
    import numpy as np
    from bake.correspond import VertexObservation
    mask = head.region_mask("skin", "lips", "brows", "eyes").astype(np.float32)
    obs = []
    for i in range(len(tracks.frames)):
        v = tracks.basis + np.tensordot(tracks.weights[i], tracks.key_deltas, axes=(0, 0))
        p = (v @ tracks.head_rotation[i].T + tracks.head_translation[i]).astype(np.float32)
        obs.append(VertexObservation(frame=int(tracks.frames[i]), position=p * mask[:, None],
                                     ray=(p / p[:, 2:3]).astype(np.float32), confidence=mask.copy()))
    return obs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--no-bake", action="store_true")
    a = ap.parse_args()
    import bpy
    import numpy as np
    from conftest import make_tracks
    from core import head_model
    from bake import blender_io
    head = head_model.load()
    tracks = make_tracks(head, n_frames=a.frames, fps=30.0)
    res = {"frames": a.frames, "keys": len(tracks.key_names), "vertices": int(len(tracks.basis)),
           "machine": describe_machine(platform.system()),
           "bpy": bpy.app.version_string}
    if not a.no_bake:
        try:
            from bake.pipeline import bake_observations
            obs = observations_from(tracks, head)
            t = time.perf_counter()
            baked, stats = bake_observations(obs, np.asarray(tracks.frames), tracks.fps, tracks.K, tracks.image_size,
                                             head=head)
            res["bake_s"] = time.perf_counter() - t
            res["bake_stages_s"] = {k: round(v, 3) for k, v in stats.stage_seconds.items()}
            tracks = baked
        except ImportError as e:
            print(f"bake stage skipped: {e}")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    t = time.perf_counter()
    coll = blender_io.build_scene(tracks)
    res["build_scene_s"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        fbx = blender_io.export_fbx(Path(d) / "bench.fbx", coll)
        res["export_fbx_s"] = time.perf_counter() - t
        res["fbx_mb"] = fbx.stat().st_size / 1e6
        t = time.perf_counter()
        glb = blender_io.export_glb(Path(d) / "bench.glb", coll)
        res["export_glb_s"] = time.perf_counter() - t
        res["glb_mb"] = glb.stat().st_size / 1e6
    res["target_total_s"] = res.get("bake_s", 0.0) + res["build_scene_s"] + res["export_fbx_s"]
    res["target_met"] = res["target_total_s"] < 10.0
    for k, v in res.items():
        print(f"{k:>16}: {v:.3f}" if isinstance(v, float) else f"{k:>16}: {v}")
    write_result(ROOT / "benchmarks" / "results" / "blender.json", res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
