"""Settings of the synthetic data (``SynthConfig``) and the two sample streams (``SPLITS``)."""
from __future__ import annotations

from dataclasses import dataclass

SPLITS = {"train": 0, "eval": 1}


@dataclass(frozen=True)
class SynthConfig:
    size: int = 128
    max_yaw: float = 90.0
    max_pitch: float = 45.0
    max_roll: float = 35.0
    dist_mm: tuple = (350.0, 2000.0)          # z_origin range (log-uniform), phone selfie .. telephoto
    identity_scale: float = 1.0
    local_scale: float = 0.6
    crop_scale_sd: float = 0.12
    crop_shift: float = 0.08
    frame_by_head_size: bool = True           # crop framing relative to the head's size (module docstring)
    p_hair: float = 0.85
    p_glasses: float = 0.22
    p_hand: float = 0.12
    p_mic: float = 0.06
    p_strands: float = 0.25
    p_torso: float = 0.9
    p_beard: float = 0.22
    p_freckles: float = 0.2
    p_makeup: float = 0.3
    p_blur: float = 0.4
    p_motion_blur: float = 0.15
    p_jpeg: float = 0.5
    p_lowres: float = 0.15
    noise_max: float = 0.035
    shadow_res: int = 72
    # torch intra-op threads while rendering on CPU (restored afterwards). 1 is fastest here: the renderer runs
    # many small ops and on a shared 2-core machine multi-threaded small ops stall (measured 10x slower with 2);
    # parallelise with DataLoader worker processes instead. 0 leaves the caller's setting.
    cpu_threads: int = 1
