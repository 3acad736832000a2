"""Pose, identity, ARKit weights (and optional residual keys) from per-frame vertex observations, fused with 2-D
landmarks and per-shape weight targets from the real-face models (bake.fusion builds those terms).

Model of an observed vertex v in frame t (camera mm):
    Y_tv + dz_t * ray_tv  ~  R_t (mu_v + B_v id + A_v w_t) + tr_t
with ``mu`` the template, ``B`` the identity basis (one ``id`` per clip, Gaussian prior from ``identity_std``), ``A``
the 52 ARKit deltas (``w_t`` in [0, 1], L1 + small L2 prior), (R_t, tr_t) the rigid head pose and ``dz_t`` a
correction of the frame's PnP anchor depth (the PnP assumed the template's size; the true size comes with ``id``).
A landmark l (a fixed point of the template, core.landmark_template) seen at pixel u_tl adds the residual
    (project(R_t (mu_l + B_l id + A_l w_t) + tr_t) - u_tl) * z / f      (``LandmarkTerm``, exactly linear in the point)
and a weight target adds strength * (w_ta - target_ta)^2 (``ArkitPrior``); both are weighed down when the dense term
fitted alone is already tight (``LANDMARK_REF_MM``), and so is the dense term's yield to them (``yielded``).

Solve (all frames at once, numpy batched, float32 for the per-vertex arrays): robust Gauss-Newton over every frame's
rotation increment, head-frame translation, anchor shift dz_t and 52 ARKit weights (projected Newton: weights at a
bound whose gradient points outwards are held there; a final exact box-QP polish), jointly with the clip's identity
(its 40 unknowns eliminated by a Schur complement over the per-frame 59x59 systems), Cauchy re-weighting of the 3D
residual (``robust_mm``). Starts from a rigid Kabsch of the template (PnP of the landmarks on frames without dense
vertices); 5 steps converge (exact on exact vertices).
When the observations carry their canonical offsets, one more warm-started solve adds the fitted shape's local
stretch to the correspondence's rigid transport (``_Stretch``). Pose and expression use a subset of the observed
vertices (``max_vertices``). Residual keys (optional) are the principal components of what remains in the head frame.
The L1 strength is set for the network's errors, which are correlated over the face (a bias per clip that the ARKit
shapes would otherwise explain as expression); it trades a slight shrinkage of the weights for that. How it was
chosen, and what it costs: docs/MEASUREMENTS.md, "The solve's ARKit L1 strength".
What the data cannot fix well: the clip-wide trade-off of head size against distance (monocular scale); lateral
biases of 0.05 mm in the observations move the depth by about 0.5 mm (z / face width ~ 10).
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from core.head_model import HeadModel

from .numerics import quat_from_matrix, rotation_vector

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class SolveResult:
    identity: np.ndarray          # (40,)
    weights: np.ndarray           # (T, 52) in [0, 1]
    rotation: np.ndarray          # (T, 3, 3) head -> camera (identity where invalid)
    translation: np.ndarray       # (T, 3) mm
    depth_shift: np.ndarray       # (T,) mm anchor correction dz
    valid: np.ndarray             # (T,) bool frames with enough observed vertices
    rms: np.ndarray               # (T,) median residual distance over the observed vertices, mm
    residual_deltas: np.ndarray   # (n, V, 3) float32
    residual_weights: np.ndarray  # (T, n)
    fit_weights: np.ndarray | None = None   # (T, 52) the weights of the head's own shape where they differ from the
    #                                         exported ``weights`` (``shape_unboosted``), else None
    dense_residual_mm: float | None = None  # the dense term's median residual fitted without the real-face terms,
    #                                         which decides their trust (``real_face_trust``); None: not measured


@dataclass(frozen=True, eq=False)
class LandmarkTerm:
    """2-D landmarks of a real-face model as reprojection residuals of fixed template points (core.landmark_template).

    ``uv`` (T, L, 2) observed frame pixels, ``weight`` (T, L) trust per landmark (0 = absent), ``K`` the footage's
    intrinsics, and the head model restricted to the landmarks: ``mu`` (L, 3), ``B`` (n, L, 3), ``A`` (52, L, 3).
    ``gaze`` (L,) bool marks points on the eyeballs, which turn on their own: their residuals move the ARKit weights
    (eyeLook*) fully and the head's pose and identity only ``gaze_pose`` (0-1) as much (None: none such).
    ``rigid_share`` (T, L) scales each landmark's say in what its expression does not move, the head's pose and
    identity (its residual's derivatives by them in the Gauss-Newton steps), and leaves its say in the expression
    weights as its weight gives (None: 1 for every landmark). ``skull`` (T, 3, 3), head -> camera rotations read
    from the landmark model's own 3-D points, pull each frame's pitch (its turn about the head's sideways axis)
    towards theirs less ``skull_pitch`` (radians: the level between them the other terms keep; ``skull_pitch_gap``)
    by ``skull_share`` (T,) mm^2 per radian^2 per unit of the frame's summed landmark weight (0: none; None: no such
    pull)."""
    uv: np.ndarray
    weight: np.ndarray
    K: np.ndarray
    mu: np.ndarray
    B: np.ndarray
    A: np.ndarray
    gaze: np.ndarray | None = None
    gaze_pose: float = 1.0
    rigid_share: np.ndarray | None = None
    skull: np.ndarray | None = None
    skull_share: np.ndarray | None = None
    skull_pitch: float = 0.0

    def take(self, frames: np.ndarray) -> "LandmarkTerm":
        share = None if self.rigid_share is None else self.rigid_share[frames]
        skull = None if self.skull is None else self.skull[frames]
        skull_share = None if self.skull_share is None else self.skull_share[frames]
        return replace(self, uv=self.uv[frames], weight=self.weight[frames], rigid_share=share, skull=skull,
                       skull_share=skull_share)


@dataclass(frozen=True, eq=False)
class ArkitPrior:
    """Per-frame targets for the 52 ARKit weights (T, 52) in [0, 1] and their strengths (T, 52) >= 0 (0 = none),
    in units of the frame's mean ARKit Gram diagonal (so a strength of 1 weighs like one more observation of the
    shape's full motion). ``exported`` (T, 52) >= 0: more strength that only the exported weights' own fit takes
    (``solve``'s boosted fit where the head's shape comes from the unboosted one, ``shape_unboosted``): a reading
    trusted for a character's weights but not for the head the landmarks lead (bake.fusion.BROW_PRIOR)."""
    target: np.ndarray
    strength: np.ndarray
    exported: np.ndarray | None = None

    def take(self, frames: np.ndarray) -> "ArkitPrior":
        return ArkitPrior(self.target[frames], self.strength[frames],
                          None if self.exported is None else self.exported[frames])

    def scaled(self, factor: float) -> "ArkitPrior":
        return ArkitPrior(self.target, self.strength * factor,
                          None if self.exported is None else self.exported * factor)

    def for_export(self) -> "ArkitPrior":
        """The prior of the exported weights' own fit: ``exported`` added to the strengths."""
        return self if self.exported is None else ArkitPrior(self.target, self.strength + self.exported)


@dataclass(frozen=True, eq=False)
class GapConstraint:
    """Pairs of template points that must not pass through each other (an upper lid and the lower lid under it, the
    inner lips): the gap ``base + id . B + w . A`` (mm along the head's up axis; ``base`` (K,), ``B`` (n, K), ``A``
    (52, K)) stays >= 0. Held by a one-sided penalty (zero while the gap is open), along each pair's direction in
    the weights a multiple of the frame's stiffest weight in the data (``GAP_STIFFNESS_GN`` in every Gauss-Newton
    step, ``GAP_STIFFNESS`` in the final box-QP polish)."""
    base: np.ndarray
    B: np.ndarray
    A: np.ndarray

    def gaps(self, w: np.ndarray, identity: np.ndarray) -> np.ndarray:
        """(T, K) gaps of weights w (T, 52) on the identity."""
        return self.base + identity @ self.B + w @ self.A

    def penalty(self, w: np.ndarray, identity: np.ndarray, H: np.ndarray,
                active: np.ndarray | None = None, stiffness: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hessian (T, 52, 52), gradient (T, 52) in the weights of the penalty on closed gaps (``active`` (T, K):
        the pairs held, default those with a negative gap), and the constant part of the held gaps times their
        stiffness (T, 52) (what a quadratic program in the weights takes as its linear term). ``H`` (T, 52, 52) the
        data's Hessian in the weights; ``stiffness`` times its largest diagonal entry is the penalty's curvature
        along each pair's direction."""
        gap = self.gaps(w, identity)
        act = gap < 0 if active is None else active
        stiff = stiffness * np.einsum("tii->ti", H).max(1, keepdims=True)
        k = act * (stiff / np.maximum((self.A ** 2).sum(0), 1e-9))                           # (T, K)
        H = np.einsum("tk,ak,bk->tab", k, self.A, self.A)
        const = self.base + identity @ self.B
        return H, (k * gap) @ self.A.T, (k * const) @ self.A.T


def kabsch(src: np.ndarray, dst: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched weighted rigid fit dst ~ R src + t. src, dst (T, V, 3), w (T, V) -> R (T, 3, 3), t (T, 3)."""
    src = np.broadcast_to(src, dst.shape) if src.ndim == 2 else src
    sw = np.maximum(w.sum(1, dtype=np.float64), 1e-12)[:, None]
    cs = (w[:, None, :] @ src)[:, 0] / sw
    cd = (w[:, None, :] @ dst)[:, 0] / sw
    H = (src * w[..., None]).transpose(0, 2, 1) @ dst - sw[:, :, None] * cs[:, :, None] * cd[:, None, :]
    U, _, Vt = np.linalg.svd(H.astype(np.float64))
    d = np.sign(np.linalg.det(Vt.transpose(0, 2, 1) @ U.transpose(0, 2, 1)))
    D = np.zeros((len(w), 3, 3))
    D[:, 0, 0] = D[:, 1, 1] = 1
    D[:, 2, 2] = d
    R = Vt.transpose(0, 2, 1) @ D @ U.transpose(0, 2, 1)
    return R, cd - (R @ cs[..., None])[..., 0]


def box_qp(G: np.ndarray, b: np.ndarray, x0: np.ndarray | None = None, sweeps: int = 40,
           lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """Batched min 1/2 x'Gx - b'x subject to lo <= x <= hi, by cyclic coordinate descent.
    G (T, n, n) positive semi-definite with a positive diagonal, b (T, n)."""
    T, n = b.shape
    x = np.clip(np.zeros((T, n)) if x0 is None else x0.copy(), lo, hi)
    diag = np.maximum(np.einsum("tii->ti", G), 1e-12)
    g = np.einsum("tij,tj->ti", G, x) - b
    Gc = np.ascontiguousarray(G.transpose(2, 1, 0))      # [a, i, t] = G[t, i, a]: column a of every frame
    xc = np.ascontiguousarray(x.T)
    gc = np.ascontiguousarray(g.T)
    dc = np.ascontiguousarray(diag.T)
    for _ in range(sweeps):
        for a in range(n):
            new = np.minimum(np.maximum(xc[a] - gc[a] / dc[a], lo), hi)
            step = new - xc[a]
            xc[a] = new
            gc += Gc[a] * step
    x = xc.T.copy()
    return x


def solve(Y: np.ndarray, C: np.ndarray, head: HeadModel, ray: np.ndarray | None = None, n_residual: int = 0,
          iterations: int = 5, l1: float = 2.4e-3, l2: float = 1e-5, identity_noise_mm: float = 1.0,
          robust_mm: float = 3.0, min_vertices: int = 30, fit_identity: bool = True,
          max_vertices: int = 1000, sweeps: int = 8,
          offset: np.ndarray | None = None, transport_passes: int = 1, landmarks: LandmarkTerm | None = None,
          arkit_prior: ArkitPrior | None = None, landmark_robust_mm: float = 3.0,
          min_landmarks: int = 40, identity: np.ndarray | None = None,
          residual_deltas: np.ndarray | None = None, gaps: GapConstraint | None = None,
          workers: int = 1, shape_unboosted: bool = False,
          dense_residual_mm: float | None = None, yielded: np.ndarray | None = None) -> SolveResult:
    """Fit the clip. Y (T, V, 3) camera positions, C (T, V) confidences (0 = unobserved), ray (T, V, 3) or None
    (no anchor correction; the anchor correction dz is solved freely per frame). ``iterations`` Gauss-Newton steps,
    ``sweeps`` the coordinate-descent sweeps of the final box QP polish of the ARKit weights. ``offset`` (T, V, 3) the
    canonical offsets of the observations (``VertexObservation.offset``): the correspondence carried each point to its
    vertex with the rigid rotation only; with the offsets the solve adds the model's own stretch over that offset
    ((J_v - I) o_v, J_v the local Jacobian of the fitted shape) in ``transport_passes`` re-solves.
    ``landmarks`` adds 2-D reprojection residuals of landmark points (mm at the landmark's depth, Cauchy-robust
    with ``landmark_robust_mm``) to every step and to the final polish; ``arkit_prior`` pulls each weight towards a
    target. A frame is solved when it has ``min_vertices`` dense vertices or ``min_landmarks`` landmarks.
    ``identity`` (n,) fixes the clip's identity (e.g. one solved on frames spread over a long clip, which is then
    solved in chunks of frames: bake.observations) instead of fitting it; ``residual_deltas`` (n, V, 3) likewise fixes
    the residual keys (learned on those spread frames), and only their per-frame weights are fitted. ``gaps`` keeps
    lids and lips from passing through each other (``GapConstraint``). With the identity fixed, each frame's
    Gauss-Newton steps depend on no other frame's, and they run split over ``workers`` threads (numpy leaves the GIL
    in its array work; the result is the one thread's up to float rounding).
    ``shape_unboosted`` (with landmarks and the identity fixed; bake.fusion): where the L1 prior is boosted, the
    head's shape (``fit_weights``), its pose and residual come from the solve before the boost (carried through the
    transport passes with the plain L1), which follows the landmarks, while ``weights`` stay the boosted solve's,
    sparse for a character (the difference rides on bake.corrective's keys).
    ``dense_residual_mm`` (e.g. a first solve's ``SolveResult.dense_residual_mm``) sets the real-face terms' trust;
    None: with such terms, measured here by a fit of the dense term alone (``SolveResult.dense_residual_mm``).
    ``yielded`` (V,) in (0, 1]: the factor ``C`` carries where the dense term yields to the real-face terms
    (bake.fusion.dense_weight_map); it yields as far as they are trusted, and the dense term alone is fitted
    without it."""
    T, V = C.shape
    if residual_deltas is not None:
        n_residual = len(residual_deltas)
    valid = (C > 0).sum(1) >= min_vertices
    if landmarks is not None:
        valid |= (landmarks.weight > 0).sum(1) >= min_landmarks
    obs_all = np.nonzero((C[valid] > 0).any(0))[0] if valid.any() else np.zeros(0, int)
    obs = _solve_subset(head, obs_all, max_vertices)
    if len(obs) == 0:          # landmarks only: a few unobserved vertices keep the dense arrays' shapes
        obs = np.arange(0, head.n_vertices, max(1, head.n_vertices // 32))
    rot = np.tile(np.eye(3), (T, 1, 1))
    tr = np.zeros((T, 3))
    dz = np.zeros(T)
    n_id = len(head.identity_std)
    W = np.zeros((T, 52))
    res_d = np.zeros((n_residual, V, 3), np.float32)
    res_w = np.zeros((T, n_residual), np.float32)
    rms = np.full(T, np.nan)
    if not valid.any():
        return SolveResult(np.zeros(n_id), W, rot, tr, dz, valid, rms, res_d, res_w)
    vi = np.nonzero(valid)[0]
    f32 = np.float32
    Yv = Y[vi][:, obs].astype(f32)
    Cv = C[vi][:, obs].astype(f32)
    Rv = ray[vi][:, obs].astype(f32) if ray is not None else None
    lm = ap = None
    if landmarks is not None:
        lm = landmarks.take(vi)
        lm = replace(lm, uv=lm.uv.astype(np.float64), weight=lm.weight.astype(np.float64))
    if arkit_prior is not None:
        ap = arkit_prior.take(vi)
    extra = dict(lm=lm, ap=ap, lm_rho=landmark_robust_mm, gaps=gaps, mb=_model_blocks(head, obs), workers=workers)
    prior = None
    if fit_identity and identity is None:   # per observed point (dense vertex or landmark), the prior's noise
        per_point = (Cv.sum() + (0.0 if lm is None else lm.weight.sum())) / len(vi) \
            / (len(obs) + (0 if lm is None else lm.mu.shape[0]))
        prior = np.diag(identity_noise_mm ** 2 * max(per_point, 1e-9) / head.identity_std.astype(np.float64) ** 2)
    init = _initial_pose(Yv, Cv, head.vertices[obs], lm)
    if identity is not None:
        init = init[:4] + (np.asarray(identity, np.float64),)
    dense = (Cv > 0).sum(1) >= min_vertices
    real = lm is not None or ap is not None

    def first_fit():        # the first Gauss-Newton run, with the terms (``extra``) and confidences as they stand
        return _gauss_newton(Yv, Cv, Rv, head, obs, prior, iterations, l1, l2, robust_mm, sweeps, init=init, **extra)
    if real and dense.any() and dense_residual_mm is None:
        # The real-face terms are weighed against the dense one by its quality: where the dense fit is as tight as
        # exact maps give (0.5 mm), the landmarks' (template points a few mm apart from where the landmark model puts
        # them) and the blendshape scores' own errors would only pull a right answer away; at the network's residual
        # on real footage they keep the full weight bake.fusion gives them (``LANDMARK_REF_MM``). That quality is
        # read from the dense term fitted alone: fitted with the terms it weighs, its residual grows with their pull
        # (exact maps of a held-out synthetic clip: 0.46 mm alone, 1.03 fused), and so would their trust.
        # It runs on a second thread beside the fit at full trust, which real footage keeps (numpy leaves the GIL in
        # its array work): there it costs no wall time; where the trust comes out lower, that fit is done again.
        d = np.nonzero(dense)[0]
        Cd = Cv[d] if yielded is None else Cv[d] / yielded[obs].astype(f32)
        with ThreadPoolExecutor(1, thread_name_prefix="solve-alone") as pool:
            alone = pool.submit(_gauss_newton, Yv[d], Cd, None if Rv is None else Rv[d], head, obs, prior,
                                iterations, l1, l2, robust_mm, sweeps, init=tuple(x[d] for x in init[:4]) + (init[4],),
                                **dict(extra, lm=None, ap=None))
            st = first_fit()
            dense_residual_mm = float(np.nanmedian(alone.result()[5]))
    else:
        st = None
    trust = real_face_trust(dense_residual_mm) if real and dense.any() else 1.0
    if trust < 1.0:
        if yielded is not None:
            y = yielded[obs].astype(np.float64)
            Cv = (Cv * ((1.0 - trust * (1.0 - y)) / y)).astype(f32)
        extra["lm"] = None if lm is None else replace(lm, weight=lm.weight * trust, gaze_pose=trust)
        extra["ap"] = None if ap is None else ap.scaled(trust)
        st = None
    if st is None:
        st = first_fit()
    # Noisy observations (a network far from the ground truth) must not buy a freak identity or noise-fitting
    # expressions: when the fit's residual is well above the assumed noise, the priors are scaled by the
    # residual variance (the Bayesian weight of a prior grows with the data's noise) and the fit is redone. The L1
    # boost stops at L1_BOOST_MAX: beyond it the residual is mostly uncorrelated noise, which 1,000 vertices average
    # out, and a larger L1 would zero real expressions (6 mm i.i.d. noise as in tests/test_bake_solve.py's
    # noisy-observation test: weight MAE 0.016 capped, 0.026 not).
    sigma = float(np.nanmedian(st[5][dense])) if np.isfinite(st[5][dense]).any() else 0.0
    boost = (sigma / identity_noise_mm) ** 2 if identity_noise_mm > 0 else 1.0
    log.debug("dense fit residual %.2f mm (prior boost %.1f; alone %s mm, real-face terms x%.2f)", sigma, boost,
              "-" if dense_residual_mm is None else f"{dense_residual_mm:.2f}", trust)
    start, l1_base, unboosted = st, l1, False
    exported = extra            # the terms of the fit whose weights are exported
    if boost > 2.0:
        prior = None if prior is None else prior * boost
        unboosted = shape_unboosted and lm is not None and identity is not None
        if unboosted and extra["ap"] is not None:
            exported = dict(extra, ap=extra["ap"].for_export())
        l1, l2 = l1 * min(boost, L1_BOOST_MAX), l2 * boost
        st = _gauss_newton(Yv, Cv, Rv, head, obs, prior, iterations, l1, l2, robust_mm, sweeps, init=st, **exported)
    stretch = _Stretch(head, obs, offset[vi][:, obs]) if offset is not None and transport_passes > 0 else None

    def transported(st, l1, terms):
        for _ in range(transport_passes if stretch is not None else 0):
            st = _gauss_newton(Yv, Cv, Rv, head, obs, prior, max(2, iterations // 2), l1, l2, robust_mm, sweeps,
                               init=st, delta=stretch(st[4], st[3]), **terms)
        return st
    st = transported(st, l1, exported)
    W_fit = None
    if unboosted:               # the head's shape, pose and residual from the unboosted start; the boosted weights
        fit = transported(start, l1_base, extra)
        W_fit = np.zeros((T, 52))
        W_fit[vi] = fit[3]
        st = fit[:3] + (st[3],) + fit[4:]
    Rt, tt, dzv, Wv, idv, rms_v = st
    if n_residual > 0:                       # on every observed vertex, with the final pose and coefficients
        Ca = C[vi][:, obs_all].astype(np.float64)
        Ya = Y[vi][:, obs_all].astype(np.float64)
        if ray is not None:
            Ya = Ya + dzv[:, None, None] * ray[vi][:, obs_all]
        Wm = Wv if W_fit is None else W_fit[vi]                                # the head's shape
        Ma = head.vertices[obs_all] + np.tensordot(idv, head.identity_basis[:, obs_all], 1) \
            + (Wm @ head.arkit_deltas[:, obs_all].reshape(52, -1)).reshape(len(vi), -1, 3)
        E = (Ya - tt[:, None]) @ Rt - Ma
        if residual_deltas is None:
            rd, rw = _residual_keys(E, Ca, n_residual)
            res_d[:, obs_all] = rd
        else:
            res_d[:] = residual_deltas
            rw = _residual_weights(E, Ca, res_d[:, obs_all])
        res_w[vi] = rw
    rot[vi], tr[vi], dz[vi], W[vi], rms[vi] = Rt, tt, dzv, Wv, rms_v
    return SolveResult(idv, W, rot, tr, dz, valid, rms, res_d, res_w, W_fit, dense_residual_mm)


# GapConstraint's stiffness against the frame's stiffest ARKit weight in the data: gentle in the Gauss-Newton steps
# (stiffer made the pose and identity of the real talking clip swing between runs; docs/MEASUREMENTS.md),
# firm in the final polish, which holds the pairs that closed past zero in a few active-set rounds (a crossing is cut
# to about 1/20 of its depth).
GAP_STIFFNESS_GN = 1.0
GAP_STIFFNESS = 20.0
GAP_ROUNDS = 4
GAP_TOL_MM = 0.05       # a gap closed past zero by less than this is not held

# The dense term's residual fitted alone at and above which the real-face terms keep their full weight: the real clips
# and every copy of them measured fit to 2.45-3.95 mm (the network on real faces), held-out synthetic renders to
# 1.6 mm (seed 2, a profile in sunglasses, 4.0), exact maps to 0.5 (docs/MEASUREMENTS.md, "The real-face terms'
# trust").
LANDMARK_REF_MM = 2.0
L1_BOOST_MAX = 9.0  # the L1 prior grows with the residual variance up to a residual of 3 mm (network clips: 1.5-3 mm)
ID_BOUND = 3.0      # identity coefficients are kept within +-3 standard deviations of the sampled population


def dense_residual(result: SolveResult) -> float:
    """The dense term's median residual (mm) that a solve's real-face terms were trusted by: its
    ``dense_residual_mm``, else (no real-face terms) the fit's median residual over its valid frames (0 if none)."""
    if result.dense_residual_mm is not None:
        return float(result.dense_residual_mm)
    fitted = result.rms[result.valid]
    return float(np.nanmedian(fitted)) if np.isfinite(fitted).any() else 0.0


def real_face_trust(dense_residual_mm: float) -> float:
    """How far the real-face terms (landmarks, blendshape scores, the landmark shape correction) are trusted, from
    the dense term's median residual fitted alone (mm; ``dense_residual``): fully at and above ``LANDMARK_REF_MM``,
    falling with its square below (each term weighed by the inverse of its error's variance)."""
    return min(1.0, (dense_residual_mm / LANDMARK_REF_MM) ** 2)


_EPS = np.zeros((3, 3, 3))
_EPS[0, 1, 2] = _EPS[1, 2, 0] = _EPS[2, 0, 1] = 1
_EPS[0, 2, 1] = _EPS[2, 1, 0] = _EPS[1, 0, 2] = -1


def _rodrigues(om: np.ndarray) -> np.ndarray:
    """Batched exp([om]x): (T, 3) -> (T, 3, 3)."""
    th = np.linalg.norm(om, axis=1)
    Kx = np.einsum("ijk,tk->tij", -_EPS, om / np.maximum(th, 1e-12)[:, None])
    s, c = np.sin(th)[:, None, None], np.cos(th)[:, None, None]
    return np.eye(3) + s * Kx + (1 - c) * (Kx @ Kx)


def _initial_pose(Yv, Cv, mu, lm: LandmarkTerm | None):
    """Start of the solve per frame on the template (neutral, mean identity): a weighted rigid Kabsch of the dense
    vertices where a frame has them, else PnP of the landmark points (OpenCV); (R, t, dz, w, id)."""
    T = len(Cv)
    R, t = kabsch(np.broadcast_to(mu, Yv.shape), Yv, Cv)
    R, t = np.array(R), np.array(t)
    if lm is not None:
        import cv2
        for i in np.nonzero((Cv > 0).sum(1) < 3)[0]:
            ok = (lm.weight[i] > 0) & (True if lm.gaze is None else ~lm.gaze)
            good, rv, tv = cv2.solvePnP(lm.mu[ok].astype(np.float64), lm.uv[i, ok].astype(np.float64),
                                        np.asarray(lm.K, np.float64), None, flags=cv2.SOLVEPNP_SQPNP)
            if good:
                R[i], t[i] = cv2.Rodrigues(rv)[0], tv.ravel()
    return R, t, np.zeros(T), np.zeros((T, 52)), None


@dataclass(frozen=True, eq=False)
class _LandmarkBlocks:
    """The landmark term's share of one Gauss-Newton step: H (T, 59, 59) and g (T, 59) over a frame's [om, s, dz, w],
    Hxi (T, 59, n) coupling to the identity, Hii (n, n) and gi (n,) of the identity (None when the identity is
    fixed)."""
    H: np.ndarray
    g: np.ndarray
    Hxi: np.ndarray | None
    Hii: np.ndarray | None
    gi: np.ndarray | None


def image_error_rows(uv: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(..., 2, 3) rows P with P X = (project(X) - uv) * z / f for camera points X seen at pixels ``uv`` (..., 2):
    the image error in mm at the point's depth, exactly linear in X."""
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    P = np.zeros(uv.shape[:-1] + (2, 3))
    P[..., 0, 0] = P[..., 1, 1] = 1.0
    P[..., 0, 2], P[..., 1, 2] = (cx - uv[..., 0]) / fx, (cy - uv[..., 1]) / fy
    return P


def _landmark_system(lm: LandmarkTerm, Rt, s, w, idv, rho, robust, weights_only=False, fit_identity=True):
    """The landmark term linearised at the current state, in mm at each landmark's depth:
    r = (project(X) - uv) * z / f for X = R (M + s), M = mu + B id + A w (exactly linear in X).
    Returns its normal-equation blocks (``_LandmarkBlocks``; without ``fit_identity`` not the identity's); with
    ``weights_only``, (Jw (T, 2L, 52), r (T, 2L), c (T, 2L)) for the final polish of the weights. float32 products
    (BLAS), float64 sums."""
    f32 = np.float32
    T, L = lm.weight.shape
    n = lm.B.shape[0]
    M = lm.mu + np.tensordot(idv, lm.B, 1) + (w @ lm.A.reshape(52, -1)).reshape(T, L, 3)
    P = M + s[:, None, :]
    X = np.einsum("tij,tlj->tli", Rt, P)
    Pm = image_error_rows(lm.uv, lm.K)
    r = np.einsum("tlij,tlj->tli", Pm, X)                                          # (T, L, 2) mm
    r = np.where(lm.weight[..., None] > 0, r, 0.0)
    c = lm.weight
    if robust:
        c = c / (1 + (r * r).sum(-1) / rho ** 2)
    Q = (Pm @ Rt[:, None]).astype(f32)                                             # (T, L, 2, 3) d r / d (head pt)
    # d r / d w and d r / d id, batched over landmarks: (L, 2T, 3) @ (L, 3, k)
    Ql = np.ascontiguousarray(Q.transpose(1, 0, 2, 3).reshape(L, 2 * T, 3))
    Jw = (Ql @ lm.A.transpose(1, 2, 0).astype(f32)).reshape(L, T, 2, 52).transpose(1, 0, 2, 3).reshape(T, 2 * L, 52)
    r2, c2 = r.reshape(T, 2 * L), np.repeat(c, 2, axis=1)
    if weights_only:
        return Jw, r2, c2
    k = n if fit_identity else 0
    J = np.empty((T, 2 * L, 59 + k + 1), f32)                   # [om, s, dz, w | id | r]: one product for H, Hxi, g
    J[..., :3] = np.cross(P[:, :, None, :].astype(f32), Q).reshape(T, 2 * L, 3)   # -Q [P]x
    J[..., 3:6] = Q.reshape(T, 2 * L, 3)
    J[..., 6] = 0.0
    J[..., 7:59] = Jw
    J[..., -1] = r2
    gaze = None if lm.gaze is None or not lm.gaze.any() else np.repeat(lm.gaze, 2)
    if gaze is not None:
        J[:, gaze, :7] *= f32(lm.gaze_pose)                     # an eyeball's point turns with the gaze
    rigid = None if lm.rigid_share is None else np.repeat(np.asarray(lm.rigid_share, f32), 2, axis=1)[..., None]
    if rigid is not None:
        J[..., :7] *= rigid
    Jc = J[..., :59] * c2[..., None].astype(f32)
    if not fit_identity:
        HJ = (np.ascontiguousarray(Jc.transpose(0, 2, 1)) @ J).astype(np.float64)  # (T, 59, 59 + 1)
        _add_skull(HJ, lm, Rt)
        return _LandmarkBlocks(H=HJ[..., :59], g=HJ[..., -1], Hxi=None, Hii=None, gi=None)
    Ji = (Ql @ lm.B.transpose(1, 2, 0).astype(f32)).reshape(L, T, 2, n).transpose(1, 0, 2, 3).reshape(T, 2 * L, n)
    if gaze is not None:
        Ji[:, gaze] *= f32(lm.gaze_pose)
    if rigid is not None:
        Ji *= rigid
    J[..., 59:59 + n] = Ji
    Jic = Ji * c2[..., None].astype(f32)
    rc = r2.astype(f32)
    HJ = (np.ascontiguousarray(Jc.transpose(0, 2, 1)) @ J).astype(np.float64)      # (T, 59, 59 + n + 1)
    _add_skull(HJ, lm, Rt)
    return _LandmarkBlocks(
        H=HJ[..., :59], g=HJ[..., -1], Hxi=HJ[..., 59:59 + n],
        Hii=(Jic.reshape(-1, n).T @ Ji.reshape(-1, n)).astype(np.float64),
        gi=(Jic.reshape(-1, n).T @ rc.reshape(-1)).astype(np.float64))


def _skull_pitch(skull: np.ndarray, Rt: np.ndarray) -> np.ndarray:
    """(T,) radians the rotations ``Rt`` (T, 3, 3) pitch beyond ``skull`` (T, 3, 3), about the head's sideways axis
    (the rotation vector of skull^T R, the increment's own axes: R <- R exp([om]))."""
    return rotation_vector(quat_from_matrix(np.einsum("tji,tjk->tik", skull, Rt)))[:, 0]


def skull_pitch_gap(lm: LandmarkTerm, Rt: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Radians a solve's rotations ``Rt`` (T, 3, 3) of ``lm``'s frames pitch beyond ``lm.skull`` at the median over
    the frames read in both (``valid`` (T,) bool; None: all): the level the skull's pull leaves to the other terms
    (``LandmarkTerm.skull_pitch``). 0 without a skull or such frames."""
    if lm.skull is None:
        return 0.0
    ok = np.isfinite(lm.skull).all((1, 2)) & (np.ones(len(Rt), bool) if valid is None else np.asarray(valid, bool))
    return float(np.median(_skull_pitch(lm.skull[ok], np.asarray(Rt, np.float64)[ok]))) if ok.any() else 0.0


def _add_skull(HJ: np.ndarray, lm: LandmarkTerm, Rt: np.ndarray) -> None:
    """Add the landmark term's pull of each frame's pitch ``Rt`` (T, 3, 3) towards ``lm.skull``'s less
    ``lm.skull_pitch`` to its normal-equation blocks ``HJ`` (T, 59, >= 60; the last column g) in place, weighed by
    ``skull_share`` times the frame's summed landmark weight."""
    if lm.skull is None or lm.skull_share is None:
        return
    lam = np.asarray(lm.skull_share, np.float64) * np.asarray(lm.weight, np.float64).sum(1)
    ok = np.isfinite(lm.skull).all((1, 2)) & (lam > 0)
    if not ok.any():
        return
    idx = np.nonzero(ok)[0]
    HJ[idx, 0, 0] += lam[ok]
    HJ[idx, 0, -1] += lam[ok] * (_skull_pitch(lm.skull[ok], Rt[ok]) - lm.skull_pitch)


@dataclass(frozen=True, eq=False)
class _ModelBlocks:
    """The head model restricted to the solve's vertices, and the products every Gauss-Newton step needs: the same for
    Gauss-Newton runs of one ``solve``, so built once there (``_model_blocks``). ``P_AA`` holds only the
    upper triangle of each vertex's 52 x 52 product (``gram_w`` fills the rest): half the work of every step's
    largest product."""
    mu: np.ndarray       # (Vo, 3)
    A: np.ndarray        # (52, Vo, 3)
    B: np.ndarray        # (n, Vo, 3)
    Af: np.ndarray       # (52, Vo * 3)
    Bm: np.ndarray       # (Vo * 3, n)
    ABp: np.ndarray      # (Vo, 3 * (52 + n)): [v, a * 3 + k]
    Ap: np.ndarray       # (Vo, 3 * 52): ABp's ARKit columns, for steps with the identity fixed
    P_AA: np.ndarray     # (Vo, 1378): A_av . A_bv for a <= b
    P_AB: np.ndarray     # (Vo, 52 * n)
    P_BB: np.ndarray     # (Vo, n * n)

    def gram_w(self, c: np.ndarray) -> np.ndarray:
        """(T, 52, 52) float64: sum_v c_tv A_v A_v^T for confidences c (T, Vo)."""
        up = (c @ self.P_AA).astype(np.float64)
        G = np.empty((len(c), 52, 52))
        G[:, _UPPER[0], _UPPER[1]] = up
        G[:, _UPPER[1], _UPPER[0]] = up
        return G


_UPPER = np.triu_indices(52)


def _model_blocks(head: HeadModel, obs: np.ndarray) -> _ModelBlocks:
    f32 = np.float32
    Vo, n = len(obs), head.identity_basis.shape[0]
    A = head.arkit_deltas[:, obs].astype(f32)
    B = head.identity_basis[:, obs].astype(f32)
    Ap = A.transpose(1, 0, 2).reshape(Vo, 52 * 3)
    Bp = B.transpose(1, 0, 2).reshape(Vo, n * 3)
    return _ModelBlocks(
        mu=head.vertices[obs].astype(f32), A=A, B=B, Af=A.reshape(52, -1), Bm=B.transpose(1, 2, 0).reshape(Vo * 3, n),
        ABp=np.ascontiguousarray(np.concatenate([Ap, Bp], 1)), Ap=np.ascontiguousarray(Ap),
        P_AA=np.ascontiguousarray(np.einsum("avk,bvk->vab", A, A)[:, _UPPER[0], _UPPER[1]]),
        P_AB=np.einsum("avk,bvk->vab", A, B).reshape(Vo, -1), P_BB=np.einsum("avk,bvk->vab", B, B).reshape(Vo, -1))


MIN_SPLIT_FRAMES = 16    # fewer frames per thread than this are not split (a thread's start would cost more)


def _gauss_newton(Yv, Cv, Rv, head, obs, prior, iterations, l1, l2, robust_mm, sweeps, init, delta=None,
                  lm: LandmarkTerm | None = None, ap: ArkitPrior | None = None, workers: int = 1, **rest):
    """``_gauss_newton_frames``, split over ``workers`` threads by blocks of frames when the identity is fixed
    (``prior`` None: nothing then couples the frames)."""
    T = len(Cv)
    n = min(int(workers), T // MIN_SPLIT_FRAMES) if prior is None else 1
    if n <= 1:
        return _gauss_newton_frames(Yv, Cv, Rv, head, obs, prior, iterations, l1, l2, robust_mm, sweeps, init, delta,
                                    lm, ap, **rest)

    def block(b):
        sl = slice(b[0], b[-1] + 1)
        return _gauss_newton_frames(Yv[sl], Cv[sl], None if Rv is None else Rv[sl], head, obs, prior, iterations, l1,
                                    l2, robust_mm, sweeps, tuple(x[sl] for x in init[:4]) + (init[4],),
                                    None if delta is None else delta[sl], None if lm is None else lm.take(sl),
                                    None if ap is None else ap.take(sl), **rest)
    with ThreadPoolExecutor(n, thread_name_prefix="solve") as pool:
        parts = list(pool.map(block, np.array_split(np.arange(T), n)))
    Rt, tt, dz, w, _, rms = (np.concatenate(x) for x in zip(*parts))
    return Rt, tt, dz, w, parts[0][4], rms


def _gauss_newton_frames(Yv, Cv, Rv, head, obs, prior, iterations, l1, l2, robust_mm, sweeps, init, delta=None,
                         lm: LandmarkTerm | None = None, ap: ArkitPrior | None = None, lm_rho: float = 3.0,
                         gaps: GapConstraint | None = None, mb: _ModelBlocks | None = None):
    """Joint robust Gauss-Newton over every frame's pose (rotation increment, head-frame translation s_t, anchor
    shift dz_t), ARKit weights (projected, active set at the bounds) and the clip's identity (Schur complement).

    Residual in the head frame (isotropic weights, so rotating it changes nothing):
        e_tv = R_t^T (Y_tv + dz_t ray_tv) - s_t - (mu_v + B_v id + A_v w_t),   camera translation = R_t s_t.
    With R_t <- R_t exp([om]x) the Jacobian is [X]x (om), -I (s), R^T ray (dz), -A (w), -B (id), X = R^T (Y + dz ray).
    Without ``prior`` the identity is fixed (``init``'s): its blocks are not built, and nothing couples the frames.
    """
    f32 = np.float32
    T, Vo = Cv.shape
    n = head.identity_basis.shape[0]
    std = head.identity_std.astype(np.float64)
    mb = mb or _model_blocks(head, obs)
    mu, A, B, Af, Bm, P_AB, P_BB = mb.mu, mb.A, mb.B, mb.Af, mb.Bm, mb.P_AB, mb.P_BB
    fit_id = prior is not None
    ABp, k = (mb.ABp, n) if fit_id else (mb.Ap, 0)                          # the identity's columns when it moves
    nf = 7 + 52
    has_ray = Rv is not None
    Rt, tt, dz, w = (np.array(x, np.float64) for x in init[:4])           # _initial_pose, or the previous solve's
    idv = np.zeros(n) if init[4] is None else np.array(init[4], np.float64)
    s = np.einsum("tji,tj->ti", Rt, tt)                                    # R^T t
    if delta is not None:
        mu = mu + delta                                                    # (T, Vo, 3): per-frame template
    c = Cv
    scale = None
    depth = np.maximum((Cv * Yv[..., 2]).sum(1) / np.maximum(Cv.sum(1), 1e-9), 1.0).astype(np.float64)   # (T,) mm
    depth = np.where(Cv.sum(1) > 0, depth, np.maximum(np.abs(tt[:, 2]), 1.0))      # landmark-only frames
    F = np.zeros((T, Vo, 10), f32)                                         # per vertex [X, r, e, 1]
    F[..., 9] = 1
    for it in range(iterations + 1):
        R32 = Rt.astype(f32)
        Yc = Yv if not has_ray else Yv + dz[:, None, None].astype(f32) * Rv
        X = Yc @ R32                                                        # R^T Y (row vectors)
        M = mu + np.tensordot(idv.astype(f32), B, 1) + (w.astype(f32) @ Af).reshape(T, Vo, 3)
        e = X - s[:, None, :].astype(f32) - M
        if it >= 1:
            c = Cv / (1 + (e * e).sum(-1) / robust_mm ** 2)
        if it == iterations:
            break
        F[..., :3] = X
        if has_ray:
            F[..., 3:6] = Rv @ R32                                          # R^T ray
        F[..., 6:9] = e
        Fc = F.transpose(0, 2, 1) * c[:, None, :]                           # (T, 10, Vo)
        mom = (Fc @ F).astype(np.float64)                                  # weighted moments (T, 10, 10)
        # the weight-dependent Gram blocks, every step: reusing them for every other step (as this did) let the
        # solve oscillate and diverge when the identity sat at its bound (a correlated 3 mm error over the face:
        # residual 2.3 mm after 3 steps, 20 mm after 20); recomputing costs ~13 % of the solve's time
        Gw = mb.gram_w(c)
        if lm is not None:
            lb = _landmark_system(lm, Rt, s, w, idv, lm_rho, it >= 1, fit_identity=fit_id)
        if scale is None:
            scale = np.einsum("tii->ti", Gw + (lb.H[:, 7:, 7:] if lm is not None else 0)).mean(1, keepdims=True) + 1e-9
        XX, XR_, Xe = mom[:, :3, :3], mom[:, 3:6, :3], mom[:, 6:9, :3]
        sc, SX, Sr, Se = mom[:, 9, 9], mom[:, 9, :3], mom[:, 9, 3:6], mom[:, 9, 6:9]
        H = np.zeros((T, nf, nf))
        H[:, :3, :3] = np.trace(XX, axis1=1, axis2=2)[:, None, None] * np.eye(3) - XX
        Hos = np.einsum("ijk,tk->tij", -_EPS, SX)                          # [SX]x
        H[:, :3, 3:6] = Hos
        H[:, 3:6, :3] = Hos.transpose(0, 2, 1)
        H[:, :3, 6] = H[:, 6, :3] = np.einsum("ijk,tjk->ti", _EPS, XR_)   # sum c r x X
        H[:, 3:6, 3:6] = sc[:, None, None] * np.eye(3)
        H[:, 3:6, 6] = H[:, 6, 3:6] = -Sr
        H[:, 6, 6] = np.trace(mom[:, 3:6, 3:6], axis1=1, axis2=2) + 1e-6 * sc + (sc <= 0)   # no dense: dz stays
        S = (Fc[:, [0, 1, 2, 3, 4, 5, 9]].reshape(T * 7, Vo) @ ABp).reshape(T, 7, 52 + k, 3).astype(np.float64)
        Hfx = np.concatenate([np.einsum("ijk,tjak->tia", _EPS, S[:, :3]), S[:, 6].transpose(0, 2, 1),
                              -np.einsum("tkak->ta", S[:, 3:6])[:, None]], 1)   # (T, 7, 52 + k)
        H[:, :7, 7:] = Hfx[..., :52]
        H[:, 7:, :7] = Hfx[..., :52].transpose(0, 2, 1)
        H[:, 7:, 7:] = Gw
        H[:, np.arange(7, nf), np.arange(7, nf)] += l2 * scale
        ce = (c[..., None] * e).reshape(T, -1)
        g = np.zeros((T, nf))
        g[:, :3] = np.einsum("ijk,tjk->ti", _EPS, Xe)                      # sum c e x X
        g[:, 3:6] = -Se
        g[:, 6] = np.trace(mom[:, 3:6, 6:9], axis1=1, axis2=2)
        g[:, 7:] = -(ce @ Af.T) + l1 * scale + l2 * scale * w
        if lm is not None:
            H += lb.H
            g += lb.g
        if ap is not None:
            ps = ap.strength * scale
            H[:, np.arange(7, nf), np.arange(7, nf)] += ps
            g[:, 7:] += ps * (w - ap.target)
        if gaps is not None:
            Hg, gg, _ = gaps.penalty(w, idv, H[:, 7:, 7:], stiffness=GAP_STIFFNESS_GN)
            H[:, 7:, 7:] += Hg
            g[:, 7:] += gg
        # projected Newton: weights at a bound whose gradient pushes outwards stay there
        act = ((w <= 0) & (g[:, 7:] > 0)) | ((w >= 1) & (g[:, 7:] < 0))
        if act.any():
            ta, ia = np.nonzero(act)
            ia = ia + 7
            H[ta, ia, :] = 0
            H[ta, :, ia] = 0
            H[ta, ia, ia] = 1
            g[ta, ia] = 0
        if fit_id:
            Hxi = np.concatenate([Hfx[..., 52:], (c @ P_AB).reshape(T, 52, n).astype(np.float64)], 1)  # (T, nf, n)
            Hii = (c.sum(0) @ P_BB).reshape(n, n).astype(np.float64) + prior
            gi = -(ce.sum(0, dtype=np.float64) @ Bm) + prior @ idv
            if lm is not None:
                Hxi += lb.Hxi
                gi = gi + lb.gi
                Hii = Hii + lb.Hii
            if act.any():
                Hxi[ta, ia, :] = 0
            sol = np.linalg.solve(H, np.concatenate([Hxi, g[..., None]], 2))
            Hinv_Hxi, Hinv_g = sol[..., :n], sol[..., n]
            Sch = Hii - np.einsum("tfa,tfb->ab", Hxi, Hinv_Hxi)
            di = -np.linalg.solve(Sch, gi - np.einsum("tfa,tf->a", Hxi, Hinv_g))
            new_id = np.clip(idv + di, -ID_BOUND * std, ID_BOUND * std)   # stays a plausible human head
            di, idv = new_id - idv, new_id      # the frames' steps below follow the identity step actually taken
            d = -(Hinv_g + np.einsum("tfa,a->tf", Hinv_Hxi, di))
        else:
            d = -np.linalg.solve(H, g[..., None])[..., 0]
        # trust region: a frame's step is shortened so that it turns the head by at most MAX_TURN, moves it by at
        # most MAX_MOVE of its distance (pose and anchor depth are nearly degenerate along the line of sight, and an
        # undamped Gauss-Newton step on noisy, unevenly weighted observations can otherwise run away)
        d *= _step_scale(d, depth)[:, None]
        Rt = Rt @ _rodrigues(d[:, :3])
        s = s + d[:, 3:6]
        if has_ray:
            dz = dz + d[:, 6]
        w = np.clip(w + d[:, 7:], 0.0, 1.0)
    # polish the weights at the final pose: the exact box QP of each frame
    Gw = mb.gram_w(c)
    Gw[:, np.arange(52), np.arange(52)] += l2 * scale
    rE = (X - s[:, None, :].astype(f32) - mu - np.tensordot(idv.astype(f32), B, 1)) * c[..., None]
    bw = rE.reshape(T, -1) @ Af.T - l1 * scale
    if lm is not None:       # the landmark residual linearised in the weights at the final pose
        Jw, rl, cl = _landmark_system(lm, Rt, s, w, idv, lm_rho, True, weights_only=True)
        JwCt = np.ascontiguousarray((Jw * cl[..., None].astype(f32)).transpose(0, 2, 1))     # (T, 52, 2L) float32
        Gw += (JwCt @ Jw).astype(np.float64)
        bw += (JwCt.astype(np.float64) @ ((Jw.astype(np.float64) @ w[..., None])[..., 0] - rl)[..., None])[..., 0]
    if ap is not None:
        ps = ap.strength * scale
        Gw[:, np.arange(52), np.arange(52)] += ps
        bw += ps * ap.target
    w = box_qp(Gw, bw, w, sweeps=sweeps)
    if gaps is not None:     # pairs that closed past zero are held at zero, a few rounds of the active set
        held = np.zeros((T, gaps.base.shape[0]), bool)
        for _ in range(GAP_ROUNDS):
            new = held | (gaps.gaps(w, idv) < -GAP_TOL_MM)
            more = (new != held).any(1)         # only the frames that hold more pairs are solved again, so a
            if not more.any():                  # frame's result does not depend on the others (threads, chunks)
                break
            held = new
            Hg, _, kc = gaps.penalty(w[more], idv, Gw[more], held[more], GAP_STIFFNESS)
            w[more] = box_qp(Gw[more] + Hg, bw[more] - kc, w[more], sweeps=sweeps)
    M = mu + np.tensordot(idv.astype(f32), B, 1) + (w.astype(f32) @ Af).reshape(T, Vo, 3)
    e = X - s[:, None, :].astype(f32) - M
    # robust per-frame residual: the median distance over the observed vertices (outliers do not inflate it)
    dist = np.where(Cv > 0, np.sqrt((e ** 2).sum(-1)), np.nan)
    rms = np.nanmedian(dist, axis=1)
    tt = np.einsum("tij,tj->ti", Rt, s)
    return Rt, tt, dz, w, idv, rms


MAX_TURN = 0.25     # rad per Gauss-Newton step
MAX_MOVE = 0.1      # fraction of the head's distance per Gauss-Newton step (translation and anchor shift)


def _step_scale(d: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """(T,) factor <= 1 that keeps each frame's pose step (rotation d[:, :3], translation d[:, 3:6], anchor d[:, 6])
    inside the trust region."""
    turn = np.linalg.norm(d[:, :3], axis=1) / MAX_TURN
    move = np.maximum(np.linalg.norm(d[:, 3:6], axis=1), np.abs(d[:, 6])) / (MAX_MOVE * depth)
    return 1.0 / np.maximum(1.0, np.maximum(turn, move))


class _Stretch:
    """delta_tv = (J_tv - I) o_tv: what the fitted shape adds to the rigid transport of the canonical offset o_tv.
    J o is taken on the template's 1-ring: o = sum_k lam_k (c_nk - c_v) (least norm, tangent plane), so
    delta = sum_k lam_k (D_nk - D_v) with D = B id + A w the displacement from the template."""

    def __init__(self, head: HeadModel, obs: np.ndarray, offset: np.ndarray, rcond: float = 0.25):
        V = head.n_vertices
        f = head.faces
        ring = [set() for _ in range(V)]
        for a, b in ((0, 1), (1, 2), (2, 0)):
            for i, j in zip(f[:, a], f[:, b]):
                ring[i].add(j)
                ring[j].add(i)
        k = max(len(ring[v]) for v in obs)
        nb = np.array([sorted(ring[v]) + [v] * (k - len(ring[v])) for v in obs])          # (Vo, k) padded
        D = head.vertices[nb] - head.vertices[obs][:, None]                               # (Vo, k, 3)
        pinv = np.linalg.pinv(D.transpose(0, 2, 1), rcond=rcond)                          # (Vo, k, 3)
        self.lam = np.einsum("vkj,tvj->tvk", pinv.astype(np.float32), offset.astype(np.float32))
        U, inv = np.unique(np.concatenate([obs, nb.ravel()]), return_inverse=True)
        self.self_idx = inv[: len(obs)]
        self.nb_idx = inv[len(obs):].reshape(nb.shape)
        self.B = head.identity_basis[:, U].astype(np.float32)
        self.A = head.arkit_deltas[:, U].reshape(52, -1).astype(np.float32)
        self.nU = len(U)

    def __call__(self, identity: np.ndarray, weights: np.ndarray) -> np.ndarray:
        T = len(weights)
        Dd = (weights.astype(np.float32) @ self.A).reshape(T, self.nU, 3) \
            + np.tensordot(identity.astype(np.float32), self.B, 1)
        out = np.empty((T,) + self.lam.shape[1:2] + (3,), np.float32)
        for a in range(0, T, 128):                                                         # bounded memory
            d = Dd[a:a + 128]
            diff = d[:, self.nb_idx] - d[:, self.self_idx][:, :, None]                     # (t, Vo, k, 3)
            out[a:a + 128] = np.einsum("tvk,tvkj->tvj", self.lam[a:a + 128], diff)
        return out


def _solve_subset(head: HeadModel, obs: np.ndarray, n: int) -> np.ndarray:
    """At most n observed vertices for the solve: the half where ARKit moves most, then an even spread of the rest
    (the model is linear with 92 unknowns per frame; a thousand vertices determine it, at a fraction of the cost)."""
    if len(obs) <= n:
        return obs
    motion = np.linalg.norm(head.arkit_deltas[:, obs], axis=-1).max(0)
    order = np.argsort(-motion, kind="stable")
    top = order[: n // 2]
    rest = np.sort(order[n // 2:])
    spread = rest[np.linspace(0, len(rest) - 1, n - len(top)).astype(int)]
    return np.sort(obs[np.concatenate([top, spread])])


def _residual_keys(E: np.ndarray, C: np.ndarray, n: int, max_frames: int = 300):
    """PCA of confidence-weighted head-frame residuals E (T, Vo, 3): n deltas scaled so |weight| <= 1."""
    T, Vo, _ = E.shape
    sel = np.linspace(0, T - 1, min(T, max_frames)).astype(int)
    Wt = np.sqrt(C[sel] / (C[sel].max() + 1e-12))[..., None]
    Z = (E[sel] * Wt).reshape(len(sel), -1)
    _, _, Vt = np.linalg.svd(Z - Z.mean(0), full_matrices=False)
    D = Vt[:n].reshape(-1, Vo, 3)                                          # orthonormal directions
    coef = _residual_weights(E, C, D)
    s = np.abs(coef).max(0) + 1e-12
    return (D * s[:, None, None]).astype(np.float32), (coef / s).astype(np.float32)


def _residual_weights(E: np.ndarray, C: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Per-frame weights (T, n) of the keys D (n, Vo, 3) that best explain the residuals E (T, Vo, 3): weighted least
    squares with the confidences C (T, Vo)."""
    D = D.astype(np.float64)
    n = len(D)
    Gm = C @ np.einsum("nvk,mvk->vnm", D, D).reshape(D.shape[1], n * n)          # (T, n*n), no (T, n, Vo, 3)
    rhs = (C[..., None] * E).reshape(len(E), -1) @ D.reshape(n, -1).T             # (T, n)
    return np.linalg.solve(Gm.reshape(-1, n, n) + np.eye(n) * 1e-9, rhs[..., None])[..., 0]
