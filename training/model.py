"""The Face Anything network: a ViT encoder over patch tokens and a DPT-style multi-level decoder.

Input ``image`` (B, 3, S, S) float32 RGB in [0, 1] (normalised inside). Outputs, named as the fields of
core.types.FramePrediction (core.types.PREDICTION_FIELDS):
  depth (B, S, S)         (z - z_origin) / canon_scale: depth along the crop's axis (core.types) relative to the
                          head-frame origin, in units of the template half-extent; metric camera points need the
                          absolute anchor z_origin,
                          recovered by PnP on the canonical correspondences (core/points.py)
  depth_conf (B, S, S)    >= 1 (1 + exp), as in DUSt3R's confidence-weighted regression
  canon (B, S, S, 3)      normalised canonical coordinate (HeadModel.to_norm)
  canon_conf (B, S, S)    >= 1
  mask (B, S, S)          probability that the pixel is visible face surface with a valid canonical coordinate
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from core.presets import PRESETS, Preset
from core.types import PREDICTION_FIELDS

MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
CONF_CLAMP = 10.0


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp: float = 4.0):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp)), nn.GELU(), nn.Linear(int(dim * mlp), dim))

    def forward(self, x):
        b, n, d = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // self.heads))
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d)
        x = x + self.proj(y)
        return x + self.mlp(self.norm2(x))


class ResidualConv(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=1)
        self.c2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return x + self.c2(F.relu(self.c1(F.relu(x))))


class Fusion(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.skip = ResidualConv(c)
        self.out = ResidualConv(c)
        self.proj = nn.Conv2d(c, c, 1)

    def forward(self, x, skip=None):
        if skip is not None:
            x = x + self.skip(skip)
        x = self.out(x)
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.proj(x)


class DPTHead(nn.Module):
    """Projects four token levels to four scales (x4, x2, x1, x0.5 of the token grid) and fuses them."""

    def __init__(self, dim: int, features: int, patch: int, out_channels: int):
        super().__init__()
        mid = [features // 2, features, features * 2, features * 2]
        self.proj = nn.ModuleList([nn.Conv2d(dim, m, 1) for m in mid])
        self.resample = nn.ModuleList([
            nn.ConvTranspose2d(mid[0], mid[0], 4, stride=4),
            nn.ConvTranspose2d(mid[1], mid[1], 2, stride=2),
            nn.Identity(),
            nn.Conv2d(mid[3], mid[3], 3, stride=2, padding=1),
        ])
        self.align = nn.ModuleList([nn.Conv2d(m, features, 3, padding=1, bias=False) for m in mid])
        self.fuse = nn.ModuleList([Fusion(features) for _ in range(4)])
        self.final_scale = patch / 8     # fusion ends at 8x the token grid -> back to full resolution
        self.out = nn.Sequential(nn.Conv2d(features, features // 2, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(features // 2, features // 2, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(features // 2, out_channels, 1))

    def forward(self, levels, hw):
        h, w = hw
        maps = []
        for i, t in enumerate(levels):
            x = t.transpose(1, 2).reshape(t.shape[0], t.shape[2], h, w)
            maps.append(self.align[i](self.resample[i](self.proj[i](x))))
        x = self.fuse[3](maps[3])                       # 0.5x -> 1x
        x = self.fuse[2](x, maps[2])                    # -> 2x
        x = self.fuse[1](x, maps[1])                    # -> 4x
        x = self.fuse[0](x, maps[0])                    # -> 8x
        if self.final_scale != 1:
            x = F.interpolate(x, scale_factor=self.final_scale, mode="bilinear", align_corners=False)
        return self.out(x)


class FaceAnything(nn.Module):
    def __init__(self, preset: Preset | str = "cpu"):
        super().__init__()
        p = PRESETS[preset] if isinstance(preset, str) else preset
        self.preset = p
        self.grid = p.size // p.patch
        self.patch_embed = nn.Conv2d(3, p.dim, p.patch, stride=p.patch)
        self.pos = nn.Parameter(torch.zeros(1, self.grid * self.grid, p.dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList([Block(p.dim, p.heads) for _ in range(p.depth)])
        self.norm = nn.LayerNorm(p.dim)
        self.head = DPTHead(p.dim, p.features, p.patch, out_channels=7)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        x = (image - self.mean) / self.std
        x = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos
        levels = []
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            if i in self.preset.taps:
                levels.append(self.norm(x) if i == self.preset.depth - 1 else x)
        raw = self.head(levels, (self.grid, self.grid))
        return postprocess(raw)


def postprocess(raw: torch.Tensor) -> dict[str, torch.Tensor]:
    """Split the 7 decoder channels into the named outputs (value + confidence pairs, mask)."""
    conf = lambda r: 1.0 + torch.exp(r.clamp(-CONF_CLAMP, CONF_CLAMP))   # noqa: E731
    return {
        "depth": raw[:, 0],
        "depth_conf": conf(raw[:, 1]),
        "canon": raw[:, 2:5].permute(0, 2, 3, 1),
        "canon_conf": conf(raw[:, 5]),
        "mask": torch.sigmoid(raw[:, 6]),
    }


class OnnxWrapper(nn.Module):
    """Returns the outputs as a tuple in PREDICTION_FIELDS order (ONNX output names)."""

    def __init__(self, model: FaceAnything):
        super().__init__()
        self.model = model

    def forward(self, image):
        out = self.model(image)
        return tuple(out[k] for k in PREDICTION_FIELDS)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
