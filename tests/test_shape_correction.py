"""bake.shape_correction: the subject's shape beyond the identity basis, from where the landmarks keep landing."""
import dataclasses

import numpy as np
import pytest

from bake import fusion
from bake import shape_correction as sc
from bake.correspond import VertexObservation, default_vertex_mask
from bake.observations import solve_observations
from bake.solve import SolveResult, real_face_trust
from core import landmark_template as lt
from core.head_model import HEAD_TO_CV
from core.mesh_render import rotation_y
from training import groundtruth as gt


@pytest.fixture(scope="module")
def template():
    return lt.load()


def _project(points_cam, K):
    return points_cam[..., :2] / points_cam[..., 2:3] * np.diag(K)[:2] + K[:2, 2]


def _result(seq, rms=3.0):
    T = len(seq.weights)
    return SolveResult(seq.identity, seq.weights, seq.rotation, seq.translation, np.zeros(T), np.ones(T, bool),
                       np.full(T, rms), np.zeros((0, 1, 3), np.float32), np.zeros((T, 0)))


def test_offsets_are_the_ones_that_reproject_the_landmarks(head, template):
    """Landmarks seen where template points moved by known offsets in the face's plane land (turning head, no
    noise): the offsets come back; one landmark misread on a few frames does not move its offset much."""
    seq = gt.make_sequence(head, 20, seed=4, id_scale=1.0)
    idx = fusion.SOLVE_LANDMARKS
    truth = np.zeros((len(idx), 3))
    truth[:, :2] = np.random.default_rng(0).normal(0, 2.0, (len(idx), 2))
    moved = template.points(head.shape(seq.identity[None], seq.weights), head)[:, idx] + truth
    uv = _project(np.einsum("tij,tlj->tli", seq.rotation, moved) + seq.translation[:, None], seq.K)
    uv[:3, 0] += 40.0                                                     # 3 of 20 frames misread far off
    term = fusion.landmark_term(np.zeros((20, 478, 2)), np.ones(20), np.ones(20), seq.K, head, template)
    term = type(term)(uv, np.ones_like(term.weight), term.K, term.mu, term.B, term.A)
    offsets, support = sc.landmark_offsets(_result(seq), term)
    assert (support == 20).all()
    err = np.linalg.norm(offsets[1:, :2] - truth[1:, :2], axis=1)
    assert (err <= 0.04 * np.linalg.norm(truth[1:, :2], axis=1) + 0.02).all()    # the prior shrinks them by ~2 %
    assert np.linalg.norm(offsets[0, :2] - truth[0, :2]) < 1.0           # 16 mm off on 3 frames when written
    assert (offsets[:, 2] == 0).all()                                    # depth stays the dense network's


def test_a_direction_no_frame_sees_stays_at_zero(head, template):
    """On a clip seen only in profile, the head's x runs along the view rays (only the perspective sees it, a
    little): its offsets stay small instead of amplifying 1 px of noise, the seen y offsets come back."""
    seq = gt.make_sequence(head, 8, seed=5, id_scale=1.0)
    R = np.repeat((HEAD_TO_CV @ rotation_y(90.0))[None], 8, 0)           # head x along the camera's z
    seq = type(seq)(seq.identity, seq.weights, R, seq.translation, seq.K, seq.size, seq.verts_cam)
    idx = fusion.SOLVE_LANDMARKS
    truth = np.zeros((len(idx), 3))
    truth[:, 1] = 2.0
    moved = template.points(head.shape(seq.identity[None], seq.weights), head)[:, idx] + truth
    rng = np.random.default_rng(3)
    uv = _project(np.einsum("tij,tlj->tli", R, moved) + seq.translation[:, None], seq.K) \
        + rng.normal(0, 1.0, (8, len(idx), 2))
    base = fusion.landmark_term(np.zeros((8, 478, 2)), np.ones(8), np.ones(8), seq.K, head, template)
    term = type(base)(uv, np.ones_like(base.weight), base.K, base.mu, base.B, base.A)
    offsets, _ = sc.landmark_offsets(_result(seq), term)
    assert np.abs(offsets[:, 0]).max() < 2.5                 # 1.7 mm when written; 3.7 without the prior
    assert np.median(np.abs(offsets[:, 1] - 2.0)) < 0.3


def test_the_field_moves_the_points_smoothly_and_no_further_than_the_cap(head, template):
    pts = template.points(head.vertices.astype(np.float64), head)[[lt.CHIN, lt.NOSE_TIP]]
    offs = np.array([[0.0, 4.0, 0.0], [0.0, 0.0, 0.0]])
    field = sc.vertex_field(pts, offs, head.vertices.astype(np.float64))
    chin_v = np.argmin(np.linalg.norm(head.vertices - pts[0], axis=1))
    assert 3.0 < field[chin_v, 1] <= 4.0
    far = np.linalg.norm(head.vertices - pts[0], axis=1) > 60.0
    assert np.abs(field[far]).max() < 0.01                               # the back of the head stays
    big = sc.vertex_field(pts, offs * 10, head.vertices.astype(np.float64))
    assert np.linalg.norm(big, axis=1).max() <= sc.MAX_MM + 1e-9


def test_a_tight_dense_fit_leaves_the_neutral_almost_alone(head, template):
    """The dense term alone fits exact maps to about 0.5 mm: what the landmarks still disagree with is the landmark
    model's misreading, so the correction is weighed down as the landmark terms are (bake.solve.real_face_trust)."""
    seq = gt.make_sequence(head, 10, seed=6, id_scale=1.0)
    idx = fusion.SOLVE_LANDMARKS
    moved = template.points(head.shape(seq.identity[None], seq.weights), head)[:, idx] + np.array([0.0, 3.0, 0.0])
    uv = _project(np.einsum("tij,tlj->tli", seq.rotation, moved) + seq.translation[:, None], seq.K)
    base = fusion.landmark_term(np.zeros((10, 478, 2)), np.ones(10), np.ones(10), seq.K, head, template)
    term = type(base)(uv, np.ones_like(base.weight), base.K, base.mu, base.B, base.A)
    loose = sc.neutral_correction(head, _result(seq, rms=3.0), term)
    # the dense term fitted alone is what counts (bake.solve.dense_residual), not the fused fit's own residual
    tight = sc.neutral_correction(head, dataclasses.replace(_result(seq, rms=3.0), dense_residual_mm=0.4), term)
    assert np.abs(loose).max() > 2.0
    np.testing.assert_allclose(tight, real_face_trust(0.4) * loose, atol=1e-5)         # 0.04 x


def test_staged_fusion_puts_a_chin_the_basis_cannot_make_where_the_landmarks_see_it(head, template):
    """A subject whose chin is 4 mm higher than any identity of the basis gives (smooth bump, orthogonal to the
    identity span): the fused solve without the correction leaves the chin landmark off; with it (the pipeline's
    ``fusion.CORRECTED``) the chin lands, the neutral rises there by about the bump, and nothing else gets worse."""
    chin = template.points(head.vertices.astype(np.float64), head)[lt.CHIN]
    d = np.linalg.norm(head.vertices - chin, axis=1)
    bump = np.zeros(head.vertices.shape)
    bump[:, 1] = 4.0 * np.exp(-(d / 15.0) ** 2)
    B = head.identity_basis.reshape(len(head.identity_basis), -1).astype(np.float64)
    flat = bump.reshape(-1)
    bump = (flat - B.T @ (B @ flat)).reshape(bump.shape)             # nothing of it in the identity span
    subject = sc.corrected(head, bump.astype(np.float32))
    T = 40
    seq = gt.make_sequence(subject, T, seed=8, id_scale=1.0)
    rng = np.random.default_rng(2)
    Y = (seq.verts_cam + rng.normal(0, 2.0, seq.verts_cam.shape)).astype(np.float32)    # network-like noise
    C = np.tile(default_vertex_mask(head).astype(np.float32), (T, 1))
    ray = (Y / np.linalg.norm(Y, axis=-1, keepdims=True)).astype(np.float32)
    obs = [VertexObservation(t, Y[t], ray[t], C[t], float(seq.translation[t, 2]), None) for t in range(T)]
    uv = _project(template.points(seq.verts_cam.astype(np.float64), head), seq.K) + rng.normal(0, 0.5, (T, 478, 2))

    def marks(frames, sums, fitted):
        return fusion.landmark_term(uv[frames], np.ones(len(frames)), sums, seq.K, fitted, template)
    dense = fusion.dense_weight_map(head, template)
    kw = dict(expression_dense=fusion.expression_dense, gaps=fusion.gap_constraint)
    plain = solve_observations(obs, head, 0, dense, marks, **kw)
    fixed = solve_observations(obs, head, 0, dense, marks, reshape=fusion.CORRECTED, **kw)
    assert plain.shape_correction is None and fixed.shape_correction is not None

    def landmark_px(clip, model):
        r = clip.result
        s = np.einsum("tij,tvj->tvi", r.rotation, model.shape(r.identity[None], r.weights)) + r.translation[:, None]
        return np.linalg.norm(_project(template.points(s, head), seq.K) - uv, axis=-1)    # (T, 478)
    e_plain = landmark_px(plain, head)
    e_fixed = landmark_px(fixed, sc.corrected(head, fixed.shape_correction))
    on_chin = list(fusion.CHIN_CONTOUR)
    assert np.median(e_fixed[:, on_chin]) < 0.6 * np.median(e_plain[:, on_chin]), \
        (np.median(e_plain[:, on_chin]), np.median(e_fixed[:, on_chin]))
    assert np.median(e_fixed[:, fusion.SOLVE_LANDMARKS]) <= np.median(e_plain[:, fusion.SOLVE_LANDMARKS])
    chin_v = np.argmin(d)
    assert 2.0 < fixed.shape_correction[chin_v, 1] < 6.0, fixed.shape_correction[chin_v]
