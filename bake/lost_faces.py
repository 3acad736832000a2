"""The frames on which the landmarks lost a face that the network alone still read (``bake.pipeline.observe``'s lost
faces: a head turned to a profile and back, a face under a fringe): the head's turn and its place in the picture are
the network's there, its expression and its distance are bridged from the frames with a face around them.

Why not the network's expression and distance as well: on real faces it reads expressions far worse than the
landmarks and blendshape scores do, and a frame it reads alone sits at another distance than the landmarks' frames
around it; its turn is what bridging cannot give while the head turns on (docs/MEASUREMENTS.md, "The network alone
follows a face the landmarks lose"). numpy only.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .camera_turn import turn_degrees
from .filter import bridge, runs, stretch_lines
from .solve import SolveResult

FAR_OFF = 0.25      # a lost frame the network puts further than this share of the head's distance from the bridged
                    # one is not followed (another face in front, a misread crop; the tolerance of
                    # bake.pipeline.reject_pose_outliers)
FAR_TURN = 90.0     # nor one it turns further than this (degrees) from the bridged turn: the network's answer on the
                    # back of a head, or on a crop turned upside down (bench_e2e.py --turn 80 --turn-path toward, seed
                    # 7, 150 degrees off, before core.track.FOLD_SKEW refused the folded readings whose boxes turned
                    # them); a head the landmarks lose has turned some 35 degrees past the last frame they read


def bridge_lost(result: SolveResult, faced: np.ndarray, longest: int | None = None) -> SolveResult:
    """``result`` with, on its valid frames without a face (``faced`` (T,) bool false), the exported and fitted
    weights and the head's distance (the camera translation's depth) bridged from the valid frames with a face
    (``bake.filter.bridge``): taken linearly in time over a run of at most ``longest`` frames between two of them
    (every run when None), held from the frame before a longer run (as the filter holds its pose and expression there:
    over a second and more, a line towards the far end's reading only spreads a misread of the face found again), the
    nearest one's beyond the first and the last; the network's rotation and direction of the head from the camera (its
    place in the picture) are kept. Such a frame whose own distance lies more than ``FAR_OFF`` of the bridged one
    away, or whose turn lies more than ``FAR_TURN`` from the bridged turn, is made invalid (bridged whole, as the
    frames the network did not read). Unchanged where there is no such frame or no frame with a face."""
    faced = np.asarray(faced, bool)
    keep = result.valid & faced
    lost = np.nonzero(result.valid & ~faced)[0]
    if not len(lost) or not keep.any():
        return result
    n = result.weights.shape[1]
    both = result.weights if result.fit_weights is None else np.concatenate([result.weights, result.fit_weights], 1)
    bridged, turned, around, _ = bridge(both, result.rotation, result.translation, keep,
                                         max_gap=len(keep) if longest is None else longest)
    weights = np.array(result.weights, copy=True)
    weights[lost] = bridged[lost, :n]
    fit = None
    if result.fit_weights is not None:
        fit = np.array(result.fit_weights, copy=True)
        fit[lost] = bridged[lost, n:]
    translation = np.array(result.translation, np.float64, copy=True)
    depth = around[lost, 2]
    valid = np.array(result.valid, bool, copy=True)
    off = turn_degrees(np.einsum("tji,tjk->tik", np.asarray(result.rotation, np.float64)[lost], turned[lost]))
    far = (np.abs(translation[lost, 2] / depth - 1.0) > FAR_OFF) | (off > FAR_TURN)
    valid[lost[far]] = False
    translation[lost] *= (depth / translation[lost, 2])[:, None]
    return replace(result, weights=weights, fit_weights=fit,
                   translation=translation.astype(result.translation.dtype), valid=valid)


def lost_warnings(valid: np.ndarray, faced: np.ndarray, frames: np.ndarray, most: int = 3) -> list[str]:
    """The bake's warning lines for the frames the network alone followed (``valid`` and not ``faced``, (T,) each;
    ``frames`` the footage frame of each): one per stretch of them, or, past ``most`` stretches, one for them all."""
    stretches = runs(np.asarray(valid, bool) & ~np.asarray(faced, bool))
    what = ("the landmarks lost the face there (turned away or hidden?): the head's turn follows the depth network "
            "alone and its expression is bridged from the frames around (check the overlay)")
    return stretch_lines(stretches, frames, lambda a, b: f": {what}", most)
