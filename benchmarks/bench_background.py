"""How well and at what cost ``core.background`` reads a camera's roll, and its whole turn, off the background.

    .venv/bin/python benchmarks/bench_background.py [--footage ../shared/footage] [--reshoot handheld:6] [--pairs 3]
        [--bake [--png DIR]] [--json benchmarks/results/background.json] [clip.mp4 ...]

Per clip:
  - ``read``, ``ms_per_frame``: the share of frames the reader gives a turn for, and its time per frame, on the clip
    as shot with the tracker's face boxes left out (as ``bake.pipeline.observe`` calls it).
  - on the ``--reshoot`` copy (bench_real's, default a handheld camera's random jolts): ``copy_read``, the share of its
    frames read, and ``r``, the correlation of the turns read with the copy's applied turns from frame to frame (its
    ``twisted`` degrees; the sign of the copy's convention is the opposite of the reader's, so a perfect reading is
    -1), over the steps both have. ``rolled_degrees`` / ``copy_rolled_degrees``: the range of the roll those turns add
    up to on the clip and on the copy (``bake.camera_turn.rolled_degrees``, which hints a still camera's bake at
    ``--camera-turn background`` from a degree up; None where read on too few frames).
  - the camera's whole turn (``BackgroundTurn.view``, what ``--camera-turn background`` puts on the exported camera,
    through the default lens's camera matrix): ``view_read`` and ``view_still_degrees``, the share of the clip's frames
    read and the furthest view from the first (how far a still camera's views wander: the press clip's camera stands
    still). On a copy of the clip seen by its camera turned on the spot (``turned_copy``: each frame warped by that
    turn's homography, exactly what a camera turning about its centre sees; a handheld sway of ``SWAY_DEGREES`` about
    each axis plus ``JITTER_DEGREES`` of shake per frame): ``turned_read``, ``turned_degrees`` (median and largest
    turn from the first frame) and ``turned_view_error_degrees`` (median, 90th percentile and largest angle between
    each view read and the turn applied after the clip's own view): how much of the camera's turn stays off the
    exported camera, and so on the head.
  - with ``--bake``: the clip and its turned copy baked, the copy with the camera still and with ``--camera-turn
    background``: ``head_world_degrees``, per frame the angle between the copy's head turn in the world
    (``bake.camera_turn.world_rotation``) and the clip's as shot (``from_shot``: median, 90th percentile), and between
    their turns from one frame to the next (``step``: median, 90th percentile), and the bake's ``landmark_fit`` (how
    closely the head sits on the footage, bake.fit_report), for each; ``camera_degrees``, how far the copy's exported
    camera turns. ``--png DIR`` draws the three heads' world turns (yaw, pitch, roll, as the CSV writes them) over
    the frames into ``DIR/camera_turn_<clip>.png``.
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

from bake.camera_turn import rolled_degrees, turn_degrees  # noqa: E402
from bake.config import ReconConfig  # noqa: E402
from core import background  # noqa: E402
from core.footage import open_footage  # noqa: E402
from core.track import FaceTracker  # noqa: E402
from machine import describe, write_result  # noqa: E402
import reshoots  # noqa: E402
from shared_clips import FOOTAGE, clip_paths  # noqa: E402


def read_turns(images: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """(T,) the reader's turns on ``images`` with the tracker's face boxes left out, and its ms per frame."""
    states = FaceTracker().states(images)
    reader = background.BackgroundTurn()
    t = time.perf_counter()
    turns = np.array([reader.update(im, None if s is None else s.box) for im, s in zip(images, states)])
    return turns, 1000.0 * (time.perf_counter() - t) / max(1, len(images))


def read_views(images: list[np.ndarray], K: np.ndarray) -> np.ndarray:
    """(T, 3, 3) the camera's view per frame (``BackgroundTurn.view`` as matrices; NaN where unread)."""
    import cv2
    states = FaceTracker().states(images)
    reader = background.BackgroundTurn(K)
    out = np.full((len(images), 3, 3), np.nan)
    for k, (im, s) in enumerate(zip(images, states)):
        reader.update(im, None if s is None else s.box)
        if np.isfinite(reader.view).all():
            out[k] = cv2.Rodrigues(reader.view)[0]
    return out


SWAY_DEGREES = 1.5         # the turned copy's slow sway about each camera axis (two sines, 0.2-1.2 Hz) ...
JITTER_DEGREES = 0.15      # ... and its shake per frame (normal, about each axis)


def turned_copy(frames: list[np.ndarray], K: np.ndarray, fps: float, seed: int = 0
                ) -> tuple[list[np.ndarray], np.ndarray]:
    """``frames`` seen by their camera turned on the spot by a handheld sway and shake (module docstring), and each
    frame's turn (T, 3, 3: the turned camera -> the camera as shot, OpenCV axes; the first frame's the identity)."""
    import cv2
    rng = np.random.default_rng(seed)
    t = np.arange(len(frames)) / fps
    freq, phase = rng.uniform(0.2, 1.2, (2, 3)), rng.uniform(0, 2 * np.pi, (2, 3))
    sway = SWAY_DEGREES / 2 * np.sin(2 * np.pi * freq[None] * t[:, None, None] + phase[None]).sum(1)
    degrees = sway + rng.normal(0, JITTER_DEGREES, sway.shape)
    first = cv2.Rodrigues(np.radians(degrees[0]))[0]
    turns = np.stack([first.T @ cv2.Rodrigues(np.radians(d))[0] for d in degrees])
    out = [cv2.warpPerspective(im, K @ G.T @ np.linalg.inv(K), im.shape[1::-1]) for im, G in zip(frames, turns)]
    return out, turns


def _rounded(degrees: float | None) -> float | None:
    return None if degrees is None else round(degrees, 3)


def _spread(d: np.ndarray) -> dict:
    return dict(median=round(float(np.median(d)), 3), p90=round(float(np.percentile(d, 90)), 3))


def view_accuracy(frames: list[np.ndarray], turned: list[np.ndarray], turns: np.ndarray, K: np.ndarray) -> dict:
    """The view figures of the module docstring for a clip's ``frames`` and its ``turned_copy``."""
    own, got = read_views(frames, K), read_views(turned, K)
    truth = np.where(np.isfinite(own), own, np.eye(3)) @ turns
    ok = np.isfinite(got).all((1, 2))
    err = turn_degrees(got[ok] @ np.transpose(truth[ok], (0, 2, 1)))
    read = np.isfinite(own).all((1, 2))
    return dict(view_read=round(float(read.mean()), 3),
                view_still_degrees=round(float(turn_degrees(own[read]).max()), 3) if read.any() else None,
                turned_read=round(float(ok.mean()), 3),
                turned_degrees=dict(median=round(float(np.median(turn_degrees(turns))), 3),
                                    max=round(float(turn_degrees(turns).max()), 3)),
                turned_view_error_degrees=dict(**_spread(err), max=round(float(err.max()), 3)) if ok.any() else None)


def plot_turns(path: Path, series: list[tuple[str, np.ndarray]], title: str) -> None:
    """Yaw, pitch and roll (degrees) of each named (T, 3, 3) head turn in ``series``, one panel each, to ``path``."""
    import cv2

    from bake.export_csv import head_yaw_pitch_roll
    colours = ((40, 40, 40), (0, 94, 213), (178, 114, 0))       # BGR: black, vermillion, blue
    angles = [(name, np.degrees(head_yaw_pitch_roll(R))) for name, R in series]
    W, H, top = 900, 220, 50
    img = np.full((top + 3 * H, W, 3), 255, np.uint8)
    cv2.putText(img, title, (10, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (40, 40, 40), 1, cv2.LINE_AA)
    for k, (name, _) in enumerate(angles):
        cv2.putText(img, name, (10 + 290 * k, 42), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colours[k], 1, cv2.LINE_AA)
    for i, axis in enumerate(("yaw", "pitch", "roll")):
        y0 = top + i * H
        values = np.concatenate([a[:, i] for _, a in angles])
        lo, hi = values.min() - 0.5, values.max() + 0.5
        cv2.rectangle(img, (0, y0), (W - 1, y0 + H - 6), (225, 225, 225), 1)
        cv2.putText(img, f"{axis}, degrees ({lo:.1f} to {hi:.1f})", (6, y0 + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (40, 40, 40), 1, cv2.LINE_AA)
        for k, (_, a) in enumerate(angles):
            x = np.linspace(10, W - 10, len(a))
            y = y0 + H - 12 - (a[:, i] - lo) / (hi - lo) * (H - 36)
            cv2.polylines(img, [np.stack([x, y], 1).round().astype(np.int32)], False, colours[k], 2, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)


def head_world(clip: Path, turned: list[np.ndarray], folder: Path, png: Path | None = None) -> dict:
    """The head's world turn on the clip as shot (camera still) against its turned copy's, baked with the camera
    still and turning as the background shows (``head_world_degrees``)."""
    import cv2

    from bake import pipeline
    from bake.camera_turn import world_rotation
    for k, im in enumerate(turned):
        cv2.imwrite(str(folder / f"frame_{k:05d}.png"), im[..., ::-1])
    shot = world_rotation(pipeline.reconstruct(ReconConfig(source=str(clip)))[0])
    out, series = {}, [("as shot", shot)]
    for turn in ("still", "background"):
        tracks, stats = pipeline.reconstruct(ReconConfig(source=str(folder), camera_turn=turn))
        W = world_rotation(tracks)
        series.append((f"turned copy, camera {turn}", W))
        n = min(len(W), len(shot))
        T = np.transpose
        moved, shot_moved = W[1:n] @ T(W[:n - 1], (0, 2, 1)), shot[1:n] @ T(shot[:n - 1], (0, 2, 1))
        step = turn_degrees(moved @ T(shot_moved, (0, 2, 1)))
        out[turn] = dict(from_shot=_spread(turn_degrees(W[:n] @ T(shot[:n], (0, 2, 1)))), step=_spread(step),
                         landmark_fit=None if stats.landmark_fit is None else round(stats.landmark_fit, 4))
        if turn != "still":
            out["camera_degrees"] = None if stats.camera_degrees is None else round(stats.camera_degrees, 3)
    if png is not None:
        plot_turns(png / f"camera_turn_{clip.stem}.png", series,
                   f"{clip.name}: the head's turn in the world (bench_background.py --bake)")
    return out


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


def measure(clip: Path, kind: str, pairs: int, bake: bool = False, png: Path | None = None) -> dict:
    footage = open_footage(str(clip))
    fps = float(footage.fps)
    frames = [f.image for f in footage]
    turns, ms = read_turns(frames)
    out = dict(frames=len(frames), read=round(float(np.isfinite(turns).mean()), 3), ms_per_frame=round(ms, 2))
    with tempfile.TemporaryDirectory() as tmp:
        copy = reshoots.reshoot(clip, reshoots.reshoot_kind(kind), Path(tmp))
        shot = [f.image for f in open_footage(str(copy.path))]
    got, _ = read_turns(shot)
    applied = np.diff(np.radians([copy.twisted.get(k, 0.0) for k in range(len(shot))]))
    both = np.isfinite(got[1:]) & (np.abs(applied) > 0)
    out.update(copy=kind, copy_read=round(float(np.isfinite(got).mean()), 3), copy_steps=int(both.sum()),
               r=round(float(np.corrcoef(got[1:][both], applied[both])[0, 1]), 3) if both.sum() > 2 else None,
               rolled_degrees=_rounded(rolled_degrees(turns)), copy_rolled_degrees=_rounded(rolled_degrees(got)))
    h, w = frames[0].shape[:2]
    K = ReconConfig(source=str(clip)).camera_matrix(w, h)
    turned, applied_turns = turned_copy(frames, K, fps)
    out.update(view_accuracy(frames, turned, applied_turns, K))
    if bake:
        with tempfile.TemporaryDirectory() as tmp:
            out["head_world_degrees"] = head_world(clip, turned, Path(tmp), png)
    if pairs:
        out.update(observe_cost(clip, pairs))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*", help="clips (default: the shared clips)")
    ap.add_argument("--footage", default=str(FOOTAGE))
    ap.add_argument("--reshoot", default="handheld:6", help="bench_real's re-shoot whose applied turns are the truth")
    ap.add_argument("--pairs", type=int, default=3, help="paired observe runs with and without the reader (0: none)")
    ap.add_argument("--bake", action="store_true", help="also bake each clip and its copy (head_world_degrees)")
    ap.add_argument("--png", default=None, metavar="DIR", help="with --bake: the heads' world turns drawn here")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "background.json"))
    a = ap.parse_args(argv)
    clips = clip_paths(a.clips, a.footage)
    if not clips:
        print(f"no clips found in {a.footage}; nothing to measure", file=sys.stderr)
        return 0
    res = dict(machine=describe(), reshoot=a.reshoot, pairs=a.pairs, bake=a.bake, clips={})
    for clip in clips:
        res["clips"][clip.name] = measure(clip, a.reshoot, a.pairs, a.bake, Path(a.png) if a.png else None)
        print(clip.name, json.dumps(res["clips"][clip.name]), flush=True)
    write_result(a.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
