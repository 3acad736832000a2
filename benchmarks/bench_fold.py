"""What core.track.FOLD_SKEW is set against: the skew (core.track.skew, degrees) of every landmark reading MediaPipe
makes on the shared clips and on the held-out renders, the refusal switched off so that every reading is seen; and,
with ``--read cuts``, where the tracker (as it runs, the refusal on) lists a camera cut (``FaceTracker.cuts``: the
frames the bake's temporal filters take apart), on the same sets and the copies that move the picture most.

    .venv/bin/python benchmarks/bench_fold.py --part clips [--json benchmarks/results/fold_skew_clips.json]
    .venv/bin/python benchmarks/bench_fold.py --part renders [--json benchmarks/results/fold_skew_renders.json]
    .venv/bin/python benchmarks/bench_fold.py --read cuts --part clips     # -> results/cuts_clips.json
    .venv/bin/python benchmarks/bench_fold.py --read cuts --part renders   # -> results/cuts_renders.json
    .venv/bin/python benchmarks/bench_fold.py --read cuts --part readme    # -> results/cuts_readme.json

"clips": each shared clip as shot, turned 90 and 180 degrees, and re-shot (benchmarks/reshoots.py: small faces,
worse cameras, a portrait frame, zoom, side light, roll, twist, fast, grey, a hand, dark glasses, a hat brim).
"renders": the nine held-out sequences (bench_e2e.py's seeds) and seeds 5 / 2 / 7 turned to 80 degrees there and
back, away and toward (``--turn-path``), where the landmark model folds a profile. Per set: readings, the largest,
99th percentile and median skew, and how many lie over FOLD_SKEW. With ``--read cuts`` the clips are also re-shot
``CUT_RESHOTS`` (moved, shaken, swayed out of the picture, cut, jump-cut) and the nine renders also with their eyes
looking about (``--gaze``); per set: frames, the tracker's cuts, its size jumps and its jumps in place, and how near
the largest size change and the most isolated move came to one (``size_jump``, ``place_jump``; over the sets other than
the cut and jump copies, ``largest_uncut``; ``largest_uncut_place`` over those without a size jump or a face found
elsewhere either). "readme": the copies `rerun_readme.py` bakes that the other two parts leave out (``readme_sets``),
read as they are: where a change to the tracker rights or tries a face there, the README's file for it must be re-run.
The parts run apart (2 cores: both at once).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import core.track  # noqa: E402
from core.footage import open_footage  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402
from shared_clips import CLIPS, FOOTAGE  # noqa: E402

RESHOTS = ("40px", "60px", "noise8", "scale0.5", "jpeg20", "exposure0.2", "exposure1.6", "blur2", "motion9",
           "portrait", "zoom1.5", "side0.2", "roll45", "twist3", "fast3", "grey")
COVERED = (("occlude", 0.4), ("shades", 0.4), ("brim", 1.0), ("brim", 0.5))
CUT_RESHOTS = ("mirror", "shift0.5", "sway40", "sway300", "bob120", "shake20", "shaky8", "handheld6", "twisty3",
               "stride3", "cut1.6", "cut1.15", "jump10")
CUT_NAMES = ("cut", "jump")     # the copies with cuts in them (the others' readings say how near a false cut came)
SEEDS_9 = (5, 2, 7, 11, 13, 17, 19, 23, 29)
# the copies rerun_readme.py bakes that the clip sets above leave out (``--part readme``): re-shoots of every clip,
# the close-ups at the other small sizes, and bench_e2e.py --turn 80 --frames 120
README_RESHOTS = ("shift0", "shift0.25", "shift0.75", "roll20", "roll-20", "roll30", "roll90", "roll180", "shake8",
                  "shaky20", "twist1.5", "twisty1.5", "exposure0.35", "exposure0.6", "stride2", "fast2", "jump30")
README_SIZES = ("32px", "35px", "38px", "42px", "45px", "48px", "50px", "55px")
LIMIT = math.degrees(core.track.FOLD_SKEW)      # read before main switches the refusal off


def skews(images) -> dict:
    """The ``core.track.skew`` (degrees) of each reading a fresh tracker makes on ``images`` (main switches the
    refusal off): readings, largest, 99th percentile, median, how many over FOLD_SKEW."""
    tracker = core.track.FaceTracker()
    states = [tracker.update(np.ascontiguousarray(img)) for img in images]
    d = np.array([math.degrees(core.track.skew(s.landmarks)) for s in states if s is not None])
    if not len(d):
        return dict(readings=0)
    return dict(readings=len(d), max=round(float(d.max()), 2), p99=round(float(np.percentile(d, 99)), 2),
                median=round(float(np.median(d)), 2), over=int((d > LIMIT).sum()))


def cuts(images) -> dict:
    """The frames (counted from 0) where a fresh tracker on ``images`` lists a cut, those of them that were size
    jumps and those that were jumps in place; ``size_jump``, the largest of ``core.track.jump_readings`` and its frame
    (the tracker lists a jump over ``JUMP_RATIO``); ``place_jump``, the largest of ``core.track.move_readings`` on a
    step over ``MOVE_JUMP`` face sizes, that step and its frame (the tracker lists one from ``MOVE_STEADY``; none
    where no step is over it), and the largest step that read ``MOVE_STEADY`` or more; ``trials``, where a face found
    on a turned detection that outscored an upright one was followed both ways, and whether the upright reading was
    taken (``FaceTracker.trials``); ``righted``, where a face found was read in its detection's region turned by
    quarter turns, and by how many (``FaceTracker.righted``); ``weighed``, where such a face's upright reading was
    weighed against the turned one, the degrees between their eye lines and whether the upright detection was sure
    (``FaceTracker.weighed``: what ``core.track.TRIAL_APART`` is set against)."""
    tracker = core.track.FaceTracker()
    for img in images:
        tracker.update(np.ascontiguousarray(img))
    reading = core.track.jump_readings(tracker.sizes)[0]
    worst = int(np.argmax(reading))
    moved, isolated = core.track.move_readings(tracker.steps, tracker.sizes)
    over = np.where(moved > core.track.MOVE_JUMP, isolated, 0.0)
    top = int(np.argmax(over))
    alone = np.where(isolated >= core.track.MOVE_STEADY, moved, 0.0)
    return dict(frames=len(tracker.sizes), cuts=list(tracker.cuts), jumps=[k for k, _ in tracker.jumps],
                moves=[k for k, _ in tracker.moves], trials=[[k, up] for k, up in tracker.trials],
                righted=[[k, q] for k, q in tracker.righted],
                weighed=[[k, round(deg, 1), sure] for k, deg, sure in tracker.weighed],
                size_jump=dict(reading=round(float(reading[worst]), 3), frame=worst),
                place_jump=dict(reading=round(float(over[top]), 3), moved=round(float(moved[top]), 3), frame=top,
                                largest_steady_step=round(float(alone.max()), 3)) if over[top] > 0 else None)


READERS = {"skew": skews, "cuts": cuts}


def clip_sets(footage: Path, read=skews, extra: tuple = ()) -> dict:
    import oracle_dlib
    from reshoots import occluders, reshoot
    out, folder = {}, Path(tempfile.mkdtemp(prefix="fold_"))
    for name in CLIPS:
        path = footage / name
        with open_footage(path) as f:
            images = [fr.image for fr in f]
        for k in (0, 1, 2):
            out[f"{path.stem} turned {90 * k}"] = read(np.rot90(i, k) for i in images)
        shots = [(kind, None) for kind in RESHOTS + extra]
        shots += [(f"{kind}{share:g}", occluders(oracle_dlib.load(path), share, kind)) for kind, share in COVERED]
        for kind, covers in shots:
            copy = reshoot(path, kind, folder, covers)
            with open_footage(copy.path) as f:
                out[f"{path.stem} {kind}"] = read(fr.image for fr in f)
            print(path.stem, kind, out[f"{path.stem} {kind}"], flush=True)
    return out


def readme_sets(footage: Path, read=skews) -> dict:
    """``read`` on the README's copies outside ``clip_sets`` and ``render_sets`` (``README_RESHOTS``, ``README_SIZES``
    on the close-ups, the renders turned to 80 degrees over 120 frames): where a change to the per-frame stage that
    these sets do not touch leaves the README's other files as they stand."""
    from bench_real import CLOSE_UPS
    from reshoots import reshoot
    from training.synth import SynthConfig, make_sequence
    out, folder = {}, Path(tempfile.mkdtemp(prefix="fold_readme_"))
    jobs = [(name, kind) for name in CLIPS for kind in README_RESHOTS]
    jobs += [(name, kind) for name in CLOSE_UPS for kind in README_SIZES]
    for name, kind in jobs:
        copy = reshoot(footage / name, kind, folder)
        with open_footage(copy.path) as f:
            out[f"{Path(name).stem} {kind}"] = read(fr.image for fr in f)
        copy.path.unlink()
        print(Path(name).stem, kind, out[f"{Path(name).stem} {kind}"], flush=True)
    for seed in (5, 2, 7):
        out[f"seed {seed} turned 80 long"] = read(make_sequence(SynthConfig(), 120, seed, 512, 512, turn=80.0)["image"])
        print(seed, out[f"seed {seed} turned 80 long"], flush=True)
    return out


def render_sets(read=skews, gaze: tuple = (False,)) -> dict:
    from training.synth import SynthConfig, make_sequence
    out = {}
    for looks in gaze:
        for seed in SEEDS_9:
            name = f"seed {seed}" + (" gaze" if looks else "")
            out[name] = read(make_sequence(SynthConfig(), 60, seed, 512, 512, gaze=looks)["image"])
            print(name, out[name], flush=True)
    for path in ("back", "away", "toward"):
        for seed in (5, 2, 7):
            seq = make_sequence(SynthConfig(), 60, seed, 512, 512, turn=80.0, turn_path=path)
            out[f"seed {seed} turned 80 {path}"] = read(seq["image"])
            print(seed, path, out[f"seed {seed} turned 80 {path}"], flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=("clips", "renders", "readme"), required=True)
    ap.add_argument("--read", choices=tuple(READERS), default="skew")
    ap.add_argument("--footage", default=str(FOOTAGE))
    ap.add_argument("--json", default=None, help="default: benchmarks/results/fold_skew_<part>.json, with --read cuts "
                                                 "cuts_<part>.json")
    a = ap.parse_args()
    read, skew = READERS[a.read], a.read == "skew"
    if skew:
        core.track.FOLD_SKEW = math.inf          # every reading seen, none refused
    if a.part == "clips":
        sets = clip_sets(Path(a.footage), read, () if skew else CUT_RESHOTS)
    elif a.part == "renders":
        sets = render_sets(read, (False,) if skew else (False, True))
    else:
        sets = readme_sets(Path(a.footage), read)
    res = dict(machine=describe_machine(), fold_skew_deg=LIMIT, sets=sets)
    if skew:
        res.update(largest=max((s["max"] for s in sets.values() if s.get("readings")), default=None),
                   over=sum(s.get("over", 0) for s in sets.values()))
    else:
        uncut = {name: s for name, s in sets.items() if not any(c in name for c in CUT_NAMES)}
        # where a face hopped elsewhere (a swayed copy's face leaving the picture) a step there is no false reading
        places = {name: s["place_jump"]["reading"] for name, s in uncut.items()
                  if s["place_jump"] and set(s["cuts"]) <= set(s["moves"])}
        res.update(with_cuts=[name for name, s in sets.items() if s["cuts"]],
                   with_trials={name: s["trials"] for name, s in sets.items() if s["trials"]},
                   with_righted={name: s["righted"] for name, s in sets.items() if s["righted"]},
                   with_weighed={name: s["weighed"] for name, s in sets.items() if s["weighed"]},
                   trial={k: getattr(core.track, k) for k in ("TRIAL_STEPS", "UPRIGHT_STEADIER", "QUARTER_MARGIN",
                                                               "TRIAL_APART")},
                   jump={k: getattr(core.track, k)
                         for k in ("JUMP_RATIO", "JUMP_PX", "JUMP_FRAMES", "JUMP_STEADY", "MOVE_JUMP", "MOVE_STEADY")},
                   largest_uncut=max(((n, s["size_jump"]["reading"]) for n, s in uncut.items()), key=lambda kv: kv[1]),
                   largest_uncut_place=max(places.items(), key=lambda kv: kv[1]) if places else None)
    print(json.dumps(res, indent=1))
    name = f"fold_skew_{a.part}.json" if skew else f"cuts_{a.part}.json"
    write_result(a.json or Path(__file__).resolve().parent / "results" / name, res)


if __name__ == "__main__":
    main()
