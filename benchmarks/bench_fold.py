"""What core.track.FOLD_SKEW is set against: the skew (core.track.skew, degrees) of every landmark reading MediaPipe
makes on the shared clips and on the held-out renders, the refusal switched off so that every reading is seen.

    .venv/bin/python benchmarks/bench_fold.py --part clips [--json benchmarks/results/fold_skew_clips.json]
    .venv/bin/python benchmarks/bench_fold.py --part renders [--json benchmarks/results/fold_skew_renders.json]

"clips": each shared clip as shot, turned 90 and 180 degrees, and re-shot (benchmarks/reshoots.py: small faces,
worse cameras, a portrait frame, zoom, side light, roll, twist, fast, grey, a hand, dark glasses, a hat brim).
"renders": the nine held-out sequences (bench_e2e.py's seeds) and seeds 5 / 2 / 7 turned to 80 degrees there and
back, away and toward (``--turn-path``), where the landmark model folds a profile. Per set: readings, the largest,
99th percentile and median skew, and how many lie over FOLD_SKEW. The two parts run apart (2 cores: both at once).
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
from machine import describe as describe_machine  # noqa: E402
from shared_clips import CLIPS, FOOTAGE  # noqa: E402

RESHOTS = ("40px", "60px", "noise8", "scale0.5", "jpeg20", "exposure0.2", "exposure1.6", "blur2", "motion9",
           "portrait", "zoom1.5", "side0.2", "roll45", "twist3", "fast3", "grey")
COVERED = (("occlude", 0.4), ("shades", 0.4), ("brim", 1.0), ("brim", 0.5))
SEEDS_9 = (5, 2, 7, 11, 13, 17, 19, 23, 29)
LIMIT = math.degrees(core.track.FOLD_SKEW)      # read before main switches the refusal off


def skews(images) -> np.ndarray:
    """Degrees of ``core.track.skew`` of each reading a fresh tracker makes on ``images``, none refused."""
    tracker = core.track.FaceTracker()
    states = [tracker.update(np.ascontiguousarray(img)) for img in images]
    return np.array([math.degrees(core.track.skew(s.landmarks)) for s in states if s is not None])


def summary(d: np.ndarray) -> dict:
    if not len(d):
        return dict(readings=0)
    return dict(readings=len(d), max=round(float(d.max()), 2), p99=round(float(np.percentile(d, 99)), 2),
                median=round(float(np.median(d)), 2), over=int((d > LIMIT).sum()))


def clip_sets(footage: Path) -> dict:
    import oracle_dlib
    from reshoots import occluders, reshoot
    out, folder = {}, Path(tempfile.mkdtemp(prefix="fold_"))
    for name in CLIPS:
        path = footage / name
        with open_footage(path) as f:
            images = [fr.image for fr in f]
        for k in (0, 1, 2):
            out[f"{path.stem} turned {90 * k}"] = summary(skews(np.rot90(i, k) for i in images))
        shots = [(kind, None) for kind in RESHOTS]
        shots += [(f"{kind}{share:g}", occluders(oracle_dlib.load(path), share, kind)) for kind, share in COVERED]
        for kind, covers in shots:
            copy = reshoot(path, kind, folder, covers)
            with open_footage(copy.path) as f:
                out[f"{path.stem} {kind}"] = summary(skews(fr.image for fr in f))
            print(path.stem, kind, out[f"{path.stem} {kind}"], flush=True)
    return out


def render_sets() -> dict:
    from training.synth import SynthConfig, make_sequence
    out = {}
    for seed in SEEDS_9:
        out[f"seed {seed}"] = summary(skews(make_sequence(SynthConfig(), 60, seed, 512, 512)["image"]))
        print(seed, out[f"seed {seed}"], flush=True)
    for path in ("back", "away", "toward"):
        for seed in (5, 2, 7):
            seq = make_sequence(SynthConfig(), 60, seed, 512, 512, turn=80.0, turn_path=path)
            out[f"seed {seed} turned 80 {path}"] = summary(skews(seq["image"]))
            print(seed, path, out[f"seed {seed} turned 80 {path}"], flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=("clips", "renders"), required=True)
    ap.add_argument("--footage", default=str(FOOTAGE))
    ap.add_argument("--json", default=None, help="default: benchmarks/results/fold_skew_<part>.json")
    a = ap.parse_args()
    core.track.FOLD_SKEW = math.inf          # every reading seen, none refused
    sets = clip_sets(Path(a.footage)) if a.part == "clips" else render_sets()
    res = dict(machine=describe_machine(), fold_skew_deg=LIMIT, sets=sets,
               largest=max((s["max"] for s in sets.values() if s.get("readings")), default=None),
               over=sum(s.get("over", 0) for s in sets.values()))
    print(json.dumps(res, indent=1))
    path = Path(a.json or Path(__file__).resolve().parent / "results" / f"fold_skew_{a.part}.json")
    path.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
