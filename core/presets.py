"""The one table of network presets (used by training, export, runtime and the add-on).

Input: an RGB crop (core.types.CropBox, framing documented in training/synth/), float32 NCHW in
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
    weights: str         # ONNX file name of the training export under core/assets (training's --init reads it)
    runtime: str         # ONNX file name under core/assets that the runtime loads: for the CPU preset the export
                         # with its MatMuls quantised to int8 (training/quantize_onnx.py); the GPU preset runs its
                         # export as it is (dynamic int8 quantisation is onnxruntime's CPU recipe)


PRESETS = {
    "cpu": Preset("cpu", size=128, patch=8, dim=128, depth=6, heads=4, taps=(1, 2, 4, 5), features=32,
                  weights="face_anything_cpu.onnx",
                  runtime="face_anything_cpu_int8.onnx"),
    "gpu": Preset("gpu", size=256, patch=16, dim=192, depth=6, heads=6, taps=(1, 2, 4, 5), features=48,
                  weights="face_anything_gpu.onnx",
                  runtime="face_anything_gpu.onnx"),
}
# Every preset's fp32 weights must fit both the extension's size budget and the 16 MiB a file that the lent GPU
# machine can send back (its ONNX export is trained there and returned): the cpu preset has 1.5 M parameters
# (6 MB), the gpu preset 3.5 M (13 MiB; twice the crop resolution and a wider encoder and decoder).
MAX_WEIGHT_BYTES = 16 * 2 ** 20
DEFAULT_PRESET = "cpu"


def default_model_path(preset: str = DEFAULT_PRESET) -> Path:
    """The network the runtime loads when none is named (``Preset.runtime``)."""
    return ASSETS / PRESETS[preset].runtime
