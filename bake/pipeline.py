"""The whole path from footage to SceneTracks, the one function the panel, the CLI and plain Python call.

footage (streamed) -> face tracker (frames before a (re)acquisition are tracked backwards) -> crops -> network
(batched) -> point clouds (PnP anchor) -> re-framing: where a frame's head pose gives a crop of the training framing
(core.framing, median-filtered over a few frames) away from the one used, the network runs again on it
(``ReconConfig.reframe`` passes at most; each batch starts from where the previous one's re-framing moved the
tracker's crop, so most frames need none) ->
per-frame template vertex observations (kept, a few hundred kB per frame; images are dropped) -> clip solve (pose,
identity, ARKit, residual keys) -> temporal filter + gap bridging -> SceneTracks.

The per-frame stage runs as overlapping threads: the calling thread decodes and tracks (the tracker is sequential,
each frame's region comes from the previous one) and turns finished point clouds into vertex observations
(correspondence); a worker thread takes each batch of tracked frames through the network, re-framing and point clouds
(the larger share, so the correspondence stays with the tracker), handing half of each network call (its crops'
network pass and point clouds) to a second worker. onnxruntime, OpenCV and numpy's BLAS release the GIL, so on two
cores the landmark model and the dense network run at the same time, and the network's share keeps both cores busy
while the tracker waits for it. Batches are cut and processed in the same order as one thread would, and a frame's
network answer does not depend on the crops it is batched with, so the observations are the same bit for bit (the
network at another thread count differs by float noise).
"""
from __future__ import annotations

import logging
import os
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from core import head_model
from core import landmark_template as lt
from core.background import BackgroundTurn, turned_pixels
from core.errors import BakeError, Cancelled
from core.eyelids import lid_aspects
from core.framing import Reframer, box_between, face_inside
from core.points import source_share, to_point_cloud
from core.types import CropBox, FaceState

from . import face_outline, iris_gaze, mouth_follow, steady_offsets
from .blas import blas_threads
from .calibrate import REGIONS
from .camera_turn import camera_rotations, camera_still_warning, turn_hint, turned_degrees
from .config import DEFAULT_SMOOTHING, FUSION_MODES, HEAD_SIZES, ReconConfig, setting
from .correspond import VertexObservation, correspond, prepare as prepare_correspondence
from .corrective import KEYS as CORRECTIVE_KEYS, SMOOTHING as CORRECTIVE_SMOOTHING, corrective_keys as corrective
from .cut_faces import cut_warnings
from .filter import despike, shot_spans, temporal_filter, turned_poses
from .fit_report import landmark_fit, summary as fit_summary
from .head_size import IRIS_FRAMES, iris_eye_distance, size_scale
from .lost_faces import bridge_lost, lost_warnings
from .observations import ObservationStore, image_steps, solve_observations
from .shape_correction import corrected
from .tracks import BLINK_KEYS, blink_rest, build_tracks, shut_scales
from .types import BakeStats, SceneTracks

log = logging.getLogger(__name__)

BLAS_THREADS = 1    # numpy's BLAS threads in the per-frame stage and the clip solve (bake.blas: why one)
# where the landmarks see the face (bake.filter.keep_image_shake reads the face's place noise against it)
FACE_PLACE_LANDMARKS = (lt.RIGHT_EYE_OUTER, lt.RIGHT_EYE_INNER, lt.LEFT_EYE_INNER, lt.LEFT_EYE_OUTER, lt.NOSE_TIP)
# ... and its roll in the image (bake.filter.keep_image_roll: the line from the right eye's corners to the left's)
EYE_LINE_LANDMARKS = ((lt.RIGHT_EYE_OUTER, lt.RIGHT_EYE_INNER), (lt.LEFT_EYE_OUTER, lt.LEFT_EYE_INNER))

__all__ = ["Cancelled", "DEFAULT_SMOOTHING", "FUSION_MODES", "HEAD_SIZES", "Observed", "ReconConfig",
           "bake_observations", "observe", "reconstruct", "reject_pose_outliers"]


def reject_pose_outliers(translation: np.ndarray, valid: np.ndarray, window: int = 9, tol: float = 0.25,
                         shots: tuple = ()) -> np.ndarray:
    """Frames whose head position jumps away from its temporal neighbours (a failed frame of the network, e.g. the
    head put halfway to the camera) are treated as untracked, so the filter bridges them. A frame is rejected when
    its distance to the median position of the valid frames within +-window/2 exceeds tol x that median's depth.
    ``shots``: the positions where a camera cut begins a new shot (bake.filter.shot_spans); a frame's neighbours are
    those of its own shot (across a cut the head's place may jump as far as it likes)."""
    spans = shot_spans(valid, shots)
    if len(spans) > 1:
        return np.concatenate([reject_pose_outliers(translation[s], np.asarray(valid)[s], window, tol)
                               for s in spans])
    out = np.asarray(valid, bool).copy()
    idx = np.nonzero(out)[0]
    if len(idx) < 3:
        return out
    half = window // 2
    for k, i in enumerate(idx):
        near = idx[max(0, k - half): k + half + 1]
        med = np.median(translation[near], axis=0)
        if np.linalg.norm(translation[i] - med) > tol * max(abs(med[2]), 1e-6):
            out[i] = False
    return out


def face_arrays(faces: list[FaceState | None], idx: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """The tracker's readings of frames ``idx`` (default all) as arrays: landmarks (n, 478, 2) pixels, presence (n,)
    and blendshape scores (n, 52); NaN (presence 0) where no face was read."""
    idx = np.arange(len(faces)) if idx is None else idx
    marks = np.full((len(idx), lt.NUM_LANDMARKS, 2), np.nan)
    presence = np.zeros(len(idx))
    scores = np.full((len(idx), head_model.N_ARKIT), np.nan)
    for k, i in enumerate(idx):
        f = faces[i]
        if f is not None:
            marks[k], presence[k], scores[k] = f.landmarks[:, :2], f.presence, f.blendshapes
    return marks, presence, scores


def face_points(faces: list[FaceState | None]) -> np.ndarray:
    """(n, 478, 3) the tracker's landmarks of every frame as the landmark model gives them (pixels and its relative
    depth, bake.fusion.skull_rotations); NaN where no face was read."""
    none = np.full((lt.NUM_LANDMARKS, 3), np.nan)
    return np.stack([none if f is None else np.asarray(f.landmarks, np.float64)[:, :3] for f in faces])


_STEADY_SHAPES = ~np.isin(head_model.ARKIT_NAMES, REGIONS["eyes"])    # all but the eyes' (a blink may be one frame)


def _despiked(weights: np.ndarray, valid: np.ndarray, fps: float, smoothing: float, shots: tuple = ()) -> np.ndarray:
    """The solved ARKit ``weights`` (T, 52) without bake.filter.despike's one-frame spikes in any shape but the eyes',
    where the curves are smoothed at all (smoothing 0 leaves them as solved); each shot on its own."""
    if smoothing <= 0:
        return weights
    return np.concatenate([despike(weights[s], valid[s], fps, _STEADY_SHAPES)
                           for s in shot_spans(valid, shots)]).astype(weights.dtype)


def shot_starts(frames, cuts) -> tuple:
    """The positions in ``frames`` (footage frame per slot) of the footage frames ``cuts`` (``Observed.cuts``)."""
    cut = set(int(c) for c in cuts)
    return tuple(i for i, f in enumerate(frames) if int(f) in cut)


@blas_threads(BLAS_THREADS)      # small batched products: one thread is faster and machine-independent (bake.blas)
def bake_observations(observations: list[VertexObservation | None], frames: np.ndarray, fps: float, K: np.ndarray,
                      image_size: tuple, head=None, smoothing: float = DEFAULT_SMOOTHING, residual_keys: int = 0,
                      head_pose: str = "tracked", max_gap: int = 12, footage_path: str = "",
                      stage_seconds: dict | None = None, faces: list[FaceState | None] | None = None,
                      fusion: str = "fused", threads: int = 0,
                      eye_distance_mm: float | None = None,
                      corrective_keys: int = CORRECTIVE_KEYS,
                      source_shares: np.ndarray | None = None,
                      head_size: str = "network",
                      background_turns: np.ndarray | None = None,
                      camera_views: np.ndarray | None = None,
                      network_gap: int = ReconConfig.network_gap, shots: tuple = ()) -> tuple[SceneTracks, BakeStats]:
    """The pure bake from per-frame vertex observations (None = no face in that frame) and, when given, the
    tracker's per-frame landmarks and blendshape scores (``faces``), fused as ``fusion`` says; in every mode the lids
    and the lips are kept from passing through each other (``bake.fusion.gap_constraint``). The fused bake's basis
    carries the subject's shape that the landmarks read beyond the identity basis (``bake.shape_correction``).
    ``observations``: a list or a ``bake.observations.ObservationStore``; long clips are solved in chunks of frames
    (see that module).
    ``threads``: the solve's frames with the identity fixed are split over that many threads (0: the cores).
    ``eye_distance_mm``: the subject's, when known; it sets the head's size and distance (bake.head_size). Not
    given, ``head_size`` "irises" reads it from the irises of ``faces`` (``bake.head_size.iris_eye_distance``; where
    they cannot tell, the network's size stays and a warning says so).
    ``corrective_keys``: at most that many keys carry what the fused fit's head does beyond its exported (sparser)
    ARKit weights (bake.corrective), and at most that many (and ``mouth_follow.KEYS``) more how far the lips and chin
    still move up or down to the landmarks (bake.mouth_follow), whose lips' steady sideways offset from the head then
    goes into the baked neutral (``mouth_follow.steady_sideways``), as do the eye corners' and the nose's where they
    are further off than the detectors disagree (bake.steady_offsets); 0: the head shows the exported weights alone.
    ``source_shares`` (T,): each frame's core.points.source_share (``Observed.source_shares``; None: 1), which gives
    the jaw's and mouth's sideways shapes a prior where the network's crop was magnified (bake.fusion.SIDEWAYS_KEYS).
    ``background_turns`` (T,): how the background turned since the frame before (``Observed.background_turns``, NaN
    where unread; None: none): the camera's roll, which the face's roll in the image then follows
    (bake.filter.follow_seen_roll).
    ``camera_views`` (T, 3): the camera's turn from its first view (``Observed.camera_views``; None: none), which
    the baked camera takes where it turns (bake.camera_turn: the head's pose is filtered in the world, then put back
    against each frame's camera).
    ``network_gap``: the longest run of frames the network alone read (``faces`` None there) whose weights and
    distance are taken in time between the frames with a face around it; a longer one holds them (bake.lost_faces).
    ``shots``: the positions where a camera cut begins a new shot (``shot_starts`` of ``Observed.cuts``): the
    temporal filters take each shot apart (bake.filter.shot_spans), so the head's pose and the weights jump there."""
    head = head or head_model.load()
    stage = {} if stage_seconds is None else stage_seconds
    t0 = time.perf_counter()
    from . import fusion as fz
    dense_weight = landmarks = prior = None
    if faces is not None and fusion != "dense" and any(f is not None for f in faces):
        dense_weight = (np.zeros(head.n_vertices, np.float32) if fusion == "landmarks"
                        else fz.dense_weight_map(head))

        def landmarks(idx, dense_sums, fitted):        # the fusion's terms for the frames one solve takes
            marks, presence, _ = face_arrays(faces, idx)
            return fz.landmark_term(marks, presence, dense_sums, K, fitted, aspects=clip_lids[idx],
                                    forehead_light=clip_light[idx], nose_share=fusion == "fused",
                                    skull=None if clip_skull is None else clip_skull[idx])

        clip_marks, clip_presence, clip_scores = face_arrays(faces)     # every frame's, read once
        clip_skull = None                 # the skull's turn in the landmark model's own 3-D points (fused only)
        if fusion == "fused":
            clip_skull = fz.skull_rotations(face_points(faces), K, head)
        clip_light = np.array([np.nan if f is None else f.forehead_light for f in faces])
        clip_lids = lid_aspects(clip_marks)       # how shut each eye is: the landmark model's own lids where read
        for k, f in enumerate(faces):
            if f is not None and np.isfinite(f.lid_aspects).all():
                clip_lids[k] = f.lid_aspects
        open_eyes = fz.open_aspects(clip_lids)
        brows_at_rest = fz.brow_rest(clip_scores, clip_presence)

        def prior(idx):
            _, presence, scores = face_arrays(faces, idx)
            return fz.arkit_prior(scores, presence, fz.lid_closure(clip_lids[idx], open_eyes), brows_at_rest,
                                  None if source_shares is None else np.asarray(source_shares, np.float64)[idx])
    faced = None if landmarks is None else np.array([f is not None for f in faces])
    clip = solve_observations(observations, head, residual_keys, dense_weight, landmarks, prior,
                              fz.gap_constraint, fz.expression_dense if fusion == "fused" else None,
                              workers=solve_threads(threads), reshape=fz.CORRECTED,
                              shape_unboosted=corrective_keys > 0,
                              frame_dense=None if landmarks is None else fz.shaded_dense(clip_light), faced=faced)
    # the faces the network alone read (bake.lost_faces)
    res = clip.result if faced is None else bridge_lost(clip.result, faced, network_gap)
    res = replace(res, weights=_despiked(res.weights, res.valid, fps, smoothing, shots),      # no one-frame spikes
                  fit_weights=None if res.fit_weights is None else _despiked(res.fit_weights, res.valid, fps,
                                                                             smoothing, shots))
    head = corrected(head, clip.shape_correction)
    t1 = time.perf_counter()
    stage["solve"] = stage.get("solve", 0.0) + t1 - t0
    if not res.valid.any():
        raise BakeError("no face was found in any frame of the clip (or too little of it was visible to fit the "
                        "head); check the footage shows a face large enough, or the frame range")
    basis = head.shape(identity=res.identity)          # the clip's neutral, as baked
    exported, rest, head_fit, fitted_blink = res.weights, None, res.fit_weights, None
    if landmarks is not None:
        fit_look = exported             # the weights with the fit's look: their lids at rest are eyeBlink 0
        if res.fit_weights is not None:     # a closing eye's blink keeps up with the head's lids; the irises' gaze,
            exported = fz.closing_blinks(res.weights, res.fit_weights, head, fz.lid_closure(clip_lids, open_eyes) > 0)
            open_now = fz.eyes_open(clip_lids, open_eyes)
            fit_look = fz.fit_gaze(exported, res.fit_weights, open_now)
            seen_eyes = res.valid & (clip_presence >= fz.MIN_PRESENCE)
            looks = iris_gaze.yoked(iris_gaze.corner_gaze(  # its look read against the eye's corners, the two
                head, basis, res.fit_weights, res.rotation, res.translation, K, clip_marks, seen_eyes))  # as eyes turn
            exported = iris_gaze.keep_lid_gaps(fz.fit_gaze(exported, looks, open_now), fit_look, head, open_now)
            head_fit = iris_gaze.keep_lid_gaps(fz.fit_gaze(res.fit_weights, looks, open_now), res.fit_weights, head,
                                               open_now)          # and the head looks where they do
            exported = fz.narrowed_squints(exported, head_fit, head, open_now)     # a smile's narrowed eyes
            exported = fz.raised_brows(exported, head_fit, head, seen_eyes)
        scales = shut_scales(head, basis, head.arkit_deltas)
        rest = blink_rest(fit_look, scales, fz.lids_at_rest(clip_lids, open_eyes))     # eyeBlink 0: lids at rest
        rested = fz.rested_blinks(exported, clip_lids, open_eyes, rest * scales, scales)    # and no more there
        if res.fit_weights is not None:         # the head keeps the lids it was fitted with (keys of their own)
            fitted_blink = exported[:, BLINK_COLUMNS]
        exported = rested
    W = np.concatenate([exported, res.residual_weights], 1) if residual_keys else exported
    conf = clip.confidence + clip.landmark_weight
    valid = reject_pose_outliers(res.translation, res.valid, shots=shots)
    seen_place = seen_roll = None
    camera = camera_rotations(camera_views) if camera_views is not None and head_pose == "tracked" else None
    pose_R, pose_t, marks, turns = res.rotation, res.translation, None, background_turns
    if landmarks is not None:
        marks = clip_marks
    if camera is not None:             # the filter sees the head in the world (bake.camera_turn)
        pose_R, pose_t = turned_poses(camera, res.rotation, res.translation)
        marks = None if marks is None else turned_pixels(marks[..., :2], camera, K)
        turns = None                   # the camera's roll is off the poses and the marks already
    if landmarks is not None:          # where the landmarks see the face (x / z, y / z): the filter reads its noise
        rigid = marks[:, FACE_PLACE_LANDMARKS].mean(1)          # against that (bake.filter.keep_image_shake)
        seen_place = (rigid - K[:2, 2]) / np.diag(K)[:2]
        eyes = marks[:, EYE_LINE_LANDMARKS].mean(2)             # and its roll: the angle of the line from the
        across = eyes[:, 1] - eyes[:, 0]                        # right eye to the left (keep_image_roll)
        seen_roll = np.arctan2(across[:, 1], across[:, 0])
    f = temporal_filter(W, pose_R, pose_t, valid, fps, smoothing, max_gap, confidence=conf,
                        frames=frames, n_bounded=head_model.N_ARKIT, seen=seen_place, seen_roll=seen_roll,
                        dense_steps=image_steps(observations, turns=camera) if seen_place is not None else None,
                        background_turns=turns, peaks=np.isin(np.arange(W.shape[1]), BLINK_COLUMNS), shots=shots)
    if camera is not None:             # the filtered head back against each frame's camera
        back_R, back_t = turned_poses(np.transpose(camera, (0, 2, 1)), f.rotation, f.translation)
        f = replace(f, rotation=back_R, translation=back_t)
    looks_off = np.zeros_like(f.weights)
    if landmarks is not None:          # each eye exported looking one way per axis; the head keeps its look (below)
        one_way = fz.one_way_looks(f.weights)
        looks_off, f = f.weights - one_way, replace(f, weights=one_way)
    # The head keeps the blink as fitted: filtered as the weights are (the filter takes each column on its own), both
    # within a shut eye's (build_tracks' shut_weights), less the exported one, on keys of its own below; the corrective
    # keys carry the head beyond the weights as fitted.
    held_w = None
    if fitted_blink is not None:
        as_fitted = temporal_filter(fitted_blink, res.rotation, res.translation, valid, fps, smoothing, max_gap,
                                    confidence=conf, frames=frames, n_bounded=len(BLINK_COLUMNS), pose=False,
                                    peaks=np.ones(len(BLINK_COLUMNS), bool), shots=shots)
        held_w = np.clip(as_fitted.weights, 0.0, scales) - np.clip(f.weights[:, BLINK_COLUMNS], 0.0, scales)
        exported = exported.copy()
        exported[:, BLINK_COLUMNS] = fitted_blink
    cor_d, weights = None, f.weights
    if res.fit_weights is not None:     # what the head does beyond the exported weights (bake.corrective)
        cor_smoothing = min(1.0, CORRECTIVE_SMOOTHING * smoothing)
        d = temporal_filter(head_fit - exported, res.rotation, res.translation, valid, fps, cor_smoothing,
                            max_gap, confidence=conf, frames=frames, n_bounded=0, pose=False, shots=shots)
        d = replace(d, weights=d.weights + looks_off[:, :head_model.N_ARKIT])
        cor_d, cor_w = corrective(head.arkit_deltas, d.weights, corrective_keys)
        if held_w is not None and np.abs(held_w).max() > HELD_MIN:    # the lids the exported blink leaves at rest
            cor_d = np.concatenate([cor_d, head.arkit_deltas[BLINK_COLUMNS]])
            cor_w = np.concatenate([cor_w, held_w.astype(cor_w.dtype)], 1)
        # the head's keys as baked: the ARKit ones, and residual keys if any
        keys = np.concatenate([head.arkit_deltas, res.residual_deltas]) if residual_keys else head.arkit_deltas
        seen = valid if landmarks is None else valid & (clip_presence >= fz.MIN_PRESENCE)     # the face's frames
        if landmarks is not None:       # and where the landmarks take the lips and chin beyond the ARKit shapes
            fitted = f.weights.copy()
            fitted[:, :head_model.N_ARKIT] += d.weights
            h = mouth_follow.heights(head, basis, keys, fitted, f.rotation, f.translation, K, clip_marks, seen)
            # MediaPipe's lip readings, filtered as the weights are: the corrective difference's heavier filter (the
            # dense network's noise) cut a word's syllables (docs/MEASUREMENTS.md, "The lips' heights filtered as
            # the weights are")
            h = temporal_filter(h, res.rotation, res.translation, seen, fps, smoothing, max_gap,
                                confidence=np.where(seen, conf, 0.0), frames=frames, n_bounded=0, pose=False,
                                shots=shots)
            baked = np.concatenate([keys, cor_d]), np.concatenate([f.weights, cor_w], 1)     # the head so far
            mouth_d, mouth_w = mouth_follow.lip_keys(head, basis, *baked, h.weights,
                                                     min(corrective_keys, mouth_follow.KEYS))
            cor_d, cor_w = np.concatenate([cor_d, mouth_d]), np.concatenate([cor_w, mouth_w], 1)
            # and the lips' steady sideways offset from the head as solved goes into its neutral
            baked = np.concatenate([keys, cor_d]), np.concatenate([f.weights, cor_w], 1)
            side = mouth_follow.steady_sideways(head, basis, *baked, f.rotation, f.translation, K, clip_marks, seen)
            head = corrected(head, np.tensordot(side, mouth_follow.fields(head, axis=mouth_follow.SIDEWAYS), 1))
            # as do the eye corners' and nose's, where they are further off than the detectors disagree
            moved = head.shape(identity=res.identity)
            off = steady_offsets.steady_offsets(head, moved, *baked, f.rotation, f.translation, K, clip_marks, seen)
            head = corrected(head, steady_offsets.field(head, moved, off))
            # and its width, where its silhouette facing the camera is not the landmarks' outline
            moved = head.shape(identity=res.identity)
            outline = face_outline.outline_steps(head, moved, *baked, f.rotation, f.translation, K, clip_marks, seen)
            head = corrected(head, face_outline.field(head, moved, outline))
        weights = np.concatenate([f.weights, cor_w], 1)
        # the clip's lips at rest go into the neutral, so an exported mouthClose of 0 is the lips at rest (shut, as
        # an ARKit rig's neutral, where the clip's are); the head's mouthClose less as much keeps its mouth (below 0
        # until lifted just after)
        all_keys = np.concatenate([keys, cor_d])
        rest_close = mouth_follow.mouth_rest(head, head.shape(identity=res.identity), all_keys, weights, seen)
        if rest_close > 0:
            head = corrected(head, rest_close * head.arkit_deltas[CLOSE_COLUMN])
            weights[:, CLOSE_COLUMN] -= np.float32(rest_close)
        # the exported weights open the lips as far as the head as baked; the head keeps its mouth on keys of its own
        opened = mouth_follow.exported_opening(head, head.shape(identity=res.identity), all_keys, weights)
        changed = np.abs(opened).max(0) > 0
        if changed.any():
            cols = np.array([head_model.ARKIT_NAMES.index(n) for n in mouth_follow.OPENING])[changed]
            weights[:, cols] += opened[:, changed].astype(weights.dtype)
            cor_d = np.concatenate([cor_d, -head.arkit_deltas[cols]])
            weights = np.concatenate([weights, opened[:, changed].astype(weights.dtype)], 1)
    t2 = time.perf_counter()
    stage["filter"] = stage.get("filter", 0.0) + t2 - t1
    iris_mm = iris_eye_distance(faces, f.rotation, K) if faces else None
    size_warnings, size_from = (), "network" if eye_distance_mm is None else "eye distance"
    if eye_distance_mm is None and head_size == "irises":
        eye_distance_mm, size_warnings = _iris_size(iris_mm)
        size_from = "network" if eye_distance_mm is None else "irises"
    scale = 1.0 if eye_distance_mm is None else size_scale(eye_distance_mm, res.identity, head)
    tracks = build_tracks(head, res.identity, weights, f.rotation, f.translation, frames, fps, K, image_size,
                          f.tracked, res.residual_deltas if residual_keys else None, footage_path, head_pose, scale,
                          cor_d, rest, wider_keys=corrective_keys > 0)
    if shots:                          # the shots the filters took apart
        tracks = replace(tracks, cuts=tuple(int(tracks.frames[s.start]) for s in shot_spans(valid, shots)[1:]))
    camera_warnings = ()
    if camera is not None:
        tracks = replace(tracks, camera_rotation=camera)
    elif camera_views is not None and head_pose == "tracked":
        camera_warnings = (camera_still_warning(camera_views),)
    elif background_turns is not None and head_pose == "tracked":
        camera_warnings = tuple(w for w in (turn_hint(background_turns),) if w)
    fit, worst_frame, worst, fit_warnings = None, None, None, ()
    if faces and head_pose == "tracked":      # how closely the head as baked follows the landmarks (bake.fit_report)
        read = (clip_marks, clip_presence) if landmarks is not None else face_arrays(faces)[:2]
        per_frame = landmark_fit(tracks, *read)
        fit, worst_frame, worst, fit_warnings = fit_summary(per_frame, frames)
        tracks = replace(tracks, landmark_fit=per_frame.astype(np.float32))
    stage["tracks"] = stage.get("tracks", 0.0) + time.perf_counter() - t2
    ntr = int(valid.sum())
    stats = BakeStats(frames_total=len(frames), frames_tracked=ntr, frames_bridged=len(frames) - ntr,
                      seconds=float(sum(stage.values())), stage_seconds=dict(stage),
                      warnings=f.warnings + size_warnings + tuple(
                          fz.shade_warnings(clip_light, frames) if fusion == "fused" and landmarks is not None else ())
                      + tuple(lost_warnings(res.valid, faced, frames) if faced is not None else ())
                      + tuple(cut_warnings(clip_marks if landmarks is not None else face_arrays(faces)[0], image_size,
                                           frames) if faces else ())
                      + fit_warnings + camera_warnings,
                      iris_eye_distance_mm=iris_mm, size_from=size_from, landmark_fit=fit, worst_fit_frame=worst_frame,
                      worst_fit=worst, camera_degrees=None if camera is None else turned_degrees(camera))
    return tracks, stats


BLINK_COLUMNS = [head_model.ARKIT_NAMES.index(n) for n in BLINK_KEYS]
CLOSE_COLUMN = head_model.ARKIT_NAMES.index("mouthClose")
HELD_MIN = 0.01           # blink held on the head's own keys (bake.fusion.rested_blinks) below this on every frame: none
BACKFILL_SIDE = 1280      # long side (pixels) of the faceless frames kept for backward tracking
QUEUED_BATCHES = 2        # batches handed to the network thread and not yet collected (bounds the frames held)
FACE_INSIDE = 0.95        # a face the landmarks lose is followed by the network alone while this much of it is in view


def solve_threads(threads: int) -> int:
    """Threads the clip solve splits its frames over (bake.observations): ``threads`` when given, else the cores."""
    return int(threads) if threads else max(1, os.cpu_count() or 1)


def network_threads(threads: int) -> int:
    """onnxruntime threads of the dense network: ``threads`` when given, else the cores but one (the tracking thread
    keeps one busy; its landmark model runs on one thread, core.face_models)."""
    return int(threads) if threads else max(1, (os.cpu_count() or 1) - 1)


def _small(image: np.ndarray) -> tuple[np.ndarray, float]:
    """A copy of the frame with its long side at most BACKFILL_SIDE, and the scale applied."""
    import cv2
    s = min(1.0, BACKFILL_SIDE / max(image.shape[:2]))
    return (cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else image.copy()), s


def _track_backwards(image: np.ndarray, tracker, missed: list, size: int, faces: list) -> list:
    """(slot, box, recrop) for the faceless frames ``missed`` ((slot, small copy, its scale), oldest first) before
    ``image``, the frame where ``tracker`` (core.track.FaceTracker) found the face, followed backwards from there
    (``FaceTracker.backwards``): a clip that starts on a turned or partly hidden face, a detector miss mid-clip or a
    trial's frames are recovered by landmark tracking from the first good frame. Boxes are in full-frame pixels; each
    recovered frame's FaceState (full-frame pixels) goes into ``faces[slot]``."""
    small, s = _small(image)
    out = []
    newest_first = missed[::-1]
    for (slot, img, s_k), state in zip(newest_first, tracker.backwards(small, [m[1] for m in newest_first], s)):
        faces[slot] = state.scaled(1.0 / s_k)
        box = state.box
        out.append((slot, CropBox(box.x0 / s_k, box.y0 / s_k, box.size / s_k, box.angle), recropper(img, s_k, size)))
    return out


def _lost_faces(missed: list, recovered: list, before: tuple | None, after: tuple | None, size: int,
                longest: int) -> list:
    """(slot, box, recrop) for the faceless frames of ``missed`` that backward tracking did not recover
    (``recovered``, as ``_track_backwards`` gives them), between ``before`` and ``after`` ((slot, box) of the frames
    with a face on either side), so that the network alone reads them. In a run of at most ``longest`` frames each
    frame's box is taken that far in time from one to the other (core.framing.box_between); in a longer one, or with a
    face on one side only (``before`` or ``after`` None: a clip that ends, or starts, turned away), the ``longest``
    frames next to a face keep that face's box (the nearer one's) and the others are not read. Only where the face in
    the box lies inside the frame (core.framing.face_inside at least ``FACE_INSIDE``: a face leaving the picture is
    not followed)."""
    got = {item[0] for item in recovered}
    out = []
    for slot, image, s in missed:
        if slot in got or before and slot <= before[0] or after and slot >= after[0]:
            continue
        gone, back = (slot - before[0] if before else np.inf), (after[0] - slot if after else np.inf)
        if gone + back <= longest + 1:
            box = box_between(before[1], after[1], gone / (gone + back))
        elif min(gone, back) <= longest:
            box = before[1] if gone <= back else after[1]
        else:
            continue
        if face_inside(box.scaled(s), image.shape[1], image.shape[0]) >= FACE_INSIDE:
            out.append((slot, box, recropper(image, s, size)))
    return out


def recropper(image: np.ndarray, scale: float, size: int) -> Callable[[CropBox], np.ndarray]:
    """box (frame pixels) -> the network crop of ``image`` (the frame, or a copy of it scaled by ``scale``)."""
    from core.preprocess import crop_image
    return lambda b: crop_image(image, b.scaled(scale), size)


@dataclass(frozen=True)
class Observed:
    """What the per-frame stage of a clip (or of a chunk of its frames) gives the clip solve."""
    observations: ObservationStore          # per slot: VertexObservation | None
    faces: list                             # per slot: the tracker's FaceState | None
    frames: tuple                           # footage frame index per slot
    fps: float
    K: np.ndarray
    image_size: tuple                       # (width, height)
    footage_path: str
    warnings: tuple
    stage_seconds: dict
    source_shares: tuple = ()                # per slot: core.points.source_share of its network crop (1: none)
    background_turns: tuple = ()             # per slot: core.background's turn since the slot before (NaN: unread)
    camera_views: tuple = ()                 # per slot: core.background's view (3,), the camera's turn from its first
    camera_lead: tuple = ()                  # (footage frame, view) its reader read before the slots: a chunk's warm-up
                                             # (bake.chunked joins chunks' views on the frames they share)
    cuts: tuple = ()                         # footage frames where a camera cut begins a new shot (core.track's cuts)


def reconstruct(config: ReconConfig, progress: Callable[[float, str], None] | None = None,
                cancel: Callable[[], bool] | None = None,
                on_prediction: Callable[[int, CropBox, object, np.ndarray], None] | None = None
                ) -> tuple[SceneTracks, BakeStats]:
    """Run the whole path (``observe`` then ``bake_observations``); raises FootageError / ModelError / BakeError /
    Cancelled. ``on_prediction(frame, box, prediction, crop)`` is told, per frame the network ran on, the final crop
    box, the network's FramePrediction and the crop it saw (for evaluation: training.eval real; frames come batch by
    batch, in time order within a batch)."""
    t_start = time.perf_counter()
    report = progress or (lambda f, s: None)
    obs = observe(config, report, cancel, on_prediction)
    return _solve_observed(config, obs, report, t_start)


def _iris_size(read: float | None) -> tuple[float | None, tuple]:
    """(the eye distance the irises ``read``, or None with a warning why not): ``bake_observations``' ``head_size``
    "irises"."""
    lo, hi = setting("eye_distance_mm")[1].range
    if read is None:
        return None, (f"head size: the irises were seen open on too few frames ({IRIS_FRAMES}, or half of a shorter "
                      "clip's); the head keeps the network's size (set the eye distance if it is known)",)
    if not lo <= read <= hi:
        return None, (f"head size: the irises read an eye distance of {read:.0f} mm, outside {lo:.0f}-{hi:.0f}; "
                      "the head keeps the network's size (set the eye distance if it is known)",)
    return read, ()


def bake_observed(config: ReconConfig, obs: Observed, head=None,
                  stage: dict | None = None) -> tuple[SceneTracks, BakeStats]:
    """``bake_observations`` of what ``observe`` gave, with ``config``'s bake settings (``stage`` gathers the times)."""
    return bake_observations(obs.observations, np.array(obs.frames), obs.fps, obs.K, obs.image_size,
                             head or head_model.load(), config.smoothing, config.residual_keys, config.head_pose,
                             config.max_gap, obs.footage_path, stage, obs.faces, config.fusion, config.threads,
                             config.eye_distance_mm, config.corrective_keys, obs.source_shares or None,
                             config.head_size, np.asarray(obs.background_turns, np.float64) if obs.background_turns
                             else None, np.asarray(obs.camera_views, np.float64) if obs.camera_views else None,
                             config.network_gap, shot_starts(obs.frames, obs.cuts))


def _solve_observed(config: ReconConfig, obs: Observed, report: Callable[[float, str], None],
                    t_start: float) -> tuple[SceneTracks, BakeStats]:
    if not obs.frames:
        raise BakeError(f"{config.source}: no frames were decoded in the chosen range")
    if not obs.observations.any():
        raise BakeError(f"no face was found in any of the {len(obs.frames)} frames of {config.source}")
    report(0.92, "solving pose, identity and expressions")
    tracks, stats = bake_observed(config, obs, stage=dict(obs.stage_seconds))
    report(1.0, "done")
    return tracks, replace(stats, seconds=time.perf_counter() - t_start, warnings=tuple(obs.warnings) + stats.warnings)


@blas_threads(BLAS_THREADS)      # the stage's own threads fill the cores (bake.blas)
def observe(config: ReconConfig, progress: Callable[[float, str], None] | None = None,
            cancel: Callable[[], bool] | None = None,
            on_prediction: Callable[[int, CropBox, object, np.ndarray], None] | None = None) -> Observed:
    """The per-frame stage of ``reconstruct`` (footage, tracking, network, re-framing, correspondence) over
    ``config``'s frame range: everything before the clip solve. Raises FootageError / ModelError / Cancelled.
    ``stage_seconds``: the busy time of each stage ("network" and "points" summed over the two threads that share
    them, overlapping each other and "decode+track" and "correspond"), and "wait", the time the tracking thread waited
    for the network's."""
    from core.face_models import default_models    # lazy: teammates' modules, heavy imports
    from core.footage import open_footage
    from core.runtime import Predictor
    from core.track import FOLLOWING_MODELS, FaceTracker

    report = progress or (lambda f, s: None)
    stage = {"decode+track": 0.0, "network": 0.0, "points": 0.0, "correspond": 0.0, "wait": 0.0}
    with ExitStack() as stack:
        worker = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="observe"))
        half = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="observe-half"))  # half of each net call
        # while the footage opens (each a few tenths of a second): the head and the network load on the worker, then
        # the face models the tracker uses on every clip (its first frame waits for their sessions rather than loading
        # them; a bad file raises again there), and the correspondence's voxel table is built on the thread that
        # takes half of each network call, idle until the first batch (else the tracking thread builds it on that
        # batch's results)
        def load():
            loaded = head_model.load()
            half.submit(prepare_correspondence, loaded)
            return loaded, Predictor(config.model_path, config.providers, network_threads(config.threads),
                                     flip=config.mirror)
        loading = worker.submit(load)
        models = default_models()
        worker.submit(models.check, FOLLOWING_MODELS)
        footage = stack.enter_context(open_footage(config.source, config.start, config.end, config.stride))
        head, predictor = loading.result()
        S = predictor.size
        W, H = int(footage.width), int(footage.height)
        K = config.camera_matrix(W, H)
        fps = float(footage.fps)
        reported = int(getattr(footage, "frame_count_reported", 0) or 0)
        last = reported if config.end is None else min(reported, int(config.end))
        total = max(1, -(-(last - config.start) // config.stride))
        choose = "largest" if config.face_point is None else (config.face_point[0] * W, config.face_point[1] * H)
        tracker = FaceTracker(choose=choose, models=models)
        frames: list[int] = []
        faces: list[FaceState | None] = []     # the tracker's landmarks and blendshapes per slot (the fusion)
        observations = ObservationStore(head.n_vertices)     # compact, spilled to disk past a size
        shares: list[float] = []           # per slot, the source share of its network crop (core.points)
        turns: list[float] = []            # per slot, the background's turn since the slot before (core.background)
        background = BackgroundTurn(K if config.camera_turn == "background" else None)
        views: list[np.ndarray] = []       # per slot, the camera's view against its first (core.background)
        pending: list[tuple] = []          # (slot, tracker box, recrop) as core.framing.Reframer takes them
        running: deque = deque()           # (batch, future) handed to the worker, oldest first

        def cloud_of(pred, box, slot):
            return to_point_cloud(pred, box, K, head, frames[slot], frame_size=(W, H), tilt=predictor.depth_tilt)

        reframer = Reframer(predictor, cloud_of, K, config.reframe, pool=half)
        # the faces the landmarks lost go through a re-framing of their own: the other frames' crops stay as they were
        seeker = Reframer(predictor, cloud_of, K, config.reframe, pool=half)
        lost: list[tuple] = []             # (slot, box, recrop) of faceless frames the network alone reads
        seek = config.network_gap if config.fusion != "landmarks" else 0    # (no dense term there to read them)
        last_face: tuple | None = None     # (slot, box) of the last frame with a face

        def collect(keep: int):            # results of all but the newest ``keep`` batches, in order
            while len(running) > keep:
                batch, future = running.popleft()
                t = time.perf_counter()
                clouds, boxes, preds = future.result()
                t1 = time.perf_counter()
                stage["wait"] += t1 - t
                observed = [None if cloud is None else correspond(cloud, head) for cloud in clouds]
                stage["correspond"] += time.perf_counter() - t1
                for (slot, _, recrop), o, box, pred in zip(batch, observed, boxes, preds):
                    observations[slot] = o
                    shares[slot] = source_share(box.size, S)
                    if on_prediction is not None:
                        on_prediction(frames[slot], box, pred, recrop(box))

        def flush():
            if lost:
                batch = sorted(lost, key=lambda it: it[0])
                running.append((batch, worker.submit(seeker.run, batch, stage)))
                lost.clear()
            if pending:
                batch = sorted(pending, key=lambda it: it[0])   # time order (frames followed backwards come reversed)
                running.append((batch, worker.submit(reframer.run, batch, stage)))
                pending.clear()
            collect(QUEUED_BATCHES)

        missed: list[tuple[int, np.ndarray, float]] = []        # (slot, downscaled frame, scale) without a face

        def found(slot: int, state: FaceState, image: np.ndarray):
            """A face in ``slot`` (``image``, its frame): its crop queued for the network, after the faceless
            frames kept before it, followed backwards from it."""
            nonlocal last_face
            if missed:     # the face is found again: follow it backwards over the frames that had none
                back = _track_backwards(image, tracker, missed, S, faces)
                pending.extend(back)
                if seek:                                # and the network over those it did not recover
                    first = min(back, key=lambda it: it[0])[:2] if back else (slot, state.box)
                    lost.extend(_lost_faces(missed, back, last_face, first, S, seek))
                missed.clear()
            pending.append((slot, state.box, recropper(image, 1.0, S)))
            last_face = (slot, state.box)

        try:
            t = time.perf_counter()
            for frame in footage:
                state = tracker.update(frame.image)
                slot = len(frames)
                frames.append(int(frame.index))
                observations.append(None)
                shares.append(1.0)
                faces.append(state)
                turns.append(background.update(frame.image, None if state is None else state.box))
                if config.camera_turn == "background":
                    views.append(background.view)
                if state is None:
                    if config.backfill:
                        missed.append((slot, *_small(frame.image)))
                        dropped = missed[:-config.backfill]
                        del missed[:-config.backfill]
                        if dropped and last_face is not None and seek:    # a run longer than kept: the frames
                            lost.extend(_lost_faces(dropped, [], last_face, None, S, seek))   # next to the face
                else:
                    found(slot, state, frame.image)
                stage["decode+track"] += time.perf_counter() - t
                if len(pending) >= config.batch:
                    if cancel is not None and cancel():
                        raise Cancelled("reconstruction cancelled")
                    flush()
                    report(min(0.9, 0.9 * len(frames) / total) if total > 1 else 0.5,
                           f"frame {len(frames)}: tracking and network")
                t = time.perf_counter()
            if cancel is not None and cancel():
                raise Cancelled("reconstruction cancelled")
            settled = tracker.settle(frame.image) if frames else None     # a trial still open at the clip's end
            if settled is not None:
                faces[-1] = settled
                if missed and missed[-1][0] == len(frames) - 1:
                    missed.pop()
                found(len(frames) - 1, settled, frame.image)
            if missed and last_face is not None and seek:        # the clip ends on frames without a face
                lost.extend(_lost_faces(missed, [], last_face, None, S, seek))
            flush()
            collect(0)
        finally:
            for _, future in running:      # on an error or a cancel: drop what has not started
                future.cancel()
        footage_path = str(config.source)
        warnings = list(getattr(footage, "report", lambda: [])())
        # each read from the sizes and steps of the whole clip: once
        sized, moved, cuts = dict(tracker.jumps), dict(tracker.moves), tracker.cuts
        warnings += [(f"the followed face changed size {sized[k]:.2f}x from one frame to the next at frame "
                      f"{frames[k]}" if k in sized else f"the followed face jumped {moved[k]:.0f} px in the picture "
                      f"from one frame to the next at frame {frames[k]}, steady before and after" if k in moved else
                      f"the followed face was found elsewhere in the picture at frame {frames[k]}")
                     + ": a camera cut, or another face that passed in front and took the track "
                     "over; the frames before and after it are filtered apart (check the overlay; choose the face to "
                     "follow if it is another's)" for k in cuts]
    return Observed(observations, faces, tuple(frames), fps, K, (W, H), footage_path, tuple(warnings), stage,
                    tuple(shares), tuple(turns), tuple(views), cuts=tuple(frames[k] for k in cuts))
