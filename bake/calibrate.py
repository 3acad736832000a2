"""Calibration of ARKit weights, as Live Link Face does it (pure: numpy + stdlib).

For ARKit shape ``k`` with neutral value ``n_k`` (the weight the capture reads on the actor's rest face; 0 without a
neutral), region gain/offset ``G_r, O_r`` and per-shape gain/offset ``g_k, o_k``::

    v   = max(w - n_k, 0) / (1 - n_k)          # the neutral face reads 0, a full expression still reads 1
    out = clip(G_r * g_k * v + O_r + o_k, 0, 1)

Regions (``REGIONS``): eyes, brows, mouth, jaw, cheeks, nose, tongue. The neutral is either a given frame or the most
neutral stretch found automatically (``find_neutral``: the window of frames with the lowest summed weights; its mean
is the neutral). Shapes that are no ARKit shape (our residual keys) pass unchanged.

A ``Calibration`` is a small record that round-trips through JSON (``to_json``/``from_json``): the Blender side keeps
it on the animated datablock next to the untouched raw capture, so it can be changed after the bake and removed.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.head_model import ARKIT_NAMES

REGIONS: dict[str, tuple[str, ...]] = {
    "eyes": tuple(n for n in ARKIT_NAMES if n.startswith("eye")),
    "brows": tuple(n for n in ARKIT_NAMES if n.startswith("brow")),
    "mouth": tuple(n for n in ARKIT_NAMES if n.startswith("mouth")),
    "jaw": tuple(n for n in ARKIT_NAMES if n.startswith("jaw")),
    "cheeks": tuple(n for n in ARKIT_NAMES if n.startswith("cheek")),
    "nose": tuple(n for n in ARKIT_NAMES if n.startswith("nose")),
    "tongue": ("tongueOut",),
}
REGION_OF = {n: r for r, names in REGIONS.items() for n in names}
NEUTRAL_WINDOW = 5


def find_neutral(weights: np.ndarray, window: int = NEUTRAL_WINDOW) -> tuple[int, int]:
    """(start, stop) row indices of the ``window`` consecutive frames with the lowest summed weights (the most
    neutral stretch; the whole clip when it is shorter than the window)."""
    w = np.asarray(weights, np.float64)
    if w.ndim != 2 or len(w) == 0:
        raise InputError("find_neutral needs a (frames, shapes) array with at least one frame")
    n = max(1, min(int(window), len(w)))
    per_frame = np.clip(w, 0, None).sum(1)
    sums = np.convolve(per_frame, np.ones(n), "valid")
    start = int(np.argmin(sums))
    return start, start + n


@dataclass(frozen=True)
class Calibration:
    """Neutral values and gains/offsets; every field has a JSON-friendly type."""
    neutral: dict = field(default_factory=dict)         # ARKit name -> neutral weight (missing: 0)
    neutral_frames: tuple = ()                          # (first, last) scene frames the neutral was read from
    region_gain: dict = field(default_factory=dict)     # region -> gain (missing: 1)
    region_offset: dict = field(default_factory=dict)   # region -> offset (missing: 0)
    shape_gain: dict = field(default_factory=dict)      # ARKit name -> gain (missing: 1)
    shape_offset: dict = field(default_factory=dict)    # ARKit name -> offset (missing: 0)

    def __post_init__(self):
        for k in (*self.region_gain, *self.region_offset):
            if k not in REGIONS:
                raise InputError(f"calibration: unknown region {k!r} (regions: {', '.join(REGIONS)})")
        for k in (*self.neutral, *self.shape_gain, *self.shape_offset):
            if k not in REGION_OF:
                raise InputError(f"calibration: {k!r} is not an ARKit blendshape name")

    @property
    def is_identity(self) -> bool:
        return not any(self.neutral.values()) and all(v == 1 for v in (*self.region_gain.values(),
                                                                       *self.shape_gain.values())) \
            and not any((*self.region_offset.values(), *self.shape_offset.values()))

    def params(self, name: str) -> tuple[float, float, float]:
        """(neutral, gain, offset) for one shape; (0, 1, 0) for a shape that is no ARKit shape."""
        r = REGION_OF.get(name)
        if r is None:
            return 0.0, 1.0, 0.0
        gain = float(self.region_gain.get(r, 1.0)) * float(self.shape_gain.get(name, 1.0))
        off = float(self.region_offset.get(r, 0.0)) + float(self.shape_offset.get(name, 0.0))
        return float(self.neutral.get(name, 0.0)), gain, off

    def apply(self, weights: np.ndarray, names) -> np.ndarray:
        """Calibrated copy of ``weights`` (T, len(names)); columns of non-ARKit names are returned unchanged."""
        w = np.asarray(weights, np.float64)
        out = w.copy()
        for j, name in enumerate(names):
            if name not in REGION_OF:
                continue
            n, g, o = self.params(name)
            v = np.clip(w[:, j] - n, 0, None) / max(1.0 - n, 1e-6)
            out[:, j] = np.clip(g * v + o, 0.0, 1.0)
        return out

    def with_neutral(self, weights: np.ndarray, names, frames, frame: float | None = None,
                     window: int = NEUTRAL_WINDOW) -> "Calibration":
        """This calibration with its neutral read from ``weights``: at scene ``frame`` (the nearest row), or, with
        ``frame=None``, the mean of the most neutral ``window`` frames (``find_neutral``)."""
        w = np.asarray(weights, np.float64)
        fr = np.asarray(frames, np.float64)
        if frame is None:
            a, b = find_neutral(w, window)
        else:
            a = int(np.argmin(np.abs(fr - float(frame))))
            b = a + 1
        mean = w[a:b].mean(0)
        neutral = {n: float(mean[j]) for j, n in enumerate(names) if n in REGION_OF}
        return replace(self, neutral=neutral, neutral_frames=(float(fr[a]), float(fr[b - 1])))

    # ------------------------------------------------------------ JSON
    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Calibration":
        try:
            d = json.loads(text)
        except ValueError as e:
            raise InputError(f"calibration is not valid JSON: {e}") from e
        if not isinstance(d, dict):
            raise InputError("calibration JSON must be an object")
        known = {"neutral", "neutral_frames", "region_gain", "region_offset", "shape_gain", "shape_offset"}
        unknown = set(d) - known
        if unknown:
            raise InputError(f"calibration JSON: unknown fields {sorted(unknown)} (known: {sorted(known)})")
        d["neutral_frames"] = tuple(d.get("neutral_frames", ()))
        return cls(**d)

    @classmethod
    def load(cls, path) -> "Calibration":
        try:
            return cls.from_json(Path(path).read_text())
        except OSError as e:
            raise InputError(f"cannot read calibration {path}: {e}") from e


def parse_gains(items, kind: str = "gain") -> tuple[dict, dict]:
    """``["mouth=1.3", "eyeBlinkLeft=0.9"]`` -> (region dict, shape dict); a key is a region or an ARKit name
    (case-insensitive)."""
    regions, shapes = {}, {}
    lower = {n.lower(): n for n in REGION_OF}
    for item in items or ():
        key, sep, val = str(item).partition("=")
        try:
            value = float(val)
        except ValueError:
            raise InputError(f"--{kind} wants REGION=VALUE or SHAPE=VALUE, not {item!r}") from None
        k = key.strip().lower()
        if not sep or not k:
            raise InputError(f"--{kind} wants REGION=VALUE or SHAPE=VALUE, not {item!r}")
        if k in REGIONS:
            regions[k] = value
        elif k in lower:
            shapes[lower[k]] = value
        else:
            raise InputError(f"--{kind} {item!r}: {key!r} is neither a region ({', '.join(REGIONS)}) nor an ARKit "
                             f"shape")
    return regions, shapes
