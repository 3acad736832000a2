"""The exported weights' mouth corners put where the head's are.

The exported ARKit weights come from the fit with the L1 boost (sparse, as MediaPipe's blendshape scores split an
expression), the head from the fit without it; what the head does beyond the exported weights rides on its corrective
keys (``bake.corrective``), which a character driven by the 52 weights never sees. On the real clips the boost drops
part of the mouth's width and of its corners' height, which the head keeps and dlib sees (docs/MEASUREMENTS.md, "The
exported mouth corners follow the head's"). ``followed_corners`` changes the exported weights of the shapes that move
the corners (``KEYS``) as little as it can to put both corners where the head's weights put them, on the neutral head;
the head itself stays as it was, its corrective keys carrying the rest.
"""
from __future__ import annotations

import numpy as np

from core import landmark_template as lt
from core.head_model import ARKIT_NAMES, HeadModel

CORNERS = (61, 291)         # MediaPipe's mouth corners: the subject's right, left
KEYS = ("mouthStretchRight", "mouthStretchLeft", "mouthDimpleRight", "mouthDimpleLeft", "mouthSmileRight",
        "mouthSmileLeft", "mouthPucker")     # what widens or narrows the mouth (with the frowns and presses: no better)
AXES = np.array([1.0, 1.0, 0.3])    # weight of the corners' miss across, up, and in depth, which barely shows in the
#                                     picture: matched as fully, it takes from the width (docs/MEASUREMENTS.md)
RIDGE_MM2 = 0.5             # cost of a weight's change of 1, in squared mm of the corners' miss: small misses stay
ROUNDS = 60                 # active-set rounds at most (``bounded_ridge``: each holds or frees one unknown)


def corner_rates(head: HeadModel) -> np.ndarray:
    """(52, 6) how far each ARKit shape at weight 1 moves the two corners (right, then left; across, up, in depth,
    each scaled by ``AXES``), mm."""
    moved = lt.load().points(np.asarray(head.arkit_deltas, np.float64), head)[:, list(CORNERS)]     # (52, 2, 3)
    return (moved * AXES).reshape(len(moved), 6)


def bounded_ridge(gram: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(T, k) per row the ``x`` in [``lo``, ``hi``] (T, k; ``lo`` <= 0 <= ``hi``) that minimises
    ``x' gram x / 2 - b' x`` (``gram`` (k, k) positive definite, ``b`` (T, k)). The primal active-set method, every
    row at once: from 0 (feasible), solve with the held unknowns at their bounds, step towards that solution until an
    unknown meets a bound (then hold it) or reach it (then free the held unknown the gradient pulls in hardest)."""
    T, k = b.shape
    rows = np.arange(T)
    eye = np.eye(k, dtype=bool)
    x = np.zeros((T, k))
    held = np.zeros((T, k), bool)
    for _ in range(ROUNDS):
        free = ~held
        system = np.where(free[:, :, None] & free[:, None, :], gram, 0.0) + (held[:, :, None] & eye)
        rhs = np.where(free, b - (x * held) @ gram, x)
        d = np.linalg.solve(system, rhs[..., None])[..., 0] - x
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(d < 0, (lo - x) / d, np.where(d > 0, (hi - x) / d, np.inf))
        room = np.where(free, np.maximum(room, 0.0), np.inf)
        block = np.argmin(room, 1)
        step = np.minimum(room[rows, block], 1.0)
        x = x + step[:, None] * d
        blocked = step < 1.0
        r, c = rows[blocked], block[blocked]
        x[r, c] = np.where(d[r, c] < 0, lo[r, c], hi[r, c])             # exactly on the bound it met
        held[r, c] = True
        grad = x @ gram - b
        pull = np.where(held & (((x <= lo) & (grad < 0)) | ((x >= hi) & (grad > 0))), np.abs(grad), 0.0)
        release = ~blocked & (pull.max(1) > 0)
        held[rows[release], np.argmax(pull, 1)[release]] = False
        if not (blocked.any() or release.any()):
            break
    return np.clip(x, lo, hi)


def followed_corners(weights: np.ndarray, fit_weights: np.ndarray, head: HeadModel) -> np.ndarray:
    """A copy of the exported ``weights`` (T, 52) whose ``KEYS`` (each kept in [0, 1]) move the mouth corners to where
    the head's ``fit_weights`` (T, 52) put them: per frame the least squares of the corners' miss plus
    ``RIDGE_MM2`` times the changes' squares (``bounded_ridge``); the other weights are kept."""
    rates = corner_rates(head)
    w = np.asarray(weights, np.float64)
    keys = [ARKIT_NAMES.index(n) for n in KEYS]
    A = rates[keys]                                                             # (k, 6)
    gram = A @ A.T + RIDGE_MM2 * np.eye(len(keys))
    b = ((np.asarray(fit_weights, np.float64) - w) @ rates) @ A.T              # (T, k)
    step = bounded_ridge(gram, b, -w[:, keys], 1.0 - w[:, keys])
    out = np.array(weights)
    out[:, keys] = w[:, keys] + step
    return out
