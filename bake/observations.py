"""Per-frame vertex observations kept for the clip-level solve in memory that does not grow with the clip, and the
solve over them in chunks of frames for long clips.

``ObservationStore`` holds what ``bake.correspond`` gives per frame, compacted: only the observed vertices (index
uint16, camera position float32, ray and canonical offset float16, confidence float32; about 30 bytes per observed
vertex instead of 40 bytes per template vertex), plus the anchor depth and the summed confidence per frame. Past
``spill_bytes`` the records go to a file in a temporary folder (``tempfile``'s, so ``TMPDIR`` chooses it; where that is
a tmpfs the file is held in RAM after all), outside the process's memory, and are read back a chunk of frames at a
time. float16 keeps the ray (|value| <= ~1) to 2.4e-4, i.e. 0.01 mm at a 40 mm anchor shift,
and the canonical offset (a few mm) to ~1e-3 mm.

``solve_observations`` is the clip solve of ``bake.pipeline.bake_observations``: one ``bake.solve.solve`` over all
frames for clips up to ``LONG_CLIP`` frames (as before), else the identity from ``IDENTITY_FRAMES`` frames spread
over the clip and then pose and expressions per chunk of ``CHUNK_FRAMES`` frames with that identity fixed, so the
solve's working arrays are those of one chunk whatever the clip's length. The fused bake solves every clip in those
two stages (bake.fusion.expression_dense: the second stage weighs the dense term down; a short clip's identity
comes from at most ``FUSED_IDENTITY_FRAMES`` spread frames and its frames are one chunk; between the stages the
landmarks' steady offsets from the first stage's fit reshape the neutral, bake.shape_correction). Residual keys (a
PCA over the residuals) are learned on the same spread frames as the identity; each chunk fits only their weights,
and the keys are scaled at the end so that the clip's weights stay within [-1, 1].
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.head_model import HeadModel

from .correspond import VertexObservation
from .shape_correction import corrected, neutral_correction
from .solve import ArkitPrior, LandmarkTerm, SolveResult, dense_residual, real_face_trust, skull_pitch_gap, solve

LONG_CLIP = 900           # frames (30 s at 30 fps); longer clips are solved in chunks
CHUNK_FRAMES = 500
IDENTITY_FRAMES = 400
FUSED_IDENTITY_FRAMES = 40    # a short clip's identity, solved first when the fusion solves its frames again
MIN_SHARED_VERTICES = 50      # image_steps: fewer vertices seen on both frames than this, no step
SPILL_BYTES = 32 << 20    # compact records kept in memory before they go to a temporary file

_REC = np.dtype([("idx", "<u2"), ("pos", "<f4", 3), ("ray", "<f2", 3), ("conf", "<f4"), ("off", "<f2", 3)])


@dataclass
class _Slot:
    start: int = -1              # record offset (in records) in the memory list's concatenation or the file
    count: int = 0
    z_origin: float = np.nan
    has_offset: bool = False
    frame: int = 0


class ObservationStore:
    """A list-like of ``VertexObservation | None`` per clip slot (``append``, ``store[i] = obs``, ``len``, iteration),
    kept compact and spilled to disk past ``spill_bytes``."""

    def __init__(self, n_vertices: int, spill_bytes: int = SPILL_BYTES):
        if n_vertices > np.iinfo(np.uint16).max + 1:
            raise ValueError(f"{n_vertices} vertices do not fit the store's uint16 indices")
        self.n_vertices = int(n_vertices)
        self.spill_bytes = int(spill_bytes)
        self._slots: list[_Slot | None] = []
        self._chunks: list[np.ndarray] = []     # in memory until spilled
        self._records = 0                        # records written so far
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._file = None

    # ---- list-like writing
    def append(self, obs: VertexObservation | None) -> None:
        self._slots.append(None)
        if obs is not None:
            self[len(self._slots) - 1] = obs

    def __setitem__(self, i: int, obs: VertexObservation | None) -> None:
        if obs is None:
            self._slots[i] = None
            return
        ok = np.nonzero(obs.confidence > 0)[0]
        rec = np.empty(len(ok), _REC)
        rec["idx"] = ok
        rec["pos"] = obs.position[ok]
        rec["ray"] = obs.ray[ok]
        rec["conf"] = obs.confidence[ok]
        rec["off"] = 0.0 if obs.offset is None else obs.offset[ok]
        self._slots[i] = _Slot(self._records, len(ok), np.nan if obs.z_origin is None else float(obs.z_origin),
                               obs.offset is not None, int(obs.frame))
        self._write(rec)

    def _write(self, rec: np.ndarray) -> None:
        if self._file is None and (self._records + len(rec)) * _REC.itemsize > self.spill_bytes:
            self._tmp = tempfile.TemporaryDirectory(prefix="fc_observations_")
            self._file = open(Path(self._tmp.name) / "records.bin", "w+b")
            for c in self._chunks:
                self._file.write(c.tobytes())
            self._chunks = []
        if self._file is not None:
            self._file.seek(0, os.SEEK_END)
            self._file.write(rec.tobytes())
        else:
            self._chunks.append(rec)
        self._records += len(rec)

    # ---- reading
    def __len__(self) -> int:
        return len(self._slots)

    def __iter__(self):
        for i in range(len(self._slots)):
            yield self[i]

    def __getitem__(self, i: int) -> VertexObservation | None:
        s = self._slots[i]
        if s is None:
            return None
        rec = self._read(s)
        V = self.n_vertices
        pos, ray, off = np.zeros((V, 3), np.float32), np.zeros((V, 3), np.float32), np.zeros((V, 3), np.float32)
        conf = np.zeros(V, np.float32)
        pos[rec["idx"]], ray[rec["idx"]], conf[rec["idx"]] = rec["pos"], rec["ray"], rec["conf"]
        off[rec["idx"]] = rec["off"]
        return VertexObservation(s.frame, pos, ray, conf, None if np.isnan(s.z_origin) else s.z_origin,
                                 off if s.has_offset else None)

    def _read(self, s: _Slot) -> np.ndarray:
        if self._file is not None:
            self._file.flush()
            self._file.seek(s.start * _REC.itemsize)
            return np.frombuffer(self._file.read(s.count * _REC.itemsize), _REC)
        return self._memory()[s.start:s.start + s.count]

    def _memory(self) -> np.ndarray:
        """The in-memory records as one array (joined once per batch of writes)."""
        if len(self._chunks) != 1:
            self._chunks = [np.concatenate(self._chunks) if self._chunks else np.empty(0, _REC)]
        return self._chunks[0]

    def any(self) -> bool:
        return any(s is not None for s in self._slots)

    def has_offsets(self) -> bool:
        return any(s is not None and s.has_offset for s in self._slots)

    def anchors(self) -> np.ndarray:
        return np.array([np.nan if s is None else s.z_origin for s in self._slots])

    def dense(self, slots: np.ndarray, weight: np.ndarray | None = None):
        """(n, V, 3) positions, (n, V, 3) rays, (n, V) confidences (times ``weight`` (V,) when given) and (n, V, 3)
        offsets (None when no observation carries them) of ``slots``, as ``bake.correspond.stack`` gives them."""
        n, V = len(slots), self.n_vertices
        Y, R, O = np.zeros((n, V, 3), np.float32), np.zeros((n, V, 3), np.float32), np.zeros((n, V, 3), np.float32)
        C = np.zeros((n, V), np.float32)
        for k, i in enumerate(slots):
            s = self._slots[i]
            if s is None:
                continue
            rec = self._read(s)
            Y[k, rec["idx"]], R[k, rec["idx"]], C[k, rec["idx"]] = rec["pos"], rec["ray"], rec["conf"]
            O[k, rec["idx"]] = rec["off"]
        if weight is not None:
            C *= weight
        return Y, R, C, (O if self.has_offsets() else None)

    def confidence_sums(self, weight: np.ndarray | None = None) -> np.ndarray:
        """(T,) summed confidence per slot (times ``weight`` (V,) per vertex when given); 0 where none."""
        out = np.zeros(len(self._slots))
        for i, s in enumerate(self._slots):
            if s is not None and s.count:
                rec = self._read(s)
                c = rec["conf"].astype(np.float64)
                out[i] = (c * weight[rec["idx"]]).sum() if weight is not None else c.sum()
        return out

    def extend(self, other: "ObservationStore") -> None:
        """Append ``other``'s slots after this store's (joining the per-chunk stores of ``bake.pipeline``'s
        chunked reconstruction in frame order)."""
        for i in range(len(other)):
            s = other._slots[i]
            self._slots.append(None)
            if s is not None:
                rec = np.array(other._read(s))
                self._slots[-1] = _Slot(self._records, s.count, s.z_origin, s.has_offset, s.frame)
                self._write(rec)

    def __getstate__(self) -> dict:
        """Picklable (a worker process returns its store): the slots and all records in memory."""
        rec = np.empty(0, _REC)
        if self._records:
            if self._file is not None:
                self._file.flush()
                self._file.seek(0)
                rec = np.frombuffer(self._file.read(self._records * _REC.itemsize), _REC).copy()
            else:
                rec = self._memory().copy()
        return {"n_vertices": self.n_vertices, "spill_bytes": self.spill_bytes, "slots": self._slots, "rec": rec}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["n_vertices"], state["spill_bytes"])
        self._slots = list(state["slots"])
        if len(state["rec"]):
            self._write(state["rec"])

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __del__(self):
        self.close()


def image_steps(observations, min_shared: int = MIN_SHARED_VERTICES, turns: np.ndarray | None = None) -> np.ndarray:
    """(T, 3) how the dense observations moved in the image since the frame before: the median of the moves of the
    vertices observed on both frames (x / z, y / z) and the median turn of the lines between pairs of them (radians,
    image x right and y down; each vertex paired with the one half the list away, pairs closer than a third of the
    median pair's length left out); NaN where either frame has none or they share fewer than ``min_shared``. The
    dense network's own reading of the face's place and roll, which shares no noise with the landmarks'
    (bake.filter.follow_seen_place and follow_seen_roll). ``turns`` (T, 3, 3), optional: each frame's camera turn
    (bake.camera_turn), which the points take first (their moves as the first frame's camera would see them)."""
    steps = np.full((len(observations), 3), np.nan)
    prev = None
    for k, obs in enumerate(observations):
        if obs is None:
            prev = None
            continue
        seen = obs.confidence > 0
        at = np.full((len(seen), 2), np.nan)
        p = obs.position[seen] if turns is None else obs.position[seen] @ np.asarray(turns[k], np.float64).T
        at[seen] = p[:, :2] / p[:, 2:]
        if prev is not None:
            both = seen & np.isfinite(prev).all(1)
            if both.sum() >= min_shared:
                a, b = prev[both], at[both]
                steps[k, :2] = np.median(b - a, axis=0)
                half = len(a) // 2                   # each vertex paired with the one half the list away: the
                a, b = a[half:2 * half] - a[:half], b[half:2 * half] - b[:half]      # pair's line, whatever the move
                far = np.linalg.norm(a, axis=1) > np.median(np.linalg.norm(a, axis=1)) / 3
                turn = np.arctan2(b[far, 1], b[far, 0]) - np.arctan2(a[far, 1], a[far, 0])
                steps[k, 2] = np.median((turn + np.pi) % (2 * np.pi) - np.pi)
        prev = at
    return steps


def as_store(observations, n_vertices: int) -> ObservationStore:
    """``observations`` as a store (a list of VertexObservation | None is copied into one)."""
    if isinstance(observations, ObservationStore):
        return observations
    store = ObservationStore(n_vertices)
    for o in observations:
        store.append(o)
    return store


@dataclass(frozen=True)
class ClipSolve:
    result: SolveResult
    confidence: np.ndarray        # (T,) the frames' summed dense confidences (fusion-weighted), 0 where none
    landmark_weight: np.ndarray   # (T,) the frames' summed landmark weights (0 without landmarks)
    shape_correction: np.ndarray | None = None   # (V, 3) mm added to the neutral (bake.shape_correction), or None


def solve_observations(observations, head: HeadModel, residual_keys: int = 0,
                       dense_weight: np.ndarray | None = None, landmarks=None, arkit_prior=None,
                       gaps=None, expression_dense=None, workers: int = 1,
                       reshape: np.ndarray | None = None, shape_unboosted: bool = False,
                       frame_dense: np.ndarray | None = None, faced: np.ndarray | None = None) -> ClipSolve:
    """The clip solve (see the module docstring). ``dense_weight`` (V,) scales the confidences (the fusion);
    ``landmarks(frames, dense_sums, head) -> LandmarkTerm`` and ``arkit_prior(frames) -> ArkitPrior`` build the
    fusion's terms for a set of frames (None: no such term); ``gaps(head) -> GapConstraint`` keeps lids and lips
    apart (bake.solve.solve). ``expression_dense(residual_mm) -> factor`` (with landmarks and dense vertices;
    bake.fusion): the identity is solved first on frames spread over the clip (at most ``FUSED_IDENTITY_FRAMES`` for
    a short clip), then every frame with it fixed and the dense confidences times the factor of that first fit's
    median residual; ``reshape`` (L,) bool then picks the landmarks whose steady offsets from that first fit move
    the neutral of the second (bake.shape_correction; ``ClipSolve.shape_correction``; None: not moved).
    ``workers``: threads a solve with the identity fixed splits its frames over (bake.solve.solve).
    ``shape_unboosted``: in the staged solve's second stage, the head's shape and pose come from the frames' fit
    before the L1 boost, the exported weights from the boosted one (bake.solve.solve; ``SolveResult.fit_weights``).
    ``frame_dense`` (T,): a factor on each frame whose network reading is not to be trusted (bake.fusion.shaded_dense;
    None: 1): in the staged solve's first stage on the frame as a whole (its landmarks' weight, which follows its
    dense confidences, with them), against the other frames (the factors over the spread frames scaled to a mean of
    1), so the identity comes from the others; in the second on its dense confidences alone, as far as the real-face
    terms are trusted (bake.solve.real_face_trust of the first stage's residual: a tight dense fit, as exact maps
    give, is not weighed down), so the landmarks lead it. ``faced`` (T,) bool (None: all): the frames with landmarks;
    the identity's spread frames are picked among them where any has observations (a frame the network alone read,
    bake.lost_faces, does not set the head's shape)."""
    store = as_store(observations, head.n_vertices)
    T = len(store)
    csum = store.confidence_sums(dense_weight)
    # the fusion's dense weight yields to the real-face terms as far as they are trusted (bake.solve.solve); a weight
    # of zero anywhere is the landmarks-only ablation, where the dense term has no say to yield
    yielded = dense_weight if dense_weight is not None and bool((dense_weight > 0).all()) else None
    staged = expression_dense is not None and landmarks is not None and bool(csum.any())
    # the skull's pull (bake.solve.LandmarkTerm.skull) leans the second stage's pitch as the skull's changes over the
    # clip, from the level the first stage's frames, fitted without it, give: no other solve takes it
    unpulled = None if landmarks is None else \
        (lambda frames, dense_sums, fitted: replace(landmarks(frames, dense_sums, fitted), skull=None))
    if T <= LONG_CLIP and not staged:
        everything = np.arange(T)
        return _solve(store, everything, head, residual_keys, dense_weight, unpulled, arkit_prior, csum, None, None,
                      gaps, yielded=yielded)
    # identity from frames spread over the clip, among those with a face (and landmarks, where some have them)
    n_id = IDENTITY_FRAMES if T > LONG_CLIP else FUSED_IDENTITY_FRAMES
    seen = csum > 0
    if faced is not None and (seen & faced).any():
        seen &= np.asarray(faced, bool)
    seen = np.nonzero(seen)[0]
    pick = seen[np.linspace(0, len(seen) - 1, min(len(seen), n_id)).astype(int)] if len(seen) else \
        np.arange(0, T, max(1, T // n_id))
    spread_frames = np.unique(pick)
    first = None
    if frame_dense is not None and staged:          # the frame as a whole, against the others: the mean stays 1
        first = np.asarray(frame_dense, np.float64)
        first = first / max(float(first[spread_frames].mean()), 1e-12)
    spread = _solve(store, spread_frames, head, residual_keys, dense_weight, unpulled, arkit_prior,
                    csum if first is None else csum * first, None, None, gaps, yielded=yielded, frame_factor=first)
    ident, keys = spread.result.identity, spread.result.residual_deltas if residual_keys else None
    weight, sums, marks = dense_weight, csum, unpulled
    field = None
    if staged:
        r = spread.result
        factor = float(expression_dense(dense_residual(r)))
        weight, sums = dense_weight * factor, csum * factor
        if reshape is not None:
            field = neutral_correction(head, r, landmarks(spread_frames, csum[spread_frames], head), reshape)
            head = corrected(head, field)
        pitch = skull_pitch_gap(landmarks(spread_frames, csum[spread_frames], head), r.rotation, r.valid)

        def marks(frames, dense_sums, fitted):          # the landmarks keep the weight the full dense term gave them
            return replace(landmarks(frames, csum[frames], fitted), skull_pitch=pitch)
    chunk = CHUNK_FRAMES if T > LONG_CLIP else T
    frame_factor = None
    if frame_dense is not None and staged:          # as far as the real-face terms are trusted
        trust = real_face_trust(dense_residual(spread.result))
        frame_factor = 1.0 - (1.0 - np.asarray(frame_dense, np.float64)) * trust
    parts = [_solve(store, np.arange(a, min(T, a + chunk)), head, 0, weight, marks, arkit_prior, sums, ident, keys,
                    gaps, workers, shape_unboosted and staged, spread.result.dense_residual_mm, yielded, frame_factor)
             for a in range(0, T, chunk)]
    r = [p.result for p in parts]
    cat = lambda name: np.concatenate([getattr(x, name) for x in r])    # noqa: E731
    deltas, key_weights = spread.result.residual_deltas, cat("residual_weights")
    if residual_keys:       # frames outside the spread ones may need more than 1 of a key: rescale, as one solve does
        scale = np.maximum(np.abs(key_weights).max(0), 1.0).astype(np.float32)
        deltas, key_weights = deltas * scale[:, None, None], key_weights / scale
    res = SolveResult(ident, cat("weights"), cat("rotation"), cat("translation"), cat("depth_shift"), cat("valid"),
                      cat("rms"), deltas, key_weights,
                      None if all(x.fit_weights is None for x in r) else      # a chunk fitted as exported
                      np.concatenate([x.weights if x.fit_weights is None else x.fit_weights for x in r]))
    return ClipSolve(res, csum, np.concatenate([p.landmark_weight for p in parts]), field)


def _solve(store: ObservationStore, frames: np.ndarray, head: HeadModel, residual_keys: int, dense_weight,
           landmarks, arkit_prior, csum: np.ndarray, identity, residual_deltas=None,
           gaps=None, workers: int = 1, shape_unboosted: bool = False,
           dense_residual_mm: float | None = None, yielded: np.ndarray | None = None,
           frame_factor: np.ndarray | None = None) -> ClipSolve:
    Y, ray, C, off = store.dense(frames, dense_weight)
    if frame_factor is not None:
        C *= np.asarray(frame_factor, np.float32)[frames, None]
    lm: LandmarkTerm | None = None if landmarks is None else landmarks(frames, csum[frames], head)
    ap: ArkitPrior | None = None if arkit_prior is None else arkit_prior(frames)
    res = solve(Y, C, head, ray=ray, n_residual=residual_keys, offset=off, landmarks=lm, arkit_prior=ap,
                identity=identity, residual_deltas=residual_deltas, gaps=None if gaps is None else gaps(head),
                workers=workers, shape_unboosted=shape_unboosted, dense_residual_mm=dense_residual_mm,
                yielded=yielded)
    return ClipSolve(res, csum[frames], np.zeros(len(frames)) if lm is None else lm.weight.sum(1))
