"""``ReconConfig``: every setting of a reconstruction with its default, range and help text, in one record.

The command line (``bake.cli``: its options are generated from the fields' ``Setting``) and the add-on's panel
(``blender_addon.properties``: defaults, limits and tooltips read from here) never restate a default or a range;
``ReconConfig`` itself rejects what is out of range with ``core.errors.InputError`` (exit code 2), whichever entry
point built it. ``bake.pipeline`` re-exports it (``from bake.pipeline import ReconConfig``).

This module imports only the standard library and ``core.errors``/``core.types`` so the add-on can read the table
when it registers its properties without loading the pipeline.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Callable

from core.errors import InputError
from core.types import DEFAULT_FOCAL_MM

DEFAULT_SMOOTHING = 0.5
FUSION_MODES = ("fused", "dense", "landmarks")
HEAD_SIZES = ("network", "irises")     # bake.head_size: the dense network's relief, or the eye distance in iris widths
CAMERA_TURNS = ("still", "background")  # bake.camera_turn: a camera that stands still, or turns as the background shows
HEAD_POSES = ("tracked", "static")     # bake.tracks: the tracked per-frame pose, or one fixed pose (expressions only)


@dataclass(frozen=True)
class Setting:
    """How a ``ReconConfig`` field is checked and shown: ``range`` (inclusive; None = open on that side),
    ``choices``, ``soft_range`` (the panel slider's), ``cli`` (the option name; None = not on the command line),
    ``parse`` (the command line's text -> value), ``metavar``."""
    help: str
    range: tuple | None = None
    choices: tuple | None = None
    soft_range: tuple | None = None
    cli: str | None = None
    parse: Callable[[str], Any] | None = None
    metavar: str | None = None

    def check(self, name: str, value) -> None:
        """InputError when ``value`` is outside the choices or the range (None passes: 'not given')."""
        if value is None:
            return
        if self.choices is not None and value not in self.choices:
            raise InputError(f"{name} must be one of {', '.join(self.choices)}; not {value!r}")
        if self.range is not None:
            lo, hi = self.range
            ok = isinstance(value, (int, float)) and math.isfinite(value) and (lo is None or value >= lo) \
                and (hi is None or value <= hi)
            if not ok:
                raise InputError(f"{name} must be {range_text(self.range)}; not {value!r}")


def range_text(r: tuple) -> str:
    lo, hi = r
    if hi is None:
        return f">= {lo:g}"
    return f"within {lo:g}..{hi:g}" if lo is not None else f"<= {hi:g}"


def _setting(default, help: str, **kw):
    return field(default=default, metadata={"setting": Setting(help, **kw)})


def _point(text: str) -> tuple:
    """'X,Y' -> (x, y) (the command line's --face)."""
    x, y = (float(v) for v in text.split(","))
    return (x, y)


def _providers(text: str) -> tuple:
    return tuple(p.strip() for p in text.split(",") if p.strip())


@dataclass(frozen=True)
class ReconConfig:
    """Everything ``bake.pipeline.reconstruct`` needs; each field's ``Setting`` (``settings()``) is its help, range
    and command-line option."""
    source: str
    start: int = _setting(0, "first footage frame (0-based)", range=(0, None), cli="--start", parse=int)
    end: int | None = _setting(None, "last footage frame, exclusive (default: the clip's end)", range=(1, None),
                               cli="--end", parse=int)
    stride: int = _setting(1, "use every n-th frame", range=(1, None), cli="--stride", parse=int)
    model_path: str | None = _setting(None, "custom .onnx model (default: the bundled network)", cli="--model",
                                      parse=str, metavar="ONNX")
    providers: tuple = _setting(("CPUExecutionProvider",), "comma-separated onnxruntime execution providers",
                                cli="--providers", parse=_providers, metavar="P[,P...]")
    threads: int = _setting(0, "threads of the dense network and of the clip solve (0 = automatic)", range=(0, 256),
                            cli="--threads", parse=int)
    focal_px: float | None = _setting(None, "focal length in pixels (overrides the lens)", range=(1.0, None),
                                      cli="--focal", parse=float, metavar="PX")
    focal_mm: float = _setting(DEFAULT_FOCAL_MM, "lens focal length as a 35 mm full-frame equivalent, mm (phones "
                                                 "~24-28). It is not estimated from the face; the camera uses it",
                               range=(1.0, 2000.0), soft_range=(8.0, 300.0), cli="--lens", parse=float, metavar="MM")
    smoothing: float = _setting(DEFAULT_SMOOTHING, "temporal smoothing strength (a Gaussian of up to 0.1 s on the "
                                                   "weights where they move slowly, so blinks keep their peak, "
                                                   "and none of a shape's one-frame spikes or frame-to-frame flips "
                                                   "at 20 frames/s and more; the head pose gets more while the head "
                                                   "is still, none where the face jumps in the image or turns fast)",
                                range=(0.0, 1.0), cli="--smoothing", parse=float)
    residual_keys: int = _setting(0, "extra PCA shape keys for what the ARKit shapes cannot express",
                                  range=(0, 16), cli="--residual-keys", parse=int, metavar="N")
    corrective_keys: int = _setting(8, "shape keys that carry what the fused fit's head does beyond its sparser "
                                       "exported ARKit weights, and a few more (at most N) where the lips and chin "
                                       "follow the landmarks up and down (on the baked head only; 0 = the head "
                                       "shows the exported weights alone)", range=(0, 16), cli="--corrective-keys",
                                    parse=int, metavar="N")
    head_pose: str = _setting("tracked", "the head's pose per frame as tracked, or one fixed pose in front of the "
                                         "camera (expressions only, for retargeting)",
                              choices=HEAD_POSES, cli="--head-pose")
    max_gap: int = _setting(12, "longest run of faceless frames that is bridged by interpolation", range=(0, None))
    batch: int = _setting(8, "frames per network batch", range=(1, 1024))
    backfill: int = _setting(90, "faceless frames kept to be tracked backwards once the face is found",
                             range=(0, None))
    network_gap: int = _setting(30, "longest run of faceless frames, between two with a face, in which the "
                                    "network alone follows a face the landmarks lost in the picture: the head's turn "
                                    "and place (its expression and distance bridged from the frames around); in a "
                                    "longer run, or one at the clip's start or end, the frames this near a face; 0: "
                                    "bridged as any faceless frame", range=(0, None))
    face_point: tuple | None = _setting(None, "with several faces, follow the one nearest this point (fractions "
                                              "of the frame width and height, e.g. 0.7,0.4); default: the largest",
                                        range=(0.0, 1.0), cli="--face", parse=_point, metavar="X,Y")
    mirror: bool = _setting(False, "also run the network on each mirrored crop and average: twice the network "
                                   "time, its answers less noisy, the fused bake no better", cli="--mirror")
    reframe: int = _setting(2, "network passes more per frame on the crop framed from the previous pass's head "
                               "pose (median-filtered over 9 frames); 0 = the face tracker's crop only",
                            range=(0, 5), cli="--reframe", parse=int, metavar="N")
    eye_distance_mm: float | None = _setting(
        None, "the subject's eye distance in mm (centre to centre, about the pupillary distance), when known: it sets "
              "the head's size and so the camera's distance (unknown, the network's reading decides, and on real "
              "faces it reads small heads)", range=(40.0, 90.0), cli="--eye-distance", parse=float, metavar="MM")
    head_size: str = _setting("network", "where the head's size, and so the camera's distance, comes from when the "
                                         "eye distance is not given: the dense network's relief (on real faces it "
                                         "reads small heads), or the irises (about 11.7 mm across in everyone: the eye "
                                         "distance in iris widths)", choices=HEAD_SIZES, cli="--head-size")
    camera_turn: str = _setting("still", "whether the camera stays still, or turns as the background shows (pan, tilt "
                                         "and roll: a handheld or panning camera's motion then goes on the exported "
                                         "camera rather than on the head, which still sits on the footage)",
                                choices=CAMERA_TURNS, cli="--camera-turn")
    fusion: str = _setting("fused", "which observations the solve uses: the dense network and the tracker's "
                                    "landmarks and blendshape scores together, or one alone (ablations)",
                           choices=FUSION_MODES, cli="--fusion")

    def __post_init__(self):
        for f, s in settings():
            value = getattr(self, f.name)
            if f.name == "face_point" and value is not None:
                if len(value) != 2:
                    raise InputError(f"face_point must be (x, y) fractions of the frame; not {value!r}")
                for v in value:
                    s.check("face_point", v)
            else:
                s.check(f.name, value)
        if self.end is not None and self.end <= self.start:
            raise InputError(f"bad frame range: end {self.end} must be after start {self.start}")
        if not self.providers:
            raise InputError("providers must name at least one onnxruntime execution provider")

    def camera_matrix(self, width: int, height: int):
        """Intrinsics of the footage: ``focal_px`` when given, else the ``focal_mm`` full-frame-equivalent lens
        (``core.points.default_focal``); principal point at the image centre. The focal length is not estimated
        from the face: ``core.points.estimate_focal`` did no better than the 35 mm-equivalent guess (measured in
        docs/MEASUREMENTS.md, 'Focal length')."""
        from core.points import default_focal, intrinsics
        f = self.focal_px if self.focal_px is not None else default_focal(width, height, self.focal_mm)
        return intrinsics(width, height, f)


def settings() -> list:
    """(dataclass field, Setting) of every ``ReconConfig`` field that has one, in declaration order."""
    return [(f, f.metadata["setting"]) for f in fields(ReconConfig) if "setting" in f.metadata]


def setting(name: str) -> tuple:
    """(default, Setting) of one field."""
    f = next(f for f in fields(ReconConfig) if f.name == name)
    return f.default, f.metadata["setting"]
