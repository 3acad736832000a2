import numpy as np
import pytest
from scipy.optimize import lsq_linear

from training import groundtruth as gt
from bake.correspond import correspond, default_vertex_mask, offsets, stack
from bake.solve import box_qp, kabsch, solve
from core.points import to_point_cloud


def test_box_qp_matches_lsq_linear():
    rng = np.random.default_rng(0)
    T, m, n = 6, 40, 12
    A = rng.normal(size=(T, m, n))
    A[:, :, 1] = A[:, :, 0] + 0.1 * A[:, :, 1]            # correlated columns, like ARKit deltas
    y = rng.normal(size=(T, m))
    x = box_qp(A.transpose(0, 2, 1) @ A, np.einsum("tmn,tm->tn", A, y), sweeps=500)
    for t in range(T):
        ref = lsq_linear(A[t], y[t], bounds=(0, 1)).x
        np.testing.assert_allclose(x[t], ref, atol=1e-3)
    assert x.min() >= 0 and x.max() <= 1


def test_kabsch_recovers_rotation():
    rng = np.random.default_rng(1)
    src = rng.normal(size=(3, 50, 3))
    from scipy.spatial.transform import Rotation
    R = Rotation.random(3, random_state=2).as_matrix()
    t = rng.normal(size=(3, 3))
    R2, t2 = kabsch(src, np.einsum("tij,tvj->tvi", R, src) + t[:, None], np.ones((3, 50)))
    np.testing.assert_allclose(R2, R, atol=1e-9)
    np.testing.assert_allclose(t2, t, atol=1e-9)


def test_solve_recovers_pose_identity_and_arkit_from_exact_vertices(head):
    seq = gt.make_sequence(head, 40, seed=4, id_scale=1.0)
    mask = default_vertex_mask(head)
    C = np.tile(mask.astype(np.float32), (40, 1))
    C[5, :] = 0                                             # one frame without a face
    res = solve(seq.verts_cam, C, head)
    ok = np.arange(40) != 5
    assert not res.valid[5] and res.valid[ok].all()
    assert res.weights.min() >= 0 and res.weights.max() <= 1
    assert np.abs(res.weights[ok] - seq.weights[ok]).mean() < 0.03
    assert np.abs(res.rotation[ok] - seq.rotation[ok]).max() < 0.03   # ~1.7 deg: identity modes that rotate
    verts = np.einsum("tij,tvj->tvi", res.rotation, head.shape(res.identity[None], res.weights)) \
        + res.translation[:, None]
    err = np.linalg.norm(verts - seq.verts_cam, axis=-1)[ok][:, mask]
    assert np.median(err) < 0.3


def test_solve_from_ground_truth_clouds_with_outliers(head):
    """Rendered clouds with noise and 3 % outlier pixels, template-sized head: the whole bake path."""
    T = 16
    seq = gt.make_sequence(head, T, seed=6, id_scale=0.0)
    rng = np.random.default_rng(0)
    obs = []
    for t in range(T):
        pred, box = gt.render_prediction(head, seq.verts_cam[t], seq.translation[t], seq.K, 128, rng=rng,
                                         depth_noise_mm=0.5, canon_noise_mm=0.5, outlier_frac=0.03)
        obs.append(correspond(to_point_cloud(pred, box, seq.K, head, t), head))
    Y, ray, C = stack(obs, head.n_vertices)
    res = solve(Y, C, head, ray=ray, n_residual=2)
    verts = np.einsum("tij,tvj->tvi", res.rotation, head.shape(res.identity[None], res.weights)) \
        + res.translation[:, None]
    face = default_vertex_mask(head)
    err = np.linalg.norm(verts - seq.verts_cam, axis=-1)[:, face]
    # the anchor depth trades off against head size (monocular scale): camera-space error is a few mm,
    # the shape after per-frame rigid alignment is within ~1 mm
    assert np.median(err) < 8.0
    R2, t2 = kabsch(verts[:, face], seq.verts_cam[:, face], np.ones((T, face.sum())))
    aligned = np.einsum("tij,tvj->tvi", R2, verts[:, face]) + t2[:, None]
    assert np.median(np.linalg.norm(aligned - seq.verts_cam[:, face], axis=-1)) < 1.5
    assert np.abs(res.weights - seq.weights).mean() < 0.03
    assert res.residual_deltas.shape == (2, head.n_vertices, 3) and np.abs(res.residual_weights).max() <= 1 + 1e-6


def _posed(head, res):
    return np.einsum("tij,tvj->tvi", res.rotation, head.shape(res.identity[None], res.weights)) \
        + res.translation[:, None]


def test_gauss_newton_is_exact_on_exact_anchored_vertices(head):
    """Exact vertices unprojected with wrong anchor depths (40 mm off): pose, anchor, identity and ARKit come back
    essentially exactly when the priors are negligible (the alternating solver stalled at ~2 mm here)."""
    T = 20
    seq = gt.make_sequence(head, T, seed=4, id_scale=1.0)
    mask = default_vertex_mask(head)
    V = seq.verts_cam.astype(np.float64)
    ray = V / V[..., 2:3]
    z0 = seq.translation[:, 2] + np.random.default_rng(0).normal(0, 40, T)
    Y = V + (z0 - seq.translation[:, 2])[:, None, None] * ray
    C = np.tile(mask.astype(np.float32), (T, 1))
    res = solve(Y, C, head, ray=ray, l1=0.0, l2=1e-7, identity_noise_mm=1e-3)
    err = np.linalg.norm(_posed(head, res) - V, axis=-1)[:, mask]
    assert np.median(err) < 0.01 and err.max() < 0.1
    assert np.abs(res.translation[:, 2] - seq.translation[:, 2]).max() < 0.05
    assert np.abs(res.weights - seq.weights).max() < 0.01
    # default priors: the L1 prior (tuned for the network's noise) shrinks the weights a little, still well under a
    # millimetre (measured 0.36 mm), weights inside the box
    res = solve(Y, C, head, ray=ray)
    assert np.median(np.linalg.norm(_posed(head, res) - V, axis=-1)[:, mask]) < 0.5
    assert res.weights.min() >= 0 and res.weights.max() <= 1


def test_solve_ignores_outlier_vertices(head):
    """5 % of the vertex observations thrown 15-30 mm off: the robust weights keep the fit sub-millimetre."""
    T = 12
    seq = gt.make_sequence(head, T, seed=2, id_scale=1.0)
    mask = default_vertex_mask(head)
    rng = np.random.default_rng(1)
    Y = seq.verts_cam.astype(np.float64).copy()
    bad = (rng.random(Y.shape[:2]) < 0.05) & mask
    d = rng.normal(size=(bad.sum(), 3))
    Y[bad] += d / np.linalg.norm(d, axis=1, keepdims=True) * rng.uniform(15, 30, (bad.sum(), 1))
    C = np.tile(mask.astype(np.float32), (T, 1))
    res = solve(Y, C, head)
    err = np.linalg.norm(_posed(head, res) - seq.verts_cam, axis=-1)[:, mask]
    assert np.median(err) < 0.3
    assert np.abs(res.weights - seq.weights).mean() < 0.01


def test_bake_of_exact_network_output_is_sub_millimetre(head):
    """Perfect network output (rendered), the real path: PnP anchor -> correspondence -> solve. The baked vertices of
    the face are within 1 mm (median) of the truth in camera space, anchor depth included. What remains is mostly a
    clip-wide depth offset, head size against distance: about +-1 mm on a 30-frame clip and up to 2.6 mm on an unlucky
    one (seeds 3-8: 0.2-1.6 mm median vertex error), so the claim is checked on the median of three clips."""
    errs = []
    for seed in (3, 4, 5):
        T = 30
        seq = gt.make_sequence(head, T, seed=seed, id_scale=1.0)
        rng = np.random.default_rng(0)
        obs = []
        for t in range(T):
            pred, box = gt.render_prediction(head, seq.verts_cam[t], seq.translation[t], seq.K, 128, rng=rng)
            obs.append(correspond(to_point_cloud(pred, box, seq.K, head, t), head))
        Y, ray, C = stack(obs, head.n_vertices)
        res = solve(Y, C, head, ray=ray, offset=offsets(obs, head.n_vertices))
        face = default_vertex_mask(head)
        err = np.linalg.norm(_posed(head, res) - seq.verts_cam, axis=-1)
        errs.append((np.median(err[:, face]), np.median(err[C > 0])))
        assert np.median(err[:, face]) < 2.0
        assert np.abs(res.translation[:, 2] - seq.translation[:, 2]).max() < 3.0
    assert np.median([e[0] for e in errs]) < 1.0 and np.median([e[1] for e in errs]) < 1.0, errs
    assert res.weights.min() >= 0 and res.weights.max() <= 1
    assert np.abs(res.weights - seq.weights).mean() < 0.02


def test_stretch_correction_vanishes_on_the_template(head):
    """(J - I) o is zero for the template shape and grows with a scaled identity like (s - 1) o."""
    from bake.solve import _Stretch
    obs = np.nonzero(default_vertex_mask(head))[0][::7]
    rng = np.random.default_rng(0)
    off = rng.normal(0, 0.8, (2, head.n_vertices, 3)).astype(np.float32)
    st = _Stretch(head, obs, off[:, obs])
    assert np.abs(st(np.zeros(len(head.identity_std)), np.zeros((2, 52)))).max() < 1e-5
    d = st(np.zeros(len(head.identity_std)), np.full((2, 52), 0.5))
    assert np.isfinite(d).all() and np.abs(d).max() > 1e-3


def test_noisy_observations_keep_a_plausible_head(head):
    """A poor network (8 mm vertex noise): the priors grow with the residual, so the identity stays inside the
    population (+-3 sd) and the expressions do not fit the noise."""
    T = 20
    seq = gt.make_sequence(head, T, seed=4, id_scale=0.0)
    mask = default_vertex_mask(head)
    rng = np.random.default_rng(2)
    Y = seq.verts_cam.astype(np.float64) + rng.normal(0, 8.0, seq.verts_cam.shape)
    C = np.tile(mask.astype(np.float32), (T, 1))
    res = solve(Y, C, head)
    assert np.all(np.abs(res.identity) <= 3.0 * head.identity_std + 1e-3)
    assert np.abs(res.identity / head.identity_std).max() < 2.0
    assert res.weights.mean() < seq.weights.mean() + 0.05
    err = np.linalg.norm(_posed(head, res) - seq.verts_cam, axis=-1)[:, mask]
    assert np.median(err) < 4.0          # far below the 8 mm noise: the model averages it out


def test_anchored_noisy_unevenly_weighted_observations_converge(head):
    """Regression: anchors 30 % too far (a small head seen through template-sized canonical maps), 6 mm noise and
    confidences that vary 1..8 over the face: the undamped Gauss-Newton overshot (here to 15 mm residuals; on the
    bundled network's output for a synthetic clip, heads hundreds of mm off); the trust region keeps it converging."""
    T = 20
    seq = gt.make_sequence(head, T, seed=3, id_scale=1.0)
    mask = default_vertex_mask(head)
    rng = np.random.default_rng(5)
    V = seq.verts_cam.astype(np.float64)
    ray = V / V[..., 2:3]
    z0 = 1.3 * seq.translation[:, 2]
    Y = V + (z0 - seq.translation[:, 2])[:, None, None] * ray + rng.normal(0, 6.0, V.shape)
    smooth_field = np.sin(head.vertices[:, 0] / 25.0) + np.cos(head.vertices[:, 1] / 30.0)   # -2..2 over the face
    C = np.tile((mask * (1 + 7 * (smooth_field + 2) / 4)).astype(np.float32), (T, 1))
    res = solve(Y, C, head, ray=ray)
    assert res.valid.all()
    assert np.nanmax(res.rms) < 10.0
    posed = _posed(head, res)
    proj = lambda x: x[..., :2] / x[..., 2:3]   # noqa: E731  normalised image coordinates
    reproj = np.linalg.norm(proj(posed) - proj(V), axis=-1)[:, mask] * seq.K[0, 0]
    assert np.median(reproj) < 5.0           # pixels: the overlay stays on the face


def _biased_observations(head, seed: int, T: int = 30, amplitude_mm: float = 3.0):
    """A clip's exact vertices plus a smooth error field over the face that is the same in every frame (as a
    network's errors are: correlated over the face, not independent per vertex) and 1 mm of per-vertex noise."""
    seq = gt.make_sequence(head, T, seed=seed, id_scale=1.0)
    rng = np.random.default_rng(seed)
    V = seq.verts_cam.astype(np.float64)
    k = rng.normal(0, 1, (3, 3)) / 25.0
    bias = amplitude_mm * np.sin(head.vertices @ k + rng.uniform(0, 6, 3))
    Y = V + np.einsum("tij,vj->tvi", seq.rotation, bias) + rng.normal(0, 1.0, V.shape)
    C = np.tile(default_vertex_mask(head).astype(np.float32), (T, 1))
    return seq, Y, V / V[..., 2:3], C


def test_solve_converges_with_the_identity_at_its_bound(head):
    """Regression: reusing the Gram blocks on every other Gauss-Newton step made the solve oscillate and diverge
    when a correlated error pushed the identity to its bound (median residual 2.3 mm after 3 steps, 20 mm after 20)."""
    seq, Y, ray, C = _biased_observations(head, seed=1)
    for iterations in (5, 20):
        res = solve(Y, C, head, ray=ray, iterations=iterations)
        assert np.nanmedian(res.rms) < 3.0, iterations


def test_correlated_error_is_not_explained_as_expression(head):
    """A per-clip error field is mostly left unexplained rather than fitted with ARKit shapes: the weights' error
    stays near that of all-zero weights (measured 0.049 / 0.038 / 0.028 against 0.056 / 0.031 / 0.027; with the
    earlier, 12 x weaker L1 prior 0.082 / 0.078 / 0.100)."""
    mae, zero = [], []
    for seed in (1, 2, 3):
        seq, Y, ray, C = _biased_observations(head, seed)
        res = solve(Y, C, head, ray=ray)
        mae.append(np.abs(res.weights - seq.weights).mean())
        zero.append(np.abs(seq.weights).mean())
    assert np.mean(mae) < 0.055, (mae, zero)
