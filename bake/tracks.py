"""Assemble bake.types.SceneTracks from the solved and filtered curves.

* ``basis`` = the clip's identity at neutral; ``key_deltas`` = the 52 ARKit deltas (the model's, identity-independent,
  but for the eyeBlink keys: rescaled so that 1 shuts the clip's own lids, ``shut_scales``, and from the lids at
  rest, which the neutral then has, ``blink_rest``) then the residual keys
  ("residual_00", ...) and the corrective keys ("corrective_00", ..., bake.corrective); their weights are in
  [-1, 1], the ARKit ones in [0, 1].
* ``frames`` are 1-based scene frames numbered like the source: source frame index i -> scene frame i + 1, so a Movie
  Clip background starting at scene frame 1 lines up with the head whatever the start and stride.
* Head pose (``head_pose``; which Blender object carries the motion, head or camera, is ``blender_io``'s
  ``head_motion``): ``"tracked"`` (default) puts the per-frame pose in head_rotation/head_translation. ``"static"`` keeps the head still in front of the camera (rotation = facing the camera,
  translation = the clip's median head position): expressions only, for retargeting; the overlay then no longer
  follows the footage. Baking rigid motion into shape keys ("keys") is not offered: a rotation is not linear in the
  key weights, so keys cannot carry it faithfully.
"""
from __future__ import annotations

import numpy as np

from core import landmark_template as lt
from core.head_model import ARKIT_NAMES, HEAD_TO_CV, N_ARKIT, HeadModel

from .config import HEAD_POSES
from .fusion import BLINK_KEYS, EYES
from .types import SceneTracks

# ARKit's eyeBlink means: at 1 the lids meet. The head asset's eyeBlink shuts the mean head's lids at 1
# (training.build_head_model), but a clip's neutral (its identity and bake.shape_correction) opens them less (the lid
# midpoints 6.0-6.9 mm apart on the three real clips against the mean head's 9.2), so the same delta shut those lids
# at a weight of 0.65-0.75, and a shut eye baked as that: a character driven by the weights (retargeting, the CSV, an
# engine's ARKit rig) kept its eyes a third open. Each eyeBlink key is rescaled on the clip's own neutral so that 1
# brings its lid midpoints together, and its weights divided by the same factor: the mesh is the same at every frame,
# except where the solve left the lids crossed, which now just meet. The factor stays within SHUT_SCALE_RANGE.
SHUT_SCALE_RANGE = (0.5, 1.5)
# ARKit's eyeBlink 0 is the lids at rest, open. The solve read the real clips' open eyes at eyeBlink 0.18 (the talking
# clip, median over the frames dlib sees open; MediaPipe's own score 0.13-0.14 there), so a character driven by the
# weights kept its eyes a fifth shut. The exported eyeBlink on the frames whose lids are at rest (bake.fusion.
# lids_at_rest) is each eye's rest (``blink_rest``), as a face-capture app's neutral calibration takes it: the baked
# neutral gets those lids and the key the rest of the way to shut, so the mesh is the same and the weights read 0 at
# rest and 1 shut. An eye at rest is never read as more than REST_MAX shut.
REST_MAX = 0.5


def shut_scales(head: HeadModel, basis: np.ndarray, deltas: np.ndarray,
                template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """(2,) per eye (``BLINK_KEYS``) the weight of the eyeBlink delta at which the lid midpoints of the neutral
    ``basis`` (V, 3) meet, from the ARKit ``deltas`` (52, V, 3); 1 where the key does not close them."""
    template = template or lt.load()
    out = np.ones(len(BLINK_KEYS))
    for e, (name, (_, (upper, lower), _)) in enumerate(zip(BLINK_KEYS, EYES)):
        shut = basis + deltas[ARKIT_NAMES.index(name)]
        open_gap, shut_gap = (float(np.subtract(*template.points(np.asarray(v, np.float64), head)[[upper, lower], 1]))
                              for v in (basis, shut))
        if open_gap > 0 and open_gap > shut_gap:
            out[e] = np.clip(open_gap / (open_gap - shut_gap), *SHUT_SCALE_RANGE)
    return out


def shut_weights(weights: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """A copy of ARKit ``weights`` (T, >=52) with the eyeBlink columns divided by their ``shut_scales`` (2,), so
    that 1 shuts the lids, within [0, 1]."""
    out = np.array(weights)
    for name, f in zip(BLINK_KEYS, scales):
        k = ARKIT_NAMES.index(name)
        out[:, k] = np.clip(out[:, k] / f, 0.0, 1.0)
    return out


def blink_rest(weights: np.ndarray, scales: np.ndarray, at_rest: np.ndarray) -> np.ndarray:
    """(2,) per eye (``BLINK_KEYS``) the eyeBlink at rest, as exported (1 shuts the lids): the median of ``weights``
    (T, >=52, the solve's) over their ``shut_scales`` (2,) on the frames ``at_rest`` (T, 2) bool
    (bake.fusion.lids_at_rest), within [0, REST_MAX]; 0 for an eye with no such frame."""
    shut = shut_weights(weights, scales)
    out = np.zeros(len(BLINK_KEYS))
    for e, name in enumerate(BLINK_KEYS):
        if at_rest[:, e].any():
            out[e] = np.clip(np.median(shut[at_rest[:, e], ARKIT_NAMES.index(name)]), 0.0, REST_MAX)
    return out


def build_tracks(head: HeadModel, identity: np.ndarray, weights: np.ndarray, rotation: np.ndarray,
                 translation: np.ndarray, frames: np.ndarray, fps: float, K: np.ndarray, image_size: tuple,
                 tracked: np.ndarray, residual_deltas: np.ndarray | None = None, footage_path: str = "",
                 head_pose: str = "tracked", scale: float = 1.0,
                 corrective_deltas: np.ndarray | None = None, rest: np.ndarray | None = None,
                 wider_keys: bool = True) -> SceneTracks:
    """The baked scene. ``scale`` sizes the head and its distance from the camera together (every camera-space point
    times ``scale``: the footage sees the same picture; bake.head_size). ``rest`` (2,; ``blink_rest``): each
    eye's eyeBlink at rest, which becomes the neutral's lids and the exported 0; the lids wider than that go on a
    corrective key per eye, so the mesh is the same (``wider_keys``; without them those frames show the lids at
    rest, as the exported weights say)."""
    if head_pose not in HEAD_POSES:
        raise ValueError(f"head_pose must be one of {HEAD_POSES}, got {head_pose!r}")
    n_res = 0 if residual_deltas is None else len(residual_deltas)
    n_cor = 0 if corrective_deltas is None else len(corrective_deltas)
    if weights.shape[1] != N_ARKIT + n_res + n_cor:
        raise ValueError(f"weights have {weights.shape[1]} columns, expected {N_ARKIT} + {n_res} + {n_cor}")
    basis = (head.shape(identity=np.asarray(identity)) * scale).astype(np.float32)
    deltas = (head.arkit_deltas * np.float32(scale)).astype(np.float32)
    scales = shut_scales(head, basis, deltas)
    rest = np.zeros(len(BLINK_KEYS)) if rest is None else np.asarray(rest, np.float64)
    weights = shut_weights(np.asarray(weights, np.float32), scales.astype(np.float32))
    wider_d, wider_w = [], []           # the lids wider than at rest, on keys of the baked head
    for name, f, r in zip(BLINK_KEYS, scales, rest):
        k = ARKIT_NAMES.index(name)
        deltas[k] *= np.float32(f)
        if r > 0:
            basis += np.float32(r) * deltas[k]          # the neutral's lids at rest; the key from there to shut
            if wider_keys:
                wider_d.append(-np.float32(r) * deltas[k])
                wider_w.append(np.clip((r - weights[:, k]) / r, 0.0, 1.0))
            deltas[k] *= np.float32(1.0 - r)
            weights[:, k] = np.clip((weights[:, k] - np.float32(r)) / np.float32(1.0 - r), 0.0, 1.0)   # 0 at rest
    if wider_d:
        n_cor += len(wider_d)
        corrective_deltas = np.concatenate([np.zeros((0,) + deltas.shape[1:], np.float32)
                                            if corrective_deltas is None else corrective_deltas,
                                            np.stack(wider_d) / np.float32(scale)])
        weights = np.concatenate([weights, np.stack(wider_w, 1).astype(np.float32)], 1)
    names = tuple(head.arkit_names)
    if n_res:
        deltas = np.concatenate([deltas, (residual_deltas * np.float32(scale)).astype(np.float32)], 0)
        names += tuple(f"residual_{i:02d}" for i in range(n_res))
    if n_cor:
        deltas = np.concatenate([deltas, (corrective_deltas * np.float32(scale)).astype(np.float32)], 0)
        names += tuple(f"corrective_{i:02d}" for i in range(n_cor))
    R = np.asarray(rotation, np.float64)
    t = np.asarray(translation, np.float64) * scale
    if head_pose == "static":
        R = np.repeat(HEAD_TO_CV[None], len(R), 0)
        t = np.repeat(np.median(t, 0)[None], len(t), 0)
    return SceneTracks(basis=basis, faces=head.faces.astype(np.int32), uv=head.uv.astype(np.float32), key_names=names,
                       key_deltas=deltas, weights=weights,
                       frames=np.asarray(frames, np.int64) + 1, fps=float(fps), head_rotation=R, head_translation=t,
                       K=np.asarray(K, np.float64), image_size=tuple(int(x) for x in image_size),
                       tracked=np.asarray(tracked, bool), footage_path=str(footage_path),
                       region=head.region.astype(np.uint8), region_names=tuple(head.region_names))


def posed_vertices(tracks: SceneTracks, i: int) -> np.ndarray:
    """Camera-space vertices (V, 3) of frame i (0-based index into tracks.frames)."""
    v = tracks.basis + np.tensordot(tracks.weights[i], tracks.key_deltas, 1)
    return v @ tracks.head_rotation[i].T + tracks.head_translation[i]
