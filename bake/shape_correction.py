"""The subject's face shape beyond the identity basis, read from where the landmarks keep landing.

The identity basis (40 modes of anny's sampled population) cannot put every feature of a real face where MediaPipe's
landmarks see it: on the real clips the mesh's chin stayed 0.11-0.13 inter-ocular distances below MediaPipe's even
with the chin point weighed 33x (docs/MEASUREMENTS.md, "Where the landmark error is"). What stays the same over a
clip, once the first stage of the fused solve has fitted pose, identity and expressions, is the subject's shape:
  * each landmark gets the offset in the face's plane (head-frame x and y; depth stays the dense network's) that
    best explains its image residuals over the first stage's frames (least squares over the frames' projections,
    Cauchy-reweighted, so a few frames of a misread landmark do not move it);
  * a smooth field carries the offsets of the landmarks that mark skin (``bake.fusion.CORRECTED``) to the vertices:
    Gaussian radial basis functions of ``RADIUS_MM`` about the landmarks' points on the fitted neutral,
    ridge-regularised, no vertex moved more than ``MAX_MM``;
  * the field is weighed by the real-face terms' trust (``bake.solve.real_face_trust``): where the dense fit is
    as tight as exact maps give, the landmark model's own misreadings are what would remain.
The second stage fits every frame on the corrected neutral, and the baked basis carries it.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from core.head_model import HeadModel

from .solve import LandmarkTerm, SolveResult, dense_residual, image_error_rows, real_face_trust

RADIUS_MM = 12.0       # reach of one landmark's offset over the surface (8 mm: same landmark error, 16 mm: +0.001)
RIDGE = 0.1            # the radial-basis fit's ridge, against one landmark's own kernel value (1)
MAX_MM = 8.0           # no vertex moves further
ROBUST_MM = 3.0        # Cauchy scale of one frame's residual (mm at the landmark) in the offsets' fit
ROUNDS = 3             # reweighting rounds of that fit
PRIOR_MM = 5.0         # an offset's prior spread: one frame's residual of ROBUST_MM weighs (PRIOR_MM / ROBUST_MM)^2
                       # times the prior, so 40 frames hardly feel it, and a direction no frame sees (the head's x on
                       # a profile) stays at zero instead of whatever a near-singular fit gives


def landmark_offsets(result: SolveResult, term: LandmarkTerm) -> tuple[np.ndarray, np.ndarray]:
    """Head-frame offsets (L, 3), z = 0, of the term's template points that best reproject them onto the observed
    landmarks over the result's valid frames (frames in the term's order), and each landmark's support (L,): its
    summed weight over those frames (0: never seen, offset 0)."""
    vi = np.nonzero(result.valid)[0]
    L = term.mu.shape[0]
    if len(vi) == 0:
        return np.zeros((L, 3)), np.zeros(L)
    R = result.rotation[vi]
    uv, c0 = term.uv[vi], term.weight[vi]
    M = term.mu + np.tensordot(result.identity, term.B, 1) \
        + (result.weights[vi] @ term.A.reshape(len(term.A), -1)).reshape(len(vi), L, 3)
    X = np.einsum("tij,tlj->tli", R, M) + result.translation[vi][:, None, :]
    Pm = image_error_rows(uv, term.K)                    # as bake.solve's landmark term: mm at the landmark
    r = np.einsum("tlij,tlj->tli", Pm, X)
    Q = np.einsum("tlij,tjk->tlik", Pm, R[:, :, :2])     # d r / d (offset along the head's x and y)
    support = c0.sum(0)
    seen_frames = np.maximum((c0 > 0).sum(0), 1)
    prior = (ROBUST_MM / PRIOR_MM) ** 2 * support / seen_frames + 1e-12       # one frame's mean weight, scaled
    o = np.zeros((L, 2))
    for _ in range(ROUNDS):
        e = r + np.einsum("tlij,lj->tli", Q, o)
        c = c0 / (1.0 + (e * e).sum(-1) / ROBUST_MM ** 2)
        H = np.einsum("tl,tlia,tlib->lab", c, Q, Q) + prior[:, None, None] * np.eye(2)
        g = np.einsum("tl,tlia,tli->la", c, Q, r)
        o = np.where(support[:, None] > 0, -np.linalg.solve(H, g[..., None])[..., 0], 0.0)
    return np.concatenate([o, np.zeros((L, 1))], 1), support


def vertex_field(points: np.ndarray, offsets: np.ndarray, vertices: np.ndarray, radius_mm: float = RADIUS_MM,
                 ridge: float = RIDGE) -> np.ndarray:
    """(V, 3) smooth displacement of ``vertices`` (V, 3) that moves ``points`` (L, 3) by about ``offsets`` (L, 3):
    Gaussian radial basis functions of ``radius_mm``, the fit's ridge ``ridge``, no vertex moved beyond ``MAX_MM``."""
    if len(points) == 0:
        return np.zeros(vertices.shape)

    def kernel(a, b):
        return np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2.0 * radius_mm ** 2))
    coef = np.linalg.solve(kernel(points, points) + ridge * np.eye(len(points)), offsets)
    field = kernel(vertices, points) @ coef
    norm = np.linalg.norm(field, axis=1, keepdims=True)
    return field * np.minimum(1.0, MAX_MM / np.maximum(norm, 1e-12))


def neutral_correction(head: HeadModel, result: SolveResult, term: LandmarkTerm,
                       use: np.ndarray | None = None) -> np.ndarray:
    """(V, 3) float32 mm to add to ``head``'s neutral: ``vertex_field`` of the ``landmark_offsets`` of the term's
    landmarks that ``use`` (L,) bool selects (default all), times the real-face trust of ``result``'s dense fit."""
    offsets, support = landmark_offsets(result, term)
    seen = (support > 0) & (np.ones(len(support), bool) if use is None else np.asarray(use, bool))
    trust = real_face_trust(dense_residual(result))
    points = term.mu[seen] + np.tensordot(result.identity, term.B[:, seen], 1)
    field = vertex_field(points, offsets[seen], head.shape(identity=result.identity))
    return (trust * field).astype(np.float32)


def corrected(head: HeadModel, correction: np.ndarray | None) -> HeadModel:
    """``head`` with ``correction`` (V, 3) added to its neutral (itself when None)."""
    if correction is None:
        return head
    return dataclasses.replace(head, vertices=(head.vertices + correction).astype(np.float32))
