"""How well and at what cost ``core.background`` reads a camera's roll, and its whole turn, off the background.

    .venv/bin/python benchmarks/bench_background.py [--footage ../shared/footage] [--reshoot handheld:6] [--pairs 3]
        [--json benchmarks/results/background.json] [clip.mp4 ...]

Per clip:
  - ``read``, ``ms_per_frame``: the share of frames the reader gives a turn for, and its time per frame, on the clip
    as shot with the tracker's face boxes left out (as ``bake.pipeline.observe`` calls it).
  - on the ``--reshoot`` copy (bench_real's, default a handheld camera's random jolts): ``copy_read``, the share of its
    frames read, and ``r``, the correlation of the turns read with the copy's applied turns from frame to frame (its
    ``twisted`` degrees; the sign of the copy's convention is the opposite of the reader's, so a perfect reading is
    -1), over the steps both have.
  - the camera's whole turn (``BackgroundTurn.view``, what ``--camera-turn background`` puts on the exported camera,
    through the default lens's camera matrix): ``view_read`` and ``view_still_degrees``, the share of the clip's frames
    read and the furthest view from the first (how far a still camera's views wander: the press clip's camera stands
    still); on the copy, ``copy_view_read``, ``copy_turn_degrees`` (median and largest of the copy's applied turns
    from its first frame, its affine maps read as a camera's turn) and ``copy_view_error_degrees`` (median, 90th
    percentile and largest angle between each view read and the applied turn after the clip's own view): how much
    of a handheld camera's turn the exported head would keep.
  - ``observe_wall_ratio`` / ``observe_cpu_ratio``: ``bake.pipeline.observe`` with the reader against the same with it
    answering NaN at once, in ``--pairs`` alternating whole runs (median and range of the per-pair ratio; 0 pairs:
    skipped): what the reader costs the per-frame stage.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench_real  # noqa: E402  (benchmarks/, the script's folder)
from bake.config import ReconConfig  # noqa: E402
from core import background  # noqa: E402
from core.footage import open_footage  # noqa: E402
from machine import describe  # noqa: E402


def read_turns(images: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """(T,) the reader's turns on ``images`` with the tracker's face boxes left out, and its ms per frame."""
    states = bench_real.tracker_states(images)
    reader = background.BackgroundTurn()
    t = time.perf_counter()
    turns = np.array([reader.update(im, None if s is None else s.box) for im, s in zip(images, states)])
    return turns, 1000.0 * (time.perf_counter() - t) / max(1, len(images))


def read_views(images: list[np.ndarray], K: np.ndarray) -> np.ndarray:
    """(T, 3, 3) the camera's view per frame (``BackgroundTurn.view`` as matrices; NaN where unread)."""
    import cv2
    states = bench_real.tracker_states(images)
    reader = background.BackgroundTurn(K)
    out = np.full((len(images), 3, 3), np.nan)
    for k, (im, s) in enumerate(zip(images, states)):
        reader.update(im, None if s is None else s.box)
        if np.isfinite(reader.view).all():
            out[k] = cv2.Rodrigues(reader.view)[0]
    return out


def applied_turns(copy, frames: int, K: np.ndarray) -> np.ndarray:
    """(T, 3, 3) a re-shot copy's applied moves (its affine maps against its first frame's) read as a camera's turn:
    the rotation that carries a grid of the frame's rays where each map takes them."""
    w, h = 2 * K[0, 2], 2 * K[1, 2]
    grid = np.stack(np.meshgrid(np.linspace(0.1, 0.9, 9) * w, np.linspace(0.1, 0.9, 7) * h), -1).reshape(-1, 2)
    first = np.linalg.inv(np.vstack([copy.affine[0], [0, 0, 1]]))
    out = np.full((frames, 3, 3), np.nan)
    for k in range(frames):
        if k in copy.affine:
            M = np.vstack([copy.affine[k], [0, 0, 1]]) @ first
            out[k] = background.camera_turn(grid, grid @ M[:2, :2].T + M[:2, 2], K).T
    return out


def _degrees(R: np.ndarray) -> np.ndarray:
    return np.degrees(np.arccos(np.clip((np.trace(R, axis1=-2, axis2=-1) - 1.0) / 2.0, -1.0, 1.0)))


def view_accuracy(frames: list[np.ndarray], shot: list[np.ndarray], copy, K: np.ndarray) -> dict:
    """The view figures of the module docstring for a clip's ``frames`` and its re-shot ``copy``'s ``shot``."""
    own, got = read_views(frames, K), read_views(shot, K)
    applied = applied_turns(copy, len(shot), K)
    truth = applied @ np.where(np.isfinite(own), own, np.eye(3))[:len(shot)]
    ok = np.isfinite(got).all((1, 2)) & np.isfinite(truth).all((1, 2))
    err = _degrees(got[ok] @ np.transpose(truth[ok], (0, 2, 1)))
    turn = _degrees(applied[np.isfinite(applied).all((1, 2))])
    read = np.isfinite(own).all((1, 2))
    return dict(view_read=round(float(read.mean()), 3),
                view_still_degrees=round(float(_degrees(own[read]).max()), 3) if read.any() else None,
                copy_view_read=round(float(np.isfinite(got).all((1, 2)).mean()), 3),
                copy_turn_degrees=dict(median=round(float(np.median(turn)), 3), max=round(float(turn.max()), 3)),
                copy_view_error_degrees=dict(median=round(float(np.median(err)), 3),
                                             p90=round(float(np.percentile(err, 90)), 3),
                                             max=round(float(err.max()), 3)) if ok.any() else None)


def observe_cost(clip: Path, pairs: int) -> dict:
    """The per-frame stage with the reader against without it, ``pairs`` alternating runs."""
    from bake import pipeline
    config = pipeline.ReconConfig(source=str(clip))
    real = background.BackgroundTurn.update
    pipeline.observe(config)                    # warm: models loaded, files cached
    ratios = []
    try:
        for _ in range(pairs):
            run = []
            for on in (True, False):
                background.BackgroundTurn.update = real if on else (lambda self, image, face: np.nan)
                t, c = time.perf_counter(), time.process_time()
                pipeline.observe(config).observations.close()
                run.append((time.perf_counter() - t, time.process_time() - c))
            ratios.append((run[0][0] / run[1][0], run[0][1] / run[1][1]))
    finally:
        background.BackgroundTurn.update = real
    r = np.array(ratios)
    return {f"observe_{k}_ratio": dict(median=round(float(np.median(r[:, i])), 3), low=round(float(r[:, i].min()), 3),
                                       high=round(float(r[:, i].max()), 3)) for i, k in enumerate(("wall", "cpu"))}


def measure(clip: Path, kind: str, pairs: int) -> dict:
    frames = [f.image for f in open_footage(str(clip))]
    turns, ms = read_turns(frames)
    out = dict(frames=len(frames), read=round(float(np.isfinite(turns).mean()), 3), ms_per_frame=round(ms, 2))
    with tempfile.TemporaryDirectory() as tmp:
        copy = bench_real.reshoot(clip, bench_real.reshoot_kind(kind), Path(tmp))
        shot = [f.image for f in open_footage(str(copy.path))]
    got, _ = read_turns(shot)
    applied = np.diff(np.radians([copy.twisted.get(k, 0.0) for k in range(len(shot))]))
    both = np.isfinite(got[1:]) & (np.abs(applied) > 0)
    out.update(copy=kind, copy_read=round(float(np.isfinite(got).mean()), 3), copy_steps=int(both.sum()),
               r=round(float(np.corrcoef(got[1:][both], applied[both])[0, 1]), 3) if both.sum() > 2 else None)
    h, w = frames[0].shape[:2]
    out.update(view_accuracy(frames, shot, copy, ReconConfig(source=str(clip)).camera_matrix(w, h)))
    if pairs:
        out.update(observe_cost(clip, pairs))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*", help="clips (default: the shared clips)")
    ap.add_argument("--footage", default=str(ROOT.parent / "shared" / "footage"))
    ap.add_argument("--reshoot", default="handheld:6", help="bench_real's re-shoot whose applied turns are the truth")
    ap.add_argument("--pairs", type=int, default=3, help="paired observe runs with and without the reader (0: none)")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "background.json"))
    a = ap.parse_args(argv)
    clips = [Path(c) for c in a.clips] or [Path(a.footage) / c for c in bench_real.CLIPS]
    res = dict(machine=describe(), reshoot=a.reshoot, pairs=a.pairs, clips={})
    for clip in clips:
        res["clips"][clip.name] = measure(clip, a.reshoot, a.pairs)
        print(clip.name, json.dumps(res["clips"][clip.name]), flush=True)
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
