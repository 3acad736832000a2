"""The README's two tables of current figures, written from the result files, so that they are read, not copied.

``python benchmarks/readme_tables.py`` prints them (markdown); ``--check README.md`` exits 1 when the README does not
hold them as printed (after a result file is re-run, paste the new tables in). Sources, in ``--results``:
  * the real clips against dlib (``real_oracle.json``, ``bench_real.py --mediapipe``): the issue's signals per clip,
    the bake's and MediaPipe's own landmarks; a figure that misses its target in bold;
  * the held-out synthetic clips (``e2e.json``, ``e2e_dense.json``, ``e2e_landmarks.json``, ``bench_e2e.py
    [--fusion dense|landmarks]``): the medians over the seeds of the network path and the ground-truth-maps path,
    fused and dense only, and MediaPipe's landmarks and scores alone (which read no maps).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
CLIPS = (("talking_green_screen.mp4", "talking (512 px)"), ("expressions_office.mp4", "expressions (512 px)"),
         ("press_wide_shot.mp4", "press (720p wide shot)"))
SIDES = ("right", "left")


def _f(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}"


def _marked(values, target: float | None = None, digits: int = 2, low: bool = False) -> str:
    """'a / b', each in bold when it misses ``target`` (``low``: the target is a ceiling)."""
    def one(x):
        s = _f(x, digits)
        miss = target is not None and ((x > target) if low else (x < target))
        return f"**{s}**" if miss else s
    return " / ".join(one(x) for x in values)


def real_table(oracle: dict) -> str:
    """The real clips' table from a ``bench_real.py --mediapipe`` oracle result."""
    clips = oracle["clips"]
    mesh = [clips[c]["mesh"] for c, _ in CLIPS]
    mp = [clips[c].get("mediapipe") for c, _ in CLIPS]
    own_speed = [clips[c].get("oracle_head_speed") for c, _ in CLIPS]     # dlib against its own 3-frame mean

    def sig(m, name):
        return m["signals"][name]

    def mp_cell(values, sep=" / "):     # one value per clip; ", " between clips where each holds two
        return sep.join(values) if all(x is not None for x in mp) else ""

    def blink(m):
        if all(m["blink"][s]["events_truth"] == 0 for s in SIDES):
            return "(no blinks)"
        return _marked([m["blink"][s]["f1"] for s in SIDES], 0.7)

    def speed(m, own):
        hs = m["head_speed"]
        ratio = _f(hs["ratio"]) if 0.9 <= hs["ratio"] <= 1.1 else f"**{_f(hs['ratio'])}**"
        return f"{ratio} ({hs['frames']} frames)" + ("" if own is None else f"; dlib's own {_f(own['ratio'])}")

    rows = [
        ("mouth opening r (0.85); amplitude against dlib's",
         [f"{_marked([sig(m, 'mouth_open')['r']], 0.85)}; {_f(sig(m, 'mouth_open')['gain'])}" for m in mesh],
         mp_cell([_f(sig(m, "mouth_open")["r"]) for m in mp if m])),
        ("eye opening r, right / left (0.8)",
         [_marked([sig(m, f"eye_open_{s}")["r"] for s in SIDES], 0.8) for m in mesh],
         mp_cell([" / ".join(_f(sig(m, f"eye_open_{s}")["r"]) for s in SIDES) for m in mp if m], ", ")),
        ("closed-eye F1 against the frames dlib sees shut, right / left (0.7)", [blink(m) for m in mesh], ""),
        ("mouth width r (0.85)", [_marked([sig(m, "mouth_width")["r"]], 0.85) for m in mesh],
         mp_cell([_f(sig(m, "mouth_width")["r"]) for m in mp if m])),
        ("brows r, right / left (0.7)", [_marked([sig(m, f"brow_{s}")["r"] for s in SIDES], 0.7) for m in mesh],
         mp_cell([" / ".join(_f(sig(m, f"brow_{s}")["r"]) for s in SIDES) for m in mp if m], ", ")),
        ("landmark error at the target's points (0.04 IOD); at all 18",
         [f"{_marked([m['landmark_error_iod']['median_target_points']], 0.04, 3, low=True)}; "
          f"{_f(m['landmark_error_iod']['median'], 3)}" for m in mesh],
         mp_cell([_f(m["landmark_error_iod"]["median_target_points"], 3) for m in mp if m])),
        ("head speed ratio against dlib's (0.9-1.1; frames that move; dlib's own unsmoothed points)",
         [speed(m, own) for m, own in zip(mesh, own_speed)],
         mp_cell([_f(m["head_speed"]["ratio"]) for m in mp if m])),
        ("jitter, IOD (no higher than dlib's, in brackets)",
         [f"{_marked([m['jitter_iod']], m['oracle_jitter_iod'], 4, low=True)} ({_f(m['oracle_jitter_iod'], 4)})"
          for m in mesh], ""),
        ("sideways gaze r against dlib's pupils, right / left", [_marked([m["gaze"][s]["r"] for s in SIDES])
                                                                  for m in mesh],
         mp_cell([" / ".join(_f(m["gaze"][s]["r"]) for s in SIDES) for m in mp if m], ", ")),
    ]
    head = ["signal (target)"] + [name for _, name in CLIPS] \
        + ["MediaPipe's own landmarks (talking / expressions / press)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join([label] + cells + [ref]) + " |" for label, cells, ref in rows]
    return "\n".join(lines)


def _median(e2e: dict, path: str, key: str) -> float:
    return float(np.median([run[path][key] for run in e2e["runs"].values()]))


def synthetic_table(fused: dict, dense: dict, landmarks: dict) -> str:
    """The held-out synthetic clips' table from ``bench_e2e.py`` results, fused, ``--fusion dense`` and
    ``--fusion landmarks``."""
    head = ["path", "reprojection, IOD (target 0.03)", "vertex error, mm (shape only)",
            "head's turn off the truth's, degrees (its motion's)",
            f"expression error, mm (target 1.5; no expression: {_median(fused, 'model', 'expression_mm_neutral'):.1f})",
            f"ARKit weight MAE (target 0.03; all zeros: {_median(fused, 'model', 'arkit_mae_neutral'):.3f})"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, e2e, path in (("the bundled network, fused", fused, "model"), ("the network alone", dense, "model"),
                             ("MediaPipe's landmarks and scores alone", landmarks, "model"),
                             ("ground-truth maps, fused", fused, "ground_truth_maps"),
                             ("ground-truth maps alone", dense, "ground_truth_maps")):
        def m(key):
            return _median(e2e, path, key)
        lines.append("| " + " | ".join([
            label, _marked([m("reprojection_iod_median")], 0.03, 3, low=True),
            f"{m('vertex_mm_median'):.1f} ({m('aligned_mm_median'):.2f})",
            f"{m('rotation_deg_median'):.1f} ({m('rotation_motion_deg_median'):.1f})",
            _marked([m("expression_mm")], 1.5, 2, low=True), _marked([m("arkit_mae")], 0.03, 3, low=True)]) + " |")
    return "\n".join(lines)


def tables(results: Path = RESULTS) -> list[str]:
    """Both tables, from the result files in ``results``."""
    read = lambda name: json.loads((results / name).read_text())        # noqa: E731
    synthetic = synthetic_table(read("e2e.json"), read("e2e_dense.json"), read("e2e_landmarks.json"))
    return [real_table(read("real_oracle.json")), synthetic]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=RESULTS, help="folder of the result files")
    ap.add_argument("--check", type=Path, help="exit 1 when this file (the README) does not hold the tables")
    args = ap.parse_args(argv)
    out = tables(args.results)
    if args.check is None:
        print("\n\n".join(out))
        return 0
    text = args.check.read_text()
    missing = [t.splitlines()[0] for t in out if t not in text]
    for header in missing:
        print(f"{args.check}: the table headed {header!r} is not as the result files give it; "
              f"paste the output of `python benchmarks/readme_tables.py`", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
