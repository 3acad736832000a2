"""A small face the right way up, on its side and upside down: how many frames the tracker reads the right way up.

    .venv/bin/python benchmarks/bench_turned.py [--footage ../shared/footage] [--frames 120]
        [--margins | --bake] [--sizes 70,80,...] [--angles 0,90,180,270] [--json benchmarks/results/turned_small.json]

The two close-ups re-shot with the face 32-60 px wide in a 1280x720 frame (``reshoots.reshoot``, "NNpx": the sizes
of ``rerun_readme.SMALL_SIZES``, or those of ``--sizes``; ``--sizes`` ``MID_SIZES`` ``--json
benchmarks/results/turned_mid.json`` reads faces up to 160 px wide (at 200 px the re-shot clip no longer fits the
frame); through the video encoder as the README's copies are), their first ``--frames`` frames turned 0-3 quarter
turns (``np.rot90``, in memory: a phone clip whose rotation tag is lost, a subject lying down; ``--angles`` any
turns, those between quarters by ``rolled``: ``--angles`` ``DIAGONAL_ANGLES`` ``--sizes 48,60,80,100,120 --frames 80
--json benchmarks/results/turned_diagonal.json`` reads faces turned half way between), read by MediaPipe's tracker
as the bake reads it (``core.track.FaceTracker.states``: a trial's frames followed backwards). A frame is read the
right way up where its landmarks' eye line (outer corner to outer corner) lies within 60 degrees of the upright
face's turned the same way. Per set: frames, read, right, wrong; per turn, the sums. With ``--margins``
(``results/turned_margins.json``) the same sets are read without the tracker's righting
(``core.track.QUARTER_MARGIN``), and each finding of the face is recorded: whether it was read the right way up, by
how much the landmark model's presence logit on its region turned 1-3 quarters beats the region's own (the best
turn), and whether that turned reading is the right way up; the summary says what the margin splits. With ``--bake``
the same sets are read as the bake reads them (``read_baked``: the tracker's states and the network, and the frames
before a finding followed backwards from it), so a face found late counts the frames the bake recovers.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_real import CLOSE_UPS  # noqa: E402
from core.footage import open_footage  # noqa: E402
from core.track import QUARTER_MARGIN, FaceTracker, quarter_readings, rolled_on_canvas  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402
from rerun_readme import SMALL_SIZES  # noqa: E402
from reshoots import reshoot  # noqa: E402
from shared_clips import FOOTAGE  # noqa: E402

MID_SIZES = "70,80,90,100,110,120,140,160"
DIAGONAL_ANGLES = "45,135,225,315"
EYE_LINE = {0: (1.0, 0.0), 1: (0.0, -1.0), 2: (-1.0, 0.0), 3: (0.0, 1.0)}   # (1, 0) as np.rot90 by k turns it
RIGHT_WAY_UP = 0.5                                                        # cos 60 degrees


def along(points: np.ndarray, line) -> bool:
    """Whether 478 landmarks' eye line (outer corner to outer corner) lies within 60 degrees of the direction ``line``
    (a 2-vector in the frame, y down)."""
    v = points[263, :2].astype(np.float64) - points[33, :2]
    return bool(v @ np.asarray(line, np.float64) > RIGHT_WAY_UP * np.hypot(*v))


def right_way_up(points: np.ndarray, quarters: int) -> bool:
    """Whether 478 landmarks' eye line lies within 60 degrees of the upright face's turned by ``quarters``."""
    return along(points, EYE_LINE[quarters])


def rolled(image: np.ndarray, degrees: float) -> np.ndarray:
    """``image`` turned ``degrees`` counter-clockwise on a canvas that holds the whole of it, as the tracker turns it
    (``core.track.rolled_on_canvas``), so that no part of the face's path leaves the frame."""
    return rolled_on_canvas(image, degrees)[0]


def _line(degrees: float) -> tuple[float, float]:
    """The upright face's eye line (1, 0) turned ``degrees`` counter-clockwise, in the frame (y down)."""
    return (float(np.cos(np.radians(degrees))), float(-np.sin(np.radians(degrees))))


def _counts(states: list, line) -> dict:
    """Frames, frames read, and read with the eye line along ``line`` (``along``) of a clip's tracker states."""
    right = [along(s.landmarks, line) for s in states if s is not None]
    return dict(frames=len(states), read=len(right), right=sum(right), wrong=len(right) - sum(right))


def read_rolled(images: list, degrees: float) -> dict:
    """``read_turned`` for a turn by any angle (``rolled``): frames read the right way up where the eye line lies
    within 60 degrees of the upright face's turned by ``degrees``."""
    return _counts(FaceTracker().states(rolled(im, degrees) for im in images), _line(degrees))


def read_baked(images: list, degrees: float, folder: Path) -> dict:
    """``read_rolled`` (or ``read_turned``, for a quarter turn) as the bake reads the frames (``bake.pipeline.observe``
    over them written as a PNG folder, so no codec touches them): with its backward pass over the frames before each
    finding (``ReconConfig.backfill``), which ``FaceTracker.states`` does not make."""
    import cv2
    from bake.config import ReconConfig
    from bake.pipeline import observe
    folder.mkdir(parents=True, exist_ok=True)
    for k, im in enumerate(images):
        turned = rolled(im, degrees) if degrees % 90 else np.rot90(im, int(degrees) // 90 % 4)
        cv2.imwrite(str(folder / f"{k:04d}.png"), cv2.cvtColor(turned, cv2.COLOR_RGB2BGR))
    try:
        faces = observe(ReconConfig(source=str(folder))).faces
    finally:
        for png in folder.glob("*.png"):
            png.unlink()
    return _counts(list(faces), _line(degrees))


def read_turned(images: list, quarters: int) -> dict:
    """Frames read and read the right way up of ``images`` turned by ``quarters`` (see the module docstring)."""
    return _counts(FaceTracker().states(np.rot90(im, quarters) for im in images), EYE_LINE[quarters])


class _Unrighted(FaceTracker):
    """A tracker that rights no reading (``--margins``) and records, at each face found, whether the reading is the
    right way up and by how much the best of its region's turned readings beats it (``core.track.quarter_readings``:
    the margin ``QUARTER_MARGIN`` is set against) and whether that one is the right way up."""

    def __init__(self, quarters: int):
        super().__init__()
        self.quarters, self.found = quarters, []

    def _right_way_up(self, image, roi, found):
        _, pts, logits = quarter_readings(self.models, image, roi)
        k = int(np.argmax(logits[1:])) + 1
        self.found.append(dict(frame=self.frames_seen - 1, right=right_way_up(found[0], self.quarters),
                               margin=round(float(logits[k] - logits[0]), 2),
                               turned_right=right_way_up(pts[k], self.quarters)))
        return found


def margins(images: list, quarters: int) -> list[dict]:
    """Each finding of the face in ``images`` turned by ``quarters``, read without the righting (``_Unrighted``)."""
    tracker = _Unrighted(quarters)
    tracker.states(np.rot90(im, quarters) for im in images)
    return tracker.found


def margin_summary(found: list[dict]) -> dict:
    """Over the findings: those read right and the largest margin among them; those read wrong, and how many of them
    a margin over ``QUARTER_MARGIN`` turns the right way up (or another wrong way)."""
    right = [f["margin"] for f in found if f["right"]]
    wrong = [f for f in found if not f["right"]]
    over = [f for f in wrong if f["margin"] > QUARTER_MARGIN]
    return dict(quarter_margin=QUARTER_MARGIN, read_right=len(right),
                largest_margin_read_right=max(right, default=None), read_wrong=len(wrong),
                righted=sum(f["turned_right"] for f in over),
                turned_another_wrong_way=sum(not f["turned_right"] for f in over),
                margins_read_wrong=sorted(f["margin"] for f in wrong))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--footage", type=Path, default=FOOTAGE)
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--json", type=Path, default=None,
                    help="default: benchmarks/results/turned_small.json, with --margins turned_margins.json, with "
                         "--bake turned_small_bake.json")
    ap.add_argument("--margins", action="store_true",
                    help="read each finding without the righting: its margin and whether righting it would help")
    ap.add_argument("--sizes", default=",".join(SMALL_SIZES),
                    help=f"the faces' widths in px, comma-separated (results/turned_mid.json: {MID_SIZES})")
    ap.add_argument("--bake", action="store_true",
                    help="read each set as the bake does (bake.pipeline.observe: its backward pass over the frames "
                         "before a finding too; results/turned_diagonal_bake.json with the diagonal sets)")
    ap.add_argument("--angles", default="0,90,180,270",
                    help="the turns in degrees, counter-clockwise, comma-separated; quarter turns by np.rot90, others "
                         f"by bench_turned.rolled (results/turned_diagonal.json: {DIAGONAL_ANGLES})")
    a = ap.parse_args(argv)
    angles = [int(d) for d in a.angles.split(",")]
    if a.margins and any(d % 90 for d in angles):
        ap.error("--margins reads quarter turns only")
    if a.margins and a.bake:
        ap.error("--margins and --bake read differently; give one")
    a.json = a.json or Path(__file__).resolve().parent / "results" / (
        "turned_margins.json" if a.margins else "turned_small_bake.json" if a.bake else "turned_small.json")
    if not a.footage.is_dir():
        print(f"footage folder {a.footage} is absent; nothing to measure", file=sys.stderr)
        return 1
    sets, folder = {}, Path(tempfile.mkdtemp(prefix="turned_"))
    for clip in CLOSE_UPS:
        for px in a.sizes.split(","):
            copy = reshoot(a.footage / clip, f"{px}px", folder)
            with open_footage(copy.path, end=a.frames) as f:
                images = [fr.image for fr in f]
            copy.path.unlink()
            for degrees in angles:
                name = f"{Path(clip).stem} {px}px turned {degrees}"
                quarters = degrees // 90 % 4
                if a.margins:
                    sets[name] = margins(images, quarters)
                elif a.bake:
                    sets[name] = read_baked(images, degrees, folder / "frames")
                else:
                    sets[name] = read_rolled(images, degrees) if degrees % 90 else read_turned(images, quarters)
                print(name, sets[name], flush=True)
    if a.margins:
        key, head = "summary", margin_summary([f for found in sets.values() for f in found])
    else:
        key, head = "turns", {}
        for degrees in angles:
            mine = [s for n, s in sets.items() if n.endswith(f" turned {degrees}")]
            head[f"turned {degrees}"] = {k: sum(s[k] for s in mine) for k in ("frames", "read", "right", "wrong")}
    res = {"machine": describe_machine(), "frames_per_copy": a.frames, "sizes_px": a.sizes.split(","), key: head,
           "sets": sets}
    print(json.dumps(head, indent=1))
    write_result(a.json, res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
