"""The README's main job: the bundled sample clip through the headless CLI with the bundled default model.

    python -m bake.demo --out out/demo      (or ./run.sh demo)

Writes out/demo/demo.blend, demo.fbx, demo.glb, demo.csv, demo_render.png (Blender render over the footage) and
overlay images (out/demo/overlay/). Same code path as ``python -m bake.cli`` (``bake.cli.run``).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from core.errors import FootageError, ModelError
from core.presets import default_model_path

from . import cli

SAMPLE_CLIP = Path(__file__).resolve().parents[1] / "core" / "assets" / "sample_clip.mp4"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="bake.demo", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (created)")
    ap.add_argument("--clip", type=Path, default=SAMPLE_CLIP, help="footage (default: the bundled sample clip)")
    a, rest = ap.parse_known_args(argv)
    if not a.clip.is_file():
        print(f"demo: error: the sample clip {a.clip} is missing; render it first "
              f"(the project's sample-clip generator) or pass --clip FILE", file=sys.stderr)
        return FootageError.exit_code
    model = default_model_path()
    if not model.is_file() and "--model" not in rest:
        print(f"demo: error: the bundled default model {model} is missing; train/export it first "
              f"(training/) or pass --model FILE", file=sys.stderr)
        return ModelError.exit_code
    a.out.mkdir(parents=True, exist_ok=True)
    o = a.out
    return cli.run([str(a.clip), "--out", str(o / "demo.blend"), "--fbx", str(o / "demo.fbx"),
                    "--glb", str(o / "demo.glb"), "--csv", str(o / "demo.csv"), "--overlay", str(o / "overlay"),
                    "--render", str(o / "demo_render.png"),
                    *rest])


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
