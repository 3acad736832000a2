"""What the tracker's search for a face costs: detector calls and time per frame where no face is followed.

    .venv/bin/python benchmarks/bench_search.py [--footage ../shared/footage] [--frames 60] [--repeats 3]
        [--without diagonal|canvas] [--json benchmarks/results/search.json]

Sets (1280x720 frames, decoded before timing): ``faceless``, the press clip's background (its left 500 px, which hold
no face, laid side by side mirrored to fill the frame): every frame a search, as over a stretch where the subject has
left the shot; ``upright``, the talking clip re-shot 80 px wide (``reshoots.reshoot``): found on its first frame, then
followed; ``turned 135``, that copy turned 135 degrees (``bench_turned.rolled``): a face the quarter turns score under
``core.track.TURN_CHECK_SCORE``; with ``--without canvas`` also ``too close``, the talking clip enlarged 2.5 times
(``reshoots.reshoot`` "zoom2.5": its face box some 600 px in the 512-px frame, too large for the detectors). Each
set is read by ``FaceTracker.states`` with the search as shipped and without a part of it, alternately ``--repeats``
times: ``--without diagonal`` (the default; ``results/search.json``), its turns between quarters
(``core.track.DIAGONAL_SEARCH`` emptied, as until 2026-12-07); ``--without canvas`` (``results/search_canvas.json``),
its search on a grey canvas for a face too large for the detectors (``FaceTracker._on_canvas``, as until
2026-12-08). Per set and way: the detector calls, the frames read, and the median milliseconds per frame. And what one
search of a 720p frame turned costs (``call_ms``: a quarter turn, and a turn between quarters brought down to
``DIAGONAL_DETAIL`` times the detector's input or turned whole).
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

import core.track as track  # noqa: E402
from bench_turned import rolled  # noqa: E402
from core.footage import open_footage  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402
from reshoots import reshoot  # noqa: E402
from shared_clips import FOOTAGE  # noqa: E402

BACKGROUND_PX = 500          # the press clip's left strip without a face


def faceless(image: np.ndarray) -> np.ndarray:
    """A frame of the press clip with no face: its left ``BACKGROUND_PX`` columns, mirrored side by side to fill the
    frame's width."""
    strip = image[:, :BACKGROUND_PX]
    tiles = [strip if i % 2 == 0 else strip[:, ::-1] for i in range(-(-image.shape[1] // BACKGROUND_PX))]
    return np.ascontiguousarray(np.concatenate(tiles, 1)[:, :image.shape[1]])


SEARCHES = ("diagonal", "canvas")   # the parts of the search a run goes without (``--without``)


def read(images: list, without: str | None = None) -> dict:
    """``images`` read by a fresh tracker, as shipped or without a part of its search (one of ``SEARCHES``): detector
    calls, frames read, seconds."""
    tracker = track.FaceTracker()
    calls = [0]
    detect = tracker.models.detect_faces

    def counted(*args, **kwargs):
        calls[0] += 1
        return detect(*args, **kwargs)

    tracker.models.detect_faces = counted
    if without == "canvas":
        tracker._on_canvas = lambda small, ws: []
    kept = track.DIAGONAL_SEARCH
    track.DIAGONAL_SEARCH = () if without == "diagonal" else kept
    try:
        t0 = time.perf_counter()
        states = tracker.states(images)
        seconds = time.perf_counter() - t0
    finally:
        track.DIAGONAL_SEARCH = kept
        del tracker.models.detect_faces          # the models' own method again
    return dict(detector_calls=calls[0], read=sum(s is not None for s in states), seconds=seconds)


def call_ms(image: np.ndarray, repeats: int = 15) -> dict:
    """Median milliseconds of one detector search of a 720p ``image`` turned, per model (short / full range): a quarter
    turn (``FaceTracker._turned_detections``), and half way between (``_rolled_detections``, turned 45 degrees) as
    shipped, brought down to ``core.track.DIAGONAL_DETAIL`` times the detector's input first, and turned whole."""
    tracker, kept, out = track.FaceTracker(), track.DIAGONAL_DETAIL, {}
    ways = {"quarter": lambda full: tracker._turned_detections(image, 1, full, 0.0, 0.0, 1.0),
            "between quarters": lambda full: tracker._rolled_detections(image, 45.0, full, 0.0, 0.0, 1.0)}
    try:
        for detail, name in ((kept, ""), (float("inf"), " turned whole")):
            track.DIAGONAL_DETAIL = detail
            for way, search in ways.items():
                if name and way == "quarter":
                    continue
                for full, model in ((False, "short"), (True, "full")):
                    search(full)
                    times = []
                    for _ in range(repeats):
                        t0 = time.perf_counter()
                        search(full)
                        times.append(time.perf_counter() - t0)
                    out[f"{way}{name}, {model} range"] = round(1000 * float(np.median(times)), 2)
    finally:
        track.DIAGONAL_DETAIL = kept
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--footage", type=Path, default=FOOTAGE)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--without", choices=SEARCHES, default="diagonal",
                    help="the part of the search the runs as shipped are set against")
    ap.add_argument("--json", type=Path, default=None,
                    help="default: benchmarks/results/search.json, with --without canvas search_canvas.json")
    a = ap.parse_args(argv)
    a.json = a.json or ROOT / "benchmarks" / "results" / ("search.json" if a.without == "diagonal"
                                                          else "search_canvas.json")
    if not a.footage.is_dir():
        print(f"footage folder {a.footage} is absent; nothing to measure", file=sys.stderr)
        return 1
    with open_footage(str(a.footage / "press_wide_shot.mp4"), end=a.frames) as f:
        background = [faceless(fr.image) for fr in f]
    copy = reshoot(a.footage / "talking_green_screen.mp4", "80px", Path(tempfile.mkdtemp(prefix="search_")))
    with open_footage(copy.path, end=a.frames) as f:
        upright = [fr.image for fr in f]
    copy.path.unlink()
    sets = {"faceless": background, "upright": upright, "turned 135": [rolled(im, 135) for im in upright]}
    if a.without == "canvas":
        copy = reshoot(a.footage / "talking_green_screen.mp4", "zoom2.5", Path(tempfile.mkdtemp(prefix="search_")))
        with open_footage(copy.path, end=a.frames) as f:
            sets["too close"] = [fr.image for fr in f]
        copy.path.unlink()
    out = {}
    for name, images in sets.items():
        runs = {None: [], a.without: []}
        for _ in range(a.repeats):
            for without in runs:
                runs[without].append(read(images, without))
        out[name] = {}
        for without, way in ((None, "as shipped"), (a.without, f"no {a.without} search")):
            r = runs[without]
            out[name][way] = dict(frames=len(images), read=r[0]["read"], detector_calls=r[0]["detector_calls"],
                                  ms_per_frame=round(1000 * float(np.median([x["seconds"] for x in r])) / len(images),
                                                     2))
        print(name, json.dumps(out[name]), flush=True)
    calls = call_ms(background[0])
    print("one search, ms:", json.dumps(calls), flush=True)
    res = {"machine": describe_machine(), "frames": a.frames, "repeats": a.repeats, "sets": out,
           "search_call_ms_720p": calls}
    write_result(a.json, res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
