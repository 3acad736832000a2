"""Training curves as a PNG, drawn with OpenCV (no plotting library in the runtime or training deps).

Two panels over the same step axis:
  * top: the total loss on a linear axis. The confidence-weighted terms (-log sigma) make it negative once the
    network is confident, so a log axis cannot show it.
  * bottom: the mean errors in millimetres (each training batch, and the periodic eval on 32 fixed held-out
    samples) on one shared log axis with labelled gridlines and the issue's targets (canonical 2 mm, depth 3 mm)
    as dashed lines, so curves can be read against each other and against the goal.
Noisy per-batch series are drawn faint with a running median on top.

``wall_minutes`` reads the same logged rows for the training time a checkpoint stands for (its ONNX export's
metadata and the model card say it).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

LOSS_KEY = ("loss", (235, 235, 235))
MM_KEYS = [("canon_err_mm", (80, 200, 255), "batch canonical"), ("depth_err_mm", (120, 255, 120), "batch depth"),
           ("eval_canon_mm", (0, 120, 255), "held-out canonical"), ("eval_depth_mm", (0, 170, 0), "held-out depth")]
TARGETS_MM = [(2.0, (80, 200, 255)), (3.0, (120, 255, 120))]   # (mm, colour): canonical, depth targets
W, H, PAD = 900, 620, 60
FONT = 0.42


def series(rows: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of ``key`` over the rows that have a finite value."""
    pts = [(r["step"], r[key]) for r in rows if key in r and np.isfinite(r[key])]
    if not pts:
        return np.zeros(0), np.zeros(0)
    xs, ys = np.array(pts, np.float64).T
    return xs, ys


def running_median(ys: np.ndarray, window: int) -> np.ndarray:
    """Centred running median (window shrinks at the ends)."""
    if window <= 1 or len(ys) < 3:
        return ys.copy()
    half = window // 2
    return np.array([np.median(ys[max(0, i - half): i + half + 1]) for i in range(len(ys))])


def _grid_values(lo: float, hi: float) -> list[float]:
    """1-2-5 gridlines between lo and hi (both > 0)."""
    out = []
    for e in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1):
        out += [m * 10.0 ** e for m in (1, 2, 5) if lo <= m * 10.0 ** e <= hi]
    return out


def _dashed_hline(img, y: int, x0: int, x1: int, col, dash: int = 8) -> None:
    import cv2
    for x in range(x0, x1, 2 * dash):
        cv2.line(img, (x, y), (min(x + dash, x1), y), col, 1, cv2.LINE_AA)


def plot_curves(rows: list[dict], path: Path) -> None:
    """Write the two-panel curve plot of the log rows (dicts with "step" and the logged keys) to ``path``."""
    import cv2
    steps = [r["step"] for r in rows]
    if not steps:
        return
    s0, s1 = min(steps), max(max(steps), min(steps) + 1)
    img = np.full((H, W, 3), 30, np.uint8)
    x0, x1 = PAD, W - PAD // 2
    top = (PAD // 2 + 20, 210)          # loss panel y range (pixels)
    bot = (top[1] + 60, H - PAD)        # mm panel y range

    def px(xs):
        return x0 + (xs - s0) / (s1 - s0) * (x1 - x0)

    def put(text, org, col, scale=FONT):
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, col, 1, cv2.LINE_AA)

    def draw(xs, ys, to_y, col, window):
        if len(xs) < 2:
            return
        faint = tuple(int(c * 0.35 + 30 * 0.65) for c in col)
        raw = np.stack([px(xs), to_y(ys)], 1).astype(np.int32)
        smooth = np.stack([px(xs), to_y(running_median(ys, window))], 1).astype(np.int32)
        if window > 1:
            cv2.polylines(img, [raw], False, faint, 1, cv2.LINE_AA)
        cv2.polylines(img, [smooth], False, col, 2 if window > 1 else 1, cv2.LINE_AA)

    # --- loss panel (linear)
    key, col = LOSS_KEY
    xs, ys = series(rows, key)
    cv2.rectangle(img, (x0, top[0]), (x1, top[1]), (70, 70, 70), 1)
    window = max(1, len(xs) // 40)
    if len(xs) >= 2:
        sm = running_median(ys, window)
        lo, hi = np.percentile(ys, 1), np.percentile(ys, 99)
        lo, hi = min(lo, sm.min()), max(hi, sm.max(), lo + 1e-6)

        def ly(v):
            return top[1] - (np.clip(v, lo, hi) - lo) / (hi - lo) * (top[1] - top[0])
        for g in (lo, (lo + hi) / 2, hi):
            y = int(ly(g))
            cv2.line(img, (x0, y), (x1, y), (55, 55, 55), 1)
            put(f"{g:.3g}", (4, y + 4), (170, 170, 170))
        if lo < 0 < hi:
            _dashed_hline(img, int(ly(0.0)), x0, x1, (110, 110, 110))
        draw(xs, ys, ly, col, window)
        put(f"loss (linear; confidence terms make it negative): last {sm[-1]:.3g} (running median)",
            (x0, top[0] - 8), col)

    # --- mm panel (shared log axis)
    cv2.rectangle(img, (x0, bot[0]), (x1, bot[1]), (70, 70, 70), 1)
    data = [(k, c, name, *series(rows, k)) for k, c, name in MM_KEYS]
    data = [d for d in data if len(d[3]) >= 2 and np.all(d[4] > 0)]
    if data:
        allv = np.concatenate([d[4] for d in data] + [np.array([t for t, _ in TARGETS_MM])])
        lo, hi = np.log10(max(allv.min() * 0.9, 1e-3)), np.log10(np.percentile(allv, 99.5) * 1.1)
        hi = max(hi, lo + 1e-3)

        def my(v):
            return bot[1] - (np.clip(np.log10(np.maximum(v, 1e-9)), lo, hi) - lo) / (hi - lo) * (bot[1] - bot[0])
        for g in _grid_values(10 ** lo, 10 ** hi):
            y = int(my(g))
            cv2.line(img, (x0, y), (x1, y), (55, 55, 55), 1)
            put(f"{g:g} mm", (4, y + 4), (170, 170, 170))
        for t, c in TARGETS_MM:
            _dashed_hline(img, int(my(t)), x0, x1, c)
        lx = x0
        for k, c, name, xs, ys in data:
            window = max(1, len(xs) // 40) if k.endswith("err_mm") else 1
            draw(xs, ys, my, c, window)
            text = f"{name}: {running_median(ys, window)[-1]:.2f} mm"
            put(text, (lx, bot[0] - 26), c)
            lx += cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, FONT, 1)[0][0] + 18
        put("mean errors in the mask (held-out: 32 fixed samples); dashed: targets canonical 2 mm, depth 3 mm",
            (x0, bot[0] - 8), (170, 170, 170))
    put(f"step {s0}..{s1}", (x0, H - 20), (200, 200, 200))
    cv2.imwrite(str(path), img)


def wall_minutes(ck: dict) -> float | None:
    """Training wall time of a checkpoint in minutes: its logged segments ("sec" restarts at 0 in each resumed
    segment) plus the time of the weights it was initialised from (None where that is not recorded)."""
    rows = ck.get("rows", [])
    secs = sum(a["sec"] for a, b in zip(rows, rows[1:] + [None]) if b is None or b["sec"] < a["sec"])
    init = ck.get("init") or {}
    if init and init.get("minutes") is None:
        return None
    return secs / 60 + (init.get("minutes") or 0.0)
