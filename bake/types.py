"""Data produced by the pure bake and consumed by the Blender side (numpy + frozen dataclasses only).

Spaces: the head mesh is stored in the head frame of ``core.head_model`` (mm, +X subject's left, +Y up,
+Z forward). ``head_rotation``/``head_translation`` map head-frame points into OpenCV camera space
(x right, y down, z forward, mm): ``p_cam = R @ p_head + t``. The Blender side converts to its own
conventions (metres, Z up, camera looking down its local -Z) in one place (bake/blender_io/axes.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class SceneTracks:
    """Everything needed to build the animated head, its camera and exports."""
    basis: np.ndarray              # (V, 3) float32 mm: the clip's identity at neutral ("Basis" shape key)
    faces: np.ndarray              # (F, 3) int32 fixed topology
    uv: np.ndarray                 # (F*3, 2) float32 per face corner
    key_names: tuple               # shape-key names after Basis: the 52 ARKit names, then residual and corrective keys
    key_deltas: np.ndarray         # (K, V, 3) float32 mm, delta of each key at weight 1
    weights: np.ndarray            # (T, K) float32 per-frame key values (ARKit in [0, 1])
    frames: np.ndarray             # (T,) int frame numbers (scene frames, 1-based in Blender)
    fps: float
    head_rotation: np.ndarray      # (T, 3, 3) float64 head frame -> camera
    head_translation: np.ndarray   # (T, 3) float64 mm
    K: np.ndarray                  # (3, 3) camera intrinsics of the footage, pixels
    image_size: tuple              # (width, height) of the footage in pixels
    tracked: np.ndarray            # (T,) bool: False where the frame was bridged (no face / low confidence)
    footage_path: str = ""         # source for the camera background ("" for none)
    region: np.ndarray | None = None         # (V,) uint8 region labels (for vertex groups)
    region_names: tuple = ()
    landmark_fit: np.ndarray | None = None   # (T,) bake.fit_report's per frame: the head's distance from the tracker's
                                             # landmarks in eye distances (NaN where not read; None: none read)
    camera_rotation: np.ndarray | None = None   # (T, 3, 3) each frame's camera -> the first frame's (OpenCV axes), the
                                                # camera's turn read off the background (bake.camera_turn); None: still
    cuts: tuple = ()               # scene frames where a camera cut begins a new shot (core.track's cuts), which the
                                   # temporal filters took apart; Blender marks each on the timeline


@dataclass(frozen=True, eq=False)
class BakeStats:
    frames_total: int
    frames_tracked: int
    frames_bridged: int
    seconds: float
    stage_seconds: dict = field(default_factory=dict)
    warnings: tuple = ()
    iris_eye_distance_mm: float | None = None   # the eye distance the irises read (bake.head_size; None: unread)
    size_from: str = "network"     # what sized the head: "network", "irises" or "eye distance" (given)
    landmark_fit: float | None = None      # bake.fit_report: the head's median distance from the tracker's landmarks
                                           # over the tracked frames, as a share of the eye distance (None: unread)
    worst_fit_frame: int | None = None     # the footage frame where it is furthest off ...
    worst_fit: float | None = None         # ... and how far
    camera_degrees: float | None = None    # bake.camera_turn: how far the camera turns from its first view
                                           # (None: it stands still)
