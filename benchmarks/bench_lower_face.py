"""Where the baked mesh's lower face sits against MediaPipe's landmarks on the real clips, and why (diagnostics).

    python benchmarks/bench_lower_face.py [--footage ../shared/footage] [--obs-cache DIR]
        [--json benchmarks/results/lower_face.json] [clip.mp4 ...]

Per clip (the default bake; ``--obs-cache`` as in benchmarks/bench_real.py, whose helpers this uses):
  - ``points``: for the chin (152), the mouth corners (61, 291), the subnasale (2) and the top of the face oval (10),
    the median over frames of the distance between the mesh's point and MediaPipe's own landmark, and of its signed
    part along the face's up (MediaPipe's 152 -> 10 direction; negative = the mesh's point is lower), in IOD
    (MediaPipe's own eye-corner distance).
  - ``lip_to_chin_from_shapes``: how much the baked ARKit weights lengthen the distance from the outer lower lip (17)
    to the chin (152) along the head's up, median over frames, in mm and in the baked head's eye distance
    (bake.head_size), and the shapes that contribute most.
  - ``identity_lip_to_chin``: that distance on the baked neutral head and on the template, in eye distances.
Once for the head model, ``shapes``: each mouth and jaw shape's vertical move (mm, full weight) of the lower lip and
the chin point; a shape that lifts the lip and not the chin lengthens the lower face.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bake.pipeline as pipeline  # noqa: E402
import bench_real as br  # noqa: E402
from bake.head_size import eye_distance  # noqa: E402
from core import head_model, landmark_template as lt  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402
from shared_clips import FOOTAGE, clip_paths  # noqa: E402

POINTS = {"chin": lt.CHIN, "mouth_right": lt.MOUTH_RIGHT, "mouth_left": lt.MOUTH_LEFT, "subnasale": 2, "oval_top": 10}
LIP, CHIN = lt.LOWER_LIP_OUTER, lt.CHIN


def lip_chin_moves(head) -> np.ndarray:
    """(52, 2) each ARKit shape's move along the head's up (mm) of the outer lower lip and the chin point."""
    _, _, A = lt.load().basis(head, np.array([LIP, CHIN]))
    return A[:, :, 1]


def clip_figures(path: Path, head, obs_cache: Path | None) -> dict:
    config = pipeline.ReconConfig(source=str(path))
    observed = br.cached(obs_cache and br.cache_file(obs_cache, path, "default", "observed"),
                         lambda: pipeline.observe(config))
    tracks, _ = pipeline.bake_observed(config, observed, head)
    mp, mp_frames = br.cached(obs_cache and br.cache_file(obs_cache, path, "default", "mediapipe"),
                              lambda: br.mediapipe_points(path))
    mesh = br.mesh_landmarks(tracks, head)
    ref = br.on_frames(mp, mp_frames, tracks.frames - 1)
    iod = np.linalg.norm(ref[:, lt.LEFT_EYE_OUTER] - ref[:, lt.RIGHT_EYE_OUTER], axis=-1)
    up = ref[:, 10] - ref[:, CHIN]
    up /= np.linalg.norm(up, axis=-1, keepdims=True)
    d = (mesh - ref) / iod[:, None, None]
    points = {name: dict(distance_iod=float(np.nanmedian(np.linalg.norm(d[:, i], axis=-1))),
                         signed_up_iod=float(np.nanmedian(np.einsum("tc,tc->t", d[:, i], up))))
              for name, i in POINTS.items()}
    moves = lip_chin_moves(head)
    contrib = tracks.weights[:, :52].astype(np.float64) * (moves[:, 0] - moves[:, 1])[None]   # + = longer
    baked_eye = float(eye_distance(tracks.basis, head))
    top = np.argsort(-np.median(contrib, 0))[:3]
    tpl = lt.load().points(head.vertices.astype(np.float64), head)
    neutral = lt.load().points(tracks.basis.astype(np.float64), head)
    return dict(
        points=points,
        lip_to_chin_from_shapes=dict(mm=float(np.median(contrib.sum(1))),
                                     eye_distances=float(np.median(contrib.sum(1))) / baked_eye,
                                     largest={head.arkit_names[i]: float(np.median(contrib[:, i])) for i in top}),
        identity_lip_to_chin=dict(baked=float((neutral[LIP, 1] - neutral[CHIN, 1]) / baked_eye),
                                  template=float((tpl[LIP, 1] - tpl[CHIN, 1]) / eye_distance(head.vertices, head))),
        baked_eye_distance_mm=baked_eye)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clips", nargs="*")
    ap.add_argument("--footage", default=str(FOOTAGE))
    ap.add_argument("--obs-cache", default=None, metavar="DIR")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "lower_face.json"))
    a = ap.parse_args(argv)
    clips = clip_paths(a.clips, a.footage)
    if not clips:
        print(f"no clips found in {a.footage}; nothing to measure", file=sys.stderr)
        return 0
    head = head_model.load()
    moves = lip_chin_moves(head)
    shapes = {n: dict(lower_lip_mm=float(m[0]), chin_mm=float(m[1])) for n, m in zip(head.arkit_names, moves)
              if ("mouth" in n or "jaw" in n) and np.abs(m).max() > 1.0}
    out = dict(machine=describe_machine(), shapes=shapes, clips={})
    for c in clips:
        out["clips"][c.name] = clip_figures(c, head, Path(a.obs_cache) if a.obs_cache else None)
        print(c.name, json.dumps(out["clips"][c.name]), flush=True)
    write_result(a.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
