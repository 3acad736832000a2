"""The real-face models' share of the solve: landmarks on the template, and the fused solve on a scene with known
ARKit weights, solved dense-only, landmarks-only and fused."""
import numpy as np
import pytest

from bake import fusion
from training import groundtruth as gt
from bake.correspond import default_vertex_mask
from bake.solve import LANDMARK_REF_MM, ArkitPrior, solve
from core import landmark_template as lt
from core.eyelids import lid_aspects
from core.head_model import ARKIT_NAMES


@pytest.fixture(scope="module")
def template():
    return lt.load()


def test_landmarks_sit_where_their_names_say(head, template):
    p = template.points(head.vertices.astype(np.float64), head)            # head frame: +X subject's left, +Y up
    assert p[lt.RIGHT_EYE_OUTER, 0] < p[lt.RIGHT_EYE_INNER, 0] < 0 < p[lt.LEFT_EYE_INNER, 0] < p[lt.LEFT_EYE_OUTER, 0]
    assert p[lt.RIGHT_UPPER_LID, 1] > p[lt.RIGHT_LOWER_LID, 1]
    assert p[lt.LEFT_UPPER_LID, 1] > p[lt.LEFT_LOWER_LID, 1]
    assert p[lt.UPPER_LIP_OUTER, 1] > p[lt.UPPER_LIP_INNER, 1] >= p[lt.LOWER_LIP_INNER, 1] > p[lt.LOWER_LIP_OUTER, 1]
    assert p[lt.MOUTH_RIGHT, 0] < -15 and p[lt.MOUTH_LEFT, 0] > 15
    for mid in (lt.UPPER_LIP_OUTER, lt.LOWER_LIP_OUTER, lt.NOSE_TIP, lt.CHIN):
        assert abs(p[mid, 0]) < 3.0, mid                                     # on the mid-sagittal plane
    assert p[lt.NOSE_TIP, 2] == p[list(lt.NOSE), 2].max()                   # the nose tip is the most forward
    assert p[lt.CHIN, 1] < p[lt.LOWER_LIP_OUTER, 1] < p[lt.NOSE_TIP, 1] < p[lt.RIGHT_UPPER_LID, 1]
    # the lids sit on the lids: eyeBlink moves the upper lid down onto the lower one
    blink = ARKIT_NAMES.index("eyeBlinkRight")
    closed = template.points((head.vertices + head.arkit_deltas[blink]).astype(np.float64), head)
    gap_open = p[lt.RIGHT_UPPER_LID, 1] - p[lt.RIGHT_LOWER_LID, 1]
    gap_closed = closed[lt.RIGHT_UPPER_LID, 1] - closed[lt.RIGHT_LOWER_LID, 1]
    assert gap_open > 5.0 and gap_closed < 0.3 * gap_open
    # and jawOpen parts the inner lips
    jaw = ARKIT_NAMES.index("jawOpen")
    opened = template.points((head.vertices + head.arkit_deltas[jaw]).astype(np.float64), head)
    assert opened[lt.UPPER_LIP_INNER, 1] - opened[lt.LOWER_LIP_INNER, 1] > 10.0


def _scene(head, template, T=30, seed=3, noise_mm=1.5, identity_bias=0.0):
    """Truth, dense observations that read expressions at half strength plus ``noise_mm`` noise (as our network does
    on real faces; on a head ``identity_bias`` standard deviations of shape away from the true one), and landmarks at
    0.5 px noise."""
    seq = gt.make_sequence(head, T, seed=seed, id_scale=1.0)
    rng = np.random.default_rng(0)
    seen = seq.identity + identity_bias * np.random.default_rng(1).normal(0, 1, len(head.identity_std)) \
        * head.identity_std
    half = np.einsum("tij,tvj->tvi", seq.rotation, head.shape(seen[None], 0.5 * seq.weights)) \
        + seq.translation[:, None]
    Y = (half + rng.normal(0, noise_mm, half.shape)).astype(np.float32)
    C = np.tile(default_vertex_mask(head).astype(np.float32), (T, 1))
    pts = template.points(seq.verts_cam.astype(np.float64), head)
    uv = pts[..., :2] / pts[..., 2:3] * np.diag(seq.K)[:2] + seq.K[:2, 2] + rng.normal(0, 0.5, pts[..., :2].shape)
    return seq, Y, C, uv


def _errors(res, seq, names=("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft")):
    idx = [ARKIT_NAMES.index(n) for n in names]
    return np.abs(res.weights[:, idx] - seq.weights[:, idx]).mean()


def test_fused_solve_reads_expressions_that_dense_under_reads(head, template):
    seq, Y, C, uv = _scene(head, template)
    T = len(Y)
    dense = solve(Y, C, head)
    Cf = C * fusion.dense_weight_map(head, template)
    lm = fusion.landmark_term(uv, np.ones(T), Cf.sum(1), seq.K, head, template)
    fused = solve(Y, Cf, head, landmarks=lm)
    only = solve(Y, np.zeros_like(C), head, landmarks=fusion.landmark_term(uv, np.ones(T), np.zeros(T), seq.K, head,
                                                                            template))
    assert fused.valid.all() and only.valid.all()
    e_dense, e_fused, e_only = _errors(dense, seq), _errors(fused, seq), _errors(only, seq)
    assert e_fused < 0.8 * e_dense, (e_dense, e_fused)           # 0.030 vs 0.046 when written
    # landmarks alone (PnP start, then the solve) place the head roughly, but without the dense term's distance and
    # head size the identity wanders (6 px, weight error 0.20 when written): the fused solve fits both
    reproj = []
    for res in (only, fused):
        s = np.einsum("tij,tvj->tvi", res.rotation, head.shape(res.identity[None], res.weights)) \
            + res.translation[:, None]
        p = template.points(s, head)
        reproj.append(np.median(np.linalg.norm(p[..., :2] / p[..., 2:3] * np.diag(seq.K)[:2] + seq.K[:2, 2]
                                               - uv, axis=-1)))
    assert reproj[1] < 1.5 and reproj[1] < reproj[0], reproj
    assert e_fused < e_only, (e_fused, e_only)


def _reprojection(res, seq, uv, head, template):
    """Median pixel distance between the solved landmark points and the observed ones."""
    s = np.einsum("tij,tvj->tvi", res.rotation, head.shape(res.identity[None], res.weights)) + res.translation[:, None]
    p = template.points(s, head)
    return np.median(np.linalg.norm(p[..., :2] / p[..., 2:3] * np.diag(seq.K)[:2] + seq.K[:2, 2] - uv, axis=-1))


def _loose_staged(head, template):
    """The scene of ``_scene`` on a head half a standard deviation of shape off with 2 mm noise, as the staged solve
    (bake.observations) takes it: (truth, landmark pixels, observations, dense weight map, landmark term builder)."""
    from bake.correspond import VertexObservation
    seq, Y, C, uv = _scene(head, template, noise_mm=2.0, identity_bias=0.5)
    ray = (Y / np.linalg.norm(Y, axis=-1, keepdims=True)).astype(np.float32)
    obs = [VertexObservation(t, Y[t], ray[t], C[t], float(seq.translation[t, 2]), None) for t in range(len(Y))]

    def marks(frames, sums, fitted):
        return fusion.landmark_term(uv[frames], np.ones(len(frames)), sums, seq.K, fitted, template)
    return seq, uv, obs, fusion.dense_weight_map(head, template), marks


def test_staged_fusion_follows_the_landmarks_where_the_dense_fit_is_loose(head, template):
    """bake.observations' staged solve (identity first, then the frames with the dense confidences times
    fusion.expression_dense) against one fused solve, on dense observations of a head half a standard deviation of
    shape off with 2 mm noise (a loose fit, as the network's on real footage): the landmarks are followed at least as
    closely (2.3 -> 1.9 px when written; 1.06 -> 1.04 since the nose has the larger say in the head's pose and shape,
    fusion.NOSE_RIGID_SHARE, which took one solve's to 1.06 as well), the identity is the first stage's; a tight fit
    leaves the factor near 1."""
    from bake.observations import solve_observations
    seq, uv, obs, dense, marks = _loose_staged(head, template)
    one = solve_observations(obs, head, 0, dense, marks).result
    staged = solve_observations(obs, head, 0, dense, marks, expression_dense=fusion.expression_dense).result
    r_one, r_staged = (_reprojection(r, seq, uv, head, template) for r in (one, staged))
    assert r_staged <= r_one < 1.5, (r_one, r_staged)
    assert one.dense_residual_mm > LANDMARK_REF_MM            # loose: the factor is EXPRESSION_DENSE
    assert fusion.expression_dense(3.0) == pytest.approx(fusion.EXPRESSION_DENSE)
    assert fusion.expression_dense(0.4) > 0.95


def test_frames_under_a_brims_shadow_weigh_less_in_the_clips_identity(head, template):
    """A frame whose forehead reads in shadow (core.exposure.forehead_light; the network misreads a hat brim's shadow)
    weighs less than the others in the staged solve's first stage (fusion.shaded_dense), so its misread forehead
    hardly moves the clip's identity (its second stage, where its dense term alone weighs less:
    tests/test_bake_pipeline.py and the brim copies of benchmarks/bench_real.py)."""
    import dataclasses
    from bake.observations import solve_observations
    seq, uv, obs, dense, marks = _loose_staged(head, template)
    shaded = np.arange(len(obs)) % 3 == 0
    factor = fusion.shaded_dense(np.where(shaded, 0.08, 1.4))
    np.testing.assert_allclose(factor, np.where(shaded, fusion.SHADED_DENSE, 1.0))

    def run(observations, frame_dense=None):
        return solve_observations(observations, head, 0, dense, marks, expression_dense=fusion.expression_dense,
                                  frame_dense=frame_dense).result

    clean = run(obs)
    # every frame in the shadow: the first stage weighs them against each other only, so the identity is as read lit
    np.testing.assert_allclose(run(obs, np.full(len(obs), fusion.SHADED_DENSE)).identity, clean.identity, rtol=1e-9)
    # the shaded frames' forehead and eyes read 10 mm off in depth: the identity stays near the one read without
    upper = head.vertices[:, 1] > template.points(head.vertices.astype(np.float64), head)[lt.NOSE_TIP, 1]
    misread = []
    for t, o in enumerate(obs):
        if shaded[t]:
            p = o.position.copy()
            p[upper] += (seq.rotation[t] @ np.array([0.0, 0.0, 10.0])).astype(np.float32)
            o = dataclasses.replace(o, position=p, ray=(p / np.linalg.norm(p, axis=-1, keepdims=True)))
        misread.append(o)
    neutral = lambda r: head.shape(r.identity[None], np.zeros((1, 52)))[0]          # noqa: E731
    moved = [np.median(np.linalg.norm(neutral(r) - neutral(clean), axis=-1)) for r in (run(misread),
                                                                                       run(misread, factor))]
    assert moved[1] < 0.6 * moved[0], moved                        # 1.94 -> 0.77 mm when written
    # the reading's ramp: 1 from SHADE_FREE up (and where there is no reading), SHADED_DENSE from SHADE_FULL down
    ramp = fusion.shaded_dense(np.array([np.nan, 2.0, fusion.SHADE_FREE, fusion.SHADE_FULL, 0.0]))
    np.testing.assert_allclose(ramp, [1.0, 1.0, 1.0, fusion.SHADED_DENSE, fusion.SHADED_DENSE])
    assert fusion.SHADED_DENSE < fusion.shaded_dense(0.5 * (fusion.SHADE_FREE + fusion.SHADE_FULL)) < 1.0


def test_a_clip_with_no_lit_frame_is_told_its_brows_may_move_too_little():
    """``shade_warnings`` names the shaded stretches, and where no frame with a reading is lit (the head's shape
    then comes from the shadow too) says so and what to choose; a clip with one lit frame, or none read, is not."""
    frames = np.arange(10, 16)
    light = np.array([np.nan, 0.1, 0.2, 0.1, np.nan, 0.05])
    whole = fusion.shade_warnings(light, frames)
    assert len(whole) == 3 and whole[0].startswith("frames 11-13 (3 frames) read with the brows and eyes in shadow")
    assert whole[1].startswith("frame 15 read with") and whole[2] == fusion.UNLIT_CLIP
    assert "--fusion landmarks" in fusion.UNLIT_CLIP
    lit_once = fusion.shade_warnings(np.where(np.arange(6) == 4, 1.2, light), frames)
    assert len(lit_once) == 2 and fusion.UNLIT_CLIP not in lit_once
    assert fusion.shade_warnings(np.full(6, np.nan), frames) == []
    many = fusion.shade_warnings(np.tile(light, 3), np.arange(18), most=3)          # one line for the stretches
    assert len(many) == 2 and many[0].startswith("12 frames in 6 stretches") and many[1] == fusion.UNLIT_CLIP


def test_arkit_prior_pulls_weights_towards_targets(head):
    seq = gt.make_sequence(head, 6, seed=2, id_scale=0.0)
    C = np.tile(default_vertex_mask(head).astype(np.float32), (6, 1)) * 1e-3     # barely observed, and as loosely
    Y = seq.verts_cam + np.random.default_rng(0).normal(0, 3.0, seq.verts_cam.shape)   # as the network on real faces
    target = np.zeros((6, 52))
    blink = ARKIT_NAMES.index("eyeBlinkLeft")
    target[:, blink] = 0.8
    strength = np.zeros((6, 52))
    strength[:, blink] = 5.0
    free = solve(Y, C, head)
    pulled = solve(Y, C, head, arkit_prior=ArkitPrior(target, strength))
    assert pulled.dense_residual_mm > LANDMARK_REF_MM           # the prior fully trusted (bake.solve.real_face_trust)
    assert (pulled.weights[:, blink] > free.weights[:, blink] + 0.3).all()


def test_missing_template_asset_names_the_regeneration(tmp_path):
    with pytest.raises(Exception, match="tools.landmark_template"):
        lt.load(tmp_path / "none.npz")


def test_lids_and_lips_do_not_pass_through_each_other(head, template):
    """Observations of a shut eye squinting (eyeBlink 1 + eyeSquint 0.7 carry the upper lid 1.5-2.5 mm through the
    lower one) and of lips pressed shut (mouthClose without jawOpen: 6-7 mm through): the solve keeps every pair of
    fusion.GAP_PAIRS apart (up to what a full blink itself gives), the eye shut, and an open frame as it was."""
    T = 4
    w = np.zeros((T, 52))
    names = {n: ARKIT_NAMES.index(n) for n in ("eyeBlinkRight", "eyeSquintRight", "eyeBlinkLeft", "eyeSquintLeft",
                                                "mouthClose", "jawOpen")}
    w[1:, [names["eyeBlinkRight"], names["eyeBlinkLeft"]]] = 1.0
    w[1:, [names["eyeSquintRight"], names["eyeSquintLeft"]]] = 0.7
    w[2:, names["mouthClose"]] = 0.3
    t = np.tile([0.0, 0.0, 600.0], (T, 1))
    Y = (head.shape(np.zeros((1, len(head.identity_std))), w) + t[:, None]).astype(np.float32)
    C = np.tile(default_vertex_mask(head).astype(np.float32), (T, 1))
    gaps = fusion.gap_constraint(head, template)
    free = solve(Y, C, head, fit_identity=False)
    held = solve(Y, C, head, fit_identity=False, gaps=gaps)
    g_free, g_held = gaps.gaps(free.weights, free.identity), gaps.gaps(held.weights, held.identity)
    assert g_free[1:, :6].min() < -1.0 and g_free[2:, 6:].min() < -1.0      # the shapes alone cross them
    assert g_held.min() > -0.15, g_held.min()
    assert (gaps.gaps(free.weights[:1], free.identity) > 2.0).all()        # the open frame is far from any bound
    assert (held.weights[1:, names["eyeBlinkRight"]] > 0.7).all()          # the eye stays shut
    np.testing.assert_allclose(held.weights[0], free.weights[0], atol=1e-6)  # nothing changes on the open frame


def test_fixed_identity_solve_splits_its_frames_over_threads_with_the_same_result(head, template, monkeypatch):
    """With the identity fixed nothing couples the frames: ``workers=2`` solves two blocks of frames on two threads
    (both threads seen running a block) and gives what one thread gives, landmarks, prior and gaps included."""
    import threading
    from bake import solve as solve_mod
    seq, Y, C, uv = _scene(head, template, T=40)
    T = len(Y)
    Cf = C * fusion.dense_weight_map(head, template)
    lm = fusion.landmark_term(uv, np.ones(T), Cf.sum(1), seq.K, head, template)
    scores = np.clip(seq.weights + 0.05, 0, 1)
    ap = fusion.arkit_prior(scores, np.ones(T))
    gaps = fusion.gap_constraint(head, template)
    kw = dict(landmarks=lm, arkit_prior=ap, gaps=gaps, identity=seq.identity)
    one = solve(Y, Cf, head, **kw)
    seen = []
    frames = solve_mod._gauss_newton_frames

    def spy(Yv, *a, **k):
        seen.append((threading.current_thread().name, len(Yv)))
        return frames(Yv, *a, **k)
    monkeypatch.setattr(solve_mod, "_gauss_newton_frames", spy)
    two = solve(Y, Cf, head, workers=2, **kw)
    assert {n for n, _ in seen if n.startswith("solve")} and sorted({k for _, k in seen}) == [T // 2]
    assert len({n for n, _ in seen}) == 2
    np.testing.assert_allclose(two.weights, one.weights, atol=1e-4)
    np.testing.assert_allclose(two.rotation, one.rotation, atol=1e-6)
    np.testing.assert_allclose(two.translation, one.translation, atol=1e-3)
    np.testing.assert_array_equal(two.identity, one.identity)
    assert _errors(two, seq) < 0.05


def test_iris_centres_count_while_the_eye_is_open_and_read_the_gaze(head, template):
    """The iris centres' weight follows MediaPipe's lid gap (nothing on a shut eye, where the landmark model guesses
    the iris); on a scene with known weights they bring the eyeLook* weights closer to the truth than the same fused
    solve without them (eyeLook* MAE 0.0084 -> 0.0057 when written)."""
    seq, Y, C, uv = _scene(head, template, T=30, seed=5)
    T = len(Y)
    Cf = C * fusion.dense_weight_map(head, template)
    lm = fusion.landmark_term(uv, np.ones(T), Cf.sum(1), seq.K, head, template)
    iris = [list(fusion.SOLVE_LANDMARKS).index(i) for i in lt.IRIS_CENTRES]
    shut = uv.copy()
    shut[:, lt.RIGHT_UPPER_LID] = shut[:, lt.RIGHT_LOWER_LID]
    w_shut = fusion.landmark_term(shut, np.ones(T), Cf.sum(1), seq.K, head, template).weight
    assert (lm.weight[:, iris] > 0).all() and (w_shut[:, iris[0]] == 0).all() and (w_shut[:, iris[1]] > 0).all()
    blind = type(lm)(lm.uv, lm.weight.copy(), lm.K, lm.mu, lm.B, lm.A)
    blind.weight[:, iris] = 0.0
    look = [n for n in ARKIT_NAMES if n.startswith("eyeLook")]
    with_iris, without = (_errors(solve(Y, Cf, head, landmarks=t), seq, look) for t in (lm, blind))
    assert with_iris < 0.9 * without, (without, with_iris)


def test_the_nose_has_the_larger_say_in_the_heads_pose_and_shape_and_each_landmark_its_say_in_the_weights(head,
                                                                                                      template):
    """fusion.landmark_term gives the nose's points up to NOSE_RIGID_SHARE times their say in the head's pose and
    identity, ramped by the eyes' distance apart in pixels on each frame, and every other point its weight's; in the
    Gauss-Newton blocks a point's share scales its rows' pose and identity derivatives alone: at share 0 the lips leave
    the pose and identity blocks as if they were not there, and the expression weights' blocks as they were."""
    import dataclasses
    from bake.solve import _landmark_system
    seq, Y, C, uv = _scene(head, template, T=6, seed=5)
    lm = fusion.landmark_term(uv, np.ones(len(Y)), np.full(len(Y), 1000.0), seq.K, head, template)
    nose = np.isin(fusion.SOLVE_LANDMARKS, lt.NOSE)
    assert nose.sum() == len(lt.NOSE) and fusion.NOSE_RIGID_SHARE > 1.0
    assert lm.rigid_share.shape == (len(Y), len(fusion.SOLVE_LANDMARKS))
    assert np.all(lm.rigid_share[:, nose] == fusion.NOSE_RIGID_SHARE) and np.all(lm.rigid_share[:, ~nose] == 1.0)
    assert np.array_equal(lm.take(np.array([4, 1])).rigid_share, lm.rigid_share[[4, 1]])
    alone = fusion.landmark_term(uv, np.ones(len(Y)), np.full(len(Y), 1000.0), seq.K, head, template, nose_share=False)
    assert alone.rigid_share is None and alone.take(np.array([0])).rigid_share is None
    lips = np.isin(fusion.SOLVE_LANDMARKS, lt.LIPS)
    moved = np.einsum("tji,tj->ti", seq.rotation, seq.translation) + np.random.default_rng(0).normal(0, 2.0, (6, 3))
    free, gone, full = (_landmark_system(term, seq.rotation, moved, seq.weights, seq.identity, 3.0, True)
                        for term in (dataclasses.replace(lm, rigid_share=np.where(lips, 0.0, 1.0)[None].repeat(6, 0)),
                                     dataclasses.replace(lm, rigid_share=None, weight=np.where(lips, 0.0, lm.weight)),
                                     dataclasses.replace(lm, rigid_share=None)))
    same = lambda a, b: np.allclose(a, b, rtol=1e-4, atol=1e-6)     # noqa: E731
    pose = slice(0, 7)
    assert same(free.H[:, pose, pose], gone.H[:, pose, pose]) and same(free.g[:, pose], gone.g[:, pose])
    assert same(free.Hii, gone.Hii) and same(free.gi, gone.gi) and same(free.Hxi[:, pose], gone.Hxi[:, pose])
    assert same(free.H[:, 7:, 7:], full.H[:, 7:, 7:]) and same(free.g[:, 7:], full.g[:, 7:])
    assert not same(full.H[:, pose, pose], gone.H[:, pose, pose]) and not same(full.Hii, gone.Hii)


def test_the_noses_larger_say_ramps_with_the_faces_size_in_pixels_and_its_light():
    """A face whose eye centres are RIGID_FROM_PX apart or less gives its nose no larger say (a few pixels of nose are
    as noisy as the rest), one RIGID_FULL_PX or more apart the whole NOSE_RIGID_SHARE, linear between; a frame without
    landmarks none; and the forehead's shadow ramps it back to none as it ramps the dense term down."""
    from core.face_models import EYE_CORNERS
    lo, hi = fusion.RIGID_FROM_PX, fusion.RIGID_FULL_PX
    apart = np.array([10.0, lo, 0.5 * (lo + hi), hi, 3 * hi, np.nan])
    marks = np.zeros((len(apart), lt.NUM_LANDMARKS, 2))
    for (a, b), side in zip(EYE_CORNERS, (-0.5, 0.5)):
        marks[:, [a, b], 0] = (side * apart)[:, None] + [[-3.0, 3.0]]
    share = fusion.rigid_share(marks)
    nose = np.isin(fusion.SOLVE_LANDMARKS, lt.NOSE)
    expected = [1.0, 1.0, 0.5 * (1.0 + fusion.NOSE_RIGID_SHARE), fusion.NOSE_RIGID_SHARE, fusion.NOSE_RIGID_SHARE, 1.0]
    assert np.allclose(share[:, nose], np.array(expected)[:, None]) and np.all(share[:, ~nose] == 1.0)
    # a forehead in shadow (a hat brim), where the landmarks lead the head's shape, takes the larger say away; lit, or
    # no reading, leaves it
    wide = np.repeat(marks[3:4], 4, axis=0)
    light = np.array([np.nan, fusion.SHADE_FREE, 0.5 * (fusion.SHADE_FREE + fusion.SHADE_FULL), fusion.SHADE_FULL])
    shaded = fusion.rigid_share(wide, light)[:, nose]
    assert np.allclose(shaded, np.array([fusion.NOSE_RIGID_SHARE, fusion.NOSE_RIGID_SHARE,
                                         0.5 * (1.0 + fusion.NOSE_RIGID_SHARE), 1.0])[:, None])
    assert np.allclose(fusion.shaded_dense(light), [1.0, 1.0, 0.5 * (1.0 + fusion.SHADED_DENSE), fusion.SHADED_DENSE])


def test_shut_lids_raise_the_blink_targets_and_open_ones_leave_them(head, template):
    """MediaPipe's blink scores stay near 0.5-0.6 on real shut eyes (the expressions clip), so the lids' own closure
    (MediaPipe's lid gap against the clip's open value, past a slack for a downward look) raises the eyeBlink
    targets; an open eye and every other shape keep the scores."""
    p = template.points(head.vertices.astype(np.float64), head)
    open_marks = (p[:, :2] * np.array([1.0, -1.0]))[None].repeat(3, 0)          # a frontal face in the image plane
    marks = open_marks.copy()
    for upper, lower in ((lt.RIGHT_UPPER_LID, lt.RIGHT_LOWER_LID), (lt.LEFT_UPPER_LID, lt.LEFT_LOWER_LID)):
        for t, shut in ((1, 1.0), (2, 0.3)):                   # frame 1 both eyes shut, frame 2 a third of the way
            mid = (marks[t, upper] + marks[t, lower]) / 2
            marks[t, upper] += shut * (mid - marks[t, upper])
            marks[t, lower] += shut * (mid - marks[t, lower])
    closure = fusion.lid_closure(lid_aspects(marks), fusion.open_aspects(lid_aspects(open_marks)))
    assert np.allclose(closure[0], 0.0) and np.allclose(closure[1], 1.0) and np.allclose(closure[2], 0.0)
    scores = np.full((3, 52), 0.2)
    target = fusion.arkit_prior(scores, np.ones(3), closure).target
    blink = [ARKIT_NAMES.index("eyeBlinkRight"), ARKIT_NAMES.index("eyeBlinkLeft")]
    assert np.allclose(target[1, blink], 1.0) and np.allclose(target[[0, 2]][:, blink], 0.2)
    others = np.setdiff1d(np.arange(52), blink)
    assert np.allclose(target[:, others], 0.2)


def test_a_magnified_crop_gives_the_sideways_shapes_a_prior_towards_the_scores():
    """jawLeft / jawRight / mouthLeft / mouthRight have no calibrated prior; on a frame whose network crop was
    magnified (source share under 1) they get one towards the scores, growing as the share falls to the weakest
    calibrated prior's strength; a frame read at full resolution, and every other shape, keep the prior they had."""
    scores = np.full((3, 52), 0.1)
    plain = fusion.arkit_prior(scores, np.ones(3))
    shared = fusion.arkit_prior(scores, np.ones(3), source_share=np.array([1.0, 0.75, 0.0]))
    cols = [ARKIT_NAMES.index(n) for n in fusion.SIDEWAYS_KEYS]
    full = fusion.PRIOR_MAX * fusion.PRIOR_MIN_R ** 2
    assert np.allclose(plain.strength[:, cols], 0.0)
    np.testing.assert_allclose(shared.strength[:, cols], np.array([[0.0], [0.25 * full], [full]]).repeat(4, 1))
    np.testing.assert_array_equal(np.delete(shared.strength, cols, 1), np.delete(plain.strength, cols, 1))
    np.testing.assert_array_equal(shared.target, plain.target)


def test_the_exported_fit_alone_pulls_the_sideways_shapes_and_the_dimples_towards_the_scores():
    """jawLeft / jawRight / mouthLeft / mouthRight, the dimples and the stray shapes: on every frame with a face the
    exported weights' own fit (not the head's) takes the weakest calibrated prior's strength towards the scores (a
    smirk is the lips', not the jaw's; a mouth wider than anny's smile is not a dimple MediaPipe does not see); a frame
    without a face none; with the frown's prior beside it, both."""
    scores = np.full((3, 52), 0.1)
    scores[:, ARKIT_NAMES.index("jawOpen")] = 0.0               # the lips together: the presses have no such prior
    cols = [ARKIT_NAMES.index(n) for n in fusion.SIDEWAYS_KEYS + fusion.DIMPLE_KEYS + fusion.STRAY_KEYS]
    weak = fusion.PRIOR_MAX * fusion.PRIOR_MIN_R ** 2
    ap = fusion.arkit_prior(scores, np.array([1.0, 1.0, 0.2]))
    assert np.allclose(ap.strength[:, cols], 0.0)
    np.testing.assert_allclose(ap.exported[:, cols], np.array([[weak], [weak], [0.0]]).repeat(len(cols), 1))
    assert not np.delete(ap.exported, cols, 1).any()
    np.testing.assert_allclose(ap.for_export().strength[:2, cols], weak)
    frown = fusion.arkit_prior(scores, np.ones(3), brows_at_rest=np.zeros(2))
    brows = [ARKIT_NAMES.index(n) for n in fusion.BROW_KEYS]
    np.testing.assert_allclose(frown.exported[:, cols], weak)
    np.testing.assert_allclose(frown.exported[:, brows], fusion.BROW_PRIOR)


def test_the_exported_fit_pulls_the_presses_towards_the_scores_as_far_as_the_lips_are_apart():
    """A press shuts the lips on each other: the presses take the sideways shapes' exported-only prior as far as
    MediaPipe's jawOpen score reads the mouth open (none at a closed mouth's score, all from the ramp's top, half way
    between); never the head's own fit, nor a frame without a face or without a jawOpen score."""
    lo, hi = fusion.JAW_OPEN_RAMP
    scores = np.full((5, 52), 0.1)
    jaw = ARKIT_NAMES.index("jawOpen")
    scores[:, jaw] = [0.01, lo, (lo + hi) / 2, 0.4, 0.4]
    presses = [ARKIT_NAMES.index(n) for n in fusion.PRESS_KEYS]
    weak = fusion.PRIOR_MAX * fusion.PRIOR_MIN_R ** 2
    ap = fusion.arkit_prior(scores, np.array([1.0, 1.0, 1.0, 1.0, 0.2]))
    want = np.array([[0.0], [0.0], [weak / 2], [weak], [0.0]]).repeat(2, 1)
    np.testing.assert_allclose(ap.exported[:, presses], want)
    assert (ap.strength[:, presses] == 0).all()
    scores[3, jaw] = np.nan
    assert not fusion.arkit_prior(scores, np.ones(5)).exported[3, presses].any()


def test_irises_pull_the_pose_only_as_far_as_the_real_face_terms_are_trusted(head, template):
    """The iris centres mark the eyeballs, which turn on their own: with near-exact dense observations (a tight fit,
    where bake.solve.real_face_trust weighs the real-face terms down) irises misread 6 px to one side, as the landmark
    model does on our renders, turn the gaze (eyeLook* by 0.04 on average) and move the head a third as far as the
    same irises allowed to pull the pose fully (0.10 against 0.30 mm median head shift when written)."""
    import dataclasses
    seq, _, C, uv = _scene(head, template, T=20, seed=4)
    rng = np.random.default_rng(2)                                # near-exact vertices: the dense fit is tight,
    Y = (seq.verts_cam + rng.normal(0, 0.5, seq.verts_cam.shape)).astype(np.float32)
    ray = (Y / Y[..., 2:3]).astype(np.float32)                    # each frame's anchor depth free, as from PnP
    T = len(Y)
    Cf = C * fusion.dense_weight_map(head, template)
    shifted = uv.copy()
    shifted[:, list(lt.IRIS_CENTRES), 0] += 6.0
    lm = fusion.landmark_term(shifted, np.ones(T), Cf.sum(1), seq.K, head, template)
    assert lm.gaze.sum() == 2
    clean = solve(Y, Cf, head, ray=ray,
                  landmarks=fusion.landmark_term(uv, np.ones(T), Cf.sum(1), seq.K, head, template))
    gaze, free = (solve(Y, Cf, head, ray=ray, landmarks=t) for t in (lm, dataclasses.replace(lm, gaze=None)))
    moved = [np.median(np.linalg.norm(r.translation - clean.translation, axis=1)) for r in (gaze, free)]
    assert moved[0] < 0.5 * moved[1], moved
    look = [ARKIT_NAMES.index(n) for n in ARKIT_NAMES if n.startswith("eyeLook")]
    assert np.abs(gaze.weights[:, look] - clean.weights[:, look]).mean() > 0.02


def test_staged_fit_follows_the_landmarks_while_the_exported_weights_stay_sparse(head, template):
    """With ``shape_unboosted`` the staged solve's head (``fit_weights`` and the pose) comes from the frames' fit
    before the L1 boost, the exported weights from the boosted fit (bake.solve.solve): on the loose scene above, the
    head reprojects onto the landmarks closer than the boosted fit's, and the exported weights are the boosted fit's
    (figures when written in the asserts' comments)."""
    from dataclasses import replace
    from bake.observations import solve_observations
    seq, uv, obs, dense, marks = _loose_staged(head, template)
    kw = dict(expression_dense=fusion.expression_dense)
    boosted = solve_observations(obs, head, 0, dense, marks, **kw).result
    split = solve_observations(obs, head, 0, dense, marks, shape_unboosted=True, **kw).result
    assert boosted.fit_weights is None and split.fit_weights is not None
    fitted = replace(split, weights=split.fit_weights)
    r_boosted, r_fit = (_reprojection(r, seq, uv, head, template) for r in (boosted, fitted))
    assert r_fit < 0.95 * r_boosted, (r_boosted, r_fit)                     # 1.99 -> 1.73 px
    # the fit spreads its weights (16.7 shapes over 0.02 a frame where the truth has 3.4, weight error 0.095), the
    # exported ones are sparse (5.9, 0.054)
    used = lambda w: (w > 0.02).sum(1).mean()                  # noqa: E731
    assert used(split.weights) < 0.7 * used(split.fit_weights), (used(split.weights), used(split.fit_weights))
    np.testing.assert_array_equal(split.weights, boosted.weights)
    np.testing.assert_array_equal(split.identity, boosted.identity)        # the first stage is untouched


def test_staged_fit_of_a_long_clip_comes_back_for_every_chunk(head, template, monkeypatch):
    """A clip past LONG_CLIP (made small here) solved in chunks: every chunk gives the head's own weights, so the
    clip's ``fit_weights`` cover all its frames (each chunk's own L1 boost decides where they differ)."""
    from bake import observations as ob
    monkeypatch.setattr(ob, "LONG_CLIP", 20)
    monkeypatch.setattr(ob, "CHUNK_FRAMES", 12)
    _, _, obs, dense, marks = _loose_staged(head, template)
    res = ob.solve_observations(obs, head, 0, dense, marks, expression_dense=fusion.expression_dense,
                                shape_unboosted=True).result
    assert res.fit_weights.shape == res.weights.shape == (len(obs), 52) and res.valid.all()
    for chunk in np.array_split(np.arange(len(obs)), [12, 24]):
        assert np.abs(res.fit_weights[chunk] - res.weights[chunk]).max() > 0.05


def test_the_real_face_terms_are_trusted_by_the_dense_term_fitted_alone(head, template):
    """bake.solve weighs the real-face terms by the dense term's residual fitted without them
    (``SolveResult.dense_residual_mm``, with the fusion's yield undone): fitted with them, the residual grows with
    their pull, and so did their trust (on exact maps of a held-out render, 0.46 mm alone against 1.03 fused).
    Near-exact dense observations (0.5 mm noise) and every blendshape score 0.3 too high: the measure is the
    dense-only solve's residual, the fused fit's own is larger, and the fit trusted by it stays nearer the truth than
    one given full trust (figures when written in the comments)."""
    seq, _, C, uv = _scene(head, template, T=20, seed=4)
    rng = np.random.default_rng(2)
    Y = (seq.verts_cam + rng.normal(0, 0.5, seq.verts_cam.shape)).astype(np.float32)
    ray = (Y / Y[..., 2:3]).astype(np.float32)
    T = len(Y)
    yielded = fusion.dense_weight_map(head, template)
    Cf = C * yielded
    lm = fusion.landmark_term(uv, np.ones(T), Cf.sum(1), seq.K, head, template)
    prior = fusion.arkit_prior(np.clip(seq.weights + 0.3, 0.0, 1.0), np.ones(T))
    alone = solve(Y, C, head, ray=ray)
    fused = solve(Y, Cf, head, ray=ray, landmarks=lm, arkit_prior=prior, yielded=yielded)
    assert fused.dense_residual_mm == pytest.approx(np.nanmedian(alone.rms), rel=0.01)           # 0.78 mm
    assert np.nanmedian(fused.rms) > 1.1 * fused.dense_residual_mm                               # 0.90 mm
    trusted = solve(Y, Cf, head, ray=ray, landmarks=lm, arkit_prior=prior, yielded=yielded,
                    dense_residual_mm=LANDMARK_REF_MM)
    err = lambda r: np.abs(r.weights - seq.weights).mean()                  # noqa: E731
    assert err(fused) < 0.8 * err(trusted), (err(fused), err(trusted))                      # 0.076, 0.122
    assert alone.dense_residual_mm is None                  # no real-face terms: nothing to weigh


def test_the_staged_solve_trusts_the_real_face_terms_as_its_first_stage_did(head, template, monkeypatch):
    """The second stage of bake.observations' staged solve (the frames, the identity fixed) takes the first stage's
    dense residual fitted alone instead of measuring its own, on fewer dense confidences."""
    from bake import observations as ob
    seen = []
    solve_once = ob.solve

    def spy(*a, **k):
        res = solve_once(*a, **k)
        seen.append((k.get("dense_residual_mm"), res.dense_residual_mm))
        return res
    monkeypatch.setattr(ob, "solve", spy)
    _, _, obs, dense, marks = _loose_staged(head, template)
    ob.solve_observations(obs, head, 0, dense, marks, expression_dense=fusion.expression_dense)
    (given_first, first), (given_second, second) = seen
    assert given_first is None and first > 0
    assert given_second == first == second


def test_the_dense_fit_alone_beside_the_full_trust_fit_changes_nothing(head, template, monkeypatch):
    """bake.solve runs the dense term's fit alone on a second thread beside the fit at full trust: the same result,
    to the bit, as the two one after the other, where the trust comes out full (2 mm noise) and where it does not
    (0.5 mm: the full-trust fit is done again with the terms weighed down)."""
    from concurrent.futures import Future
    import bake.solve as bs

    class InTurn:                        # a one-worker pool that runs each job at once, on the calling thread
        def __init__(self, *a, **k):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, *a, **k):
            done = Future()
            done.set_result(fn(*a, **k))
            return done
    seq, _, C, uv = _scene(head, template, T=12, seed=5)
    rng = np.random.default_rng(3)
    T = len(C)
    yielded = fusion.dense_weight_map(head, template)
    Cf = C * yielded
    lm = fusion.landmark_term(uv, np.ones(T), Cf.sum(1), seq.K, head, template)
    prior = fusion.arkit_prior(np.clip(seq.weights + 0.2, 0.0, 1.0), np.ones(T))
    measured = []
    for noise in (2.0, 0.5):
        Y = (seq.verts_cam + rng.normal(0, noise, seq.verts_cam.shape)).astype(np.float32)
        ray = (Y / Y[..., 2:3]).astype(np.float32)
        beside = solve(Y, Cf, head, ray=ray, landmarks=lm, arkit_prior=prior, yielded=yielded)
        with monkeypatch.context() as m:
            m.setattr(bs, "ThreadPoolExecutor", InTurn)
            in_turn = solve(Y, Cf, head, ray=ray, landmarks=lm, arkit_prior=prior, yielded=yielded)
        assert beside.dense_residual_mm == in_turn.dense_residual_mm
        measured.append(in_turn.dense_residual_mm)
        for name in ("identity", "weights", "rotation", "translation"):
            np.testing.assert_array_equal(getattr(beside, name), getattr(in_turn, name))
    assert measured[0] > LANDMARK_REF_MM > measured[1], measured       # full trust, then less


def test_a_closing_eyes_blink_keeps_up_with_the_heads_lids(head):
    """On frames where the lids are closing, the exported eyeBlink is at least the blink that shuts the head's lids as
    far as its fit does, counting the other exported weights; elsewhere, and where it is already higher, it stays."""
    from bake.fusion import closing_blinks, lid_gap_rates
    names = head.arkit_names
    blink, squint = names.index("eyeBlinkRight"), names.index("eyeSquintRight")
    rates = lid_gap_rates(head)[0]
    assert rates[blink] < -5.0 < rates[squint] < 0.0 and rates[names.index("eyeBlinkLeft")] == 0.0
    fit, exported = np.zeros((5, 52)), np.zeros((5, 52))
    exported[:, blink] = 0.2
    fit[0, blink] = 0.6                                     # the fit's blink alone
    fit[1, [blink, squint]] = 0.3, 0.9                      # a blink and a squint: their gap in blink's terms
    fit[2, [blink, squint]] = 0.3, 0.9
    exported[2, squint] = 0.9                               # the squint exported too: the blink alone counts
    fit[3, blink] = 0.8                                     # an eye that is not closing
    exported[4, blink], fit[4, blink] = 0.7, 0.5           # never lowered
    closing = np.array([True, True, True, False, True])[:, None].repeat(2, 1)
    out = closing_blinks(exported, fit, head, closing)
    want = [0.6, 0.3 + 0.9 * rates[squint] / rates[blink], 0.3, 0.2, 0.7]
    np.testing.assert_allclose(out[:, blink], want, atol=1e-6)
    np.testing.assert_array_equal(np.delete(out, blink, 1), np.delete(exported, blink, 1))


def test_the_exported_gaze_is_the_fits_where_the_eye_is_open_and_held_under_shut_lids():
    """fit_gaze: each eye's eyeLook* weights come from the fit as far as the eye is open; under a shut lid (or a frame
    without landmarks) the eye keeps the gaze of the open frames around it, linear between them and held at the
    ends; an eye never open keeps the exported gaze, and no other weight moves."""
    from core.head_model import ARKIT_NAMES
    from bake.fusion import GAZE_KEYS, eyes_open, fit_gaze
    down_r, down_l = ARKIT_NAMES.index("eyeLookDownRight"), ARKIT_NAMES.index("eyeLookDownLeft")
    assert GAZE_KEYS[0][0] == "eyeLookDownRight" and len({n for eye in GAZE_KEYS for n in eye}) == 8
    T = 6
    fit = np.zeros((T, 52))
    fit[:, down_r] = [0.2, 0.4, 1.0, 1.0, 0.6, 0.8]         # the fit's blink frames 2-3 read as a look down
    fit[:, down_l] = 0.5
    fit[:, ARKIT_NAMES.index("jawOpen")] = 0.9
    exported = np.zeros((T, 52), np.float32)
    exported[:, down_l] = 0.1
    opened = np.ones((T, 2))
    opened[2:4, 0] = 0.0                                    # the right eye shut on frames 2-3
    opened[5, 0] = 0.5                                      # and half shut on the last
    opened[:, 1] = 0.0                                      # the left eye never open
    out = fit_gaze(exported, fit, opened)
    np.testing.assert_allclose(out[:, down_r], [0.2, 0.4, 0.4 + 0.2 / 3, 0.4 + 0.4 / 3, 0.6, 0.5 * 0.8 + 0.5 * 0.6],
                               atol=1e-6)
    np.testing.assert_array_equal(np.delete(out, down_r, 1), np.delete(exported, down_r, 1))
    assert out.dtype == exported.dtype
    marks = np.full((3, 478, 2), np.nan)                    # a frame without landmarks counts as shut
    rng = np.random.default_rng(0)
    marks[:2] = rng.uniform(0, 100, (2, 478, 2))
    opened = eyes_open(lid_aspects(marks), np.array([0.01, 0.01]))
    assert (opened[:2] == 1).all() and (opened[2] == 0).all()


def test_a_gaze_held_under_shut_lids_looks_one_way_at_a_time():
    """fit_gaze: under a shut lid between an open frame that looks up and one that looks down (and in, then out),
    the held look passes through level: never up and down, nor in and out, at once (an eye turns one way per
    axis); a half-open frame blends the signed looks; the open frames keep the fit's weights as they are."""
    from bake.fusion import fit_gaze
    k = {n: ARKIT_NAMES.index(n) for n in ("eyeLookUpRight", "eyeLookDownRight", "eyeLookInRight",
                                            "eyeLookOutRight")}
    T = 6
    fit = np.zeros((T, 52))
    fit[0, k["eyeLookUpRight"]], fit[0, k["eyeLookInRight"]] = 0.4, 0.2
    fit[5, k["eyeLookDownRight"]], fit[5, k["eyeLookOutRight"]] = 0.4, 0.2
    fit[1:5, k["eyeLookUpRight"]] = fit[1:5, k["eyeLookDownRight"]] = 0.3    # the lids' guess under the shut lid
    fit[4, k["eyeLookInRight"]] = 0.5
    opened = np.ones((T, 2))
    opened[1:4, 0] = 0.0
    opened[4, 0] = 0.5
    out = fit_gaze(np.zeros((T, 52)), fit, opened)
    up_less_down = out[:, k["eyeLookUpRight"]] - out[:, k["eyeLookDownRight"]]
    np.testing.assert_allclose(up_less_down[:4], [0.4, 0.24, 0.08, -0.08], atol=1e-9)
    np.testing.assert_allclose(up_less_down[4], 0.5 * 0.0 + 0.5 * -0.24, atol=1e-9)
    np.testing.assert_allclose(out[4, k["eyeLookInRight"]] - out[4, k["eyeLookOutRight"]], 0.5 * 0.5 + 0.5 * -0.12,
                               atol=1e-9)
    for one, other in (("eyeLookUpRight", "eyeLookDownRight"), ("eyeLookInRight", "eyeLookOutRight")):
        assert (np.minimum(out[:, k[one]], out[:, k[other]]) == 0).all()
    np.testing.assert_array_equal(out[[0, 5]], fit[[0, 5]])


def test_each_eye_looks_one_way_per_axis_after_the_filter():
    """one_way_looks: of each eye's eyeLookUp / eyeLookDown and eyeLookIn / eyeLookOut the smaller comes off both, so
    the look's way and size per axis stay and no axis reads both ways; other weights, a residual column and the dtype
    are kept."""
    from bake.fusion import one_way_looks
    k = {n: ARKIT_NAMES.index(n) for n in ("eyeLookUpLeft", "eyeLookDownLeft", "eyeLookInRight", "eyeLookOutRight",
                                            "eyeLookUpRight", "jawOpen")}
    w = np.zeros((3, 53), np.float32)
    w[:, k["eyeLookUpLeft"]], w[:, k["eyeLookDownLeft"]] = [0.3, 0.0, 0.1], [0.1, 0.2, 0.1]
    w[:, k["eyeLookInRight"]], w[:, k["eyeLookOutRight"]] = [0.05, 0.4, 0.0], [0.05, 0.1, 0.0]
    w[:, k["eyeLookUpRight"]], w[:, k["jawOpen"]], w[:, 52] = 0.2, 0.5, 0.7
    out = one_way_looks(w)
    np.testing.assert_allclose(out[:, k["eyeLookUpLeft"]] - out[:, k["eyeLookDownLeft"]], [0.2, -0.2, 0.0], atol=1e-7)
    np.testing.assert_allclose(out[:, k["eyeLookInRight"]], [0.0, 0.3, 0.0], atol=1e-7)
    assert (out[:, k["eyeLookOutRight"]] == 0).all() and (out[:, k["eyeLookDownLeft"]][[0, 2]] == 0).all()
    for n in ("eyeLookUpRight", "jawOpen"):
        np.testing.assert_array_equal(out[:, k[n]], w[:, k[n]])
    np.testing.assert_array_equal(out[:, 52], w[:, 52])
    assert out.dtype == w.dtype


def test_an_open_eye_narrowed_beyond_the_exported_lids_is_exported_as_squint(head):
    """narrowed_squints: as far as the eye is open, the exported eyeSquint narrows the lids to the head's fit's gap
    where the exported lids are wider; where they are already as narrow, on a shut eye, and for other weights,
    nothing moves; eyeSquint stops at 1."""
    from bake.fusion import SQUINT_KEYS, lid_gap_rates, narrowed_squints
    names = head.arkit_names
    blink, squint, smile = names.index("eyeBlinkRight"), names.index(SQUINT_KEYS[0]), names.index("mouthSmileRight")
    rates = lid_gap_rates(head)
    fit, exported = np.zeros((5, 52)), np.zeros((5, 52))
    exported[:, smile] = fit[:, smile] = 0.6
    fit[0, blink] = 0.2                             # the head's lids 0.2 of a blink narrower: as squint
    fit[1, blink] = 0.2                             # half open
    exported[2, blink] = 0.4                        # the exported lids narrower already
    fit[2, blink] = 0.2
    fit[3, blink] = 0.2                             # shut
    fit[4, blink] = 0.9                             # more than a whole squint narrows
    open_eyes = np.array([[1.0, 1.0], [0.5, 0.5], [1.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    out = narrowed_squints(exported, fit, head, open_eyes)
    one = 0.2 * rates[0, blink] / rates[0, squint]
    np.testing.assert_allclose(out[:, squint], [one, 0.5 * one, 0.0, 0.0, 1.0], atol=1e-9)
    np.testing.assert_allclose((out[0] - fit[0]) @ rates[0], 0.0, atol=1e-9)      # the head's gap
    np.testing.assert_array_equal(np.delete(out, squint, 1), np.delete(exported, squint, 1))


def test_nonneg_fit_matches_scipy_nnls():
    from scipy.optimize import nnls
    rng = np.random.default_rng(4)
    A = rng.uniform(-1, 3, (20, 3))
    Y = rng.normal(0, 2, (40, 20))
    Y[:5] = rng.uniform(0, 1, (5, 3)) @ A.T                  # exactly made of the columns, none negative
    got = fusion._nonneg_fit(A, Y)
    np.testing.assert_allclose(got, [nnls(A, y)[0] for y in Y], atol=1e-9)
    assert (got >= 0).all() and (got == 0).any()


def test_brows_the_head_raises_above_their_rest_are_raised_in_the_exported_weights(head):
    """raised_brows: where the head's fit raises its brows above their rest (the median over the seen frames) and the
    exported weights do not, the raising shapes make up the difference; a frown, a raise the exported weights
    already have, and unseen frames are left; at most 1."""
    from bake.fusion import BROW_UP_KEYS, raised_brows
    names = head.arkit_names
    inner, left, right = (names.index(n) for n in BROW_UP_KEYS)
    down, jaw = names.index("browDownLeft"), names.index("jawOpen")
    fit, exported = np.zeros((40, 52)), np.zeros((40, 52))         # a clip mostly at rest
    exported[:, jaw] = fit[:, jaw] = 0.3
    fit[0, inner] = 0.4                             # the head's inner brows up: the exported ones not
    fit[1, [inner, left, right]] = 0.5              # a surprise
    fit[2, left] = exported[2, left] = 0.6          # the exported weights raise it already
    fit[3, down] = 0.7                              # a frown
    fit[4, inner] = 0.5                             # not seen
    fit[5, inner] = 3.0                             # more than a whole shape
    seen = np.ones(40, bool)
    seen[4] = False
    out = raised_brows(exported, fit, head, seen)
    # (within 0.01: browInnerUp lowers the outermost brow points a little, and only heights above rest count)
    np.testing.assert_allclose(out[0, [inner, left, right]], [0.4, 0, 0], atol=0.01)
    np.testing.assert_allclose(out[1, [inner, left, right]], [0.5, 0.5, 0.5], atol=0.01)
    np.testing.assert_allclose(out[2, [inner, left, right]], [0, 0.6, 0], atol=0.01)
    np.testing.assert_allclose(out[[3, 4, 6], :][:, [inner, left, right]], 0.0, atol=0.01)
    assert out[5, inner] == 1.0
    cols = [inner, left, right]
    np.testing.assert_array_equal(np.delete(out, cols, 1), np.delete(exported, cols, 1))
    # brows that jump from frame to frame (landmarks that cannot see them) raise nothing but what stands out
    jumpy = fit.copy()
    jumpy[6:, inner] = np.random.default_rng(2).uniform(0.0, 0.3, 34)
    out = raised_brows(exported, jumpy, head, seen)
    assert out[6:, inner].max() < 0.1 and out[1, inner] > 0.1


def test_the_frowns_scores_less_the_clips_rest_are_targets_of_the_exported_weights_only():
    """MediaPipe reads each subject's resting brows at an offset of its own: the browDown scores less their low
    quantile over the clip (frames whose face is barely there left out) are targets with strength only for the
    exported weights' own fit (bake.solve.ArkitPrior.exported); every other shape keeps its score and strength."""
    T = 5
    cols = [ARKIT_NAMES.index(n) for n in fusion.BROW_KEYS]
    scores = np.full((T, 52), 0.2)
    scores[:, cols] = np.array([0.6, 0.65, 0.7, 0.9, 0.62])[:, None]
    presence = np.ones(T)
    presence[3] = 0.1
    rest = fusion.brow_rest(scores, presence)
    assert np.allclose(rest, np.quantile([0.6, 0.65, 0.7, 0.62], fusion.BROW_REST_QUANTILE))
    ap = fusion.arkit_prior(scores, presence, None, rest)
    assert np.allclose(ap.target[:, cols], np.clip(scores[:, cols] - rest, 0.0, 1.0))
    assert (ap.strength[:, cols] == 0).all()                               # not for the head's own fit
    assert np.allclose(ap.exported[[0, 1, 2, 4]][:, cols], fusion.BROW_PRIOR) and (ap.exported[3] == 0).all()
    sideways = [ARKIT_NAMES.index(n) for n in fusion.SIDEWAYS_KEYS + fusion.DIMPLE_KEYS + fusion.STRAY_KEYS
                + fusion.PRESS_KEYS]
    others = np.setdiff1d(np.arange(52), cols + sideways)
    plain = fusion.arkit_prior(scores, presence)
    assert not plain.exported[:, cols].any() and not plain.exported[:, others].any()
    assert (ap.exported[:, others] == 0).all()
    np.testing.assert_array_equal(ap.target[:, others], plain.target[:, others])
    np.testing.assert_array_equal(ap.strength, plain.strength)
    assert np.allclose(ap.for_export().strength[:, cols][[0, 1, 2, 4]], fusion.BROW_PRIOR)
    assert np.allclose(fusion.brow_rest(np.full((2, 52), np.nan), np.ones(2)), 0.0)      # never read: no offset


def test_a_prior_on_the_exported_weights_alone_leaves_the_heads_fit_as_it_was(head, template):
    """``ArkitPrior.exported`` pulls the exported weights of the staged solve (its boosted fit) and nothing else:
    the head's own fit and the identity are those of the solve without it, bit for bit."""
    from bake.observations import solve_observations
    seq, uv, obs, dense, marks = _loose_staged(head, template)
    T, k = len(obs), ARKIT_NAMES.index("browDownLeft")
    target = np.zeros((T, 52))
    target[:, k] = 0.6
    exported = np.zeros((T, 52))
    exported[:, k] = fusion.BROW_PRIOR

    def prior(with_exported):
        ap = ArkitPrior(target, np.zeros((T, 52)), exported if with_exported else None)
        return ap.take
    kw = dict(expression_dense=fusion.expression_dense, shape_unboosted=True)
    plain = solve_observations(obs, head, 0, dense, marks, prior(False), **kw).result
    pulled = solve_observations(obs, head, 0, dense, marks, prior(True), **kw).result
    np.testing.assert_array_equal(pulled.fit_weights, plain.fit_weights)
    np.testing.assert_array_equal(pulled.identity, plain.identity)
    assert pulled.weights[:, k].mean() > plain.weights[:, k].mean() + 0.3      # 0.01 -> 0.53 towards 0.6


def test_an_eye_whose_lids_rest_is_exported_no_more_shut_than_at_rest():
    """rested_blinks: eyeBlink at most the eye's rest where MediaPipe's lids read at rest (REST_FRACTION of the
    open gap or more), no limit but a shut eye's blink where they close past CLOSURE_SLACK or are unread, linear
    between; an eye whose open gap never reads open (IRIS_SHUT + IRIS_OPEN_RAMP) is left as it is, as is every
    other weight."""
    from bake.fusion import BLINK_KEYS, CLOSURE_SLACK, REST_FRACTION, rested_blinks
    right, left = (ARKIT_NAMES.index(n) for n in BLINK_KEYS)
    closing = 1.0 - CLOSURE_SLACK
    ratio = np.array([1.0, REST_FRACTION, closing, 0.5 * (closing + REST_FRACTION), 0.2, np.nan])
    aspects = np.stack([0.3 * ratio, 0.3 * ratio], 1)
    weights = np.full((6, 52), 0.7)
    out = rested_blinks(weights, aspects, np.array([0.3, 0.1]), np.array([0.1, 0.1]), np.array([1.2, 1.2]))
    np.testing.assert_allclose(out[:, right], [0.1, 0.1, 0.7, 0.65, 0.7, 0.7])    # the middle one: 0.1 + 0.5 x 1.1
    np.testing.assert_allclose(out[:, left], 0.7)                     # its open gap 0.1: an eye that never opens
    np.testing.assert_array_equal(np.delete(out, [right, left], 1), np.delete(weights, [right, left], 1))


def _turn(axis, degrees):
    """(3, 3) rotation by ``degrees`` about unit ``axis``."""
    a = np.asarray(axis, np.float64) / np.linalg.norm(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    t = np.radians(degrees)
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


def test_the_skulls_turn_is_read_from_the_landmark_models_own_depth(head, template):
    """fusion.skull_rotations reads each frame's head -> camera turn from landmarks as MediaPipe gives them (frame
    pixels, and a relative depth at the pixels' scale along the ray through the face, as the model sees its crop): on
    a head turned 25 degrees and tilted 8, rolled 12, or 14 degrees below the optical axis, the template's own points
    projected so, within half a degree (read along the optical axis instead, the last 5 degrees off); a frame without
    landmarks reads NaN."""
    K = np.array([[900.0, 0, 320], [0, 900.0, 240], [0, 0, 1]])
    R = [_turn([0, 1, 0], 25) @ _turn([1, 0, 0], 8), _turn([0, 0, 1], -12), _turn([1, 0, 0], -5)]
    at = [[10.0, -5.0, 600.0], [-60.0, 20.0, 500.0], [0.0, 150.0, 600.0]]
    from core.head_model import HEAD_TO_CV
    p = template.points(head.vertices.astype(np.float64), head)
    marks = np.full((4, lt.NUM_LANDMARKS, 3), np.nan)
    for t, (r, x) in enumerate(zip(R, at)):
        cam = p @ (r @ HEAD_TO_CV).T + x
        skull = cam[list(fusion.SKULL_POINTS)]
        axis = (skull / skull[:, 2:]).mean(0)                  # the ray through the skull points' pixel centre
        along = cam @ (axis / np.linalg.norm(axis))
        marks[t, :, :2] = cam[:, :2] / cam[:, 2:] * 900.0 + [320, 240]
        marks[t, :, 2] = (along - along.mean()) * 900.0 / along.mean()
    got = fusion.skull_rotations(marks, K, head, template)

    def off(a, b):
        return np.degrees(np.arccos(np.clip((np.trace(a.T @ b) - 1) / 2, -1, 1)))
    for t, r in enumerate(R):
        assert off(got[t], r @ HEAD_TO_CV) < 0.5, t
    assert np.isnan(got[3]).all()
    idx = list(fusion.SKULL_POINTS)                  # the same depths taken along the optical axis: misread
    u, v, depth = marks[2, idx, 0], marks[2, idx, 1], 900.0 + marks[2, idx, 2]
    pts = np.stack([(u - 320) / 900 * depth, (v - 240) / 900 * depth, depth], -1)
    from bake.solve import kabsch
    model = template.points(head.vertices.astype(np.float64), head)[idx]
    assert off(kabsch(model, pts[None], np.ones((1, len(idx))))[0][0], R[2] @ HEAD_TO_CV) > 5.0


def test_the_skulls_turn_pulls_each_frames_pitch_as_the_face_is_large(head, template):
    """landmark_term's ``skull`` pulls each frame's pitch towards it by SKULL_SHARE of the frame's landmark weight at
    SKULL_RADIUS_MM, ramped in with the face's size (none under RIGID_FROM_PX between the eyes): a solve whose skull
    turns pitch 6 degrees off the truth on half the frames leans towards them, one without keeps the landmarks' and
    the network's; with ``skull_pitch`` at the median gap (bake.solve.skull_pitch_gap) it follows the skull's change
    between the frames, not its level."""
    import dataclasses
    from bake.solve import skull_pitch_gap
    seq, Y, C, uv = _scene(head, template, T=8, seed=5)
    T = len(Y)
    tip = np.where(np.arange(T) % 2 == 1, 6.0, 0.0)                  # degrees about the head's sideways axis
    lean = np.stack([r @ _turn([1, 0, 0], d) for r, d in zip(seq.rotation, tip)])
    Cf = C * fusion.dense_weight_map(head, template)
    lm = fusion.landmark_term(uv, np.ones(T), Cf.sum(1), seq.K, head, template, skull=lean)
    ramp = fusion.size_ramp(uv)
    assert np.allclose(lm.skull_share, fusion.SKULL_SHARE * fusion.SKULL_RADIUS_MM ** 2 * ramp) and ramp.min() > 0
    assert np.array_equal(lm.take(np.array([3, 1])).skull, lean[[3, 1]])
    plain = fusion.landmark_term(uv, np.ones(T), Cf.sum(1), seq.K, head, template)
    assert plain.skull is None and plain.skull_share is None

    def gaps(res):                                   # degrees each frame pitches beyond its skull turn
        return np.array([np.degrees(skull_pitch_gap(lm.take(np.array([t])), res.rotation[t:t + 1]))
                         for t in range(T)])
    free, pulled = gaps(solve(Y, Cf, head, landmarks=plain)), gaps(solve(Y, Cf, head, landmarks=lm))
    assert np.abs(pulled[1::2]).mean() < np.abs(free[1::2]).mean() - 1.0, (free, pulled)
    level = dataclasses.replace(lm, skull_pitch=float(np.radians(np.median(free))))
    held = gaps(solve(Y, Cf, head, landmarks=level))
    change = lambda g: (g[1::2] - g[0::2]).mean()                                     # noqa: E731
    assert abs(change(held)) < abs(change(free)) - 0.4, (free, held)   # the change between the frames followed
    assert abs(np.median(held) - np.median(free)) < 0.5 * abs(np.median(pulled) - np.median(free)) + 0.05
    small = uv * 0.2                                               # a face a fifth the size: no pull
    assert np.all(fusion.landmark_term(small, np.ones(T), Cf.sum(1), seq.K, head, template, skull=lean).skull_share
                  == 0.0)
