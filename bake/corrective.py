"""The head's fitted shape beyond its exported ARKit weights, as a few corrective shape keys.

In the fused bake the head's shape and pose come from the frames' fit before the L1 prior's boost, so the head follows
the landmarks (the lids narrowing in a smile, the mouth's width), while the exported ARKit weights are the boosted
fit's (bake.solve.solve, ``shape_unboosted``): a character driven by the 52 weights gets the shapes the data insist
on, not the spread of small weights the closer fit uses. What the exported weights leave out of the head,
(fit - exported weights) x the ARKit deltas, is a per-frame displacement in the span of those deltas; filtered over
time more than the weights are (``SMOOTHING``: the fit's own frame-to-frame noise would shimmer on the head), its
principal components (by vertex motion) become the keys ``corrective_00`` ... with weights in [-1, 1], on the baked
head only: retargeting and the CSV take the ARKit keys alone. Figures: docs/MEASUREMENTS.md, "The head follows the
landmarks, the exported weights stay sparse". ``corrective_keys`` takes any linear displacement basis: bake.mouth_follow
puts the lips' and chin's heights on keys of their own with it.
"""
from __future__ import annotations

import numpy as np

KEYS = 8                # corrective keys at most (``ReconConfig.corrective_keys`` chooses)
ENERGY = 0.995          # fewer keys when they carry this share of the displacement's energy
MIN_MM = 0.05           # no keys when no frame's displacement reaches this anywhere on the head
SMOOTHING = 2.0         # the difference is filtered at this times the weights' smoothing (at most 1)


def corrective_keys(arkit_deltas: np.ndarray, difference: np.ndarray,
                    n_max: int = KEYS) -> tuple[np.ndarray, np.ndarray]:
    """Keys (n, V, 3) float32 and their weights (T, n) float32 in [-1, 1] that approximate ``difference @ deltas``,
    the fitted head's weights less the exported ones (T, 52) times ``arkit_deltas`` (52, V, 3) (or any coefficients
    (T, K) of any displacements (K, V, 3)); n = 0 when nothing is left out."""
    T, (K, V, _) = len(difference), arkit_deltas.shape
    none = np.zeros((0, V, 3), np.float32), np.zeros((T, 0), np.float32)
    dW = np.asarray(difference, np.float64)
    A = arkit_deltas.reshape(K, -1).astype(np.float64)
    if n_max <= 0 or not np.abs(dW).any():
        return none
    # principal directions of the displacements dW @ A in vertex space, found in the weights' 52 dimensions:
    # with M = A A^T = L L^T, Z = dW L has the displacements' inner products, and a direction y of Z is the key
    # (L^-T y)^T A, of unit length
    M = A @ A.T
    L = np.linalg.cholesky(M + 1e-9 * np.trace(M) / K * np.eye(K))
    Z = dW @ L
    lam, Y = np.linalg.eigh(Z.T @ Z)
    lam, Y = lam[::-1], Y[:, ::-1]
    share = np.cumsum(lam) / max(lam.sum(), 1e-30)
    n = min(int(n_max), int(np.searchsorted(share, ENERGY)) + 1)
    C = np.linalg.solve(L.T, Y[:, :n])                              # (52, n) each key's ARKit combination
    keys = (C.T @ A).reshape(n, V, 3)
    coef = Z @ Y[:, :n]                                              # (T, n) mm-scale coefficients
    reach = np.abs(coef).max(0)                                      # each key's largest displacement (unit keys)
    big = reach * np.linalg.norm(keys, axis=-1).max(1) >= MIN_MM
    if not big.any():
        return none
    keys, coef, reach = keys[big], coef[:, big], reach[big]
    return (keys * reach[:, None, None]).astype(np.float32), (coef / reach).astype(np.float32)
