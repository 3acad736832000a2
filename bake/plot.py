"""A PNG of the ARKit curves over time, for reviewing a capture without Blender (pure: numpy + OpenCV).

One panel per region (eyes, brows, mouth, jaw, cheeks, nose, tongue; ``bake.calibrate.REGIONS``), value 0..1 up,
frames along; every shape of the region is drawn thin and grey, the region's most active shapes (largest standard
deviation over the clip) in colour and named in the panel's legend with their range.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import ExportError

from .atomic import atomic_write
from .calibrate import REGIONS

# BGR, colour-blind friendly (Okabe-Ito)
_COLOURS = ((0, 159, 230), (233, 180, 86), (115, 158, 0), (66, 228, 240), (178, 114, 0), (0, 94, 213),
            (167, 121, 204))
_BG, _GRID, _TEXT, _FAINT = (255, 255, 255), (225, 225, 225), (40, 40, 40), (190, 190, 190)


def plot_curves(path, names, weights: np.ndarray, frames: np.ndarray, fps: float, title: str = "",
                labelled: int = 4, width: int = 1600, panel_height: int = 150) -> Path:
    """Write the plot to ``path`` (PNG); returns the path. ``labelled`` shapes per region get colour and a name."""
    import cv2
    w = np.asarray(weights, np.float64)
    fr = np.asarray(frames, np.float64)
    names = tuple(names)
    regions = [(r, [names.index(n) for n in members if n in names]) for r, members in REGIONS.items()]
    regions = [(r, idx) for r, idx in regions if idx]
    if not regions or len(fr) == 0:
        raise ExportError("nothing to plot: no ARKit curves")
    left, right, top, gap, bottom = 70, 300, 44, 14, 40
    height = top + len(regions) * (panel_height + gap) + bottom
    img = np.full((height, width, 3), _BG, np.uint8)
    x0, x1 = left, width - right
    f0, f1 = float(fr.min()), float(fr.max())
    span = max(f1 - f0, 1.0)
    xs = x0 + (fr - f0) / span * (x1 - x0)
    font = cv2.FONT_HERSHEY_SIMPLEX
    head = title or "ARKit weights over time"
    cv2.putText(img, f"{head}  ({len(fr)} frames, {fps:g} fps)", (left, 28), font, 0.6, _TEXT, 1, cv2.LINE_AA)
    step = _tick_step(span)
    for k, (region, idx) in enumerate(regions):
        y0 = top + k * (panel_height + gap)
        y1 = y0 + panel_height
        for v in (0.0, 0.5, 1.0):
            y = int(round(y1 - v * (y1 - y0)))
            cv2.line(img, (x0, y), (x1, y), _GRID, 1)
            cv2.putText(img, f"{v:.1f}", (x0 - 34, y + 4), font, 0.38, _TEXT, 1, cv2.LINE_AA)
        for f in np.arange(np.ceil(f0 / step) * step, f1 + 1e-9, step):
            x = int(round(x0 + (f - f0) / span * (x1 - x0)))
            cv2.line(img, (x, y0), (x, y1), _GRID, 1)
        cv2.rectangle(img, (x0, y0), (x1, y1), _FAINT, 1)
        cv2.putText(img, region, (6, y0 + 36), font, 0.5, _TEXT, 1, cv2.LINE_AA)
        active = sorted(idx, key=lambda j: -float(w[:, j].std()))[:labelled]
        for j in idx:
            if j not in active:
                _polyline(img, xs, w[:, j], y0, y1, _FAINT, 1)
        for c, j in enumerate(active):
            col = _COLOURS[c % len(_COLOURS)]
            _polyline(img, xs, w[:, j], y0, y1, col, 2)
            ly = y0 + 18 + 20 * c
            cv2.line(img, (x1 + 12, ly - 4), (x1 + 32, ly - 4), col, 2, cv2.LINE_AA)
            cv2.putText(img, f"{names[j]} {w[:, j].min():.2f}-{w[:, j].max():.2f}", (x1 + 38, ly), font, 0.42,
                        _TEXT, 1, cv2.LINE_AA)
        if len(idx) > len(active):
            cv2.putText(img, f"+{len(idx) - len(active)} more (grey)", (x1 + 38, y0 + 18 + 20 * len(active)), font,
                        0.38, _FAINT, 1, cv2.LINE_AA)
    yb = top + len(regions) * (panel_height + gap)
    for f in np.arange(np.ceil(f0 / step) * step, f1 + 1e-9, step):
        x = int(round(x0 + (f - f0) / span * (x1 - x0)))
        cv2.putText(img, f"{int(f)}", (x - 10, yb + 4), font, 0.38, _TEXT, 1, cv2.LINE_AA)
    cv2.putText(img, "frame", (x1 - 40, yb + 24), font, 0.42, _TEXT, 1, cv2.LINE_AA)
    p = Path(path).expanduser().resolve()
    with atomic_write(p, "the plot") as tmp:
        if not cv2.imwrite(str(tmp), img):
            raise ExportError(f"cannot write the plot {p}")
    return p


def _polyline(img, xs, values, y0, y1, colour, thickness):
    import cv2
    ys = y1 - np.clip(values, -0.05, 1.05) * (y1 - y0)
    pts = np.round(np.stack([xs, ys], 1) * 4).astype(np.int32)      # 2 bits of sub-pixel precision
    cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, colour, thickness, cv2.LINE_AA, shift=2)


def _tick_step(span: float) -> float:
    for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if span / s <= 12:
            return float(s)
    return 10000.0
