"""Where each of MediaPipe's 478 face landmarks sits on our template: a fixed point of the fixed topology.

Landmark ``l`` is the point ``sum_k bary[l, k] * V[faces[face[l], k]]`` of any head shape ``V`` on the template's
topology (``core.head_model``), so it moves with identity and expression like the skin it marks. The asset
``core/assets/landmark_template.npz`` (``face`` (478,) int32 triangle index, ``bary`` (478, 3) float32) is built
once, deterministically, by ``python -m tools.landmark_template`` (development only): the landmark model runs on
synthetic renders of many heads whose canonical maps are exact, and each landmark takes the median canonical
position under its pixel, projected onto the template's surface.

Landmark groups (``GROUPS``): which points the solve may trust as fixed skin points. The face oval is the outline
of the visible face: on a turned head it slides over the cheek, so it is not a material point and gets a low weight.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import AssetError
from .head_model import HeadModel

ASSET_PATH = Path(__file__).resolve().parent / "assets" / "landmark_template.npz"
REGEN_HINT = "regenerate it with: python -m tools.landmark_template (needs the dev requirements)"
NUM_LANDMARKS = 478

# MediaPipe face-mesh index groups (the connection lists of MediaPipe's face_mesh_connections, as vertex sets).
# Subject's left/right: "left" is the subject's left (image right in an unmirrored frontal view).
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
             176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409, 78, 95, 88, 178,
        87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415)
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398)
RIGHT_BROW = (46, 53, 52, 65, 55, 70, 63, 105, 66, 107)
LEFT_BROW = (276, 283, 282, 295, 285, 300, 293, 334, 296, 336)
IRISES = tuple(range(468, 478))          # 468-472 subject's right iris (centre first), 473-477 left
IRIS_CENTRES = (468, 473)
IRIS_ACROSS = ((469, 471), (474, 476))  # each iris's points at either side of its centre: subject's right, left
NOSE = (1, 2, 4, 5, 6, 19, 94, 168, 195, 197, 98, 327, 97, 326, 64, 294)

# Semantic points used by tests and benchmarks.
RIGHT_EYE_OUTER, RIGHT_EYE_INNER, LEFT_EYE_INNER, LEFT_EYE_OUTER = 33, 133, 362, 263
RIGHT_UPPER_LID, RIGHT_LOWER_LID, LEFT_UPPER_LID, LEFT_LOWER_LID = 159, 145, 386, 374
UPPER_LIP_OUTER, UPPER_LIP_INNER, LOWER_LIP_INNER, LOWER_LIP_OUTER = 0, 13, 14, 17
MOUTH_RIGHT, MOUTH_LEFT, NOSE_TIP, CHIN = 61, 291, 1, 152


@dataclass(frozen=True, eq=False)
class LandmarkTemplate:
    face: np.ndarray     # (478,) int32 triangle of the template
    bary: np.ndarray     # (478, 3) float32 barycentric weights (sum 1)

    def corners(self, head: HeadModel) -> np.ndarray:
        """(478, 3) vertex indices of each landmark's triangle. ``head`` (here and in ``points``): the HeadModel, or
        anything else that carries its ``faces`` (a baked bake.types.SceneTracks: the same topology)."""
        return head.faces[self.face]

    def points(self, vertices: np.ndarray, head: HeadModel) -> np.ndarray:
        """Landmark positions (..., 478, 3) on head shapes ``vertices`` (..., V, 3) of the template topology."""
        return np.einsum("...lkc,lk->...lc", vertices[..., self.corners(head), :], self.bary)

    def basis(self, head: HeadModel, index: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The head model restricted to landmarks ``index`` (default all): template (L, 3), identity basis
        (n, L, 3) and ARKit deltas (52, L, 3), so that landmark positions are linear in identity and weights."""
        idx = np.arange(NUM_LANDMARKS) if index is None else np.asarray(index)
        c, b = self.corners(head)[idx], self.bary[idx].astype(np.float64)

        def pick(a):
            return np.einsum("...lkc,lk->...lc", a[..., c, :].astype(np.float64), b)
        return pick(head.vertices), pick(head.identity_basis), pick(head.arkit_deltas)


@lru_cache(maxsize=2)
def load(path: str | Path = ASSET_PATH) -> LandmarkTemplate:
    path = Path(path)
    if not path.is_file():
        raise AssetError(f"landmark template asset {path} is missing; {REGEN_HINT}")
    try:
        with np.load(path) as z:
            face, bary = z["face"].astype(np.int32), z["bary"].astype(np.float32)
    except Exception as exc:  # corrupt zip, missing key
        raise AssetError(f"landmark template asset {path} is unreadable ({exc}); {REGEN_HINT}") from exc
    if face.shape != (NUM_LANDMARKS,) or bary.shape != (NUM_LANDMARKS, 3):
        raise AssetError(f"landmark template asset {path} has shapes {face.shape}, {bary.shape}; {REGEN_HINT}")
    return LandmarkTemplate(face, bary)
