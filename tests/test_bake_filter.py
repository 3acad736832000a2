from types import SimpleNamespace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bake.filter import shot_spans, temporal_filter


def _curves(T=60, seed=0):
    rng = np.random.default_rng(seed)
    clean_w = 0.5 + 0.3 * np.sin(np.linspace(0, 3, T))[:, None] * np.ones((1, 4))
    rv = np.stack([np.linspace(0, 0.4, T), 0.1 * np.sin(np.linspace(0, 2, T)), np.zeros(T)], 1)
    t = np.stack([np.linspace(0, 50, T), np.zeros(T), np.full(T, 600.0)], 1)
    return rng, clean_w, rv, t


def test_strength_zero_is_identity():
    rng, w, rv, t = _curves()
    R = Rotation.from_rotvec(rv).as_matrix()
    f = temporal_filter(w, R, t, np.ones(len(w), bool), fps=30, strength=0.0)
    np.testing.assert_allclose(f.weights, w, atol=1e-6)
    np.testing.assert_allclose(f.rotation, R, atol=1e-12)
    np.testing.assert_allclose(f.translation, t)
    assert f.tracked.all() and f.warnings == ()


def test_smoothing_reduces_noise_and_keeps_bounds():
    rng, w, rv, t = _curves()
    noisy_w = np.clip(w + rng.normal(0, 0.05, w.shape), 0, 1)
    noisy_rv = rv + rng.normal(0, 0.01, rv.shape)
    noisy_t = t + rng.normal(0, 2.0, t.shape)
    f = temporal_filter(noisy_w, Rotation.from_rotvec(noisy_rv).as_matrix(), noisy_t, np.ones(len(w), bool),
                        fps=30, strength=1.0)
    assert np.abs(f.weights - w).mean() < 0.6 * np.abs(noisy_w - w).mean()
    assert np.abs(f.translation - t).mean() < 0.6 * np.abs(noisy_t - t).mean()
    ang = (Rotation.from_matrix(f.rotation) * Rotation.from_rotvec(rv).inv()).magnitude()
    ang0 = (Rotation.from_rotvec(noisy_rv) * Rotation.from_rotvec(rv).inv()).magnitude()
    assert ang.mean() < 0.7 * ang0.mean()
    assert f.weights.min() >= 0 and f.weights.max() <= 1
    with pytest.raises(ValueError):
        temporal_filter(noisy_w, Rotation.from_rotvec(noisy_rv).as_matrix(), noisy_t, np.ones(len(w), bool), 30, 1.5)



def test_weights_alone_are_filtered_as_with_the_pose_and_the_pose_is_only_bridged():
    rng, w, rv, t = _curves()
    noisy_w = np.clip(w + rng.normal(0, 0.05, w.shape), 0, 1)
    R = Rotation.from_rotvec(rv + rng.normal(0, 0.01, rv.shape)).as_matrix()
    noisy_t = t + rng.normal(0, 2.0, t.shape)
    valid = np.ones(len(w), bool)
    valid[20:24] = False
    both = temporal_filter(noisy_w, R, noisy_t, valid, fps=30, strength=1.0)
    alone = temporal_filter(noisy_w, R, noisy_t, valid, fps=30, strength=1.0, pose=False)
    np.testing.assert_array_equal(alone.weights, both.weights)
    bridged = temporal_filter(noisy_w, R, noisy_t, valid, fps=30, strength=0.0)
    np.testing.assert_array_equal(alone.translation, bridged.translation)
    np.testing.assert_array_equal(alone.rotation, bridged.rotation)
    assert not np.allclose(both.translation, bridged.translation)

def test_a_cut_stays_a_cut_and_each_shot_is_filtered_as_alone():
    """``shots``: a camera cut at frame 30 (the head 150 mm nearer and 80 mm aside at once) is kept in one frame, each
    shot filtered as if alone (the filter's speed gate would keep this step too; with the landmarks' place and the
    dense steps, bake.pipeline's, it spread the real clips' cuts over the frames beside them)."""
    rng, w, rv, t = _curves()
    t = t.copy()
    t[30:] += [80.0, 0.0, -150.0]
    noisy_t = t + rng.normal(0, 2.0, t.shape)
    noisy_w = np.clip(w + rng.normal(0, 0.05, w.shape), 0, 1)
    R = Rotation.from_rotvec(rv).as_matrix()
    valid = np.ones(len(w), bool)
    valid[26] = False                                       # a frame bridged from its own shot
    cut = temporal_filter(noisy_w, R, noisy_t, valid, fps=30, strength=1.0, shots=(30,))
    assert np.abs(cut.translation[28:33] - t[28:33]).max() < 6.0
    for span in (slice(0, 30), slice(30, 60)):
        alone = temporal_filter(noisy_w[span], R[span], noisy_t[span], valid[span], fps=30, strength=1.0)
        np.testing.assert_array_equal(cut.translation[span], alone.translation)
        np.testing.assert_array_equal(cut.weights[span], alone.weights)
        np.testing.assert_array_equal(cut.tracked[span], alone.tracked)


def test_one_frame_shots_are_filtered_with_every_reading():
    """Shots of one or two frames (a flash frame, a cut on the clip's last frame) pass the pose filter with every
    optional reading given (the landmarks' place and roll, the dense steps, the background's turns): each frame is
    kept as solved, whatever the readings' windows."""
    rng, w, rv, t = _curves(T=40)
    R = Rotation.from_rotvec(rv + rng.normal(0, 0.01, rv.shape)).as_matrix()
    T = len(w)
    kw = dict(confidence=np.ones(T), frames=np.arange(T), n_bounded=4, seen=t[:, :2] / t[:, 2:],
              seen_roll=rng.normal(0, 0.01, T), dense_steps=rng.normal(0, 1e-3, (T, 3)),
              background_turns=rng.normal(0, 1e-3, T), peaks=np.zeros(4, bool))
    f = temporal_filter(w, R, t, np.ones(T, bool), 30, 1.0, 12, shots=(20, 21, 39), **kw)
    np.testing.assert_array_equal(f.translation[[20, 39]], t[[20, 39]])
    np.testing.assert_array_equal(f.weights[[20, 39]], w[[20, 39]].astype(np.float32))
    assert np.isfinite(f.rotation).all() and f.tracked.all()


def test_shot_spans_keep_a_solved_frame_in_each_shot():
    valid = np.ones(10, bool)
    assert shot_spans(valid) == [slice(0, 10)]
    assert shot_spans(valid, (7, 3)) == [slice(0, 3), slice(3, 7), slice(7, 10)]
    valid[3:7] = False                  # the shot from 3 has no solved frame: it joins the one after it
    assert shot_spans(valid, (3, 7)) == [slice(0, 3), slice(3, 10)]
    assert shot_spans(valid, (0, 10, 12)) == [slice(0, 10)]        # no shot before 0, none from the clip's end
    valid[7:] = False                   # nothing solved after 3: the shots after it join the first
    assert shot_spans(valid, (3, 7)) == [slice(0, 10)]


def test_gaps_bridged_and_flagged():
    rng, w, rv, t = _curves()
    R = Rotation.from_rotvec(rv).as_matrix()
    valid = np.ones(len(w), bool)
    valid[10:15] = False         # short gap: interpolated
    valid[30:50] = False         # long gap: held, reported
    valid[:2] = False            # start: held from the first solved frame, reported
    wg, Rg, tg = w.copy(), R.copy(), t.copy()
    wg[~valid], tg[~valid] = 0.0, 0.0
    Rg[~valid] = np.eye(3)
    f = temporal_filter(wg, Rg, tg, valid, fps=30, strength=0.0, max_gap=12, frames=np.arange(100, 160))
    assert (f.tracked == valid).all()
    np.testing.assert_allclose(f.weights[10:15], w[10:15], atol=2e-3)         # linear data: exact-ish
    np.testing.assert_allclose(f.translation[10:15], t[10:15], atol=1e-6)
    assert (Rotation.from_matrix(f.rotation[10:15]) * Rotation.from_matrix(R[10:15]).inv()).magnitude().max() < 2e-3
    np.testing.assert_allclose(f.translation[30:50], np.repeat(t[29:30], 20, 0))
    np.testing.assert_allclose(f.weights[:2], np.repeat(w[2:3], 2, 0), atol=1e-6)
    assert len(f.warnings) == 2 and "130-149" in " ".join(f.warnings) and "100-101" in " ".join(f.warnings)


def test_pose_filter_steadies_a_still_head_without_lagging_a_moving_one():
    from bake.filter import sigma_frames, smooth, smooth_rotations
    rng = np.random.default_rng(3)
    T = 120
    x = np.concatenate([np.zeros(40), np.arange(1, 41) * 6.0, np.full(40, 240.0)])   # still, 6 mm/frame, still
    t = np.stack([x, np.zeros(T), np.full(T, 600.0)], 1)
    rv = np.stack([np.zeros(T), np.radians(x / 8), np.zeros(T)], 1)                  # turning while it moves
    noisy_t = t + rng.normal(0, 1.0, t.shape)
    noisy_R = Rotation.from_rotvec(rv + rng.normal(0, 0.005, rv.shape)).as_matrix()
    f = temporal_filter(np.zeros((T, 2)), noisy_R, noisy_t, np.ones(T, bool), fps=30, strength=0.5)
    sigma = sigma_frames(0.5, 30)
    light_t = smooth(noisy_t, sigma)            # what filtering the pose like the weights gives
    light_R = smooth_rotations(noisy_R, sigma)
    err = np.linalg.norm(f.translation - t, axis=1)
    err_light = np.linalg.norm(light_t - t, axis=1)
    ang = (Rotation.from_matrix(f.rotation) * Rotation.from_rotvec(rv).inv()).magnitude()
    ang_light = (Rotation.from_matrix(light_R) * Rotation.from_rotvec(rv).inv()).magnitude()
    still = np.r_[5:30, 90:115]
    corners = np.r_[36:46, 76:86]               # starting and stopping: where a heavy filter lags (3x the error)
    assert err[still].mean() < 0.7 * err_light[still].mean()
    assert ang[still].mean() < 0.7 * ang_light[still].mean()
    assert err[corners].mean() < 1.6 * err_light[corners].mean()
    assert ang[corners].mean() < 1.6 * ang_light[corners].mean()


def test_pose_filter_keeps_a_fast_head_shake():
    """A head shaken left-right within 2-3 frames (the swing a real clip showed at 0.33x its speed after the
    filter) keeps at least 90 % of its swing; the still stretches around it still steady."""
    rng = np.random.default_rng(5)
    T = 90
    yaw = np.zeros(T)
    yaw[40:52] = np.radians(25) * np.array([0.5, 1, 0.5, -0.5, -1, -0.5, 0.5, 1, 0.5, -0.5, -1, -0.5])
    rv = np.stack([np.zeros(T), yaw, np.zeros(T)], 1)
    t = np.tile([0.0, 0.0, 600.0], (T, 1))
    noisy_R = Rotation.from_rotvec(rv + rng.normal(0, 0.004, rv.shape)).as_matrix()
    noisy_t = t + rng.normal(0, 0.8, t.shape)
    f = temporal_filter(np.zeros((T, 2)), noisy_R, noisy_t, np.ones(T, bool), fps=30, strength=0.5)
    got = Rotation.from_matrix(f.rotation).as_rotvec()[:, 1]
    speed_true = np.abs(np.diff(yaw[38:54])).sum()
    speed_got = np.abs(np.diff(got[38:54])).sum()
    assert speed_got > 0.9 * speed_true, (speed_got, speed_true)
    still = np.r_[5:30, 65:85]
    ang = np.abs(got - yaw)[still].mean()
    raw = np.abs(Rotation.from_matrix(noisy_R).as_rotvec()[:, 1] - yaw)[still].mean()
    assert ang < 0.6 * raw


def test_pose_filter_keeps_a_camera_shake_a_far_faces_noise_hides(monkeypatch):
    """A far face (its middle 600 mm away, the depth noisy by 6 mm, the turn by 0.6 degrees, its place in the image
    steady to 0.2 mm) whose camera shakes sideways by 1.2 degrees within 2 frames (12 px at a 600 px focal length):
    the face's middle keeps at least 90 % of the swing in the image, where the whole-pose test alone kept about 1 %;
    on the still frames it sits closer to its place than the solved poses put it."""
    from bake import filter as bake_filter
    from core.framing import CROP_ANCHOR
    rng = np.random.default_rng(11)
    T = 90
    swing = np.zeros(T)
    swing[40:56] = np.radians(1.2) * np.sin(2 * np.pi * np.arange(16) / 4)
    cam = Rotation.from_rotvec(np.stack([np.zeros(T), swing, np.zeros(T)], 1))
    head = Rotation.from_rotvec(rng.normal(0, np.radians(0.6), (T, 3)))
    face = np.asarray(CROP_ANCHOR)
    middle = np.stack([rng.normal(0, 0.2, T), rng.normal(0, 0.2, T), 600.0 + rng.normal(0, 6.0, T)], 1)
    R, t = (cam * head).as_matrix(), cam.apply(middle - head.apply(face))       # the camera's view of the head

    def image(rotation, translation):               # where the face's middle is seen (x / z, y / z)
        p = np.einsum("tij,j->ti", rotation, face) + translation
        return p[:, :2] / p[:, 2:]
    seen = cam.apply([0.0, 0.0, 600.0])
    truth = seen[:, :2] / seen[:, 2:]
    shake, still = np.r_[40:56], np.r_[5:35, 62:85]

    def kept(f):
        return np.polyfit(truth[shake, 0], image(f.rotation, f.translation)[shake, 0], 1)[0]
    f = temporal_filter(np.zeros((T, 2)), R, t, np.ones(T, bool), fps=30, strength=0.5)
    assert kept(f) > 0.9, kept(f)
    err = np.linalg.norm(image(f.rotation, f.translation)[still] - truth[still], axis=1)
    raw = np.linalg.norm(image(R, t)[still] - truth[still], axis=1)
    assert err.mean() < raw.mean()
    same = bake_filter.keep_image_shake(R, t, R, t, f.rotation, f.translation)   # light path = solved: none kept
    np.testing.assert_allclose(same[1], f.translation)
    monkeypatch.setattr(bake_filter, "keep_image_shake", lambda R, t, R1, t1, Rf, tf, solved=None, seen=None: (Rf, tf))
    alone = temporal_filter(np.zeros((T, 2)), R, t, np.ones(T, bool), fps=30, strength=0.5)
    assert kept(alone) < 0.2, kept(alone)


def _seen_by(cam: Rotation, rng, place_mm: float):
    """A still head 600 mm away as the camera ``cam`` (T rotations) sees it, solved with noise (its middle's place
    ``place_mm`` sideways, depth 6 mm, turn 0.6 degrees): the solved poses R, t and where the truth puts the face's
    middle in the image (x / z, y / z)."""
    from core.framing import CROP_ANCHOR
    T = len(cam)
    head = Rotation.from_rotvec(rng.normal(0, np.radians(0.6), (T, 3)))
    middle = np.stack([rng.normal(0, place_mm, T), rng.normal(0, place_mm, T), 600.0 + rng.normal(0, 6.0, T)], 1)
    R, t = (cam * head).as_matrix(), cam.apply(middle - head.apply(np.asarray(CROP_ANCHOR)))
    at = cam.apply([0.0, 0.0, 600.0])
    return R, t, at[:, :2] / at[:, 2:]


def test_pose_filter_keeps_a_camera_that_shakes_all_along_where_the_landmarks_see_the_face():
    """The camera of the test above jolted about a degree on every frame but the first ten: the face's place read from
    the solved poses alone is as unsteady as the jolts, so 0.16 of them are kept; given where the landmarks see the
    face's middle (``seen``: x / z, y / z, steady to 0.3 px there, plus an offset), its place against theirs is steady
    and at least 90 % are kept (0.97 when written)."""
    from core.framing import CROP_ANCHOR
    rng = np.random.default_rng(12)
    T = 90
    swing = np.radians(rng.normal(0, 1.2, T)) * (np.arange(T) >= 10)        # a jolt of about a degree each frame
    cam = Rotation.from_rotvec(np.stack([np.zeros(T), swing, np.zeros(T)], 1))
    R, t, truth = _seen_by(cam, rng, 0.2)
    face = np.asarray(CROP_ANCHOR)
    seen = truth + [0.01, -0.02] + rng.normal(0, 0.3 / 600.0, (T, 2))

    def kept(f):
        p = np.einsum("tij,j->ti", f.rotation, face) + f.translation
        return np.polyfit(truth[10:, 0], (p[:, 0] / p[:, 2])[10:], 1)[0]
    blind = temporal_filter(np.zeros((T, 2)), R, t, np.ones(T, bool), fps=30, strength=0.5)
    f = temporal_filter(np.zeros((T, 2)), R, t, np.ones(T, bool), fps=30, strength=0.5, seen=seen)
    assert kept(blind) < 0.3, kept(blind)
    assert kept(f) > 0.9, kept(f)


def test_pose_filter_keeps_a_far_heads_fast_turn_its_depth_noise_hides(monkeypatch):
    """A head 600 mm away shaken 10 degrees left-right within 2 frames, its depth noisy by 6 mm and its turn by 0.6
    degrees: at least 90 % of the swing kept, where the whole-pose test alone kept about a sixth (its depth noise
    swamps the turn's); on the still frames the turn closer to the truth than solved, and the face's middle stays
    where the filter puts it."""
    from bake import filter as bake_filter
    from core.framing import CROP_ANCHOR
    rng = np.random.default_rng(5)
    T = 90
    yaw = np.zeros(T)
    yaw[40:56] = np.radians(10) * np.sin(2 * np.pi * np.arange(16) / 4)
    true = Rotation.from_rotvec(np.stack([np.zeros(T), yaw, np.zeros(T)], 1))
    R = (Rotation.from_rotvec(rng.normal(0, np.radians(0.6), (T, 3))) * true).as_matrix()
    t = np.array([0.0, 0.0, 600.0]) + np.stack([rng.normal(0, 0.2, T), rng.normal(0, 0.2, T),
                                                rng.normal(0, 6.0, T)], 1)
    shake, still = np.r_[40:56], np.r_[5:35, 62:85]

    def kept(f):
        return np.polyfit(yaw[shake], Rotation.from_matrix(f.rotation).as_rotvec()[shake, 1], 1)[0]
    f = temporal_filter(np.zeros((T, 2)), R, t, np.ones(T, bool), fps=30, strength=0.5)
    assert kept(f) > 0.9, kept(f)
    err = (Rotation.from_matrix(f.rotation) * true.inv()).magnitude()[still]
    raw = (Rotation.from_matrix(R) * true.inv()).magnitude()[still]
    assert err.mean() < 0.6 * raw.mean()
    face = np.asarray(CROP_ANCHOR)
    Rf, tf = np.tile(np.eye(3), (T, 1, 1)), np.tile([0.0, 0.0, 600.0], (T, 1))
    Rk, tk = bake_filter.keep_fast_turn(R, Rf, Rf, tf)                   # every frame far from this "light path"
    np.testing.assert_allclose(np.einsum("tij,j->ti", Rk, face) + tk, np.einsum("tij,j->ti", Rf, face) + tf)
    monkeypatch.setattr(bake_filter, "keep_fast_turn", lambda R, R1, Rf, tf, solved=None: (Rf, tf))
    alone = temporal_filter(np.zeros((T, 2)), R, t, np.ones(T, bool), fps=30, strength=0.5)
    assert kept(alone) < 0.33, kept(alone)


def test_weight_filter_keeps_a_blink_and_steadies_a_still_face():
    """A blink (shut within two frames at 30 fps, open again two frames later) keeps at least 90 % of its peak and its
    frames, where the Gaussian alone cut it to about 75 %; a weight that only jitters is steadied nearly as much as
    by the Gaussian (second differences 13x smaller than the solved ones, the Gaussian's 18x, when written)."""
    from bake.filter import sigma_frames, smooth
    rng = np.random.default_rng(7)
    T = 90
    blink = np.zeros(T)
    blink[40:46] = [0.5, 1.0, 1.0, 1.0, 0.5, 0.1]
    still = 0.3 + rng.normal(0, 0.03, T)
    w = np.clip(np.stack([blink + rng.normal(0, 0.01, T), still], 1), 0, 1)
    R, t = np.tile(np.eye(3), (T, 1, 1)), np.tile([0.0, 0.0, 600.0], (T, 1))
    f = temporal_filter(w, R, t, np.ones(T, bool), fps=30, strength=0.5)
    gauss = smooth(w, sigma_frames(0.5, 30))
    assert f.weights[41:44, 0].min() > 0.9 and gauss[41:44, 0].min() < 0.8
    assert (f.weights[:38, 0] < 0.1).all() and (f.weights[48:, 0] < 0.1).all()
    jitter = lambda x: np.abs(np.diff(x[5:-5], 2)).mean()       # noqa: E731
    assert jitter(f.weights[:, 1]) < min(1.5 * jitter(gauss[:, 1]), 0.1 * jitter(w[:, 1]))


def test_despike_takes_a_one_frame_spike_back_to_its_neighbours_and_keeps_a_quick_rise_and_fall():
    """A weight that jumps out and back within one frame amid steady frames (a small face's solve) comes back to its
    neighbours' range, up or down; a jaw that opens and shuts over five frames, a column left out (the eyes') and a
    clip below SPIKE_FPS keep theirs; next to an unsolved frame nothing is judged."""
    from bake.filter import SPIKE_FPS, despike
    T = 20
    w = np.full((T, 4), 0.2)
    w[6, 0], w[12, 0] = 0.9, 0.2 + 0.05                  # a spike, and one under SPIKE_MIN
    w[8, 1] = 0.0                                        # a spike down
    w[4:9, 2] = [0.3, 0.6, 0.9, 0.5, 0.25]               # a quick rise and fall: its sides move
    w[10, 3] = 1.0                                       # a spike in a column left out
    valid, columns = np.ones(T, bool), np.array([True, True, True, False])
    out = despike(w, valid, 30.0, columns)
    assert out[6, 0] == pytest.approx(0.2) and out[12, 0] == pytest.approx(0.25) and out[8, 1] == pytest.approx(0.2)
    np.testing.assert_array_equal(out[:, 2:], w[:, 2:])
    np.testing.assert_array_equal(np.delete(out, [6, 8], 0), np.delete(w, [6, 8], 0))
    np.testing.assert_array_equal(despike(w, valid, SPIKE_FPS - 1.0, columns), w)
    valid[5] = False
    assert despike(w, valid, 30.0, columns)[6, 0] == pytest.approx(0.9)


def test_weight_filter_steadies_a_weight_that_flips_from_frame_to_frame_and_keeps_a_quick_one():
    """A weight whose solve flips between two readings from one frame to the next (a small face's ill-read mouth) is
    filtered there as a weight that barely moves (about the two readings' mean), where the speed gate alone kept the
    flips; a jaw that opens and shuts within five frames keeps its peak, and nothing changes below SPIKE_FPS."""
    from bake.filter import SPIKE_FPS, smooth_weights, zigzag
    T = 40
    w = np.zeros((T, 2))
    w[10:16, 0] = [1.0, 0.0, 1.0, 0.0, 1.0, 0.4]
    w[25:30, 1] = [0.3, 0.7, 1.0, 0.6, 0.2]
    assert zigzag(w)[10:15, 0].all() and not zigzag(w)[:, 1].any()
    out = smooth_weights(w, 1.5, 30.0)
    assert np.abs(np.diff(out[9:17, 0], 2)).max() < 0.35 and 0.3 < out[11:14, 0].mean() < 0.7
    assert out[27, 1] > 0.9
    assert np.abs(np.diff(smooth_weights(w, 1.5, SPIKE_FPS - 1.0)[9:17, 0], 2)).max() > 1.0


def test_a_blinks_peak_keeps_its_solved_value():
    """A blink shut 0.9 for one or three frames at 25 frames/s: at its peak the filtered curve stands still, so the
    speed gate alone left the Gaussian there (peaks of 0.69 and 0.84 when written); a column given as one of the
    ``peaks`` takes the gate's fastest within PEAK_REACH frames and keeps it, and the other columns are as before."""
    from bake.filter import smooth_weights, widest
    np.testing.assert_array_equal(widest(np.array([[0.0], [1.0], [0.0], [0.0], [0.5]]), 1)[:, 0], [1, 1, 1, 0.5, 0.5])
    for n in (1, 3):
        w = np.zeros((30, 2))
        w[12:12 + n] = 0.9
        plain = smooth_weights(w, 1.25, 25.0)
        kept = smooth_weights(w, 1.25, 25.0, peaks=np.array([True, False]))
        assert plain[12:12 + n, 0].max() < 0.85 and kept[12:12 + n, 0].max() > 0.89, (n, plain.max(), kept.max())
        np.testing.assert_array_equal(kept[:, 1], plain[:, 1])


def test_a_head_moving_as_the_clip_starts_and_ends_is_not_pulled_inwards():
    """A far face moving sideways 3 mm a frame with its depth read to +-20 mm (a small face in a wide shot): the
    still-head filter takes over, and its Gaussian mean pulled the first and last frames towards the clip's inside
    by 1.2-7.1 mm (0.8-1.2 degrees of a steady turn) when written; the local line keeps them within 0.3 mm and
    0.25 degrees (asserted: 0.5, 0.4)."""
    rng = np.random.default_rng(5)
    T = 60
    t = np.stack([3.0 * np.arange(T), np.zeros(T), np.full(T, 900.0)], 1)
    rv = np.stack([np.zeros(T), np.radians(0.5 * np.arange(T)), np.zeros(T)], 1)
    noisy_t = t + rng.normal(0, 1, t.shape) * [0.3, 0.3, 20.0]
    R = Rotation.from_rotvec(rv + rng.normal(0, 0.002, rv.shape)).as_matrix()
    f = temporal_filter(np.zeros((T, 2)), R, noisy_t, np.ones(T, bool), fps=30, strength=0.5,
                        confidence=rng.uniform(0.5, 1.5, T))
    ends = np.r_[0:3, T - 3:T]
    assert np.abs(f.translation[ends, 0] - t[ends, 0]).max() < 0.5
    ang = np.degrees((Rotation.from_matrix(f.rotation) * Rotation.from_rotvec(rv).inv()).magnitude())
    assert ang[ends].max() < 0.4
    assert np.abs(f.translation[:, 2] - 900.0)[10:-10].mean() < 0.5 * np.abs(noisy_t[:, 2] - 900.0)[10:-10].mean()


def test_local_line_is_the_gaussian_mean_amid_equal_frames_and_keeps_a_line():
    from bake.filter import local_line
    from bake.numerics import gaussian_filter
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 3))
    inner = slice(8, -8)                   # where the Gaussian (radius 6 at sigma 1.5) reaches no end
    np.testing.assert_allclose(local_line(x, 1.5, np.ones(50))[inner], gaussian_filter(x, 1.5)[inner], atol=1e-12)
    line = np.outer(np.arange(50.0), [2.0, -1.0, 0.5]) + [1.0, 2.0, 3.0]
    np.testing.assert_allclose(local_line(line, 4.5, rng.uniform(0.05, 2.0, 50)), line, atol=1e-9)
    still = rng.normal(size=(50, 4000))     # a still curve is steadied at the ends too (its first frame to 0.84 of
    ends = local_line(still, 1.5, np.ones(50))[[0, -1]]         # the noise, the mean to 0.67; 0.57 both at sigma 4.5)
    assert ends.std() < 0.9 * still[[0, -1]].std()
    one = local_line(np.array([[1.0], [5.0], [2.0]]), 1.5, np.array([1.0, 0.0, 0.0]))     # no slope to tell
    np.testing.assert_allclose(one, 1.0)


def test_frames_held_at_the_ends_hold_the_nearest_solved_frames_filtered_value():
    rng, w, rv, t = _curves()
    R = Rotation.from_rotvec(rv).as_matrix()
    valid = np.ones(len(w), bool)
    valid[:6] = valid[-4:] = False
    f = temporal_filter(w, R, t + rng.normal(0, 1.0, t.shape), valid, fps=30, strength=1.0,
                        confidence=np.ones(len(w)))
    np.testing.assert_array_equal(f.translation[:6], np.repeat(f.translation[6:7], 6, 0))
    np.testing.assert_array_equal(f.translation[-4:], np.repeat(f.translation[-5:-4], 4, 0))
    np.testing.assert_array_equal(f.weights[:6], np.repeat(f.weights[6:7], 6, 0))
    np.testing.assert_array_equal(f.rotation[-4:], np.repeat(f.rotation[-5:-4], 4, 0))


def test_a_moving_head_is_not_pulled_towards_a_gap_where_the_face_was_lost():
    """A head moving 5 mm a frame whose face is lost for 20 frames (held, not bridged): the frames either side of the
    gap have their neighbours on one side, as at the clip's ends. The mean put them up to 5.3 mm off at strength 0.5
    and 23.5 mm at 1 when written; the local line 1.4 and 2.2."""
    rng = np.random.default_rng(1)
    T = 80
    x = 5.0 * np.arange(T)
    valid = np.ones(T, bool)
    valid[40:60] = False
    t = np.stack([x, np.zeros(T), np.full(T, 600.0)], 1) + rng.normal(0, 0.5, (T, 3))
    t[~valid] = 0.0
    R = np.tile(np.eye(3), (T, 1, 1))
    near = np.r_[34:40, 60:66]
    for strength, most in ((0.5, 2.0), (1.0, 3.0)):
        f = temporal_filter(np.zeros((T, 2)), R, t, valid, fps=30, strength=strength, max_gap=12,
                            confidence=np.ones(T))
        assert np.abs(f.translation[near, 0] - x[near]).max() < most


def test_pose_filter_keeps_a_camera_roll_the_landmarks_see_and_not_a_jolt_they_do_not():
    """A camera rolled 3 degrees side to side within 2 frames in front of a still head 600 mm away (turn noise 0.6
    degrees, depth noise 6 mm, and on six still frames the solve's roll jolted 0.8 degrees for a frame, as a blink
    jolts the talking clip's): given the landmarks' eye line (``seen_roll``: the true roll plus an offset and 0.05
    degrees of noise), at least 90 % of the camera's roll is kept (0.98 when written), where the filter kept none
    without it; the jolts, which the landmarks do not see, stay filtered (0.08 of them kept when written; the same
    filter given a ``seen_roll`` that jolts with them keeps them)."""
    from core.framing import CROP_ANCHOR
    rng = np.random.default_rng(21)
    T = 90
    roll = np.zeros(T)
    roll[40:56] = np.radians(3.0) * np.sin(2 * np.pi * np.arange(16) / 4)
    jolts = np.array([8, 14, 20, 26, 66, 78])
    jolt = np.zeros(T)
    jolt[jolts] = np.radians(0.8) * np.array([1, -1, 1, -1, 1, -1])
    cam = Rotation.from_rotvec(np.stack([np.zeros(T), np.zeros(T), roll], 1))
    noise = Rotation.from_rotvec(rng.normal(0, np.radians(0.6), (T, 3)) + np.stack([np.zeros(T), np.zeros(T), jolt], 1))
    face = np.asarray(CROP_ANCHOR)
    middle = np.stack([rng.normal(0, 0.2, T), rng.normal(0, 0.2, T), 600.0 + rng.normal(0, 6.0, T)], 1)
    R, t = (cam * noise).as_matrix(), cam.apply(middle - noise.apply(face))

    def eye_line(rotation, translation):            # the head's left-right line through its middle, as seen
        ends = [np.einsum("tij,j->ti", rotation, face + [s * 30.0, 0.0, 0.0]) + translation for s in (-1, 1)]
        d = ends[1][:, :2] / ends[1][:, 2:] - ends[0][:, :2] / ends[0][:, 2:]
        return np.arctan2(d[:, 1], d[:, 0])
    truth = eye_line(cam.as_matrix(), cam.apply(np.tile([0.0, 0.0, 600.0], (T, 1)) - face))
    seen_roll = truth + 0.4 + rng.normal(0, np.radians(0.05), T)
    shake = np.r_[40:56]

    def kept(f):
        return np.polyfit(truth[shake], eye_line(f.rotation, f.translation)[shake], 1)[0]
    blind = temporal_filter(np.zeros((T, 2)), R, t, np.ones(T, bool), fps=30, strength=0.5)
    f = temporal_filter(np.zeros((T, 2)), R, t, np.ones(T, bool), fps=30, strength=0.5, seen_roll=seen_roll)
    solved = eye_line(R, t)
    assert kept(blind) < 0.3, kept(blind)
    assert kept(f) > 0.9, kept(f)
    jolted = solved[jolts] - truth[jolts]
    assert np.polyfit(jolted, eye_line(f.rotation, f.translation)[jolts] - truth[jolts], 1)[0] < 0.25
    fooled = temporal_filter(np.zeros((T, 2)), R, t, np.ones(T, bool), fps=30, strength=0.5, seen_roll=solved + 0.4)
    assert np.polyfit(jolted, eye_line(fooled.rotation, fooled.translation)[jolts] - truth[jolts], 1)[0] > 0.6


def _handheld_scene(seed: int, jolt_degrees: float, T: int = 120, roll_degrees: float = 0.0):
    """A still head 600 mm away (its solved place noisy by 0.3 mm, depth by 6 mm, turn by 0.6 degrees) seen by a
    camera turned at random each frame (``jolt_degrees`` sideways and up and down, ``roll_degrees`` about its axis,
    smoothed over a frame): the solved poses, the truth's image place of the face's middle, the landmarks' (the truth
    plus 0.1 mm of noise and an offset) and the dense network's frame-to-frame steps (the truth's plus 0.1 mm of
    other noise; the turn's, as ``bake.observations.image_steps`` gives it, plus 0.05 degrees), and the truth's and
    the landmarks' roll in the image (theirs plus an offset and 0.05 degrees of noise)."""
    from core.framing import CROP_ANCHOR
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1, (T, 3))
    z = (z + np.roll(z, 1, 0) + np.roll(z, -1, 0)) / np.sqrt(3)
    cam = Rotation.from_rotvec(np.radians([jolt_degrees, jolt_degrees, roll_degrees]) * z)
    R, t, truth = _seen_by(cam, rng, 0.3)
    face = np.asarray(CROP_ANCHOR)
    seen = truth + [0.01, -0.02] + rng.normal(0, 0.1 / 600.0, (T, 2))
    dense = truth + rng.normal(0, 0.1 / 600.0, (T, 2))
    from bake.filter import image_roll
    roll = np.unwrap(image_roll(cam.as_matrix(), cam.apply(np.tile([0.0, 0.0, 600.0], (T, 1)) - face)))
    turned = roll + rng.normal(0, np.radians(0.05), T)
    steps = np.vstack([np.full((1, 3), np.nan), np.c_[np.diff(dense, axis=0), np.diff(turned)]])
    seen_roll = roll + 0.3 + rng.normal(0, np.radians(0.05), T)
    return R, t, truth, seen, steps, roll, seen_roll


def _place(f):
    from core.framing import CROP_ANCHOR
    p = np.einsum("tij,j->ti", f.rotation, np.asarray(CROP_ANCHOR)) + f.translation
    return p[:, :2] / p[:, 2:]


def test_pose_filter_follows_a_handheld_camera_where_the_dense_place_goes_with_the_landmarks():
    """A camera jolted at random by about 0.1 degree each frame (1 mm at the face, three of the solved place's noises):
    with the landmarks' place alone (the outlier keep, ``keep_image_shake``) the filter keeps under half of the jolts
    (0.29 when written) and the face's place is further from the truth than solved (2.4x); with the dense network's
    steps too, which go with the landmarks', at least 90 % (0.97) and the place closer to the truth than solved
    (0.43x). Where the dense steps do not go with the landmarks (independent noise, a still camera), their quick
    moves are hardly taken: the share read is under 0.2 (0.025; 0.11 before ``_share_sureness``), and the place's
    second differences stay under 0.15 of the landmarks' own (0.035; 0.11 before)."""
    from bake import filter as bake_filter
    R, t, truth, seen, steps, _, _ = _handheld_scene(31, 0.1)
    ones = np.ones(len(t), bool)
    kept = lambda f: np.polyfit(truth[10:, 0] - truth[10:, 0].mean(), _place(f)[10:, 0], 1)[0]
    alone = temporal_filter(np.zeros((len(t), 2)), R, t, ones, fps=30, strength=0.5, seen=seen)
    both = temporal_filter(np.zeros((len(t), 2)), R, t, ones, fps=30, strength=0.5, seen=seen, dense_steps=steps)
    assert kept(alone) < 0.5, kept(alone)
    assert kept(both) > 0.9, kept(both)
    solved = np.linalg.norm(_place(SimpleNamespace(rotation=R, translation=t)) - truth, axis=1).mean()
    assert np.linalg.norm(_place(alone) - truth, axis=1).mean() > solved
    assert np.linalg.norm(_place(both) - truth, axis=1).mean() < 0.6 * solved
    R, t, truth, seen, _, _, _ = _handheld_scene(32, 0.0)
    noise = np.random.default_rng(3).normal(0, 0.1 / 600.0, (len(t), 2))
    assert bake_filter.quick_share(seen, noise).mean() < 0.2
    still = temporal_filter(np.zeros((len(t), 2)), R, t, ones, fps=30, strength=0.5, seen=seen, dense_steps=noise)
    wobble = np.linalg.norm(np.diff(_place(still), 2, axis=0), axis=1).mean()
    assert wobble < 0.15 * np.linalg.norm(np.diff(seen, 2, axis=0), axis=1).mean()


def test_a_still_face_takes_no_share_of_the_landmarks_noise_where_the_dense_place_is_the_noisier():
    """A still camera, the dense network's place 3 or 10 times as noisy as the landmarks' (as on the held-out renders):
    the scatter of the two noises' local covariance is no share (``_share_sureness``): the share read stays under 0.1
    (0.009-0.031 over the three draws and two noises; 0.19-0.35 without the sureness) and the filtered place's second
    differences under 0.1 of the landmarks' own (0.034-0.050; 0.21-0.38 without)."""
    from bake import filter as bake_filter
    for draw in range(3):
        R, t, truth, seen, _, _, _ = _handheld_scene(40 + draw, 0.0)
        ones = np.ones(len(t), bool)
        for times in (3.0, 10.0):
            place = np.random.default_rng(draw).normal(0, times * 0.1 / 600.0, (len(t), 2))
            steps = np.diff(place, axis=0, prepend=place[:1])
            assert bake_filter.quick_share(seen, steps).mean() < 0.1
            still = temporal_filter(np.zeros((len(t), 2)), R, t, ones, fps=30, strength=0.5, seen=seen,
                                    dense_steps=np.c_[steps, np.zeros(len(t))])
            wobble = np.linalg.norm(np.diff(_place(still), 2, axis=0), axis=1).mean()
            assert wobble < 0.1 * np.linalg.norm(np.diff(seen, 2, axis=0), axis=1).mean(), (draw, times, wobble)


def test_pose_filter_follows_a_handheld_cameras_roll_where_the_dense_turn_goes_with_the_eye_line():
    """The camera of the test above rolled at random by about half a degree each frame: with the landmarks' eye line
    alone (the outlier keep, ``keep_image_roll``) the filter keeps part of the roll; with the dense network's turns
    too (``follow_seen_roll``) 0.8-1.2 of it (1.09 when written; 0.40 without them; 0.89-1.09 over three draws)."""
    from bake.filter import image_roll
    R, t, truth, seen, steps, roll, seen_roll = _handheld_scene(33, 0.0, roll_degrees=0.5)
    ones = np.ones(len(t), bool)

    def kept(f):
        got = np.unwrap(image_roll(f.rotation, f.translation))
        return np.polyfit(roll[10:] - roll[10:].mean(), got[10:], 1)[0]
    alone = temporal_filter(np.zeros((len(t), 2)), R, t, ones, fps=30, strength=0.5, seen=seen, seen_roll=seen_roll)
    both = temporal_filter(np.zeros((len(t), 2)), R, t, ones, fps=30, strength=0.5, seen=seen, seen_roll=seen_roll,
                           dense_steps=steps)
    assert kept(alone) < 0.7, kept(alone)
    assert 0.8 < kept(both) < 1.2, kept(both)


def test_pose_filter_follows_a_handheld_cameras_roll_read_off_the_background_where_the_eye_line_is_noisy():
    """The rolled camera of the test above, but the landmarks' eye line and the dense turn each as noisy as the roll
    (0.5 degrees, as on a small face): with them alone the share is their Wiener gain and under 0.8 of the roll the
    solved poses show is kept (0.36 when written); with the background's turns (the camera's steps plus 0.02 degrees
    of noise, core.background) 0.9-1.1 of it (1.01); read on only a few frames (a blank background's stray corners)
    they are not taken. A still camera whose background reads no turn: the face's roll is the same as without it (to
    1e-9: the share and its sureness see the same readings)."""
    from bake.filter import image_roll
    R, t, truth, seen, steps, roll, _ = _handheld_scene(33, 0.0, roll_degrees=0.5)
    rng = np.random.default_rng(5)
    ones = np.ones(len(t), bool)
    seen_roll = roll + 0.3 + rng.normal(0, np.radians(0.5), len(t))
    steps = steps.copy()
    steps[1:, 2] = np.diff(roll + rng.normal(0, np.radians(0.5), len(t)))
    background = np.r_[np.nan, np.diff(roll) + rng.normal(0, np.radians(0.02), len(t) - 1)]

    def kept(rotation, translation):
        got = np.unwrap(image_roll(rotation, translation))
        return np.polyfit(roll[10:] - roll[10:].mean(), got[10:], 1)[0] / solved
    solved = 1.0
    solved = kept(R, t)                    # the solved poses' roll against the camera's (1.13: the face off its axis)
    kw = dict(fps=30, strength=0.5, seen=seen, seen_roll=seen_roll, dense_steps=steps)
    alone = temporal_filter(np.zeros((len(t), 2)), R, t, ones, **kw)
    read = temporal_filter(np.zeros((len(t), 2)), R, t, ones, background_turns=background, **kw)
    assert kept(alone.rotation, alone.translation) < 0.8, kept(alone.rotation, alone.translation)
    assert 0.9 < kept(read.rotation, read.translation) < 1.1, kept(read.rotation, read.translation)
    sparse = np.where(np.arange(len(t)) % 12 == 1, background, np.nan)     # read on 10 frames of 120: not taken
    few = temporal_filter(np.zeros((len(t), 2)), R, t, ones, background_turns=sparse, **kw)
    np.testing.assert_allclose(few.rotation, alone.rotation, atol=1e-12)

    R, t, truth, seen, steps, roll, seen_roll = _handheld_scene(34, 0.0)          # a still camera
    kw = dict(fps=30, strength=0.5, seen=seen, seen_roll=seen_roll, dense_steps=steps)
    alone = temporal_filter(np.zeros((len(t), 2)), R, t, ones, **kw)
    still = temporal_filter(np.zeros((len(t), 2)), R, t, ones, background_turns=np.zeros(len(t)), **kw)
    np.testing.assert_allclose(image_roll(still.rotation, still.translation),
                               image_roll(alone.rotation, alone.translation), atol=1e-9)


def test_a_short_clip_of_unrelated_noise_takes_no_more_share_than_a_long_one():
    """The sureness counts the products the Gaussian sums where there are any (``_products_read``): on an 8-frame clip
    (6 second differences) unrelated noise, the dense place 10 times the landmarks', takes no more share than on a
    300-frame clip, within half as much again (0.025 against 0.040 over these 40 draws; 0.105 against 0.043 when the
    whole window's 11 products were counted); the count amid a long clip is the window's, half of it at the ends and
    beside frames without a reading."""
    from bake import filter as bake_filter
    rng = np.random.default_rng(8)

    def mean_share(frames):
        shares = []
        for _ in range(40):
            place = rng.normal(0, 10.0, (frames, 2))
            shares.append(bake_filter.quick_share(rng.normal(0, 1.0, (frames, 2)),
                                                  np.diff(place, axis=0, prepend=place[:1])).mean())
        return np.mean(shares)
    short, long = mean_share(8), mean_share(300)
    assert short < 1.5 * long and long < 0.05, (short, long)
    n = bake_filter._products_read(np.r_[False, np.ones(298, bool), False], bake_filter.QUICK_WINDOW)
    assert 10 < n[150] < 12 and 0.4 < n[1] / n[150] < 0.6
    gap = np.r_[False, np.ones(298, bool), False]
    gap[140:160] = False                                   # 20 frames without a reading: beside them, half again
    assert 0.4 < bake_filter._products_read(gap, bake_filter.QUICK_WINDOW)[139] / n[139] < 0.6
    assert bake_filter._products_read(np.r_[False, np.ones(6, bool), False], bake_filter.QUICK_WINDOW).max() < 4
