"""The face's width against a green screen, whose key gives the face's true outline: the baked head's silhouette and
MediaPipe's face oval against it.

    .venv/bin/python benchmarks/bench_outline.py [--footage ../shared/footage] [--obs-cache DIR] [--no-outline]
        [--json benchmarks/results/outline_screen.json] [clip.mp4 ...]

Per clip (default: the shared talking clip, shot before a green screen), on the frames where the baked head faces the
camera (``bake.face_outline.FACING``): at the height of each of ``ROWS``' pairs of MediaPipe's face-oval points, in the
image turned by the head's roll about its nose tip as the bake reads it, the width of the keyed silhouette (the run of
pixels that are not screen green, ``GREEN_MARGIN`` over red and blue, through the nose tip's column) and, over it, that
of MediaPipe's oval (bench_real.oval_ends), of the baked head's silhouette (bench_real.outline_ends: the outline
bake.face_outline reads) and of the template's two oval points on the baked head; medians over the frames, and each
side's offset from the key (pixels, + = inside it). Only rows below the ears and above the collar, where the key's
silhouette is the face's (looked at on the talking clip): at the cheekbones the ears widen it, lower the jacket.
``--no-outline`` bakes without bake.face_outline's step (bench_real.without_outline): the head as the solve leaves
it. ``--obs-cache DIR`` reads and keeps the clip's observations as bench_real does (its cache files).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench_real  # noqa: E402  (benchmarks/, the script's folder)
from bake import face_outline, pipeline  # noqa: E402
from bake.tracks import posed_vertices  # noqa: E402
from core import head_model, landmark_template as lt  # noqa: E402
from core.footage import open_footage  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402
from shared_clips import FOOTAGE  # noqa: E402

ROWS = ((132, 361), (58, 288))     # MediaPipe's oval pairs (subject's right, left) at the mouth's height and below it
GREEN_MARGIN = 25                  # a screen pixel's green over its red and its blue (0-255)


def screen_ends(image: np.ndarray, turn: np.ndarray, centre: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """(R, 2) the keyed silhouette's left and right end at each row ``heights`` (R,) of the frame turned by ``turn``
    about ``centre``: the run of non-screen pixels through the centre's column, sampled along the turned row."""
    img = image.astype(np.int16)
    solid = ~((img[..., 1] > img[..., 0] + GREEN_MARGIN) & (img[..., 1] > img[..., 2] + GREEN_MARGIN))
    H, W = solid.shape
    out = np.full((len(heights), 2), np.nan)
    xs = np.arange(-W, W, 0.5)
    for k, y in enumerate(heights):
        at = np.stack([xs, np.full_like(xs, y)], 1) @ turn + centre          # turned row -> image
        i, j = np.rint(at[:, 1]).astype(int), np.rint(at[:, 0]).astype(int)
        inside = (i >= 0) & (i < H) & (j >= 0) & (j < W)
        on = np.zeros(len(xs), bool)
        on[inside] = solid[i[inside], j[inside]]
        mid = int(np.searchsorted(xs, 0.0))
        if not on[mid]:
            continue
        lo, hi = mid, mid
        while lo > 0 and on[lo - 1]:
            lo -= 1
        while hi < len(xs) - 1 and on[hi + 1]:
            hi += 1
        out[k] = xs[lo], xs[hi]
    return out


def measure(path: Path, head, obs_cache: Path | None) -> dict:
    config = pipeline.ReconConfig(source=str(path))
    observed = bench_real.cached(obs_cache and bench_real.cache_file(obs_cache, path, "default", "observed"),
                                 lambda: pipeline.observe(config))
    observed = replace(observed, footage_path=str(path))
    tracks, _ = pipeline.bake_observed(config, observed, head, {})
    template = lt.load()
    rows = []
    slots = {int(f): j for j, f in enumerate(observed.frames)}
    baked = {int(f) - 1: k for k, f in enumerate(tracks.frames)}
    with open_footage(str(path)) as footage:
        for frame in footage:
            j, k = slots.get(int(frame.index)), baked.get(int(frame.index))
            face = None if j is None else observed.faces[j]
            if face is None or k is None or abs(tracks.head_rotation[k][2, 0]) >= face_outline.FACING:
                continue
            marks = np.asarray(face.landmarks, np.float64)[:, :2]
            args = face_outline.head_rows(tracks.head_rotation[k][None], marks[None], ROWS)      # the bake's frame
            turn, centre, heights = (x[0] for x in args)
            screen = screen_ends(frame.image, turn, centre, heights)
            verts = posed_vertices(tracks, k)
            oval = bench_real.oval_ends(marks[None], *args)[0]
            mesh = bench_real.outline_ends(verts[None], tracks.K, head, *args)[0]
            points = (bench_real.project(template.points(verts, head), tracks.K) - centre) @ turn.T
            pts = np.stack([points[[r, l], 0] for r, l in ROWS])
            rows.append(np.stack([screen, oval, mesh, pts]))                   # (4, R, 2)
    a = np.array(rows)
    width = a[..., 1] - a[..., 0]                                               # (T, 4, R)
    out = dict(frames=len(a), rows={})
    for k, (r, l) in enumerate(ROWS):
        ok = np.isfinite(width[:, :, k]).all(1)
        ratio = lambda s: float(np.median(width[ok, s, k] / width[ok, 0, k]))     # noqa: E731
        inside = lambda s: [float(np.median(a[ok, s, k, 0] - a[ok, 0, k, 0])),   # noqa: E731
                            float(np.median(a[ok, 0, k, 1] - a[ok, s, k, 1]))]
        out["rows"][f"{r}/{l}"] = dict(frames=int(ok.sum()), screen_px=float(np.median(width[ok, 0, k])),
                                       mediapipe=ratio(1), mesh=ratio(2), template_points=ratio(3),
                                       inside_px=dict(mediapipe=inside(1), mesh=inside(2)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clips", nargs="*")
    ap.add_argument("--footage", type=Path, default=FOOTAGE)
    ap.add_argument("--obs-cache", type=Path, default=None)
    ap.add_argument("--no-outline", action="store_true", help="bake without bake.face_outline's step")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "outline_screen.json")
    a = ap.parse_args(argv)
    clips = [Path(c) for c in a.clips] or [a.footage / "talking_green_screen.mp4"]
    missing = [str(c) for c in clips if not c.is_file()]
    if missing:
        print(f"no such clip: {', '.join(missing)}", file=sys.stderr)
        return 2
    if a.no_outline:
        bench_real.without_outline()
    head = head_model.load()
    res = dict(machine=describe_machine(), outline_step=not a.no_outline, clips={})
    for c in clips:
        res["clips"][c.name] = measure(c, head, a.obs_cache)
        print(c.name, json.dumps(res["clips"][c.name], indent=1), flush=True)
    write_result(a.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
