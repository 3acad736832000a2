"""Pose, identity, ARKit weights (and optional residual keys) from per-frame vertex observations.

Model of an observed vertex v in frame t (camera mm):
    Y_tv + dz_t * ray_tv  ~  R_t (mu_v + B_v id + A_v w_t) + tr_t
with ``mu`` the template, ``B`` the identity basis (one ``id`` per clip, Gaussian prior from ``identity_std``), ``A``
the 52 ARKit deltas (``w_t`` in [0, 1], small L1 + L2 prior), (R_t, tr_t) the rigid head pose and ``dz_t`` a
correction of the frame's PnP anchor depth (the PnP assumed the template's size; the true size comes with ``id``).

Alternation, all frames at once (numpy batched): weighted Kabsch with robust (Cauchy) re-weighting for the pose;
a linear solve for (tr_t, dz_t); the identity from the normal equations pooled over all frames; the ARKit weights by
batched projected coordinate descent on each frame's 52x52 box-constrained quadratic (exact box QP, warm-started).
Residual keys (optional) are the principal components of what remains in the head frame.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from core.head_model import HeadModel

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class SolveResult:
    identity: np.ndarray          # (40,)
    weights: np.ndarray           # (T, 52) in [0, 1]
    rotation: np.ndarray          # (T, 3, 3) head -> camera (identity where invalid)
    translation: np.ndarray       # (T, 3) mm
    depth_shift: np.ndarray       # (T,) mm anchor correction dz
    valid: np.ndarray             # (T,) bool frames with enough observed vertices
    rms: np.ndarray               # (T,) weighted rms residual, mm
    residual_deltas: np.ndarray   # (n, V, 3) float32
    residual_weights: np.ndarray  # (T, n)


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
          iterations: int = 10, l1: float = 2e-3, l2: float = 1e-3, identity_noise_mm: float = 1.0,
          robust_mm: float = 3.0, min_vertices: int = 30, fit_identity: bool = True,
          max_vertices: int = 1000, sweeps: int = 8, z_origin: np.ndarray | None = None) -> SolveResult:
    """Fit the clip. Y (T, V, 3) camera positions, C (T, V) confidences (0 = unobserved), ray (T, V, 3) or None
    (no anchor correction). ``z_origin`` (T,) the anchor depths Y was unprojected with (accepted for the pipeline's
    call; the anchor correction dz is solved freely per frame)."""
    T, V = C.shape
    valid = (C > 0).sum(1) >= min_vertices
    obs_all = np.nonzero((C[valid] > 0).any(0))[0] if valid.any() else np.zeros(0, int)
    obs = _solve_subset(head, obs_all, max_vertices)
    rot = np.tile(np.eye(3), (T, 1, 1))
    tr = np.zeros((T, 3))
    dz = np.zeros(T)
    n_id = len(head.identity_std)
    identity = np.zeros(n_id)
    W = np.zeros((T, 52))
    res_d = np.zeros((n_residual, V, 3), np.float32)
    res_w = np.zeros((T, n_residual), np.float32)
    rms = np.full(T, np.nan)
    if not valid.any():
        return SolveResult(identity, W, rot, tr, dz, valid, rms, res_d, res_w)
    vi = np.nonzero(valid)[0]
    f32 = np.float32                                  # the big per-frame arrays; small systems stay float64
    Yv = Y[vi][:, obs].astype(f32)
    Cv = C[vi][:, obs].astype(f32)
    Rv = ray[vi][:, obs].astype(f32) if ray is not None else None
    mu = head.vertices[obs].astype(f32)
    B = head.identity_basis[:, obs].astype(f32)                          # (n_id, Vo, 3)
    A = head.arkit_deltas[:, obs].astype(f32)                            # (52, Vo, 3)
    Tv, Vo = Cv.shape
    Af = A.reshape(52, -1)
    # per-frame Gram matrices of the ARKit deltas, weighted by confidence: G_t = sum_v c_tv A_v A_v^T
    P = (A.transpose(1, 0, 2) @ A.transpose(1, 2, 0)).reshape(Vo, -1)
    G = (Cv @ P).reshape(Tv, 52, 52).astype(np.float64)
    dG = np.einsum("tii->ti", G)
    scale = dG.mean(1, keepdims=True) + 1e-9
    G[:, np.arange(52), np.arange(52)] += l2 * scale
    prior = np.diag(identity_noise_mm ** 2 * Cv.sum(1).mean() / Vo / head.identity_std.astype(np.float64) ** 2)
    Wv = np.zeros((Tv, 52))
    idv = np.zeros(n_id)
    dzv = np.zeros(Tv)
    Rw = Cv.copy()                                                         # robust pose weights

    def model():
        return mu + np.tensordot(idv.astype(f32), B, 1) + (Wv.astype(f32) @ Af).reshape(Tv, Vo, 3)

    M = model()
    Ycorr = Yv
    if Rv is not None:
        # anchor depths first, with the template's overall size as the only shape freedom: head size and distance
        # trade off, so a bigger or smaller head than the template otherwise needs many alternations to settle
        c0 = mu.mean(0)
        mu1 = (mu - c0)[None]
        sc = np.ones(1)
        for _ in range(4):
            Rt, _ = kabsch(M, Ycorr, Rw)
            sc, tt, dzv = _solve_identity_translation(Rt, Yv - (Rt @ c0)[:, None, :], Rw, mu1, Rv, np.eye(1) * 1e-9, sc)
            Ycorr = Yv + dzv[:, None, None].astype(f32) * Rv
            M = np.broadcast_to(c0 + sc[0] * mu1[0], (Tv, Vo, 3))
        log.debug("template size factor from the anchor stage: %.3f", sc[0])
        M = model()
    for it in range(iterations):
        Rt, tt = kabsch(M, Ycorr, Rw)
        # identity, translation and anchor depth jointly, given rotation and expression (exact linear solve)
        E0 = Yv - ((mu + (Wv.astype(f32) @ Af).reshape(Tv, Vo, 3)) @ Rt.transpose(0, 2, 1).astype(f32))
        idv, tt, dzv = _solve_identity_translation(Rt, E0, Rw, B, Rv, prior if fit_identity else None, idv)
        Ycorr = Yv if Rv is None else Yv + dzv[:, None, None].astype(f32) * Rv
        M = model()
        # expression given identity and pose: batched box QP in the head frame
        X = (Ycorr - tt[:, None].astype(f32)) @ Rt.astype(f32)
        r = np.linalg.norm(X - M, axis=-1)
        Rw = Cv / (1 + (r / robust_mm) ** 2)
        rE = (X - mu - np.tensordot(idv.astype(f32), B, 1)) * Cv[..., None]
        b = rE.reshape(Tv, -1) @ Af.T - l1 * scale
        Wv = box_qp(G, b, Wv, sweeps=sweeps if it < iterations - 1 else 4 * sweeps)
        M = model()
    Rt, tt = kabsch(M, Ycorr, Rw)
    X = (Ycorr - tt[:, None].astype(f32)) @ Rt.astype(f32)
    E = X - M
    rms_v = np.sqrt((Cv * (E ** 2).sum(-1)).sum(1) / np.maximum(Cv.sum(1), 1e-12))
    if n_residual > 0:                       # on every observed vertex, with the final pose and coefficients
        Ca = C[vi][:, obs_all].astype(np.float64)
        Ya = Y[vi][:, obs_all].astype(np.float64)
        if ray is not None:
            Ya = Ya + dzv[:, None, None] * ray[vi][:, obs_all]
        Ma = head.vertices[obs_all] + np.tensordot(idv, head.identity_basis[:, obs_all], 1) \
            + (Wv @ head.arkit_deltas[:, obs_all].reshape(52, -1)).reshape(Tv, -1, 3)
        rd, rw = _residual_keys((Ya - tt[:, None]) @ Rt - Ma, Ca, n_residual)
        res_d[:, obs_all] = rd
        res_w[vi] = rw
    rot[vi], tr[vi], dz[vi], W[vi], rms[vi] = Rt, tt, dzv, Wv, rms_v
    return SolveResult(idv, W, rot, tr, dz, valid, rms, res_d, res_w)


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


def _solve_identity_translation(R, E, w, B, ray, prior, id0):
    """Least squares over (identity, per-frame translation t_t, anchor shift dz_t) of
    sum_tv w ||R_t B_v id + t_t - dz_t ray_tv - E_tv||^2 + id' prior id, by eliminating the per-frame unknowns
    (Schur complement). Without prior the identity is kept at id0; without ray, dz = 0."""
    T, Vo, _ = E.shape
    n = B.shape[0]
    nl = 3 if ray is None else 4
    Hll = np.zeros((T, nl, nl))
    sw = w.sum(1)
    Hll[:, :3, :3] = np.eye(3) * sw[:, None, None]
    gl = np.zeros((T, nl))
    gl[:, :3] = (w[..., None] * E).sum(1)
    if ray is not None:
        wr = w[..., None] * ray
        sr = wr.sum(1)
        Hll[:, :3, 3] = Hll[:, 3, :3] = -sr
        Hll[:, 3, 3] = (wr * ray).sum((1, 2))
        gl[:, 3] = -(wr * E).sum((1, 2))
    Hll[:, np.arange(nl), np.arange(nl)] += 1e-9
    if prior is None:
        sol = np.linalg.solve(Hll, (gl - _coupling(R, w, B, ray, id0))[..., None])[..., 0]
        return id0, sol[:, :3], (sol[:, 3] if ray is not None else np.zeros(T))
    Bf = B.transpose(1, 2, 0).reshape(Vo, 3 * n)                           # (Vo, 3n): [v, j*n + k] = B[k, v, j]
    Bm = B.transpose(1, 2, 0).reshape(Vo * 3, n)
    Hii = ((Bm * np.repeat(w.sum(0), 3)[:, None]).T @ Bm).astype(np.float64) + prior
    R32 = R.astype(B.dtype)
    gi = (((w[..., None] * E) @ R32).sum(0).reshape(-1) @ Bm).astype(np.float64)   # sum_t B^T R_t^T (w E)
    # coupling Hil[t] (n, nl): sum_v w B_v^T R_t^T [I, -ray]
    SB = (w @ Bf).reshape(T, 3, n)                                         # sum_v w_tv B_v (3, n)
    Hil = np.zeros((T, n, nl))
    Hil[:, :, :3] = np.einsum("tjk,tij->tki", SB, R)                         # B^T R^T
    if ray is not None:
        u = (w[..., None] * ray) @ R32                                     # R_t^T (w ray)
        Hil[:, :, 3] = -(u.reshape(T, -1) @ Bm)
    Hinv = np.linalg.inv(Hll)
    HilHinv = Hil @ Hinv
    S = Hii - HilHinv.transpose(1, 0, 2).reshape(n, -1) @ Hil.transpose(1, 0, 2).reshape(n, -1).T
    rhs = gi - np.einsum("tkm,tm->k", HilHinv, gl)
    idv = np.linalg.solve(S, rhs)
    sol = np.einsum("tab,tb->ta", Hinv, gl - np.einsum("tkm,k->tm", Hil, idv))
    return idv, sol[:, :3], (sol[:, 3] if ray is not None else np.zeros(T))


def _coupling(R, w, B, ray, idv):
    """[sum_v w (R B_v id)^T [I, -ray]] per frame (T, nl): the identity's contribution to the local normal equations."""
    T = len(R)
    D = (np.tensordot(idv, B, 1) @ R.transpose(0, 2, 1)) * w[..., None]
    out = [D.sum(1)]
    if ray is not None:
        out.append(-(D * ray).sum((1, 2))[:, None])
    return np.concatenate(out, 1)


def _residual_keys(E: np.ndarray, C: np.ndarray, n: int, max_frames: int = 300):
    """PCA of confidence-weighted head-frame residuals E (T, Vo, 3): n deltas scaled so |weight| <= 1."""
    T, Vo, _ = E.shape
    sel = np.linspace(0, T - 1, min(T, max_frames)).astype(int)
    Wt = np.sqrt(C[sel] / (C[sel].max() + 1e-12))[..., None]
    Z = (E[sel] * Wt).reshape(len(sel), -1)
    _, _, Vt = np.linalg.svd(Z - Z.mean(0), full_matrices=False)
    D = Vt[:n].reshape(-1, Vo, 3)                                          # orthonormal directions
    # per-frame coefficients: weighted least squares of E_t on the directions
    Dw = np.einsum("nvk,tv->tnvk", D, C)
    Gm = np.einsum("tnvk,mvk->tnm", Dw, D) + np.eye(len(D)) * 1e-9
    coef = np.linalg.solve(Gm, np.einsum("tnvk,tvk->tn", Dw, E)[..., None])[..., 0]
    s = np.abs(coef).max(0) + 1e-12
    return (D * s[:, None, None]).astype(np.float32), (coef / s).astype(np.float32)
