"""bake.observations: the compact, spilled store gives back what bake.correspond gave (float16 where stated); a long
clip solved in chunks of frames with one identity equals the single solve within a stated tolerance."""
import numpy as np
import pytest

from bake import observations as ob
from bake.correspond import VertexObservation, default_vertex_mask, offsets, stack
from bake.solve import solve


def synthetic(head, T, seed=0, bump=None):
    """T frames of exact template vertices under a moving head and changing ARKit weights (about half the face
    vertices seen per frame); the weights used. ``bump(t) -> (V, 3)`` adds a shape the head model does not have."""
    rng = np.random.default_rng(seed)
    mask = default_vertex_mask(head)
    W = np.clip(0.5 + 0.5 * np.sin(np.arange(T)[:, None] / 9.0 + rng.uniform(0, 6, 52)), 0, 1) * (rng.random(52) < 0.3)
    out = []
    for t in range(T):
        a, b = 0.3 * np.sin(t / 25.0), 0.15 * np.cos(t / 17.0)
        Ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        Rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
        shape = head.vertices + np.tensordot(W[t], head.arkit_deltas, 1) + (0 if bump is None else bump(t))
        X = shape @ (Rx @ Ry).T + np.array([10.0 * np.sin(t / 30.0), 0.0, 600.0])
        seen = mask & (rng.random(head.n_vertices) < 0.6)
        conf = np.where(seen, rng.uniform(0.5, 2.0, head.n_vertices), 0.0).astype(np.float32)
        pos = np.where(seen[:, None], X, 0).astype(np.float32)
        ray = np.where(seen[:, None], X / X[:, 2:3], 0).astype(np.float32)
        off = np.where(seen[:, None], rng.normal(0, 0.4, X.shape), 0).astype(np.float32)
        out.append(None if t % 37 == 5 else VertexObservation(t, pos, ray, conf, 600.0, off))
    return out, W


def test_store_round_trip_and_spill(head):
    obs, _ = synthetic(head, 12)
    for spill in (1 << 40, 1):              # all in memory; everything in the temporary file
        store = ob.ObservationStore(head.n_vertices, spill_bytes=spill)
        for o in obs:
            store.append(None)
        for i, o in reversed(list(enumerate(obs))):       # written out of order, as backward tracking does
            store[i] = o
        assert len(store) == len(obs) and store.any()
        Y, R, C, O = store.dense(np.arange(len(obs)))
        Y0, R0, C0 = stack(obs, head.n_vertices)
        np.testing.assert_array_equal(Y, Y0)          # positions and confidences exact
        np.testing.assert_array_equal(C, C0)
        np.testing.assert_allclose(R, R0, atol=5e-4)  # rays float16
        np.testing.assert_allclose(O, offsets(obs, head.n_vertices), atol=1e-3)   # offsets float16
        assert store[5] is None and store[6].frame == 6 and store[6].z_origin == 600.0
        np.testing.assert_allclose(store.confidence_sums(), C0.sum(1), rtol=1e-6)
        spilled = store._file is not None
        assert spilled == (spill == 1)
        store.close()


def test_chunked_solve_equals_single(head, monkeypatch):
    """A clip longer than LONG_CLIP (made small here) solved in chunks with the identity from spread frames: ARKit
    weights within 0.01 on average (0.1 at most) and head positions within 0.5 mm of the single solve over all
    frames, and no farther from the true weights."""
    obs, W = synthetic(head, 150)
    Y, R, C = stack(obs, head.n_vertices)
    single = solve(Y, C, head, ray=R, offset=offsets(obs, head.n_vertices))
    monkeypatch.setattr(ob, "LONG_CLIP", 100)
    monkeypatch.setattr(ob, "CHUNK_FRAMES", 40)
    monkeypatch.setattr(ob, "IDENTITY_FRAMES", 50)
    chunked = ob.solve_observations(obs, head).result
    v = single.valid
    np.testing.assert_array_equal(chunked.valid, v)
    d = np.abs(chunked.weights[v] - single.weights[v])
    assert d.mean() < 0.01 and d.max() < 0.1
    assert np.linalg.norm(chunked.translation[v] - single.translation[v], axis=1).max() < 0.5
    assert np.abs(chunked.weights[v] - W[v]).mean() < np.abs(single.weights[v] - W[v]).mean() + 0.005


def test_chunked_residual_keys(head, monkeypatch):
    """Residual keys on a long clip (LONG_CLIP made small): learned on the spread frames, weighted per chunk, they
    give back a deformation the head model lacks as the single solve does, with the clip's weights within [-1, 1]."""
    side = (head.vertices[:, 0] > 20.0) & default_vertex_mask(head)
    shape = np.zeros_like(head.vertices)
    shape[side, 2] = 3.0                          # one cheek 3 mm forward, a shape no ARKit delta makes
    obs, _ = synthetic(head, 150, bump=lambda t: shape * np.sin(t / 11.0))
    truth = np.sin(np.arange(150) / 11.0)[:, None, None] * shape[None, side]
    single = ob.solve_observations(obs, head, residual_keys=1).result
    monkeypatch.setattr(ob, "LONG_CLIP", 100)
    monkeypatch.setattr(ob, "CHUNK_FRAMES", 40)
    monkeypatch.setattr(ob, "IDENTITY_FRAMES", 50)
    sizes, inner = [], ob._solve
    monkeypatch.setattr(ob, "_solve", lambda store, frames, *a, **k: sizes.append(len(frames))
                        or inner(store, frames, *a, **k))
    chunked = ob.solve_observations(obs, head, residual_keys=1).result
    assert max(sizes) <= 50, sizes                # never the whole clip at once
    v = single.valid
    for res in (single, chunked):
        assert res.residual_deltas.shape == (1, head.n_vertices, 3)
        assert np.abs(res.residual_weights).max() <= 1 + 1e-6
    recon = [np.tensordot(r.residual_weights[v], r.residual_deltas[:, side], 1) for r in (single, chunked)]
    corr = [np.corrcoef(x[..., 2].ravel(), truth[v][..., 2].ravel())[0, 1] for x in recon]
    assert min(corr) > 0.8, corr                  # the pose and the identity take some of the bump, the key the rest
    assert np.abs(recon[1] - recon[0]).mean() < 0.1, "mm: chunked and single keys differ"


def test_image_steps_read_how_far_the_observed_vertices_moved_and_turned_in_the_image():
    """Each frame's vertices turned by a known angle about a point and moved by a known step in the image (x / z),
    and a few of them off by a gross error: the step and the turn read are the known ones (the medians ignore the
    few); NaN after a frame without a face, on the first frame, and where the two frames share fewer than
    ``MIN_SHARED_VERTICES`` vertices."""
    rng = np.random.default_rng(4)
    V, T = 300, 6
    base = np.stack([rng.uniform(-40, 40, V), rng.uniform(-50, 50, V), 600.0 + rng.uniform(-20, 20, V)], 1)
    steps = rng.normal(0, 0.01, (T, 2))
    turns = rng.normal(0, 0.02, T)
    place, angle = np.cumsum(steps, 0), np.cumsum(turns)
    obs = []
    for k in range(T):
        c, s = np.cos(angle[k]), np.sin(angle[k])
        uv = (base[:, :2] / base[:, 2:]) @ np.array([[c, s], [-s, c]]) + place[k]       # x' = c x - s y, y' = s x + c y
        uv[:10] += 0.5                                        # a few vertices far off
        pos = np.concatenate([uv * base[:, 2:], base[:, 2:]], 1).astype(np.float32)
        conf = np.ones(V, np.float32)
        if k == 5:
            conf[ob.MIN_SHARED_VERTICES - 1:] = 0.0             # too few seen
        obs.append(None if k == 3 else VertexObservation(k, pos, np.zeros_like(pos), conf))
    got = ob.image_steps(obs)
    assert np.isnan(got[[0, 3, 4, 5]]).all()
    assert got.shape == (T, 3)
    np.testing.assert_allclose(got[[1, 2], 2], turns[[1, 2]], atol=1e-6)
    # the middle moves by the step plus the turn of where the middle was: read the step at the vertices' median
    for k in (1, 2):
        a = (base[:, :2] / base[:, 2:])
        mid = np.median(a, axis=0)
        c0, s0, c1, s1 = np.cos(angle[k - 1]), np.sin(angle[k - 1]), np.cos(angle[k]), np.sin(angle[k])
        moved = lambda x, c, s, p: x @ np.array([[c, s], [-s, c]]) + p
        want = np.median(moved(a, c1, s1, place[k]) - moved(a, c0, s0, place[k - 1]), axis=0)
        np.testing.assert_allclose(got[k, :2], want, atol=1e-3)
