"""Synthetic data: exact ground truth of the torch renderer, make_batch contract, determinism, splits, sequences."""
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from core import mesh_render                       # noqa: E402
from core.errors import FaceCaptureError           # noqa: E402
from training import render, synth                # noqa: E402
from training import synth_appearance as ap       # noqa: E402

CFG = synth.SynthConfig(size=64)


def _posed(head, yaw=30.0, dist=600.0, size=96):
    v = head.vertices.astype(np.float64) @ mesh_render.rotation_y(yaw).T @ mesh_render.HEAD_TO_CV.T
    v[:, 2] += dist
    f = 0.5 * size * dist / 140
    K = np.array([[f, 0, size / 2 + 0.3], [0, f, size / 2 - 0.2], [0, 0, 1]])
    return v, K


def test_torch_rasterizer_matches_numpy_reference(head):
    v, K = _posed(head)
    f0, b0, d0 = mesh_render.rasterize(v, head.faces, K, (96, 96))
    f1, b1, d1 = render.rasterize(torch.tensor(v, dtype=torch.float64)[None], torch.tensor(head.faces).long(),
                                  torch.tensor(K)[None], (96, 96))
    assert (f1[0].numpy() == f0).mean() > 0.999
    same = (f1[0].numpy() == f0) & (f0 >= 0)
    assert np.abs(d1[0].numpy()[same] - d0[same]).max() < 1e-3


def test_depth_unprojects_onto_mesh_and_canon_interpolates_template(head):
    rng = np.random.default_rng(0)
    ident = rng.normal(0, 1, len(head.identity_std)) * head.identity_std
    expr = np.zeros(52)
    expr[head.arkit_names.index("jawOpen")] = 0.7
    vh = head.shape(identity=ident, expression=expr)
    R = mesh_render.HEAD_TO_CV @ synth._rot(25, 10, -5)
    t = np.array([20.0, -10.0, 550.0])
    K = synth.crop_intrinsics(R, t, 96)
    out = render.render_head(torch.tensor(vh, dtype=torch.float32)[None], torch.tensor(head.vertices),
                             torch.tensor(head.faces).long(), torch.tensor(R, dtype=torch.float32)[None],
                             torch.tensor(t, dtype=torch.float32)[None], torch.tensor(K, dtype=torch.float32)[None],
                             (96, 96))
    m = out["mask"][0].numpy()
    assert m.sum() > 2000
    ys, xs = np.nonzero(m)
    z = out["depth"][0].numpy()[m].astype(np.float64)
    p = np.stack([(xs + 0.5 - K[0, 2]) / K[0, 0] * z, (ys + 0.5 - K[1, 2]) / K[1, 1] * z, z], 1)
    V = vh @ R.T + t
    fid = out["face"][0].numpy()[m]
    tri = V[head.faces[fid]]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    plane = np.abs(((p - tri[:, 0]) * n).sum(1))
    assert plane.max() < 0.01                               # on the rendered triangle's plane (mm)
    bary = out["bary"][0].numpy()[m].astype(np.float64)
    assert bary.min() > -1e-4 and np.abs(bary.sum(1) - 1).max() < 1e-4
    assert np.linalg.norm((bary[:, :, None] * tri).sum(1) - p, axis=1).max() < 0.01
    canon = out["canon"][0].numpy()[m]
    expect = (bary[:, :, None] * head.vertices[head.faces[fid]]).sum(1)
    assert np.abs(canon - expect).max() < 0.01
    assert np.allclose(out["template_cam"][0].numpy(), head.vertices @ R.T + t, atol=1e-2)


def test_canon_at_vertex_pixels_equals_template_vertex(head):
    """Shift the principal point so chosen vertices project exactly onto pixel centres."""
    vh = head.shape(expression=np.eye(52)[head.arkit_names.index("mouthSmileLeft")] * 0.8)
    R = mesh_render.HEAD_TO_CV @ synth._rot(-20, 5, 0)
    t = np.array([0.0, 0.0, 500.0])
    K0 = synth.crop_intrinsics(R, t, 96)
    V = vh @ R.T + t
    front = np.nonzero(head.region_mask("skin") & (head.vertices[:, 2] > 90))[0][::37][:12]
    Ks = []
    for v in front:
        u = mesh_render.project(V[v], K0)
        K = K0.copy()
        K[0, 2] += np.floor(u[0]) + 0.5 - u[0]
        K[1, 2] += np.floor(u[1]) + 0.5 - u[1]
        Ks.append(K)
    n = len(front)
    out = render.render_head(torch.tensor(vh, dtype=torch.float64)[None].expand(n, -1, -1),
                             torch.tensor(head.vertices, dtype=torch.float64), torch.tensor(head.faces).long(),
                             torch.tensor(R)[None].expand(n, -1, -1), torch.tensor(t)[None].expand(n, -1),
                             torch.tensor(np.stack(Ks)), (96, 96))
    checked = 0
    for i, v in enumerate(front):
        u = mesh_render.project(V[v], Ks[i])
        x, y = int(np.floor(u[0])), int(np.floor(u[1]))
        if abs(out["depth"][i, y, x].item() - V[v, 2]) > 0.05:     # vertex hidden
            continue
        assert np.abs(out["canon"][i, y, x].numpy() - head.vertices[v]).max() < 0.01
        checked += 1
    assert checked >= 8


def test_make_batch_contract(head):
    b = synth.make_batch(CFG, 6, seed=3)
    S, V = CFG.size, head.n_vertices
    shapes = dict(image=(6, 3, S, S), depth=(6, 1, S, S), canon=(6, 3, S, S), mask=(6, 1, S, S), K=(6, 3, 3),
                  R=(6, 3, 3), t=(6, 3), verts_cam=(6, V, 3), arkit=(6, 52), identity=(6, 40))
    for k, s in shapes.items():
        assert tuple(b[k].shape) == s, k
        assert b[k].dtype == torch.float32, k
        assert torch.isfinite(b[k]).all(), k
    assert 0 <= b["image"].min() and b["image"].max() <= 1
    assert set(torch.unique(b["mask"]).tolist()) <= {0.0, 1.0}
    m = b["mask"] > 0
    assert (m.flatten(1).sum(1) > 200).all()
    assert (b["canon"].abs().amax(1, keepdim=True)[m] <= 1.01).all()
    assert (b["canon"].abs().sum(1, keepdim=True)[~m] == 0).all()
    assert (b["depth"][m] != 0).all()
    assert (0 <= b["arkit"]).all() and (b["arkit"] <= 1).all()
    # R orthonormal, t[:,2] = z_origin, verts_cam = R V_head + t for the deformed head
    assert torch.allclose(b["R"] @ b["R"].transpose(1, 2), torch.eye(3).expand(6, 3, 3), atol=1e-5)
    # the crop framing, relative to the head's size s: s * anchor projects near the centre, the side covers
    # ~s * 260 mm at z_origin
    hs = torch.tensor([synth.head_size_ratio(head, i.numpy()) for i in b["identity"]], dtype=torch.float32)
    assert ((hs > 0.5) & (hs < 1.5)).all()
    anchor = torch.tensor(synth.CROP_ANCHOR)
    p = (b["R"] @ anchor * hs[:, None] + b["t"])
    u = p[:, :2] / p[:, 2:] * b["K"][:, [0, 1], [0, 1]] + b["K"][:, :2, 2]
    assert ((u - S / 2).abs() <= 0.08 * S * 1.5 + 1).all()
    side_mm = S / b["K"][:, 0, 0] * b["t"][:, 2] / hs
    assert ((side_mm > 150) & (side_mm < 450)).all()
    # the written-sample checker agrees (exact depth + canon at sampled pixels)
    one = {k: v[0].numpy() for k, v in b.items()}
    st = synth.check_sample(one, head)
    assert st["max_mesh_err_mm"] < 0.01 and st["max_canon_err_mm"] < 0.01


def test_determinism_and_splits():
    a = synth.make_batch(CFG, 3, seed=11)
    b = synth.make_batch(CFG, 3, seed=11)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    c = synth.make_batch(CFG, 3, seed=12)
    assert not torch.equal(a["image"], c["image"])
    e = synth.make_batch(CFG, 3, seed=11, split="eval")
    assert not torch.equal(a["identity"], e["identity"])
    # sample i depends only on (seed, split, i)
    big = synth.make_batch(CFG, 5, seed=11)
    assert torch.allclose(big["verts_cam"][:3], a["verts_cam"], atol=1e-3)
    assert (big["image"][:3] - a["image"]).abs().mean() < 1e-3


@pytest.mark.parametrize("identity_scale", [1.0, 1.5])
def test_eval_identities_never_in_train_stream(head, identity_scale):
    """Also with a wider training spread (training.train --identity-scale): wider, still never the corner."""
    A = synth._assets(torch.device("cpu"))
    cfg = synth.SynthConfig(identity_scale=identity_scale)
    spread = {}
    for split, want in (("train", False), ("eval", True)):
        zs = []
        for i in range(200):
            p = synth.sample_params(cfg, 5, split, i, A)
            assert isinstance(p, synth.SampleParams) and isinstance(p.pose, synth.Pose)
            z = p.identity / head.identity_std
            assert synth._in_eval_identity_region(z) == want
            zs.append(z)
        spread[split] = np.std(np.stack(zs)[:, 2:])        # coefficients the corner rule leaves alone
    assert abs(spread["train"] - identity_scale) < 0.1 * identity_scale


def test_masks_exclude_occluders():
    A = synth._assets(torch.device("cpu"))
    cfg = synth.SynthConfig(size=64)
    P = [synth.sample_params(cfg, 2, "train", i, A) for i in range(4)]
    P = [replace(p, pose=replace(p.pose, yaw=10.0, pitch=0.0, roll=0.0)) for p in P]
    bare = [replace(p, occ=replace(p.occ, hair=None, glasses=False, hand=False, mic=False, strands=0)) for p in P]
    hair = synth.Hair(y_front=45.0, y_back=-40.0, side_drop=20.0, vol=12.0, ears=True)
    full = [replace(p, occ=replace(p.occ, hair=hair, glasses=True, hand=True, mic=True, strands=6)) for p in P]
    b0 = synth._batch_from_params(cfg, bare, A)
    b1 = synth._batch_from_params(cfg, full, A)
    m0, m1 = b0["mask"] > 0, b1["mask"] > 0
    assert (m1 <= m0).all()                                   # occluders only remove mask pixels
    lost = m0 & ~m1
    assert lost.sum() > 0.05 * m0.sum()
    # where the mask was lost, something is in front of the head surface
    assert (b1["depth"][lost] < b0["depth"][lost] + 1e-6).all()
    # never the mouth interior in the mask: interior vertices project outside mask pixels
    r = synth.render_params(full, b1["K"].numpy(), (64, 64), "cpu", cfg, b1["R"].numpy(), b1["t"].numpy())
    assert not (r["mask"] & (r["obj"] != ap.OBJ_HEAD)).any()


def test_sequence_is_smooth_and_consistent(head):
    seq = synth.make_sequence(synth.SynthConfig(), 12, seed=4, width=96, height=80)
    T = 12
    assert seq["image"].shape == (T, 80, 96, 3) and seq["image"].dtype == np.uint8
    assert seq["depth"].shape == (T, 80, 96) and seq["canon"].shape == (T, 80, 96, 3)
    assert seq["mask"].dtype == bool and seq["mask"].any(axis=(1, 2)).all()
    assert seq["verts_cam"].shape == (T, head.n_vertices, 3) and seq["arkit"].shape == (T, 52)
    d_verts = np.linalg.norm(np.diff(seq["verts_cam"], axis=0), axis=2).max(1)
    assert d_verts.max() < 25.0                              # mm per frame at 25 fps
    assert np.abs(np.diff(seq["arkit"], axis=0)).max() < 0.5
    assert np.abs(np.diff(seq["arkit"], 2, axis=0)).mean() < 0.05
    m = seq["mask"]
    assert (np.abs(seq["canon"][m]) < 200).all() and (seq["depth"][m] > 0).all()


def test_sequence_turn_sets_only_the_yaw_to_a_turn_there_and_back():
    """``turn``: the head turns to that yaw in the clip's middle and back (bench_e2e.py --turn), nothing else moves."""
    cfg, T, fps = synth.SynthConfig(), 61, 25.0
    _, W0, pose0 = synth.sequence_params(cfg, T, 5, fps)
    _, W1, pose1 = synth.sequence_params(cfg, T, 5, fps, turn=80.0)
    assert np.array_equal(W0, W1) and np.array_equal(pose0[:, 1:], pose1[:, 1:])
    yaw = pose1[:, 0]
    assert yaw[0] == 0 and abs(yaw[-1]) < 1e-9 and yaw[30] == yaw.max() == 80.0
    assert (np.diff(yaw[:31]) > 0).all() and (np.diff(yaw[30:]) < 0).all()


def test_sequence_one_way_turns_end_or_start_turned_away():
    """``turn_path`` "away": the head turns to the yaw over the clip's first TURN_HOLD and stays (a clip that ends
    turned away); "toward" is the same backwards; anything else is refused."""
    cfg, T, fps = synth.SynthConfig(), 61, 25.0
    _, W0, pose0 = synth.sequence_params(cfg, T, 5, fps, turn=80.0)
    _, W1, away = synth.sequence_params(cfg, T, 5, fps, turn=80.0, turn_path="away")
    _, _, toward = synth.sequence_params(cfg, T, 5, fps, turn=80.0, turn_path="toward")
    assert np.array_equal(W0, W1) and np.array_equal(pose0[:, 1:], away[:, 1:])
    yaw = away[:, 0]
    assert yaw[0] == 0 and (np.diff(yaw[:36]) > 0).all() and np.allclose(yaw[36:], 80.0)
    assert np.array_equal(toward[:, 0], yaw[::-1]) and np.array_equal(toward[:, 1:], away[:, 1:])
    with pytest.raises(FaceCaptureError, match="turn_path"):
        synth.sequence_params(cfg, T, 5, fps, turn=80.0, turn_path="sideways")


def test_sequence_gaze_turns_only_the_eyes_both_alike_in_fixations_and_saccades():
    from core.head_model import ARKIT_NAMES
    cfg, T, fps = synth.SynthConfig(), 150, 25.0
    _, W0, pose0 = synth.sequence_params(cfg, T, 5, fps)
    _, W1, pose1 = synth.sequence_params(cfg, T, 5, fps, gaze=True)
    look = [k for k, n in enumerate(ARKIT_NAMES) if n.startswith("eyeLook")]
    assert np.array_equal(pose0, pose1)                      # its own random stream: nothing else moves
    assert np.array_equal(np.delete(W0, look, 1), np.delete(W1, look, 1)) and not W0[:, look].any()
    col = lambda n: W1[:, ARKIT_NAMES.index(n)]                                     # noqa: E731
    side, up = col("eyeLookOutLeft") - col("eyeLookInLeft"), col("eyeLookUpLeft") - col("eyeLookDownLeft")
    # both eyes turn the same way: towards the subject's left is the left eye out and the right eye in
    assert np.array_equal(side, col("eyeLookInRight") - col("eyeLookOutRight"))
    assert np.array_equal(up, col("eyeLookUpRight") - col("eyeLookDownRight"))
    assert not (col("eyeLookOutLeft") * col("eyeLookInLeft")).any()               # one of each pair at a time
    assert not (col("eyeLookUpLeft") * col("eyeLookDownLeft")).any()
    assert np.abs(side).max() <= 0.7 and -0.5 <= up.min() and up.max() <= 0.3 and side.std() > 0.1
    # fixations held still, joined by saccades of two frames or so: most frames do not move, some move fast
    step = np.abs(np.diff(side)) + np.abs(np.diff(up))
    assert (step < 1e-9).mean() > 0.7 and step.max() > 0.1
