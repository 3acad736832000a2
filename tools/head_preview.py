"""PNG renders of the canonical head for a person to look at: neutral (front, three-quarter, profile), its regions,
six ARKit actions one at a time, and identities drawn at 2 sd (``core.mesh_render``). Development only: not shipped.

    .venv/bin/python -m tools.head_preview --out prev/ [--size 512] [--asset PATH]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from core.head_model import N_ARKIT, HeadModel, load_or_exit
from core.mesh_render import label_image, region_colors, render_turntable_view

PREVIEW_ACTIONS = ("jawOpen", "mouthSmileLeft", "eyeBlinkRight", "browInnerUp", "mouthPucker", "eyeBlinkLeft")


def preview(model: HeadModel, out_dir: Path, size: int = 512) -> list[Path]:
    """Write PNG renders: neutral (front, three-quarter, profile), regions, identities, ARKit actions."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []

    def save(name, img):
        p = out_dir / f"{name}.png"
        cv2.imwrite(str(p), img[..., ::-1])
        written.append(p)

    views = [render_turntable_view(model.vertices, model.faces, yaw, size) for yaw in (0, 35, 90)]
    save("neutral", np.concatenate(views, 1))
    save("regions", np.concatenate([render_turntable_view(model.vertices, model.faces, yaw, size,
                                                          vertex_colors=region_colors(model)) for yaw in (0, 60)], 1))
    tiles = []
    for name in PREVIEW_ACTIONS:
        w = np.zeros(N_ARKIT)
        w[model.arkit_names.index(name)] = 1.0
        v = model.shape(expression=w)
        img = render_turntable_view(v, model.faces, 20, size // 2 * 2)
        tiles.append(label_image(img, name))
        save(f"arkit_{name}", img)
    save("arkit_sheet", np.concatenate([np.concatenate(tiles[:3], 1), np.concatenate(tiles[3:], 1)], 0))
    rng = np.random.default_rng(0)
    ids = [render_turntable_view(model.shape(identity=rng.normal(0, 2.0, len(model.identity_std)) * model.identity_std),
                                 model.faces, 25, size // 2) for _ in range(6)]
    save("identities_2sd", np.concatenate([np.concatenate(ids[:3], 1), np.concatenate(ids[3:], 1)], 0))
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.head_preview", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--asset", type=Path, default=None, help="head asset path (default: the bundled one)")
    a = ap.parse_args(argv)
    for p in preview(load_or_exit(a.asset), a.out, a.size):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
