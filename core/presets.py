"""The one table of network presets (used by training, export, runtime and the add-on).

Input: an RGB crop (core.types.CropBox, framing documented in core/train/synth.py), float32 NCHW in
[0, 1]; normalisation happens inside the network, so every caller feeds the same thing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"


@dataclass(frozen=True)
class Preset:
    name: str
    size: int            # crop side in pixels
    patch: int           # ViT patch size
    dim: int             # token width
    depth: int           # transformer blocks
    heads: int
    taps: tuple          # blocks whose tokens feed the DPT decoder (0-based)
    features: int        # decoder width
    weights: str         # default ONNX file name under core/assets


PRESETS = {
    "cpu": Preset("cpu", size=128, patch=8, dim=128, depth=6, heads=4, taps=(1, 2, 4, 5), features=32,
                  weights="face_anything_cpu.onnx"),
    "gpu": Preset("gpu", size=256, patch=16, dim=384, depth=12, heads=6, taps=(2, 5, 8, 11), features=128,
                  weights="face_anything_gpu.onnx"),
}
DEFAULT_PRESET = "cpu"


def default_model_path(preset: str = DEFAULT_PRESET) -> Path:
    return ASSETS / PRESETS[preset].weights
