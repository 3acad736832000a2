"""``python -m training.synth``: write samples or a 4D sequence, re-check them, or render the README sample clip."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from core.errors import FaceCaptureError

from .config import SPLITS, SynthConfig
from .files import (SAMPLE_CLIP_SEED, _save_npz, _save_png, check_dir, check_sequence, contact_sheet, write_samples,
                    write_sample_clip)
from .sequences import make_sequence

def main(argv=None) -> int:
    apa = argparse.ArgumentParser(prog="python -m training.synth", description="Synthetic 4D face data with exact ground truth (training.synth)")
    apa.add_argument("--out", type=Path, help="output folder for samples (PNG + .npz) and contact_sheet.png")
    apa.add_argument("--count", type=int, default=None, help="number of samples (default 64)")
    apa.add_argument("--seed", type=int, default=0)
    apa.add_argument("--size", type=int, default=128)
    apa.add_argument("--split", choices=sorted(SPLITS), default="train")
    apa.add_argument("--sequence", type=int, default=0, metavar="FRAMES",
                     help="write a full-frame 4D sequence of FRAMES frames instead of crops")
    apa.add_argument("--check", action="store_true", help="re-verify ground truth of what is in --out")
    apa.add_argument("--sample-clip", type=Path, default=None, help="render the README demo clip (mp4) to this path")
    apa.add_argument("--device", default="cpu")
    a = apa.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if a.sample_clip is not None:
            write_sample_clip(a.sample_clip, seed=a.seed or SAMPLE_CLIP_SEED)
            print(a.sample_clip)
            return 0
        if a.out is None:
            apa.error("--out is required (or --sample-clip)")
        cfg = SynthConfig(size=a.size)
        if a.sequence:
            seq = make_sequence(cfg, a.sequence, a.seed, a.size * 2, a.size * 2, split=a.split)
            a.out.mkdir(parents=True, exist_ok=True)
            for i, im in enumerate(seq["image"]):
                _save_png(a.out / f"frame_{i:05d}.png", im)
            _save_npz(a.out / "sequence.npz", **{k: v for k, v in seq.items() if k != "image"})
            _save_png(a.out / "contact_sheet.png", contact_sheet(seq["image"][:64]))
        elif a.count is not None or not a.check:
            write_samples(a.out, cfg, a.count or 64, a.seed, a.split, a.device)
        if a.check:
            for st in (check_sequence(a.out / "sequence.npz") if a.sequence else check_dir(a.out)):
                print(json.dumps(st))
            print("check: ok")
        print(a.out)
    except FaceCaptureError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
