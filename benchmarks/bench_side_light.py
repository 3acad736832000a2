"""Half the face in shadow: what core.exposure's side lift (``side_gains``) is set against, and what it buys; and
how far other light the renders did not cover moves the network (``--probes``).

    .venv/bin/python benchmarks/bench_side_light.py [--footage ../shared/footage] [--light 0.2] [--every 3]
        [--free 3 8] [--renders 256] [--probes] [--json benchmarks/results/side_light.json] [clip.mp4 ...]

Per clip, on every ``--every``th frame the tracker follows (the crop the bake first cuts): the ratio of the face
band's brightest strip reading to its darkest (``core.exposure.strip_readings``, linear light) as shot and with the
frame's left half at ``--light`` of its values (training.eval.half_in_shadow, bench_real's ``--reshoot side:F``);
and how far the network's canonical points on each crop move (mm, median over the crop's face pixels, then median
and 90th percentile over the crops) from its answers on the crop as shot without the side lift: with the lift off,
at the module's ``SIDE_FREE`` and at each ``--free``. ``changed``: the fraction of crops as shot the lift touches
(the others move too, by less, where one in their batch is lifted: the int8 network's activations are quantised
per batch).
With ``--renders N`` (needs torch, in the test environment) the same ratio over N held-out renders (training.synth),
whose own key light the network was trained on, and for each render the lift touches the network's error against
truth with the lift off, as set and without ``SIDE_MAX_GAIN``; over all of them, with the lift: ``python -m
training.eval synthetic [--side F]``.
With ``--probes``, per clip the drift (as above, the runtime's lifts as set) of the crops as shot made over by each of
``PROBES``: the crop above or below 0.42 of its height (the eyes' line) at ``--light`` (a hat brim's shadow, light from
below), colour casts (linear-light gains per channel: a tungsten lamp without white balance, ...) and tone curves
(sRGB in -> out: a camera's flat log-like profile, a contrasty one, gamma).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import exposure  # noqa: E402
from core.footage import open_footage  # noqa: E402
from core.head_model import load  # noqa: E402
from core.preprocess import crop_image  # noqa: E402
from core.runtime import Predictor  # noqa: E402
from core.track import FaceTracker  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402
from shared_clips import CLIPS, FOOTAGE  # noqa: E402
from training.eval import half_in_shadow  # noqa: E402

QUANTILES = (0.5, 0.9, 0.99, 1.0)
EYE_LINE = 0.42          # crop rows above it are the eyes and brow, below it the nose, mouth and chin


def _rows_dark(crops: np.ndarray, light: float, above: bool) -> np.ndarray:
    S = crops.shape[1]
    lit = np.clip((np.arange(S) - (EYE_LINE - 0.03) * S) / (0.06 * S), 0.0, 1.0)     # 0 above the eyes' line
    gain = light + (1.0 - light) * (lit if above else lit[::-1])
    return np.clip(np.rint(crops * gain[:, None, None]), 0, 255).astype(np.uint8)


def _cast(gains):
    def apply(crops, light):
        lin = exposure.to_linear(crops / 255.0) * np.asarray(gains)
        return np.clip(np.rint(255.0 * exposure.to_srgb(lin)), 0, 255).astype(np.uint8)
    return apply


def _curve(fn):
    return lambda crops, light: np.clip(np.rint(255.0 * fn(crops / 255.0)), 0, 255).astype(np.uint8)


PROBES = {
    "above the eyes in shadow": lambda c, light: _rows_dark(c, light, above=True),
    "below the eyes in shadow": lambda c, light: _rows_dark(c, light, above=False),
    "tungsten cast (1, 0.72, 0.42)": _cast((1.0, 0.72, 0.42)),
    "cool cast (0.75, 0.9, 1)": _cast((0.75, 0.9, 1.0)),
    "green cast (0.8, 1, 0.8)": _cast((0.8, 1.0, 0.8)),
    "flat log-like (0.28 + 0.45 v)": _curve(lambda v: 0.28 + 0.45 * v),
    "contrasty (1.6x about 0.5)": _curve(lambda v: np.clip(0.5 + 1.6 * (v - 0.5), 0.0, 1.0)),
    "gamma 0.6": _curve(lambda v: v ** 0.6),
    "gamma 1.6": _curve(lambda v: v ** 1.6),
}


def ratio(crop: np.ndarray) -> float:
    """The face band's brightest strip reading over its darkest (inf where a strip is black)."""
    read, _ = exposure.strip_readings(crop)
    return float(read.max() / read.min()) if read.min() > 0 else float("inf")


def spread(values) -> dict:
    v = np.asarray(values, np.float64)
    return {f"q{round(100 * q)}": float(np.quantile(v, q)) for q in QUANTILES}


def clip_crops(path: Path, size: int, every: int, light: float) -> tuple[np.ndarray, np.ndarray]:
    """The crops as shot and half in shadow, cut at the tracker's box on every ``every``th followed frame."""
    tracker, shot, shadow, n = FaceTracker(), [], [], 0
    with open_footage(str(path)) as footage:
        for frame in footage:
            state = tracker.update(frame.image)
            if state is None:
                continue
            if n % every == 0:
                shot.append(crop_image(frame.image, state.box, size))
                shadow.append(crop_image(half_in_shadow(frame.image, light), state.box, size))
            n += 1
    return np.stack(shot), np.stack(shadow)


def drift(pred: Predictor, crops: np.ndarray, ref: list, scale: float) -> np.ndarray:
    """Per crop, the median distance (mm) of the network's canonical points from ``ref``'s over its face pixels."""
    out = pred.predict(crops)
    return np.array([np.median(np.linalg.norm(o.canon - r.canon, axis=-1)[r.mask > 0.5]) * scale
                     for o, r in zip(out, ref)])


def measure_clip(pred: Predictor, path: Path, every: int, light: float, frees: list[float], scale: float,
                 probes: bool = False) -> dict:
    shot, shadow = clip_crops(path, pred.size, every, light)
    out = side_lift(pred, shot, shadow, frees, scale)
    if probes:
        ref = pred.predict(shot)
        out["probes_drift_mm"] = {name: spread(drift(pred, make(shot, light), ref, scale))
                                  for name, make in PROBES.items()}
    return out


def side_lift(pred: Predictor, shot: np.ndarray, shadow: np.ndarray, frees: list[float], scale: float) -> dict:
    out = {"crops": len(shot), "ratio_as_shot": spread([ratio(c) for c in shot]),
           "ratio_in_shadow": spread([ratio(c) for c in shadow]), "drift_mm": {}}
    module_free = exposure.SIDE_FREE
    try:
        exposure.SIDE_FREE = np.inf
        ref = pred.predict(shot)
        for free in [np.inf] + frees:
            exposure.SIDE_FREE = free
            a, b = drift(pred, shot, ref, scale), drift(pred, shadow, ref, scale)
            touched = [bool((exposure.side_gains(c) != 1.0).any()) for c in shot]
            out["drift_mm"]["off" if free == np.inf else f"free {free:g}"] = {
                "as_shot": spread(a), "changed": float(np.mean(touched)), "in_shadow": spread(b)}
    finally:
        exposure.SIDE_FREE = module_free
    return out


def render_ratios(count: int) -> dict:
    """The ratio over ``count`` held-out renders; for those the lift touches, the network's canonical error against
    truth (mm, median and 90th percentile over the face) with the lift off, as set, and without ``SIDE_MAX_GAIN``
    (each crop run alone, so no other crop's lift moves it)."""
    from training.synth import SynthConfig, make_batch
    pred, scale = Predictor(), float(load().canon_scale)
    ratios, touched = [], []
    settings = {"off": (np.inf, exposure.SIDE_MAX_GAIN), "as set": (exposure.SIDE_FREE, exposure.SIDE_MAX_GAIN),
                "no max gain": (exposure.SIDE_FREE, np.inf)}
    kept = exposure.SIDE_FREE, exposure.SIDE_MAX_GAIN
    try:
        for start in range(0, count, 16):
            b = make_batch(SynthConfig(size=pred.size, frame_by_head_size=True), min(16, count - start),
                           777 + start, split="eval")
            crops = (b["image"].permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
            for i, crop in enumerate(crops):
                ratios.append(ratio(crop))
                if ratios[-1] <= kept[0]:
                    continue
                face = b["mask"][i, 0].numpy() > 0.5
                truth = b["canon"][i].permute(1, 2, 0).numpy()
                row = {"render": start + i, "ratio": ratios[-1]}
                for name, (exposure.SIDE_FREE, exposure.SIDE_MAX_GAIN) in settings.items():
                    err = np.linalg.norm(pred.predict(crop)[0].canon - truth, axis=-1)[face] * scale
                    row[name] = [float(np.median(err)), float(np.quantile(err, 0.9))]
                touched.append(row)
    finally:
        exposure.SIDE_FREE, exposure.SIDE_MAX_GAIN = kept
    r = np.array(ratios)
    return {"renders": count, "ratio": spread(r),
            "over": {f"{f:g}": float(np.mean(r > f)) for f in (3.0, exposure.SIDE_FREE, 8.0)},
            "touched_canon_mm": touched}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*")
    ap.add_argument("--footage", type=Path, default=FOOTAGE)
    ap.add_argument("--light", type=float, default=0.2)
    ap.add_argument("--every", type=int, default=3)
    ap.add_argument("--free", type=float, nargs="*", default=[3.0, 8.0],
                    help="SIDE_FREE values to compare besides the module's")
    ap.add_argument("--renders", type=int, default=0, help="also the ratio over N held-out renders (torch)")
    ap.add_argument("--probes", action="store_true", help="also the drift under PROBES' light")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "side_light.json")
    a = ap.parse_args(argv)
    pred, scale = Predictor(), float(load().canon_scale)
    frees = sorted({exposure.SIDE_FREE, *a.free})
    res = {"machine": describe_machine(), "light": a.light, "every": a.every, "side_free": exposure.SIDE_FREE,
           "side_strips": exposure.SIDE_STRIPS, "clips": {}}
    for name in a.clips or CLIPS:
        path = a.footage / name
        if not path.is_file():
            print(f"skip {name}: not in {a.footage}")
            continue
        res["clips"][name] = m = measure_clip(pred, path, a.every, a.light, frees, scale, a.probes)
        print(f"{name}: {m['crops']} crops, ratio as shot {m['ratio_as_shot']['q50']:.2f} (max "
              f"{m['ratio_as_shot']['q100']:.2f}), in shadow {m['ratio_in_shadow']['q50']:.1f}")
        for k, d in m["drift_mm"].items():
            print(f"  {k:9s} as shot changed {d['changed']:.2f} drift max {d['as_shot']['q100']:.2f} mm; in shadow "
                  f"drift {d['in_shadow']['q50']:.2f} / {d['in_shadow']['q90']:.2f} mm (median / p90)")
        for k, d in m.get("probes_drift_mm", {}).items():
            print(f"  {k:31s} drift {d['q50']:.2f} / {d['q90']:.2f} mm (median / p90)")
    if a.renders:
        res["renders"] = r = render_ratios(a.renders)
        print(f"renders: ratio {r['ratio']['q50']:.2f} / {r['ratio']['q90']:.2f} / {r['ratio']['q99']:.2f} "
              f"(median / p90 / p99), over " + ", ".join(f"{k}: {v:.3f}" for k, v in r["over"].items()))
        print("  the renders the lift touches, canonical error median / p90 mm: ratio, off, as set, no max gain")
        for t in r["touched_canon_mm"]:
            print(f"  {t['ratio']:7.1f}  " + "  ".join(f"{t[k][0]:6.2f} / {t[k][1]:6.2f}"
                                                       for k in ("off", "as set", "no max gain")))
    write_result(a.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
