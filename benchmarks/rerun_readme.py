"""bench_real.py's and bench_e2e.py's runs whose result files the README cites as current, in one list, to re-run them
all after a change of the bake (the other benchmarks the README cites, bench_background.py, bench_outline.py,
bench_clip_length.py, bench_turned.py and the speed runs of ``bench_real.py --no-oracle``, and the files kept as a "before", are run
apart).

``python benchmarks/rerun_readme.py --cache DIR --label NAME`` runs them in turn, printing each command and the clock
time it started; ``--only NAME ...`` runs the named ones, ``--dry-run`` prints the commands. bench_real.py keeps each
clip's (and each re-shot copy's) per-frame observations in DIR (``--obs-cache``), so after a change of the bake alone
(bake/'s solve, filter and fusion settings) a second run only re-bakes and re-scores; after a change of the per-frame
stage (core/, ``bake.pipeline.observe``) empty DIR first. bench_e2e.py renders and observes its held-out clips anew
every time. ``--label`` names the new 9-seed files (``e2e_9seeds_<label>.json``, ``e2e_9seeds_with_gaze_<label>.json``:
each change of the bake keeps its own, the README cites the newest). What each run moved goes in docs/MEASUREMENTS.md,
"When the README's figures were re-run"; the README's tables are then pasted from ``python
benchmarks/readme_tables.py``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SEEDS_9 = ("--seeds", "5", "2", "7", "11", "13", "17", "19", "23", "29")
CLOSE_UPS = ("talking_green_screen.mp4", "expressions_office.mp4")
SMALL_SIZES = ("32", "35", "38", "40", "42", "45", "48", "50", "55", "60")

# bench_real.py runs: (name, its --json and --oracle-json files, its arguments); "{footage}" is the clips' folder
REAL = (
    ("main", ("real.json", "real_oracle.json"), ("--small-face", "60")),
    ("arkit_only", ("real_arkit_only.json", "real_oracle_arkit_only.json"), ("--small-face", "60", "--arkit-only")),
    ("scores_as_weights", ("real_scores_as_weights.json", "real_oracle_scores_as_weights.json"),
     ("--small-face", "60", "--scores-as-weights")),
    ("scores_mirrored", ("real_scores_as_weights_mirror.json", "real_oracle_scores_as_weights_mirror.json"),
     ("--scores-as-weights", "--reshoot", "mirror")),
    ("small_sizes", ("real_small_sizes.json", "real_oracle_small_sizes.json"),
     tuple(f"{{footage}}/{c}" for c in CLOSE_UPS) + ("--small-face", *SMALL_SIZES)),
    ("small40", ("real_small40.json", "real_oracle_small40.json"), ("--small-face", "40")),
    ("dense", ("real_fit_dense.json", "real_oracle_dense.json"), ("--fusion", "dense")),
    ("landmarks", ("real_fit_landmarks.json", "real_oracle_landmarks.json"), ("--fusion", "landmarks")),
    ("shift", ("real_shift.json", "real_oracle_shift.json"),
     ("--reshoot", "shift:0", "--reshoot", "shift:0.25", "--reshoot", "shift:0.5", "--reshoot", "shift:0.75")),
    ("reshoot", ("real_reshoot.json", "real_oracle_reshoot.json"),
     ("--reshoot", "mirror", "--reshoot", "roll:20", "--reshoot", "roll:-20")),
    ("roll", ("real_roll.json", "real_oracle_roll.json"),
     ("--reshoot", "roll:20", "--reshoot", "roll:-20", "--reshoot", "roll:30", "--reshoot", "roll:45", "--reshoot",
      "roll:90", "--reshoot", "roll:180")),
    ("sway", ("real_sway.json", "real_oracle_sway.json"), ("--reshoot", "sway:40")),
    ("sway300", ("real_sway300.json", "real_oracle_sway300.json"), ("--reshoot", "sway:300")),
    ("bob120", ("real_bob120.json", "real_oracle_bob120.json"), ("--reshoot", "bob:120")),
    ("shake", ("real_shake.json", "real_oracle_shake.json"), ("--reshoot", "shake:20", "--reshoot", "shake:8")),
    ("shaky", ("real_shaky.json", "real_oracle_shaky.json"), ("--reshoot", "shaky:20", "--reshoot", "shaky:8")),
    ("handheld", ("real_handheld.json", "real_oracle_handheld.json"), ("--reshoot", "handheld:6")),
    ("twist", ("real_twist.json", "real_oracle_twist.json"), ("--reshoot", "twist:3", "--reshoot", "twist:1.5")),
    ("twisty", ("real_twisty.json", "real_oracle_twisty.json"), ("--reshoot", "twisty:3", "--reshoot", "twisty:1.5")),
    ("worse", ("real_worse.json", "real_oracle_worse.json"),
     ("--reshoot", "exposure:0.2", "--reshoot", "exposure:0.35", "--reshoot", "exposure:0.6", "--reshoot", "noise:8",
      "--reshoot", "scale:0.5", "--reshoot", "jpeg:20")),
    ("blur", ("real_blur.json", "real_oracle_blur.json"), ("--reshoot", "blur:2", "--reshoot", "motion:9")),
    ("grey", ("real_grey.json", "real_oracle_grey.json"), ("--reshoot", "grey",)),
    ("side", ("real_side.json", "real_oracle_side.json"), ("--small-face", "60", "--reshoot", "side:0.2")),
    ("overexposed", ("real_overexposed.json", "real_oracle_overexposed.json"), ("--reshoot", "exposure:1.6")),
    ("zoom", ("real_zoom.json", "real_oracle_zoom.json"), ("--reshoot", "zoom:1.5")),
    ("close", ("real_close.json", "real_oracle_close.json"),
     ("--reshoot", "zoom:1.5", "--reshoot", "zoom:1.75", "--reshoot", "zoom:2", "--reshoot", "zoom:2.5")),
    ("portrait", ("real_portrait.json", "real_oracle_portrait.json"), ("--reshoot", "portrait",)),
    ("stride", ("real_stride.json", "real_oracle_stride.json"), ("--reshoot", "stride:2", "--reshoot", "stride:3")),
    ("fast", ("real_fast.json", "real_oracle_fast.json"), ("--reshoot", "fast:2", "--reshoot", "fast:3")),
    ("cover", ("real_cover.json", "real_oracle_cover.json"), ("--reshoot", "occlude:0.4", "--reshoot", "shades:0.4")),
    ("brim", ("real_brim.json", "real_oracle_brim.json"), ("--reshoot", "brim:1", "--reshoot", "brim:0.5")),
    ("cut", ("real_cut.json", "real_oracle_cut.json"), ("--reshoot", "cut:1.6")),
    ("cut115", ("real_cut115.json", "real_oracle_cut115.json"), ("--reshoot", "cut:1.15")),
    ("jump", ("real_jump.json", "real_oracle_jump.json"), ("--reshoot", "jump:10", "--reshoot", "jump:30")),
)
# bench_e2e.py runs: (name, its --json file, its arguments); "{label}" is --label
E2E = (
    ("e2e", "e2e.json", ()),
    ("e2e_dense", "e2e_dense.json", ("--fusion", "dense")),
    ("e2e_landmarks", "e2e_landmarks.json", ("--fusion", "landmarks")),
    ("e2e_9seeds", "e2e_9seeds_{label}.json", SEEDS_9),
    ("e2e_9seeds_dense", "e2e_9seeds_dense.json", SEEDS_9 + ("--fusion", "dense")),
    ("e2e_9seeds_landmarks", "e2e_9seeds_landmarks.json", SEEDS_9 + ("--fusion", "landmarks")),
    ("e2e_9seeds_gaze", "e2e_9seeds_with_gaze_{label}.json", SEEDS_9 + ("--gaze",)),
    ("e2e_turn80", "e2e_turn80.json", ("--turn", "80")),
    ("e2e_turn80_away", "e2e_turn80_away.json", ("--turn", "80", "--turn-path", "away")),
    ("e2e_turn80_toward", "e2e_turn80_toward.json", ("--turn", "80", "--turn-path", "toward")),
    ("e2e_turn80_long", "e2e_turn80_long.json", ("--turn", "80", "--frames", "120")),
)
NAMES = tuple(r[0] for r in REAL) + tuple(r[0] for r in E2E)


def commands(cache: str, label: str, footage: str, python: str = sys.executable) -> list[tuple[str, list[str]]]:
    """(name, argv) of every run, in the order they run."""
    out = []
    for name, (js, oracle), args in REAL:
        out.append((name, [python, str(HERE / "bench_real.py"), "--mediapipe", "--obs-cache", cache,
                           "--json", str(RESULTS / js), "--oracle-json", str(RESULTS / oracle),
                           *(a.format(footage=footage) for a in args)]))
    for name, js, args in E2E:
        out.append((name, [python, str(HERE / "bench_e2e.py"), "--json", str(RESULTS / js.format(label=label)),
                           *args]))
    return out


def main(argv=None) -> int:
    from shared_clips import FOOTAGE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", required=True, metavar="DIR", help="bench_real.py's --obs-cache (kept between runs)")
    ap.add_argument("--label", required=True, help="names the new 9-seed files, e.g. the change's short name")
    ap.add_argument("--footage", default=str(FOOTAGE))
    ap.add_argument("--only", nargs="+", choices=NAMES, metavar="NAME", help=f"run these alone ({', '.join(NAMES)})")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    a = ap.parse_args(argv)
    failed = []
    for name, cmd in commands(a.cache, a.label, a.footage):
        if a.only and name not in a.only:
            continue
        print(f"== {name} {time.strftime('%H:%M:%S')}: {' '.join(cmd)}", flush=True)
        if not a.dry_run and subprocess.run(cmd).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {' '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
