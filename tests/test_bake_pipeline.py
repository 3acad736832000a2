import dataclasses
import numpy as np
import pytest

from training import groundtruth as gt
from bake.correspond import correspond
from bake.pipeline import Cancelled, ReconConfig, bake_observations, reconstruct
from core import landmark_template as lt
from core.errors import BakeError, FootageError, InputError
from core.eyelids import lid_aspects
from core.points import to_point_cloud


def _require_model():
    """The bundled network ships with the repository and core.runtime/core.track import only required packages:
    anything missing here is a broken checkout or install, a failure rather than a skip."""
    import core.runtime  # noqa: F401
    import core.track  # noqa: F401
    from core.presets import default_model_path
    assert default_model_path().is_file(), f"the bundled default model {default_model_path()} is missing"


def test_config_validation():
    """Invalid settings are bad input (InputError, exit code 2), wherever the config is built."""
    for bad in (dict(head_pose="keys"), dict(head_pose="object"), dict(smoothing=2.0), dict(focal_px=-3.0),
                dict(batch=0), dict(max_gap=-1), dict(backfill=-1), dict(focal_mm=float("nan")),
                dict(face_point=(0.5,)), dict(face_point=(0.5, 1.5)), dict(reframe=-1), dict(reframe=6),
                dict(residual_keys=17), dict(fusion="both"), dict(stride=0), dict(start=5, end=5), dict(start=-1),
                dict(providers=())):
        with pytest.raises(InputError) as e:
            ReconConfig("x.mp4", **bad)
        assert e.value.exit_code == 2


def test_missing_file_is_footage_error(tmp_path):
    with pytest.raises(FootageError):
        reconstruct(ReconConfig(str(tmp_path / "nope.mp4")))


def test_no_face_anywhere_is_bake_error(head):
    with pytest.raises(BakeError, match="no face"):
        bake_observations([None] * 5, np.arange(5), 30.0, np.eye(3), (640, 480), head)


def test_bake_observations_builds_tracks(head):
    T = 8
    seq = gt.make_sequence(head, T, seed=9, id_scale=0.0)
    obs = []
    for t in range(T):
        pred, box = gt.render_prediction(head, seq.verts_cam[t], seq.translation[t], seq.K, 96)
        obs.append(None if t == 4 else correspond(to_point_cloud(pred, box, seq.K, head, t), head))
    tracks, stats = bake_observations(obs, np.arange(10, 10 + T), 25.0, seq.K, seq.size, head, smoothing=0.3,
                                      residual_keys=1)
    assert tracks.key_names[:52] == head.arkit_names and tracks.key_names[52] == "residual_00"
    assert tracks.weights.shape == (T, 53) and tracks.key_deltas.shape == (53, head.n_vertices, 3)
    assert (tracks.weights[:, :52] >= 0).all() and (tracks.weights[:, :52] <= 1).all()
    assert list(tracks.frames) == list(range(11, 11 + T)) and tracks.fps == 25.0
    assert not tracks.tracked[4] and tracks.tracked.sum() == T - 1
    assert stats.frames_tracked == T - 1 and stats.frames_bridged == 1 and "solve" in stats.stage_seconds
    assert np.abs(tracks.head_translation[:, 2] - seq.translation[:, 2]).max() < 20.0
    assert tracks.region.shape == (head.n_vertices,) and tracks.image_size == seq.size


def test_a_turning_cameras_shake_goes_on_the_camera_and_the_head_keeps_its_own_motion(head):
    """bake.camera_turn through the bake: a head filmed by a camera shaking 1.5 degrees from frame to frame. Given the
    background's views, the camera takes the shake (SceneTracks.camera_rotation, BakeStats.camera_degrees), the head's
    turn in the world follows its true turn within a few tenths of a degree and steadier than the still camera's
    head does, and against each frame's camera the head still follows the shake (the footage's pixels). Views that
    say the camera hardly turns leave it still, with a warning why."""
    import cv2
    from bake.camera_turn import turn_degrees, world_rotation
    T = 12
    seq = gt.make_sequence(head, T, seed=9, id_scale=0.0)
    rng = np.random.default_rng(4)
    views = np.radians(rng.normal(0, 1.5, (T, 3)))
    views[0] = 0
    shake = np.stack([cv2.Rodrigues(v)[0] for v in views])            # each frame's camera -> the first frame's
    obs = []
    for t in range(T):                    # the camera turned by shake[t] sees the head's points turned back
        verts, origin = seq.verts_cam[t] @ shake[t], shake[t].T @ seq.translation[t]
        pred, box = gt.render_prediction(head, verts.astype(np.float32), origin, seq.K, 96)
        obs.append(correspond(to_point_cloud(pred, box, seq.K, head, t), head))
    args = (obs, np.arange(T), 25.0, seq.K, seq.size, head)

    def degrees(a, b):                                               # per frame, how far apart two turns are
        return turn_degrees(a @ np.transpose(b, (0, 2, 1)))
    still, still_stats = bake_observations(*args)
    turned, stats = bake_observations(*args, camera_views=views)
    assert still.camera_rotation is None and still_stats.camera_degrees is None
    np.testing.assert_allclose(turned.camera_rotation, shake, atol=1e-12)
    assert stats.camera_degrees == pytest.approx(np.degrees(np.linalg.norm(views, axis=1)).max())
    world, still_world = degrees(world_rotation(turned), seq.rotation), degrees(world_rotation(still), seq.rotation)
    assert np.median(world) < 0.5 and np.median(world) < 0.5 * np.median(still_world), (world, still_world)
    footage = np.transpose(shake, (0, 2, 1)) @ seq.rotation          # the head against each frame's camera
    on_footage, still_on_footage = degrees(turned.head_rotation, footage), degrees(still.head_rotation, footage)
    assert np.median(on_footage) < 0.5 and np.median(on_footage) < 0.5 * np.median(still_on_footage), on_footage
    hardly, hardly_stats = bake_observations(*args, camera_views=views * 0.1)
    assert hardly.camera_rotation is None and any("the camera stays still" in w for w in hardly_stats.warnings)
    rolls = np.r_[np.nan, np.diff(views[:, 2])]              # the background's roll, read with the camera still
    _, hinted = bake_observations(*args, background_turns=rolls)
    assert any("--camera-turn background" in w for w in hinted.warnings)
    assert not any("--camera-turn background" in w for w in stats.warnings)


def test_observe_reads_the_cameras_views_only_when_asked():
    _require_model()
    import bake.pipeline as pl
    from bake.demo import SAMPLE_CLIP
    assert pl.observe(ReconConfig(str(SAMPLE_CLIP), end=6)).camera_views == ()
    asked = pl.observe(ReconConfig(str(SAMPLE_CLIP), end=6, camera_turn="background"))
    assert len(asked.camera_views) == len(asked.frames) and all(np.shape(v) == (3,) for v in asked.camera_views)


def _projector(K):
    """Camera points (..., 3) -> pixels (..., 2) through K."""
    return lambda p: p[..., :2] / p[..., 2:3] * np.diag(K)[:2] + K[:2, 2]


def _fused_scene(head, seq, Y, uv):
    """``bake_observations``' leading arguments for dense observations ``Y`` (T, V, 3) camera mm of every default
    vertex of ``seq`` (a gt sequence), and the tracker's faces with landmarks at ``uv`` (T, 478, 2) pixels."""
    from bake.correspond import VertexObservation, default_vertex_mask
    from core.types import CropBox, FaceState
    Y = np.asarray(Y, np.float32)
    ray = (Y / np.linalg.norm(Y, axis=-1, keepdims=True)).astype(np.float32)
    C = default_vertex_mask(head).astype(np.float32)
    T = len(Y)
    obs = [VertexObservation(t, Y[t], ray[t], C, float(seq.translation[t, 2]), None) for t in range(T)]
    p = lt.load().points(seq.verts_cam.astype(np.float64), head)   # as the landmark model's: relative depth at the
    axis = p.mean(1) / np.linalg.norm(p.mean(1), axis=-1, keepdims=True)    # pixels' scale, along the ray to the face
    z = np.einsum("tlk,tk->tl", p, axis)[..., None]
    z = (z - z.mean(1, keepdims=True)) * seq.K[0, 0] / z.mean(1, keepdims=True)
    faces = [FaceState(CropBox(0, 0, 100), np.concatenate([uv[t], z[t]], 1).astype(np.float32), 1.0,
                       np.full(52, np.nan, np.float32)) for t in range(T)]
    return (obs, np.arange(T), 30.0, seq.K, seq.size, head), faces


def _still_face(head, T: int, landmark_px: float, dense_mm: float):
    """A still face with open eyes over ``T`` frames (a gt sequence's head and pose, no expression): its landmarks
    with ``landmark_px`` of noise, its dense observations with ``dense_mm``; (landmarks, ``bake_observations``'
    leading arguments, the tracker's faces), as ``_fused_scene``."""
    seq = gt.make_sequence(head, T, seed=3, id_scale=1.0)
    seq.weights[:] = 0.0
    seq.verts_cam[:] = np.einsum("tij,tvj->tvi", seq.rotation, head.shape(seq.identity[None], seq.weights)) \
        + seq.translation[:, None]
    rng = np.random.default_rng(0)
    uv = _projector(seq.K)(lt.load().points(seq.verts_cam.astype(np.float64), head)) \
        + rng.normal(0, landmark_px, (T, 478, 2))
    return (uv,) + _fused_scene(head, seq, seq.verts_cam + rng.normal(0, dense_mm, seq.verts_cam.shape), uv)


def test_fused_bake_keeps_the_exported_weights_and_puts_the_heads_fit_on_corrective_keys(head):
    """Dense observations that read expressions at half strength with 2 mm noise (a loose fit, as the network's on
    real footage) and landmarks at 0.5 px: the corrective keys (bake.corrective) leave the exported ARKit weights as
    they are without them (but for a closing eye's blink, which keeps up with the head's lids, an eye at rest's,
    which stays at rest, the eyes' look with the lids that keep their opening, bake.iris_gaze, an open eye's squint,
    the brows' raise, and the mouth's opening, which opens the exported weights' lips as far as the head's,
    bake.mouth_follow.exported_opening) and bring the baked head's landmarks closer to the observed ones."""
    from bake import fusion, iris_gaze, mouth_follow
    from bake.fusion import SOLVE_LANDMARKS
    from bake.tracks import posed_vertices
    T = 30
    seq = gt.make_sequence(head, T, seed=3, id_scale=1.0)
    rng = np.random.default_rng(0)
    half = np.einsum("tij,tvj->tvi", seq.rotation, head.shape(seq.identity[None], 0.5 * seq.weights)) \
        + seq.translation[:, None]
    Y = half + rng.normal(0, 2.0, half.shape)
    template, project = lt.load(), _projector(seq.K)
    uv = project(template.points(seq.verts_cam.astype(np.float64), head))
    uv = uv + rng.normal(0, 0.5, uv.shape)
    args, faces = _fused_scene(head, seq, Y, uv)
    kw = dict(faces=faces, smoothing=0.0)          # the sequence's weights jump frame to frame: no filter
    plain, plain_stats = bake_observations(*args, corrective_keys=0, **kw)
    keyed, keyed_stats = bake_observations(*args, **kw)
    cor = [n for n in keyed.key_names if n.startswith("corrective_")]
    assert plain.key_names == head.arkit_names and keyed.key_names == head.arkit_names + tuple(cor)
    lid_keys = 2 * len(fusion.BLINK_KEYS)          # the lids wider than at rest, and shut further than exported
    assert 0 < len(cor) <= 8 + mouth_follow.KEYS + lid_keys + len(mouth_follow.OPENING)
    assert np.abs(keyed.weights[:, 52:]).max() <= 1.0 + 1e-6
    # a closing eye's blink keeps up with the head's lids, the gaze is read against the eye's corners (iris_gaze,
    # the lids kept as open), and an open eye's narrowing is its squint
    blinks = [head.arkit_names.index(n) for n in fusion.BLINK_KEYS]
    gaze = [head.arkit_names.index(n) for eye in fusion.GAZE_KEYS for n in eye]
    lids = [head.arkit_names.index(n) for n in iris_gaze.WIDE_KEYS + fusion.SQUINT_KEYS + fusion.BROW_UP_KEYS]
    mouth = [head.arkit_names.index(n) for n in mouth_follow.OPENING]
    rest = np.setdiff1d(np.arange(52), blinks + gaze + lids + mouth)
    np.testing.assert_array_equal(keyed.weights[:, rest], plain.weights[:, rest])
    # the exported weights alone open the inner lips as far as the head as baked (where neither reaches 1)

    def lip_gap(keys):             # mm, the inner lip pairs' mean gap on the first ``keys`` keys (None: all)
        return mouth_follow._lip_gaps(head, keyed.basis, keyed.key_deltas[:keys], keyed.weights[:, :keys],
                                      template).mean(1)
    inside = (keyed.weights[:, mouth] < 1 - 1e-6).all(1)
    assert inside.sum() > T // 2 and np.abs(lip_gap(None) - lip_gap(52))[inside].max() < 0.05
    shut = plain.weights[:, blinks] >= 0.9                  # a shut eye stays shut (the blink moves with the look
    assert shut.any() and (keyed.weights[:, blinks][shut] >= 0.5).all()     # where the eye is open: iris_gaze)
    both, _ = bake_observations(*args, residual_keys=1, **kw)        # residual keys first, then the corrective ones
    assert both.key_names[52] == "residual_00" and all(n.startswith("corrective_") for n in both.key_names[53:])
    others = np.setdiff1d(np.arange(52), blinks + mouth)
    np.testing.assert_array_equal(both.weights[:, others], keyed.weights[:, others])
    # eyeBlink 1 shuts the neutral's own lids (bake.tracks.shut_scales), which the eye corners' steady offset moves
    # (bake.steady_offsets), read on the head as baked, residual key and all
    np.testing.assert_allclose(both.weights[:, blinks], keyed.weights[:, blinks], atol=2e-3)

    def error(tracks):
        v = np.stack([posed_vertices(tracks, i) for i in range(T)]).astype(np.float64)
        return np.median(np.linalg.norm(project(template.points(v, head)) - uv, axis=-1)[:, SOLVE_LANDMARKS])
    assert error(keyed) < 0.92 * error(plain), (error(plain), error(keyed))       # 0.95 -> 0.77 px (0.80 when written)
    # and the bake's own report of its fit (bake.fit_report) says as much
    assert 0 < keyed_stats.landmark_fit < 0.95 * plain_stats.landmark_fit < 0.1
    assert keyed_stats.landmark_fit <= keyed_stats.worst_fit and keyed_stats.worst_fit_frame in args[1]
    assert keyed.landmark_fit.shape == (T,)
    assert np.nanmedian(keyed.landmark_fit) == pytest.approx(keyed_stats.landmark_fit)


def test_a_fused_bake_leans_on_the_landmarks_where_the_tracker_reads_a_brims_shadow(head, monkeypatch):
    """The tracker's ``FaceState.forehead_light`` reaches the solve (bake.fusion.shaded_dense, and the nose's say in
    the head's pose, bake.fusion.rigid_share): frames read in a brim's shadow are baked otherwise (the others move
    too, as the clip's identity is read from them); faces without a reading (NaN) bake as lit ones."""
    import dataclasses
    from bake import fusion
    shares = []

    def spy(landmarks, forehead_light=None):
        shares.append((forehead_light, real_share(landmarks, forehead_light)))
        return shares[-1][1]
    real_share = fusion.rigid_share
    monkeypatch.setattr(fusion, "rigid_share", spy)
    T = 24
    seq = gt.make_sequence(head, T, seed=3, id_scale=1.0)
    rng = np.random.default_rng(0)
    half = np.einsum("tij,tvj->tvi", seq.rotation, head.shape(seq.identity[None], 0.5 * seq.weights)) \
        + seq.translation[:, None]
    uv = _projector(seq.K)(lt.load().points(seq.verts_cam.astype(np.float64), head)) + rng.normal(0, 0.5, (T, 478, 2))
    args, faces = _fused_scene(head, seq, half + rng.normal(0, 2.0, half.shape), uv)
    shaded = np.arange(T) % 3 == 0
    kw = dict(smoothing=0.0, corrective_keys=0)
    unread, _ = bake_observations(*args, faces=faces, **kw)
    lit, lit_stats = bake_observations(*args, faces=[dataclasses.replace(f, forehead_light=1.4) for f in faces], **kw)
    dim, dim_stats = bake_observations(*args, faces=[dataclasses.replace(f, forehead_light=0.08 if s else 1.4)
                                                     for f, s in zip(faces, shaded)], **kw)
    np.testing.assert_array_equal(unread.weights, lit.weights)
    assert np.abs(dim.weights[shaded] - lit.weights[shaded]).max() > 0.02
    nose = np.isin(fusion.SOLVE_LANDMARKS, lt.NOSE)
    dark = [(light < 0.1, share) for light, share in shares if light is not None and (light < 0.1).any()]
    assert dark and all(np.all(share[d][:, nose] == 1.0) and np.all(share[~d][:, nose] > 1.0) for d, share in dark)
    shares.clear()                  # the landmarks alone take no larger say for the nose (bake.fusion.landmark_term)
    bake_observations(*args, faces=faces, fusion="landmarks", **kw)
    assert not shares
    # and the artist is told where (the scene's frames are numbered from 0)
    shade = lambda stats: [w for w in stats.warnings if "in shadow" in w]          # noqa: E731
    assert not shade(lit_stats)
    assert len(shade(dim_stats)) == 1 and shade(dim_stats)[0].startswith("8 frames in 8 stretches between frames 0 "
                                                                         "and 21 read with the brows and eyes")
    _, span = bake_observations(*args, faces=[dataclasses.replace(f, forehead_light=0.08 if 6 <= t < 12 else 1.4)
                                              for t, f in enumerate(faces)], **kw)
    assert len(shade(span)) == 1 and shade(span)[0].startswith("frames 6-11 (6 frames) read with")


def test_a_fused_bake_pulls_the_heads_pitch_towards_the_landmark_models_skull(head, monkeypatch):
    """The tracker's 3-D landmarks reach the fused solve as each frame's skull turn (bake.fusion.skull_rotations,
    within a degree of the scene's true turn on the mean head; the template's skull points are the mean head's, so
    another identity's read a few degrees off): the first stage's solve takes no pull, the second the pull less the
    first stage's median pitch gap (bake.solve.skull_pitch_gap); the landmarks alone (``--fusion landmarks``) take
    none."""
    from bake import fusion, observations
    from bake.solve import skull_pitch_gap
    seen, solves = [], []

    def spy(*a, skull=None, **k):
        seen.append(skull)
        return real_term(*a, skull=skull, **k)

    def solve_spy(*a, landmarks=None, **k):
        res = real_solve(*a, landmarks=landmarks, **k)
        solves.append((landmarks, res))
        return res
    real_term, real_solve = fusion.landmark_term, observations.solve
    monkeypatch.setattr(fusion, "landmark_term", spy)
    monkeypatch.setattr(observations, "solve", solve_spy)
    T = 12
    seq = gt.make_sequence(head, T, seed=3, id_scale=0.0)
    rng = np.random.default_rng(0)
    uv = _projector(seq.K)(lt.load().points(seq.verts_cam.astype(np.float64), head)) + rng.normal(0, 0.5, (T, 478, 2))
    args, faces = _fused_scene(head, seq, seq.verts_cam + rng.normal(0, 2.0, seq.verts_cam.shape), uv)
    bake_observations(*args, faces=faces, smoothing=0.0, corrective_keys=0)
    skulls = [s for s in seen if s is not None]
    assert skulls and len(skulls) == len(seen)
    full = fusion.skull_rotations(np.stack([f.landmarks for f in faces]), seq.K, head)
    off = np.einsum("tji,tjk->tik", full, seq.rotation)
    assert np.degrees(np.arccos(np.clip((np.trace(off, axis1=1, axis2=2) - 1) / 2, -1, 1))).max() < 1.0
    (first, spread), (second, _) = solves
    assert first.skull is None and second.skull is not None and second.skull_share.max() > 0
    gap = skull_pitch_gap(dataclasses.replace(first, skull=skulls[0]), spread.rotation, spread.valid)
    assert second.skull_pitch == gap != 0.0
    seen.clear()
    bake_observations(*args, faces=faces, smoothing=0.0, corrective_keys=0, fusion="landmarks")
    assert seen and all(s is None for s in seen)


def test_a_fused_bake_puts_the_clips_lips_at_rest_into_the_neutral(head, monkeypatch):
    """Lips shut (mouthClose at the weight that takes the neutral's gap to 0.2 mm, no jaw) on half the frames and
    opened by jawOpen on the others, in a loose dense fit with landmarks at 0.5 px (bake.mouth_follow.mouth_rest):
    the baked neutral's lips all but shut, the exported mouthClose never rises above jawOpen by more than a trace (it
    does without: on an ARKit rig, whose neutral's lips are shut, they would pass through each other), and the head
    as baked is the head baked without it."""
    from bake import mouth_follow
    from bake.tracks import posed_vertices
    T = 30
    seq = gt.make_sequence(head, T, seed=3, id_scale=1.0)
    template, names = lt.load(), list(head.arkit_names)
    jaw, close = names.index("jawOpen"), names.index("mouthClose")
    basis = head.shape(identity=seq.identity).astype(np.float64)
    neutral = mouth_follow._lip_gaps(head, basis, head.arkit_deltas[:1], np.zeros((1, 1)), template).mean()
    rate = mouth_follow._lip_gaps(head, 0 * basis, head.arkit_deltas[[close]], np.ones((1, 1)), template).mean()
    shut = np.arange(T) % 2 == 0
    w = np.zeros_like(seq.weights)
    w[:, jaw] = np.where(shut, 0.0, 0.3)
    w[:, close] = np.where(shut, (0.2 - neutral) / rate, 0.0)
    verts = np.einsum("tij,tvj->tvi", seq.rotation, head.shape(seq.identity[None], w)) + seq.translation[:, None]
    seq = dataclasses.replace(seq, weights=w, verts_cam=verts.astype(np.float32))
    rng = np.random.default_rng(0)
    half = np.einsum("tij,tvj->tvi", seq.rotation, head.shape(seq.identity[None], 0.5 * w)) + seq.translation[:, None]
    uv = _projector(seq.K)(template.points(seq.verts_cam.astype(np.float64), head)) + rng.normal(0, 0.5, (T, 478, 2))
    args, faces = _fused_scene(head, seq, half + rng.normal(0, 2.0, half.shape), uv)

    def rest(tracks):               # mm, the baked neutral's inner lip pairs' mean gap
        return mouth_follow._lip_gaps(head, tracks.basis, tracks.key_deltas[:1], np.zeros((1, 1)), template).mean()

    def over(tracks):               # how far the exported mouthClose rises above jawOpen at most
        return (tracks.weights[:, close] - tracks.weights[:, jaw]).max()
    monkeypatch.setattr(mouth_follow, "mouth_rest", lambda *a, **k: 0.0)
    apart, _ = bake_observations(*args, faces=faces, smoothing=0.0)
    monkeypatch.undo()
    baked, _ = bake_observations(*args, faces=faces, smoothing=0.0)
    # 0.54 and 1.36 mm against the neutral's own 1.71 when written; 0.36 and 1.70 since the nose has the larger say
    # in the head's shape (bake.fusion.NOSE_RIGID_SHARE; 1.81 with it on every frame)
    assert rest(baked) < 0.7 < 1.0 < rest(apart) < neutral + 0.2
    assert over(baked) < 0.01 < 0.02 < over(apart)                        # 0.001 and 0.028 when written, 0.043 since
    for t in range(T):
        np.testing.assert_allclose(posed_vertices(baked, t), posed_vertices(apart, t), atol=1e-3)


def test_a_fused_bake_exports_the_gaze_the_irises_show(head):
    """Eyes that look down, then sideways, in a loose dense fit (expressions at half strength, 2 mm noise) with
    landmarks at 0.5 px: the exported eyeLook* weights are the head's fit's (fusion.fit_gaze), which follows the
    irises, where the boosted fit's shrink the looks."""
    from bake import fusion
    T = 30
    seq = gt.make_sequence(head, T, seed=3, id_scale=1.0)
    gaze = [head.arkit_names.index(n) for eye in fusion.GAZE_KEYS for n in eye]
    w = seq.weights.copy()
    w[:, gaze] = 0.0
    ramp = np.clip(1.0 - np.abs(np.arange(T) - 20) / 8.0, 0.0, 1.0)
    for name in ("eyeLookDownRight", "eyeLookDownLeft"):
        w[:, head.arkit_names.index(name)] = 0.6 * ramp
    for name in ("eyeLookOutRight", "eyeLookInLeft"):
        w[:, head.arkit_names.index(name)] = 0.5 * np.roll(ramp, -10)
    verts = np.einsum("tij,tvj->tvi", seq.rotation, head.shape(seq.identity[None], w)) + seq.translation[:, None]
    seq = dataclasses.replace(seq, weights=w, verts_cam=verts.astype(np.float32))
    rng = np.random.default_rng(0)
    half = np.einsum("tij,tvj->tvi", seq.rotation, head.shape(seq.identity[None], 0.5 * w)) + seq.translation[:, None]
    uv = _projector(seq.K)(lt.load().points(seq.verts_cam.astype(np.float64), head)) + rng.normal(0, 0.5, (T, 478, 2))
    args, faces = _fused_scene(head, seq, half + rng.normal(0, 2.0, half.shape), uv)
    kw = dict(faces=faces, smoothing=0.0)
    plain, _ = bake_observations(*args, corrective_keys=0, **kw)       # no corrective keys: the boosted fit's gaze
    keyed, _ = bake_observations(*args, **kw)
    look = w[:, gaze] > 0.2
    err = lambda tracks: np.abs(tracks.weights[:, gaze] - w[:, gaze])[look].mean()     # noqa: E731
    gain = lambda tracks: np.median(tracks.weights[:, gaze][look] / w[:, gaze][look])  # noqa: E731
    assert look.sum() >= 30
    assert err(keyed) < 0.5 * err(plain) and gain(plain) < 0.3 < 0.7 < gain(keyed)    # 0.26 -> 0.09; 0.26, 0.96
    # (0.28 -> 0.11, 0.01 and 0.85 before the head's turn leaned on the landmark model's skull, bake.fusion)
    col = keyed.key_names.index
    vertical = [keyed.weights[:, col(f"eyeLookUp{side}")] - keyed.weights[:, col(f"eyeLookDown{side}")]
                for side in ("Right", "Left")]
    assert np.median(np.abs(vertical[0] - vertical[1])) < 1e-6         # the eyes look down alike (iris_gaze.yoked)


def test_the_baked_heads_lips_follow_landmarks_beyond_the_arkit_shapes(head, monkeypatch):
    """Landmarks whose lower lip and chin sit 3 px below where any ARKit weights put them on half the frames (a mouth
    the shapes cannot make): with bake.mouth_follow's keys the baked head's lower lip lands on them, without them it
    stays off; the exported weights (but for the mouth's opening, which opens a character's lips as far as the head's,
    bake.mouth_follow.exported_opening) and every landmark away from the mouth stay as they were. On the other half
    the landmarks' inner lips meet: the keys do not carry the head's lips through each other."""
    from bake import mouth_follow
    from bake.tracks import posed_vertices
    T = 24
    seq = gt.make_sequence(head, T, seed=5, id_scale=1.0)
    rng = np.random.default_rng(1)
    template, project = lt.load(), _projector(seq.K)
    uv = project(template.points(seq.verts_cam.astype(np.float64), head))
    lower = [14, 87, 178, 317, 402, 17, 84, 314, 181, 405, 152, 148, 176, 377, 400]
    uv[T // 2:, lower, 1] += 3.0                       # image y: down
    uv[:T // 2, [13, 82, 312]] = uv[:T // 2, [14, 87, 317]]     # and shut lips (the inner lips meet) before
    args, faces = _fused_scene(head, seq, seq.verts_cam + rng.normal(0, 1.0, seq.verts_cam.shape), uv)
    kw = dict(faces=faces, smoothing=0.0)
    followed, _ = bake_observations(*args, **kw)
    monkeypatch.setattr(mouth_follow, "KEYS", 0)
    plain, _ = bake_observations(*args, **kw)
    n = len(plain.key_names)
    assert len(followed.key_names) > n and followed.key_names[:n] == plain.key_names
    rest = np.setdiff1d(np.arange(52), [head.arkit_names.index(k) for k in mouth_follow.OPENING])
    np.testing.assert_array_equal(followed.weights[:, rest], plain.weights[:, rest])

    def error(tracks, idx):
        v = np.stack([posed_vertices(tracks, i) for i in range(T)]).astype(np.float64)
        return np.median(np.linalg.norm(project(template.points(v, head)) - uv, axis=-1)[T // 2:, idx])
    assert error(followed, [14, 17, 152]) < 0.5 * error(plain, [14, 17, 152]), \
        (error(plain, [14, 17, 152]), error(followed, [14, 17, 152]))      # 0.84 -> 0.23 px when written
    away = list(lt.RIGHT_EYE + lt.LEFT_EYE + lt.NOSE)
    assert error(followed, away) == pytest.approx(error(plain, away), abs=0.05)

    def lip_gap(tracks):       # inner lips' gap at the middle along the head's up axis, mm
        v = tracks.basis[None] + np.einsum("tk,kvc->tvc", tracks.weights, tracks.key_deltas)
        p = template.points(v.astype(np.float64), head)
        return p[:, 13, 1] - p[:, 14, 1]
    shut, kept = lip_gap(followed)[:T // 2], lip_gap(plain)[:T // 2]
    assert shut.mean() < kept.mean() - 2.0                       # the lips close towards the landmarks' (3.0 -> 0.3 mm)
    assert shut.min() > 0.9 * mouth_follow.LIP_GAP_MM            # and never past their floor


def test_the_baked_heads_lips_follow_a_words_syllables(head):
    """Landmarks whose lower lip and chin drop 3 px and come back four times a second (a word's syllables at 32
    frames/s), beyond what the ARKit shapes make, at the default smoothing: the baked head's lower lip follows most of
    each swing, since the lips' heights are filtered as the weights are (twice as heavily, as the head's corrective
    difference is, it followed 0.53 of it when written: docs/MEASUREMENTS.md, "The lips' heights filtered as the
    weights are")."""
    from bake.tracks import posed_vertices
    T, fps = 32, 32.0
    seq = gt.make_sequence(head, T, seed=5, id_scale=1.0)
    rng = np.random.default_rng(1)
    template, project = lt.load(), _projector(seq.K)
    uv = project(template.points(seq.verts_cam.astype(np.float64), head))
    lower = [14, 87, 178, 317, 402, 17, 84, 314, 181, 405, 152, 148, 176, 377, 400]
    swing = 3.0 * (np.sin(2 * np.pi * 4.0 * np.arange(T) / fps) > 0)        # down for 4 frames, back for 4
    uv[:, lower, 1] += swing[:, None]
    args, faces = _fused_scene(head, seq, seq.verts_cam + rng.normal(0, 1.0, seq.verts_cam.shape), uv)
    args = args[:2] + (fps,) + args[3:]
    tracks, _ = bake_observations(*args, faces=faces)
    v = np.stack([posed_vertices(tracks, i) for i in range(T)]).astype(np.float64)
    lip = project(template.points(v, head))[:, 14, 1] - uv[:, 14, 1] + swing      # the head's lower lip, less the
    down, up = swing > 0, swing == 0                                            # landmarks' rest
    followed = (lip[down].mean() - lip[up].mean()) / 3.0
    assert followed > 0.7, followed             # 0.81 when written


@pytest.mark.slow
def test_known_eye_distance_sizes_the_head_and_its_distance_alike(head):
    """Observations of a head read at 0.7x its size and distance (as the network reads real faces): the bake gives the
    small head; told the subject's eye distance, the head and its distance are the truth's, and every vertex still
    projects to the same pixel."""
    from bake.head_size import eye_distance
    from bake.tracks import posed_vertices
    T = 8
    seq = gt.make_sequence(head, T, seed=9, id_scale=0.0)
    obs = []
    for t in range(T):
        pred, box = gt.render_prediction(head, seq.verts_cam[t], seq.translation[t], seq.K, 96)
        o = correspond(to_point_cloud(pred, box, seq.K, head, t), head)
        obs.append(dataclasses.replace(o, position=o.position * 0.7, z_origin=o.z_origin * 0.7))
    truth = float(eye_distance(head.vertices, head))
    args = (obs, np.arange(T), 25.0, seq.K, seq.size, head)
    small, _ = bake_observations(*args)
    sized, _ = bake_observations(*args, eye_distance_mm=truth)
    assert eye_distance(small.basis, head) < 0.8 * truth
    assert eye_distance(sized.basis, head) == pytest.approx(truth, rel=1e-4)
    assert np.median(sized.head_translation[:, 2] / seq.translation[:, 2]) == pytest.approx(1.0, abs=0.05)

    def pixels(tracks):
        v = np.stack([posed_vertices(tracks, i) for i in range(T)])
        return v[..., :2] / v[..., 2:]
    np.testing.assert_allclose(pixels(sized), pixels(small), atol=1e-6)


def test_blank_footage_no_face_and_cancel(tmp_path):
    _require_model()
    import cv2
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"f{i:03d}.png"), np.full((240, 320, 3), 90, np.uint8))
    with pytest.raises(BakeError, match="no face"):
        reconstruct(ReconConfig(str(tmp_path)))
    with pytest.raises(Cancelled):
        reconstruct(ReconConfig(str(tmp_path), batch=1), cancel=lambda: True)


def test_a_corrupt_face_model_stops_the_bake_naming_the_file(tmp_path, monkeypatch):
    """The face models load on a worker thread while the footage opens (bake.pipeline.observe): a file failing its
    hash there still stops the bake with the AssetError (exit 3) that names it, from the thread that uses it."""
    import shutil
    from core import face_models as fm
    from core.errors import AssetError
    from core.presets import ASSETS
    _require_model()
    d = tmp_path / "models"
    shutil.copytree(fm.MODEL_DIR, d)
    path = d / fm.FILES["landmarks"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    monkeypatch.setattr(fm, "default_models", lambda: fm.FaceModels(d))
    with pytest.raises(AssetError, match=fm.FILES["landmarks"]) as e:
        reconstruct(ReconConfig(str(ASSETS / "sample_clip.mp4"), end=4))
    assert e.value.exit_code == 3


def test_pose_outliers_are_rejected_and_smooth_motion_kept():
    from bake.pipeline import reject_pose_outliers
    T = 40
    t = np.stack([np.linspace(-30, 30, T), np.zeros(T), 600 + 40 * np.sin(np.linspace(0, 3, T))], 1)
    valid = np.ones(T, bool)
    assert reject_pose_outliers(t, valid).all()              # smooth head motion: nothing rejected
    bad = t.copy()
    bad[10, 2] = 250.0                                       # the head put halfway to the camera
    bad[25, 0] += 300.0                                      # or thrown sideways
    valid[33] = False                                        # already untracked stays untracked
    out = reject_pose_outliers(bad, valid)
    assert not out[10] and not out[25] and not out[33]
    assert out.sum() == T - 3
    cut = t.copy()
    cut[37:, 2] -= 250.0                                     # a camera cut to a closer shot for the last 3 frames
    assert not reject_pose_outliers(cut, np.ones(T, bool))[37]
    assert reject_pose_outliers(cut, np.ones(T, bool), shots=(37,)).all()    # its own shot: nothing rejected


def test_camera_matrix_from_lens_or_pixels():
    from core.points import default_focal
    K = ReconConfig("x.mp4").camera_matrix(1920, 1080)
    assert K[0, 0] == pytest.approx(default_focal(1920, 1080)) and tuple(K[:2, 2]) == (960, 540)
    K26 = ReconConfig("x.mp4", focal_mm=26.0).camera_matrix(1920, 1080)
    assert K26[0, 0] == pytest.approx(26.0 / 35.0 * K[0, 0])
    assert ReconConfig("x.mp4", focal_px=1234.0, focal_mm=26.0).camera_matrix(1920, 1080)[0, 0] == 1234.0
    with pytest.raises(InputError):
        ReconConfig("x.mp4", focal_mm=0.0)


def _blinded_trackers(monkeypatch, blind) -> list:
    """core.track.FaceTracker replaced by one whose update finds no face where ``blind(k, frames_seen)`` holds, ``k``
    its index among the trackers made (0: the clip's; then each one tracking backwards); returns that list."""
    import core.track
    real, made = core.track.FaceTracker, []

    class Blinded(real):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)

        def update(self, image):
            box = super().update(image)
            return None if blind(made.index(self), self.frames_seen) else box
    monkeypatch.setattr(core.track, "FaceTracker", Blinded)
    return made


def test_frames_before_the_face_is_found_are_tracked_backwards(monkeypatch):
    """The detector misses the first 12 frames of the sample clip (as on a turned or half-hidden face): they are
    recovered by tracking backwards from the first detection instead of being bridged."""
    _require_model()
    from bake.demo import SAMPLE_CLIP
    made = _blinded_trackers(monkeypatch, lambda k, seen: k == 0 and seen <= 12)
    clip = str(SAMPLE_CLIP)
    _, without = reconstruct(ReconConfig(clip, end=30, backfill=0))
    assert without.frames_bridged >= 12
    made.clear()
    tracks, stats = reconstruct(ReconConfig(clip, end=30))
    assert made[1].frames_seen == 13                        # a backward pass over the 12 missed frames
    assert stats.frames_bridged == 0 and stats.frames_tracked == 30
    step = np.linalg.norm(np.diff(tracks.head_translation, axis=0), axis=1)
    assert step[:12].max() < 3 * np.median(step[12:]) + 5.0  # the recovered start moves like the rest


def test_a_face_the_landmarks_lose_in_the_picture_is_followed_by_the_network_alone(monkeypatch):
    """The landmarks lose the sample clip's face on 8 frames mid-clip (as on a turn to a profile) and tracking
    backwards finds nothing either: the network alone reads those frames, the head keeps turning as it does and its
    weights are bridged from the frames around; with ``network_gap=0`` the frames are bridged as before."""
    _require_model()
    from bake.demo import SAMPLE_CLIP
    clip = str(SAMPLE_CLIP)
    reference, _ = reconstruct(ReconConfig(clip, end=30))
    made = _blinded_trackers(monkeypatch, lambda k, seen: k > 0 or 12 < seen <= 20)
    _, off = reconstruct(ReconConfig(clip, end=30, network_gap=0))
    assert off.frames_bridged >= 8
    made.clear()
    tracks, stats = reconstruct(ReconConfig(clip, end=30))
    assert stats.frames_bridged == 0 and stats.frames_tracked == 30 and np.isfinite(tracks.weights).all()
    assert [w for w in stats.warnings if "the landmarks lost the face" in w][0].startswith("frames ")   # said
    lost = slice(12, 20)
    turn = np.degrees(np.arccos(np.clip((np.einsum("tij,tij->t", tracks.head_rotation[lost],
                                                   reference.head_rotation[lost]) - 1) / 2, -1, 1)))
    assert turn.max() < 5.0                                 # the network's turn, near the landmarks' own
    w, around = tracks.weights[lost, :52], tracks.weights[[11, 20], :52]         # the exported ARKit weights:
    assert (w >= around.min(0) - 0.05).all() and (w <= around.max(0) + 0.05).all()   # bridged from the frames around


def test_lost_faces_boxes_between_two_faces_or_held_next_to_one():
    """bake.pipeline._lost_faces: a run of at most ``longest`` faceless frames between two faces gets boxes taken in
    time from one to the other; a longer run, or one with a face on one side only, the nearer face's box on the
    ``longest`` frames next to it and nothing further off; recovered frames and a face outside the frame are left."""
    from bake.pipeline import _lost_faces
    from core.types import CropBox
    image = np.zeros((100, 400, 3), np.uint8)
    a, b = (0, CropBox(10.0, 10.0, 40.0)), (5, CropBox(50.0, 10.0, 40.0))
    missed = [(k, image, 1.0) for k in range(1, 5)]
    got = _lost_faces(missed, [(2, None, None)], a, b, 64, 4)
    assert [it[0] for it in got] == [1, 3, 4] and [it[1].x0 for it in got] == [18.0, 34.0, 42.0]
    a, b = (0, CropBox(10.0, 10.0, 40.0)), (10, CropBox(250.0, 10.0, 40.0))
    missed = [(k, image, 1.0) for k in range(1, 10)]
    held = {it[0]: it[1].x0 for it in _lost_faces(missed, [], a, b, 64, 3)}
    assert held == {1: 10.0, 2: 10.0, 3: 10.0, 7: 250.0, 8: 250.0, 9: 250.0}
    assert [it[0] for it in _lost_faces(missed, [], a, None, 64, 3)] == [1, 2, 3]
    assert [it[0] for it in _lost_faces(missed, [], None, b, 64, 3)] == [7, 8, 9]
    assert _lost_faces(missed, [], (0, CropBox(380.0, 10.0, 40.0)), None, 64, 3) == []   # its face half outside


@pytest.mark.parametrize("lost, backfill", [(slice(0, 8), 90), (slice(22, 30), 90), (slice(22, 30), 4)],
                         ids=["starts", "ends", "ends-past-backfill"])
def test_a_clip_that_starts_or_ends_on_a_lost_face_is_followed_by_the_network_alone(monkeypatch, lost, backfill):
    """The landmarks lose the sample clip's face on its first or its last 8 frames (a clip that starts or ends turned
    away) and tracking backwards finds nothing: the network alone reads those frames at the box of the nearest frame
    with a face, the head turns as the landmarks' bake does there and the weights are held from the nearest frame;
    also where the run is longer than the faceless frames kept for tracking backwards (``backfill``)."""
    _require_model()
    from bake.demo import SAMPLE_CLIP
    clip = str(SAMPLE_CLIP)
    reference, _ = reconstruct(ReconConfig(clip, end=30))
    _blinded_trackers(monkeypatch, lambda k, seen: k > 0 or lost.start < seen <= lost.stop)
    tracks, stats = reconstruct(ReconConfig(clip, end=30, backfill=backfill))
    assert stats.frames_bridged == 0 and stats.frames_tracked == 30 and np.isfinite(tracks.weights).all()
    assert any("the landmarks lost the face" in w for w in stats.warnings)
    turn = np.degrees(np.arccos(np.clip((np.einsum("tij,tij->t", tracks.head_rotation[lost],
                                                   reference.head_rotation[lost]) - 1) / 2, -1, 1)))
    assert turn.max() < 5.0                                 # the network's turn, near the landmarks' own
    w = tracks.weights[lost, :52]                           # the exported ARKit weights, away from the filter's
    far = w[:4] if lost.start == 0 else w[-4:]              # reach into the frames with a face: held
    assert np.abs(far - far[0]).max() < 1e-3 and np.abs(np.diff(w, axis=0)).max() < 0.05


def test_mirror_runs_the_network_mirror_averaged(monkeypatch):
    """ReconConfig(mirror=True) (CLI --mirror) asks the runtime for mirror averaging."""
    _require_model()
    import core.runtime
    from bake.demo import SAMPLE_CLIP
    real, made = core.runtime.Predictor, []

    class Recording(real):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)
    monkeypatch.setattr(core.runtime, "Predictor", Recording)
    tracks, stats = reconstruct(ReconConfig(str(SAMPLE_CLIP), end=6, mirror=True))
    assert [p.flip for p in made] == [True] and stats.frames_tracked == 6
    reconstruct(ReconConfig(str(SAMPLE_CLIP), end=2))
    assert [p.flip for p in made] == [True, False]


def test_the_bake_reads_the_network_s_depth_with_its_own_tilt(monkeypatch):
    """The point clouds read each crop's depths with the loaded network's tilt (core.runtime.Predictor.depth_tilt: the
    shipped network's OPTICAL_TILT, none for one exported as trained along the crop's axis)."""
    _require_model()
    import bake.pipeline as pl
    import core.runtime
    from bake.demo import SAMPLE_CLIP
    monkeypatch.setattr(core.runtime, "OPTICAL_TILT", 0.3)        # a tilt of its own, not the default's 0
    real, tilts = pl.to_point_cloud, []

    def recording(*a, **k):
        tilts.append(k.get("tilt"))
        return real(*a, **k)
    monkeypatch.setattr(pl, "to_point_cloud", recording)
    reconstruct(ReconConfig(str(SAMPLE_CLIP), end=2))
    assert tilts and set(tilts) == {0.3}

def test_face_point_chooses_which_of_two_faces(tmp_path):
    """Two people in view (the sample clip's face and a smaller copy beside it): the largest face by default, the
    one nearest face_point when given."""
    _require_model()
    import cv2
    from bake.demo import SAMPLE_CLIP
    from core.footage import open_footage
    with open_footage(SAMPLE_CLIP, end=8) as clip:
        for f in clip:
            h, w = f.image.shape[:2]
            small = cv2.resize(f.image, (w * 2 // 3, h * 2 // 3), interpolation=cv2.INTER_AREA)
            canvas = np.full((h, 2 * w, 3), 128, np.uint8)
            canvas[:, :w] = f.image
            canvas[(h - small.shape[0]) // 2:(h + small.shape[0]) // 2, w + w // 6: w + w // 6 + small.shape[1]] = small
            cv2.imwrite(str(tmp_path / f"f{f.index:03d}.png"), canvas[..., ::-1])
    largest, _ = reconstruct(ReconConfig(str(tmp_path)))
    chosen, _ = reconstruct(ReconConfig(str(tmp_path), face_point=(0.75, 0.5)))
    assert np.median(largest.head_translation[:, 0]) < 0 < np.median(chosen.head_translation[:, 0])
    with pytest.raises(InputError):
        ReconConfig("x.mp4", face_point=(2.0, 0.5))


class _GroundTruthScene:
    """A static head (gt.make_sequence) seen through K, a "network" that answers with the renderer's exact maps for
    whatever box a crop shows (the crop carries the index of its box), the training-framing crop ``ideal`` and the
    network calls made (crops per call)."""

    def __init__(self, head, S=96):
        import cv2
        from core.framing import pose_crop_box
        seq = gt.make_sequence(head, 1, seed=4, id_scale=0.0)
        self.head, self.S = head, S
        self.verts, self.origin, self.K = seq.verts_cam[0], seq.translation[0], seq.K
        self.ideal = pose_crop_box(cv2.Rodrigues(seq.rotation[0])[0], self.origin, self.K)
        self.boxes, self.calls = [], []

    def box(self, dx, dy, scale):
        from core.types import CropBox
        i = self.ideal
        return CropBox(i.x0 + dx * i.size, i.y0 + dy * i.size, scale * i.size)

    def recrop(self, b):
        self.boxes.append(b)
        return np.full((self.S, self.S, 3), len(self.boxes) - 1, np.uint8)

    def predict(self, crops):
        self.calls.append(len(crops))
        return [gt.render_prediction(self.head, self.verts, self.origin, self.K, self.S,
                                     box=self.boxes[int(c[0, 0, 0])])[0] for c in crops]

    def to_cloud(self, p, b, f):
        from core.points import to_point_cloud
        return to_point_cloud(p, b, self.K, self.head, f)


def test_reframing_moves_a_bad_crop_to_the_training_framing(head):
    """core.framing.predict_reframed: a crop far off the face (too small, shifted; a detector that boxed part of a
    turned face) is run again on the crop of its own PnP pose, which is the training framing; a converged crop is
    not re-run."""
    from core.framing import box_change, predict_reframed
    sc = _GroundTruthScene(head)
    bad = sc.box(0.25, 0.1, 0.6)
    assert box_change(bad, sc.ideal) > 0.4
    for passes, calls in ((0, [1]), (3, [1, 1])):
        sc.boxes.clear()
        sc.calls.clear()
        clouds, final, preds = predict_reframed(sc, [(7, bad, sc.recrop)], sc.to_cloud, sc.K, passes)
        assert clouds[0] is not None and clouds[0].frame == 7 and preds[0].mask.shape == (sc.S, sc.S)
        assert sc.calls == calls
        assert final[0] == bad if passes == 0 else box_change(final[0], sc.ideal) < 0.02
    assert np.abs(clouds[0].z_origin - sc.origin[2]) < 0.02 * sc.origin[2]


def test_reframing_with_a_pool_splits_each_network_call_and_gives_the_same_clouds(head):
    """core.framing.predict_reframed with a pool (bake.pipeline's second network worker): each network call is run as
    two halves, one in the pool, and the clouds, boxes and predictions are those of one thread, in the same order."""
    from concurrent.futures import ThreadPoolExecutor
    from core.framing import predict_reframed
    sc = _GroundTruthScene(head)
    items = [(f, sc.box(-0.12 + 0.03 * f, 0.05, 0.75), sc.recrop) for f in range(5)]
    one = predict_reframed(sc, items, sc.to_cloud, sc.K, passes=2)
    calls, sc.calls = sc.calls, []
    with ThreadPoolExecutor(1) as pool:
        two = predict_reframed(sc, items, sc.to_cloud, sc.K, passes=2, pool=pool)
    assert len(calls) >= 2 and max(calls) == 5
    assert sorted(sc.calls) == sorted(h for n in calls for h in ((n + 1) // 2, n // 2) if h)
    assert one[1] == two[1]
    for a, b in zip(one[0], two[0]):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.frame == b.frame and np.array_equal(a.rvec, b.rvec) and np.array_equal(a.ray, b.ray)
    assert all(np.array_equal(p.depth, q.depth) for p, q in zip(one[2], two[2]))


def test_reframer_carries_the_offset_to_the_next_batch(head):
    """core.framing.Reframer: the first batch of a static head needs one extra pass from a bad tracker box; the next
    batch starts where it ended (same tracker box) and needs none."""
    from core.framing import Reframer, box_change
    sc = _GroundTruthScene(head)
    bad = sc.box(-0.15, 0.1, 0.7)
    reframer = Reframer(sc, sc.to_cloud, sc.K, passes=2)
    clouds, final, _ = reframer.run([(f, bad, sc.recrop) for f in range(3)])
    assert sc.calls == [3, 3] and all(c is not None for c in clouds)
    assert all(box_change(b, sc.ideal) < 0.02 for b in final)
    sc.calls.clear()
    clouds, final, _ = reframer.run([(f, bad, sc.recrop) for f in range(3, 6)])
    assert sc.calls == [3] and all(box_change(b, sc.ideal) < 0.02 for b in final)


def test_smooth_offsets_median_filters_in_time_and_skips_missing_frames():
    from core.framing import smooth_offsets
    o = np.zeros((7, 3))
    o[3] = [0.5, -0.5, 0.3]                 # one frame's noisy pose
    o[5] = np.nan                           # a frame without a pose
    s = smooth_offsets(o, 5)
    assert np.allclose(s[3], 0) and np.isfinite(s).all()
    assert np.array_equal(smooth_offsets(o, 1)[3], o[3])
    assert np.isnan(smooth_offsets(np.full((2, 3), np.nan), 3)).all()


def test_reframing_does_not_retry_a_frame_whose_rerun_found_no_pose(head):
    from core.framing import predict_reframed
    sc = _GroundTruthScene(head)
    bad = sc.box(0.2, 0.0, 0.7)

    def first_pass_only(p, b, f):          # PnP "fails" on every crop but the tracker's
        return sc.to_cloud(p, b, f) if b == bad else None
    clouds, final, _ = predict_reframed(sc, [(0, bad, sc.recrop)], first_pass_only, sc.K, passes=4)
    assert sc.calls == [1, 1] and final[0] == bad and clouds[0] is not None


def test_overlapped_observe_gives_what_one_thread_does(monkeypatch):
    """The network thread's batches are collected in order: with QUEUED_BATCHES = 0 (each batch waited for at once,
    as one thread runs them) the observations, faces and on_prediction calls are the same as overlapped."""
    _require_model()
    import bake.pipeline as pl
    from bake.demo import SAMPLE_CLIP
    runs = []
    for queued in (0, pl.QUEUED_BATCHES):
        monkeypatch.setattr(pl, "QUEUED_BATCHES", queued)
        seen = []
        obs = pl.observe(ReconConfig(str(SAMPLE_CLIP), end=20, batch=4),
                         on_prediction=lambda frame, box, pred, crop: seen.append((frame, box)))
        runs.append((obs, seen))
    (a, seen_a), (b, seen_b) = runs
    assert a.frames == b.frames and seen_a == seen_b and [f for f, _ in seen_a] == sorted(f for f, _ in seen_a)
    assert {"decode+track", "network", "points", "correspond", "wait"} <= set(b.stage_seconds)
    from core.points import source_share          # each slot's share is its last network crop's (1: none magnified)
    assert a.source_shares == b.source_shares and len(b.source_shares) == len(b.frames)
    last = {frame: box for frame, box in seen_b}
    assert [b.source_shares[b.frames.index(f)] for f in last] == [source_share(box.size, 128) for box in last.values()]
    for x, y in zip(a.observations, b.observations):
        assert (x is None) == (y is None)
        if x is not None:
            assert np.array_equal(x.position, y.position) and np.array_equal(x.confidence, y.confidence)


def test_a_fused_bake_reads_how_shut_an_eye_is_on_the_trackers_lid_aspects(head):
    """The lids' closure comes from ``FaceState.lid_aspects`` (the landmark model's own lids; core.eyelids), not
    from the landmarks the fit follows, whose lower lids the iris model may hold apart under a shut eye: landmarks
    that read every eye open, blink scores at 0.2, and lid gaps that read both eyes shut on frames 10-14 bake those
    frames' eyeBlink shut; with the gaps unread (NaN) the landmarks' own lids decide, and it stays low."""
    from bake import fusion
    T = 30
    uv, args, faces = _still_face(head, T, landmark_px=0.3, dense_mm=1.0)
    blinks = [head.arkit_names.index(n) for n in fusion.BLINK_KEYS]
    for f in faces:
        f.blendshapes[blinks] = 0.2
    gaps = lid_aspects(uv)
    gaps[10:15] = 0.01                                          # shut, by the landmark model's own lids
    shut = [dataclasses.replace(f, lid_aspects=g) for f, g in zip(faces, gaps)]
    read, _ = bake_observations(*args, faces=shut, smoothing=0.0)
    unread, _ = bake_observations(*args, faces=faces, smoothing=0.0)
    for k in blinks:
        assert read.weights[10:15, k].min() > 0.7 and unread.weights[10:15, k].max() < 0.4, \
            (read.weights[10:15, k], unread.weights[10:15, k])
        assert np.abs(read.weights[20:, k] - unread.weights[20:, k]).max() < 0.05


def test_a_fused_bake_exports_eyeblink_0_at_the_lids_rest_and_keeps_the_mesh(head, monkeypatch):
    """Blendshape scores that read every open eye at eyeBlink 0.3 (MediaPipe's on some faces) pull the solve's blink
    up between blinks: the exported eyeBlink is 0 on the frames whose lids are at rest, where without the rest
    (no frame at rest) it reads the pull; the baked head's vertices are the same either way."""
    from bake import fusion
    from bake.tracks import posed_vertices
    T = 30
    seq = gt.make_sequence(head, T, seed=3, id_scale=1.0)
    rng = np.random.default_rng(0)
    half = np.einsum("tij,tvj->tvi", seq.rotation, head.shape(seq.identity[None], 0.5 * seq.weights)) \
        + seq.translation[:, None]
    project = _projector(seq.K)
    uv = project(lt.load().points(seq.verts_cam.astype(np.float64), head)) + rng.normal(0, 0.5, (T, 478, 2))
    args, faces = _fused_scene(head, seq, half + rng.normal(0, 2.0, half.shape), uv)
    blinks = [head.arkit_names.index(n) for n in fusion.BLINK_KEYS]
    for f in faces:
        f.blendshapes[blinks] = 0.3
    kw = dict(faces=faces, smoothing=0.0)
    rested, _ = bake_observations(*args, **kw)
    at_rest = fusion.lids_at_rest(lid_aspects(uv), fusion.open_aspects(lid_aspects(uv)))
    monkeypatch.setattr(fusion, "REST_FRACTION", 2.0)             # no frame's lids at rest: no rest taken
    pulled, _ = bake_observations(*args, **kw)
    for e, k in enumerate(blinks):
        assert at_rest[:, e].sum() >= 3
        assert np.median(rested.weights[at_rest[:, e], k]) < 0.02 < 0.1 < np.median(pulled.weights[at_rest[:, e], k])
    for i in range(T):
        assert np.abs(posed_vertices(rested, i) - posed_vertices(pulled, i)).max() < 0.05   # mm


def _projected_landmarks(tracks, head):
    """(T, 478, 2) pixels: the template's MediaPipe-indexed points on each baked frame, posed and projected."""
    v = tracks.basis[None].astype(np.float64) + np.einsum("tk,kvc->tvc", tracks.weights.astype(np.float64),
                                                         tracks.key_deltas.astype(np.float64))
    cam = np.einsum("tij,tlj->tli", tracks.head_rotation, lt.load().points(v, head)) + tracks.head_translation[:, None]
    uv = cam @ np.asarray(tracks.K, np.float64).T
    return uv[..., :2] / uv[..., 2:]


def test_a_clip_rolled_60_degrees_bakes_the_face_as_upright(tmp_path, head):
    """Footage rolled 60 degrees (a tilted camera, a subject lying down): the network's crop turns with the face
    beyond core.track.ROLL_FREE, so the baked face, turned back, lies where the upright clip's does: a median 0.013
    of the eye distance apart. With the crop kept upright (ROLL_FREE set to 180 degrees, as before turned crops) the
    network reads the face rolled far beyond its training, and the two lie 0.15 apart."""
    import cv2
    from core.footage import open_footage
    from core.presets import ASSETS
    _require_model()
    up, rolled = tmp_path / "up", tmp_path / "rolled"
    up.mkdir(), rolled.mkdir()
    with open_footage(str(ASSETS / "sample_clip.mp4"), end=10) as src:
        for f in src:
            bgr = cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR)
            h, w = bgr.shape[:2]
            M = cv2.getRotationMatrix2D((w / 2, h / 2), 60.0, 1.0)
            cv2.imwrite(str(up / f"{f.index:03d}.png"), bgr)
            cv2.imwrite(str(rolled / f"{f.index:03d}.png"), cv2.warpAffine(bgr, M, (w, h),
                                                                         borderMode=cv2.BORDER_REPLICATE))
    a, _ = reconstruct(ReconConfig(str(up)))
    b, _ = reconstruct(ReconConfig(str(rolled)))
    assert a.tracked.all() and b.tracked.all()
    pa, pb = _projected_landmarks(a, head), _projected_landmarks(b, head)
    back = pb @ (Mi := cv2.invertAffineTransform(M))[:, :2].T + Mi[:, 2]
    iod = np.linalg.norm(pa[:, 263] - pa[:, 33], axis=1)
    off = float(np.median(np.linalg.norm(back - pa, axis=-1) / iod[:, None]))
    assert off < 0.03, off


def test_a_face_that_changes_size_at_once_is_warned_of_and_baked_as_a_cut(tmp_path):
    """The tracker's jumps (core.track.JUMP_RATIO) reach the bake's warnings with the footage frame: a camera cut or
    another face taking the track over, which the artist should look at; the head's distance jumps there in one
    frame (the shots are filtered apart), where one filter over both shots moved it over the frames either side."""
    import cv2
    from core.footage import open_footage
    from core.presets import ASSETS
    _require_model()
    with open_footage(str(ASSETS / "sample_clip.mp4"), end=8) as src:
        frames = [cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR) for f in src]
    h, w = frames[0].shape[:2]
    for i, f in enumerate(frames):
        canvas = np.empty_like(f)
        canvas[:] = f[2, 2]
        if i < 5:
            canvas[:] = f
        else:                                                  # the face 0.6x as large from frame 5
            s = cv2.resize(f, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
            y, x = (h - s.shape[0]) // 2, (w - s.shape[1]) // 2
            canvas[y:y + s.shape[0], x:x + s.shape[1]] = s
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), canvas)
    tracks, stats = reconstruct(ReconConfig(str(tmp_path)))
    jumps = [w for w in stats.warnings if "changed size" in w]
    assert len(jumps) == 1 and "at frame 5:" in jumps[0] and "camera cut" in jumps[0]
    assert tracks.cuts == (int(tracks.frames[5]),)          # scene frame of the cut (Blender marks it)
    z = tracks.head_translation[:, 2]
    assert z[5] / z[4] > 1.4
    assert np.abs(np.diff(z[:5])).max() < 0.03 * z[4] and np.abs(np.diff(z[5:])).max() < 0.03 * z[5]


def test_a_jump_cut_is_warned_of_and_baked_as_a_cut(tmp_path):
    """The sample clip with ten frames left out after its eighth (a jump cut: the turning head jumps ahead in place):
    the tracker's move (core.track.MOVE_JUMP) reaches the bake's warnings with the footage frame, Blender gets the cut,
    and the head's turn jumps there in one frame (the shots filtered apart) instead of easing over the frames around."""
    import cv2
    from core.footage import open_footage
    from core.presets import ASSETS
    _require_model()
    with open_footage(str(ASSETS / "sample_clip.mp4"), end=26) as src:
        frames = [cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR) for f in src]
    for i, k in enumerate(list(range(8)) + list(range(18, 26))):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), frames[k])
    tracks, stats = reconstruct(ReconConfig(str(tmp_path)))
    moves = [w for w in stats.warnings if "jumped" in w]
    assert len(moves) == 1 and "at frame 8, steady" in moves[0] and "camera cut" in moves[0]
    assert not any("changed size" in w for w in stats.warnings)
    assert tracks.cuts == (int(tracks.frames[8]),)
    R = tracks.head_rotation
    turn = np.degrees([np.arccos(np.clip((np.trace(R[k].T @ R[k + 1]) - 1) / 2, -1, 1)) for k in range(len(R) - 1)])
    assert turn[7] > 4 * max(turn[:6].max(), turn[9:].max()), turn


@pytest.mark.parametrize("extra", [4, -3])
def test_the_frames_a_trial_withholds_are_followed_backwards(tmp_path, extra):
    """The sample clip upside down: the tracker finds the face both ways and gives the frames before it decides as
    faceless (core.track.TRIAL_STEPS); observe follows them backwards from the reading taken, so every frame has the
    face, upside down where the upright clip's is, turned, and read as ``FaceTracker.states`` reads the clip. A clip
    shorter than the trial (``extra`` < 0) ends with it open: it is decided on the steps made
    (``FaceTracker.settle``), and every frame read too."""
    import cv2
    import bake.pipeline as pl
    from core.footage import open_footage
    from core.presets import ASSETS
    from core.track import TRIAL_STEPS, FaceTracker
    with open_footage(str(ASSETS / "sample_clip.mp4"), end=TRIAL_STEPS + extra) as src:
        upright = [f.image for f in src]
    over = [np.ascontiguousarray(f[::-1, ::-1]) for f in upright]
    for i, f in enumerate(over):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    turned = FaceTracker()
    seen = [turned.update(f) is not None for f in over]
    assert seen == [k >= TRIAL_STEPS for k in range(len(over))]
    assert turned.settle(over[-1]) is None if extra > 0 else turned.settle(over[-1]) is not None
    assert turned.trials == [(0, False)]
    obs = pl.observe(ReconConfig(str(tmp_path)))
    assert all(f is not None for f in obs.faces) and all(o is not None for o in obs.observations)
    for face, state in zip(obs.faces, FaceTracker().states(over)):     # as core.track reads a whole clip
        np.testing.assert_array_equal(face.landmarks, state.landmarks)
    h, w = upright[0].shape[:2]
    tracker = FaceTracker()
    for f, face in zip(upright, obs.faces):
        ref = tracker.update(f).landmarks[[33, 263, 1, 13, 152], :2]         # eye corners, nose tip, lip, chin
        assert np.abs([w, h] - face.landmarks[[33, 263, 1, 13, 152], :2] - ref).max() < 4.0


def _irises(faces, seq, K, diameter_mm):
    """``faces`` with each iris's points across (core.landmark_template.IRIS_ACROSS) ``diameter_mm`` apart in the
    camera, sideways about the true head's iris centres (``seq``, a gt sequence): irises as big as a person's."""
    import dataclasses as dc
    from core import head_model
    centres = lt.load().points(seq.verts_cam.astype(np.float64), head_model.load())[:, lt.IRIS_CENTRES]   # (T, 2, 3)
    project = _projector(K)
    out = []
    for t, f in enumerate(faces):
        p = np.array(f.landmarks)
        for c, (a, b) in zip(centres[t], lt.IRIS_ACROSS):
            p[a, :2] = project(c + [0.5 * diameter_mm, 0, 0])
            p[b, :2] = project(c - [0.5 * diameter_mm, 0, 0])
        out.append(dc.replace(f, landmarks=p.astype(np.float32)))
    return out


def _iris_scene(head, T, seed, id_scale):
    """(gt sequence, the tracker's faces on it with irises as big as a person's, the head's eye distance)."""
    from bake.head_size import IRIS_DIAMETER_MM, eye_distance
    seq = gt.make_sequence(head, T, seed=seed, id_scale=id_scale)
    uv = _projector(seq.K)(lt.load().points(seq.verts_cam.astype(np.float64), head))
    _, faces = _fused_scene(head, seq, seq.verts_cam, uv)
    truth = float(eye_distance(head.shape(identity=seq.identity), head))
    return seq, _irises(faces, seq, seq.K, IRIS_DIAMETER_MM), truth


def test_the_irises_read_the_eye_distance_in_iris_widths(head):
    """Irises 11.7 mm across on the true head, turned 16-30 degrees and 0.07-0.2 focal lengths off the camera's axis:
    ``iris_eye_distance`` with the head's pose reads the head's eye distance (68.3 for 69.2 mm when written: the
    irises sit nearer the camera than the eye corners), taking the faces as facing the camera it reads them short
    (58.5); one photograph reads as well, if its eyes are open; narrowed eyes, whose lids cut into the iris the
    landmarks outline, are left out; too few open-eyed frames read nothing."""
    from bake.head_size import IRIS_DIAMETER_MM, IRIS_FRAMES, iris_eye_distance
    seq, faces, truth = _iris_scene(head, 12, 5, 1.0)
    assert iris_eye_distance(faces, seq.rotation, seq.K) == pytest.approx(truth, rel=0.02)
    assert iris_eye_distance(faces) < 0.9 * truth
    one = dataclasses.replace(faces[0], lid_aspects=np.full(2, 0.3))            # a photograph, eyes open
    assert iris_eye_distance([one], seq.rotation[:1], seq.K) == pytest.approx(truth, rel=0.03)
    assert iris_eye_distance([dataclasses.replace(one, lid_aspects=np.full(2, 0.05))], seq.rotation[:1], seq.K) is None
    T = 3 * IRIS_FRAMES
    seq, faces, truth = _iris_scene(head, T, 5, 1.0)
    narrowed = _irises(faces, seq, seq.K, 0.6 * IRIS_DIAMETER_MM)
    aspects = [np.full(2, 0.1 if t % 3 else 0.3) for t in range(T)]     # two frames in three narrowed
    mixed = [dataclasses.replace(n if t % 3 else f, lid_aspects=a)
             for t, (f, n, a) in enumerate(zip(faces, narrowed, aspects))]
    assert iris_eye_distance(mixed, seq.rotation, seq.K) == pytest.approx(truth, rel=0.02)
    assert iris_eye_distance([None] * 5 + mixed[:IRIS_FRAMES - 5], seq.rotation, seq.K) is None      # 5 open-eyed


@pytest.mark.slow
def test_head_size_from_the_irises_sizes_the_head_or_says_why_not(head):
    """Dense observations of a head at 0.7x its size and distance, and landmarks with irises 11.7 mm across: with
    ``head_size="irises"`` the baked head has the true eye distance (the irises' reading) and every pixel stays; with
    the irises unread (open on fewer than half the frames of this short clip) the network's size stays and a warning
    says so."""
    from bake.head_size import eye_distance
    from bake.tracks import posed_vertices
    T = 12
    seq, faces, truth = _iris_scene(head, T, 9, 0.0)
    uv = _projector(seq.K)(lt.load().points(seq.verts_cam.astype(np.float64), head))
    args, _ = _fused_scene(head, seq, 0.7 * seq.verts_cam, uv)
    small, small_stats = bake_observations(*args, faces=faces)
    sized, sized_stats = bake_observations(*args, faces=faces, head_size="irises")
    assert eye_distance(small.basis, head) < 0.8 * truth
    assert eye_distance(sized.basis, head) == pytest.approx(truth, rel=0.03)
    assert not any("head size" in w for w in sized_stats.warnings + small_stats.warnings)
    assert (small_stats.size_from, sized_stats.size_from) == ("network", "irises")
    assert small_stats.iris_eye_distance_mm == pytest.approx(eye_distance(sized.basis, head))

    def pixels(tracks):
        v = np.stack([posed_vertices(tracks, i) for i in range(T)])
        return v[..., :2] / v[..., 2:]
    np.testing.assert_allclose(pixels(sized), pixels(small), atol=1e-6)
    shut = [dataclasses.replace(f, lid_aspects=np.full(2, 0.3 if t < 5 else 0.05)) for t, f in enumerate(faces)]
    _, unread = bake_observations(*args, faces=shut, head_size="irises")       # 5 of 12 frames open-eyed
    assert any("irises were seen open on too few frames" in w for w in unread.warnings)
    assert unread.size_from == "network" and unread.iris_eye_distance_mm is None


def test_a_fused_bake_exports_an_eye_at_rest_at_rest_and_the_head_keeps_its_fitted_lids(head, monkeypatch):
    """Blink scores that stay up on open lids (MediaPipe's score lagging after a blink) pull the solve's blink up:
    on the frames whose lids are at rest the exported eyeBlink is 0 (bake.fusion.rested_blinks), where without that
    step it reads the pull; the baked head's vertices are the same either way (the blink taken off the exported
    weights is on keys of the head's own, filtered as the weights are)."""
    from bake import fusion
    from bake.tracks import posed_vertices
    T = 30
    uv, args, faces = _still_face(head, T, landmark_px=0.1, dense_mm=2.0)
    blinks = [head.arkit_names.index(n) for n in fusion.BLINK_KEYS]
    for t, f in enumerate(faces):
        f.blendshapes[blinks] = 0.8 if 10 <= t < 20 else 0.05
    faces = [dataclasses.replace(f, lid_aspects=g) for f, g in zip(faces, lid_aspects(uv))]
    rested, _ = bake_observations(*args, faces=faces, smoothing=0.0)
    smoothed, _ = bake_observations(*args, faces=faces)
    monkeypatch.setattr(fusion, "rested_blinks", lambda weights, *rest: np.array(weights))
    pulled, _ = bake_observations(*args, faces=faces, smoothing=0.0)
    smoothed_pulled, _ = bake_observations(*args, faces=faces)
    at_rest = fusion.lids_at_rest(lid_aspects(uv), fusion.open_aspects(lid_aspects(uv)))
    for e, k in enumerate(blinks):
        pull = np.zeros(T, bool)
        pull[10:20] = True
        assert (pull & at_rest[:, e]).sum() >= 3
        assert pulled.weights[pull, k].min() > 0.5 and rested.weights[pull & at_rest[:, e], k].max() < 0.02, \
            (pulled.weights[pull, k], rested.weights[pull, k])
        assert (rested.weights[:, k] <= pulled.weights[:, k] + 1e-3).all()     # between: limited, never raised
    assert len(rested.key_names) == len(pulled.key_names) + 2           # the head's own blink keys
    for i in range(T):
        assert np.abs(posed_vertices(rested, i) - posed_vertices(pulled, i)).max() < 0.05   # mm
        assert np.abs(posed_vertices(smoothed, i) - posed_vertices(smoothed_pulled, i)).max() < 0.05


def test_the_per_frame_stage_and_the_bake_run_numpys_blas_on_one_thread(monkeypatch):
    """``observe`` and ``bake_observations`` run numpy's OpenBLAS on one thread (their own threads fill the cores;
    OpenBLAS's only spin beside them: bake.blas) and give the count back after, also when the bake fails."""
    _require_model()
    import bake.pipeline as pl
    from bake import blas
    from bake.demo import SAMPLE_CLIP
    if blas.current() is None:
        pytest.skip("this numpy has no bundled OpenBLAS (blas_threads is a no-op there)")
    observing, solving = [], []
    with blas.blas_threads(2):
        obs = pl.observe(ReconConfig(str(SAMPLE_CLIP), end=4),
                         on_prediction=lambda frame, box, pred, crop: observing.append(blas.current()))
        assert blas.current() == 2

        def solve_seen(*args, **kwargs):
            solving.append(blas.current())
            raise RuntimeError("stop after the count is read")
        monkeypatch.setattr(pl, "solve_observations", solve_seen)
        with pytest.raises(RuntimeError, match="stop after"):
            pl.bake_observed(ReconConfig(str(SAMPLE_CLIP), end=4), obs)
        assert blas.current() == 2
    assert observing and set(observing) == {1} and solving == [1]


@pytest.mark.parametrize("fusion", ["fused", "dense"])
def test_a_bake_names_the_frames_whose_lips_leave_the_picture(head, fusion):
    """The tracker's landmarks reach ``bake.cut_faces``: a still face whose lips lie below the picture's bottom edge on
    frames 4-7 is warned of those frames (numbered as the scene's), whatever the fusion; the same face in the picture
    is not."""
    T = 12
    uv, args, faces = _still_face(head, T, landmark_px=0.1, dense_mm=1.0)
    below = args[4][1] + 20.0
    cut = [dataclasses.replace(f, landmarks=f.landmarks.copy()) for f in faces]
    for f in cut[4:8]:
        f.landmarks[list(lt.LIPS), 1] = below
    edge = lambda stats: [w for w in stats.warnings if "the picture's edge cuts" in w]      # noqa: E731
    _, whole = bake_observations(*args, faces=faces, fusion=fusion, smoothing=0.0, corrective_keys=0)
    _, stats = bake_observations(*args, faces=cut, fusion=fusion, smoothing=0.0, corrective_keys=0)
    assert not edge(whole)
    assert len(edge(stats)) == 1 and edge(stats)[0].startswith("frames 4-7 (4 frames): the picture's edge cuts the "
                                                               "face's mouth:")


def test_a_face_that_fills_the_picture_is_baked_and_its_cut_parts_named(tmp_path, enlarged):
    """The sample clip's first 8 frames enlarged 2.5 times (its face about 540 px in the 384-px frame, too large for
    the face detector there: core.track's search on a grey canvas finds it), as an image folder: every frame is
    observed and baked, and the warnings name the frames where the picture's edge cuts the mouth and the brows."""
    import cv2
    from bake.demo import SAMPLE_CLIP
    from bake.pipeline import bake_observed, observe
    from core.footage import open_footage
    with open_footage(str(SAMPLE_CLIP), end=8) as src:
        images = [f.image for f in src]
    for k, close in enumerate(enlarged(images, 2.5)[0]):
        cv2.imwrite(str(tmp_path / f"{k:04d}.png"), cv2.cvtColor(close, cv2.COLOR_RGB2BGR))
    config = ReconConfig(source=str(tmp_path))
    observed = observe(config)
    assert all(f is not None for f in observed.faces)
    _, stats = bake_observed(config, observed)
    assert stats.frames_tracked == 8
    assert any(w.startswith("frames 0-7 (8 frames): the picture's edge cuts the face's mouth and brows") for w in
               stats.warnings)
