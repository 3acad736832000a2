"""benchmarks/face_signals.py on synthetic landmark tracks (pure numpy: no dlib, no footage)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location(
    "face_signals", Path(__file__).resolve().parents[1] / "benchmarks" / "face_signals.py")
fs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fs)

# A frontal face in image pixels (y down), IOD 100: the subject's right eye on the image's left.
NEUTRAL = dict(
    right_eye_outer=(-75, 0), right_eye_inner=(-25, 0), right_eye_upper=(-50, -10), right_eye_lower=(-50, 10),
    left_eye_inner=(25, 0), left_eye_outer=(75, 0), left_eye_upper=(50, -10), left_eye_lower=(50, 10),
    right_brow_mid=(-50, -40), left_brow_mid=(50, -40), subnasale=(0, 60),
    mouth_right=(-40, 100), mouth_left=(40, 100), lip_upper_outer=(0, 90), lip_lower_outer=(0, 115),
    lip_upper_inner=(0, 100), lip_lower_inner=(0, 100), chin=(0, 170))


def face_track(T=120):
    """(T, N, 2) named points with known signals, and those signals: a talking mouth, two blinks of the left eye
    and one of both, a brow raise, and a head that moves, turns in-plane and changes size."""
    t = np.arange(T)
    mouth = 15 + 15 * np.sin(t / 4.0)                       # inner lip gap, px at IOD 100
    lid = {"right": np.full(T, 10.0), "left": np.full(T, 10.0)}
    for start, sides in ((20, ("left",)), (60, ("left",)), (95, ("right", "left"))):
        for side in sides:
            lid[side][start:start + 3] = 1.0                  # 3 closed frames (aspect ratio 0.04 vs 0.4 open)
    brow = 40 + 15 * np.exp(-((t - 80) / 6.0) ** 2) + 10 * np.exp(-((t - 150) / 8.0) ** 2)
    base = np.array([NEUTRAL[n] for n in fs.NAMES], float)
    pts = np.repeat(base[None], T, 0)
    i = fs.IDX
    pts[:, i["lip_upper_inner"], 1] = 100 - mouth / 2
    pts[:, i["lip_lower_inner"], 1] = 100 + mouth / 2
    for side in ("right", "left"):
        pts[:, i[f"{side}_eye_upper"], 1] = -lid[side]
        pts[:, i[f"{side}_eye_lower"], 1] = lid[side]
        pts[:, i[f"{side}_brow_mid"], 1] = -brow
    scale = 1.0 + 0.2 * np.sin(t / 17.0)
    angle = 0.25 * np.sin(t / 11.0)
    c, s = np.cos(angle), np.sin(angle)
    R = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)            # (T, 2, 2)
    shift = np.stack([300 + 80 * np.sin(t / 9.0), 250 + 40 * np.cos(t / 13.0)], -1)
    out = np.einsum("tij,tnj->tni", R, pts) * scale[:, None, None] + shift[:, None]
    truth = dict(mouth_open=mouth / 100, eye_open_right=2 * lid["right"] / 100, eye_open_left=2 * lid["left"] / 100,
                 brow_right=brow / 100, brow_left=brow / 100, mouth_width=np.full(T, 0.8))
    closed = {side: lid[side] < 5 for side in ("right", "left")}
    return out, truth, closed


def to_family(named_pts, family):
    """Scatter named points into a dlib-68 or MediaPipe-478 array (lid point pairs straddle the midpoint)."""
    T = len(named_pts)
    if family == "mp478":
        out = np.full((T, 478, 3), 7.0)
        out[:, fs.MP_INDEX, :2] = named_pts
        return out
    out = np.full((T, 68, 2), -1.0)
    for k, (_, ix, _) in enumerate(fs.SHARED):
        for j, d in zip(ix, (-3.0, 3.0) if len(ix) == 2 else (0.0,)):
            out[:, j] = named_pts[:, k] + [d, 0.0]
    return out


def test_table_is_consistent():
    assert len(set(fs.NAMES)) == len(fs.NAMES) and len(set(fs.MP_INDEX.tolist())) == len(fs.MP_INDEX)
    dl = [j for _, ix, _ in fs.SHARED for j in ix]
    assert len(set(dl)) == len(dl) and all(0 <= j < 68 for j in dl) and all(0 <= j < 478 for j in fs.MP_INDEX)
    m = {name: (ix, mp) for name, ix, mp in fs.SHARED}
    # subject's right eye: dlib 36-41 <-> MediaPipe 33/133/159/145; left eye: 42-47 <-> 362/263/386/374
    assert m["right_eye_outer"] == ((36,), 33) and m["right_eye_inner"] == ((39,), 133)
    assert m["left_eye_inner"] == ((42,), 362) and m["left_eye_outer"] == ((45,), 263)
    assert m["right_eye_upper"][1] == 159 and m["right_eye_lower"][1] == 145
    assert m["left_eye_upper"][1] == 386 and m["left_eye_lower"][1] == 374
    assert m["lip_upper_inner"] == ((62,), 13) and m["lip_lower_inner"] == ((66,), 14)
    assert m["mouth_right"] == ((48,), 61) and m["mouth_left"] == ((54,), 291) and m["chin"] == ((8,), 152)


def test_both_families_give_the_same_named_points():
    n, _, _ = face_track(10)
    a, b = fs.named(to_family(n, "dlib68"), "dlib68"), fs.named(to_family(n, "mp478"), "mp478")
    np.testing.assert_allclose(a, n, atol=1e-9)
    np.testing.assert_allclose(b, n, atol=1e-9)
    with pytest.raises(ValueError):
        fs.named(np.zeros((3, 70, 2)), "dlib68")
    with pytest.raises(ValueError):
        fs.named(np.zeros((3, 68, 2)), "ibug")


def test_a_mirrored_face_swaps_the_subjects_sides():
    """dlib's points of a mirrored image (x reflected, re-indexed by ``DLIB_MIRROR``): the subject's right eye is
    where the left eye was, reflected, and reads the left eye's blinks; the midline's signals do not change."""
    assert sorted(fs.DLIB_MIRROR.tolist()) == list(range(68))
    assert (fs.DLIB_MIRROR[fs.DLIB_MIRROR] == np.arange(68)).all()
    assert {int(j) for j in np.nonzero(fs.DLIB_MIRROR == np.arange(68))[0]} == {8, 27, 28, 29, 30, 33, 51, 57, 62, 66}
    n, _, _ = face_track(100)
    width = 640
    mirrored = to_family(n, "dlib68")[:, fs.DLIB_MIRROR]
    mirrored[..., 0] = width - 1 - mirrored[..., 0]
    m = fs.named(mirrored, "dlib68")
    def swap(name):
        return name.replace("right", "@").replace("left", "right").replace("@", "left")
    for name in fs.NAMES:
        np.testing.assert_allclose(m[:, fs.IDX[name], 0], width - 1 - n[:, fs.IDX[swap(name)], 0], atol=1e-9)
        np.testing.assert_allclose(m[:, fs.IDX[name], 1], n[:, fs.IDX[swap(name)], 1], atol=1e-9)
    s, sm = fs.signals(n), fs.signals(m)
    for k in fs.SIGNALS:
        np.testing.assert_allclose(sm[k], s[swap(k)], atol=1e-9, err_msg=k)
    assert not np.allclose(s["eye_open_right"], s["eye_open_left"])      # the left eye blinks alone: a real swap


def test_signals_match_the_geometry_whatever_the_head_does():
    n, truth, _ = face_track()
    s = fs.signals(n)
    np.testing.assert_allclose(fs.iod(n) / fs.iod(n)[0], (1 + 0.2 * np.sin(np.arange(len(n)) / 17.0)) / 1.0,
                               rtol=1e-9)
    for k in fs.SIGNALS:
        np.testing.assert_allclose(s[k], truth[k], atol=1e-9, err_msg=k)


def test_one_eye_closing_moves_only_that_eye():
    n, _, _ = face_track(40)
    s, ear = fs.signals(n), fs.eye_aspect_ratio(n)
    assert s["eye_open_left"][21] < 0.05 < 0.15 < s["eye_open_right"][21]      # frame 21: left eye shut
    assert ear["left"][21] < 0.1 and ear["right"][21] == pytest.approx(0.4)
    closed = fs.eyes_closed(n, np.ones(len(n), bool))
    assert closed["left"][20:23].all() and not closed["left"][23:].any() and not closed["right"].any()


def test_lids_or_lips_that_pass_through_each_other_read_negative():
    n, _, _ = face_track(30)
    i = fs.IDX
    crossed = n.copy()
    for a, b in (("left_eye_upper", "left_eye_lower"), ("lip_upper_inner", "lip_lower_inner")):
        crossed[10, i[a]], crossed[10, i[b]] = n[10, i[b]], n[10, i[a]]     # swapped: upper below lower
    s, ear = fs.signals(crossed), fs.eye_aspect_ratio(crossed)
    assert s["eye_open_left"][10] == pytest.approx(-fs.signals(n)["eye_open_left"][10])
    assert s["mouth_open"][10] < 0 and s["mouth_open"][10] == pytest.approx(-fs.signals(n)["mouth_open"][10])
    assert ear["left"][10] < 0 and fs.eyes_closed(crossed, np.ones(30, bool))["left"][10]
    r = fs.compare(crossed, n, np.ones(30, bool))["signals"]
    assert r["eye_open_left"]["negative_frames"] == 1 and r["eye_open_left"]["oracle_negative_frames"] == 0
    assert r["eye_open_right"]["negative_frames"] == 0
    assert r["eye_open_left"]["crossed_frames"] == (fs.signals(n)["eye_open_left"][10] > fs.CROSSED_IOD)



def test_frames_where_the_oracle_crosses_its_lips_are_counted_and_left_out_of_r_oracle_uncrossed():
    """As dlib on the expressions clip: a few frames where the oracle's lips pass through each other and its mouth
    corners collapse drag the mouth width's correlation down; r keeps them, r_oracle_uncrossed does not."""
    n, _, _ = face_track(120)
    i = fs.IDX
    t = np.arange(120)
    for k, side in ((i["mouth_right"], -1), (i["mouth_left"], 1)):     # a widening smile, in face units
        n[:, k] += (side * 12 * np.sin(t / 7.0))[:, None] * (n[:, i["left_eye_outer"]] - n[:, i["right_eye_outer"]]) / 150
    oracle = n.copy()
    for f in (40, 41, 90):
        oracle[f, i["lip_upper_inner"]], oracle[f, i["lip_lower_inner"]] = n[f, i["lip_lower_inner"]] + (0, 8), \
            n[f, i["lip_upper_inner"]]
        oracle[f, i["mouth_right"]] = oracle[f, i["mouth_left"]] = n[f, [i["mouth_right"], i["mouth_left"]]].mean(0)
    r = fs.compare(n, oracle, np.ones(120, bool))
    assert r["oracle_crossed_frames"] == 3
    width = r["signals"]["mouth_width"]
    assert width["r"] < 0.9 and width["r_oracle_uncrossed"] == pytest.approx(1.0, abs=1e-6)
    assert fs.compare(n, n, np.ones(120, bool))["oracle_crossed_frames"] == 0

def test_oracle_with_noise_scores_as_expected():
    rng = np.random.default_rng(1)
    oracle, _, closed = face_track(200)
    sigma = 1.0                                                  # px; IOD ~ 80-120 px
    mesh = oracle + rng.normal(0, sigma, oracle.shape)
    valid = np.ones(len(oracle), bool)
    r = fs.compare(mesh, oracle, valid)
    for k in ("mouth_open", "brow_right", "brow_left"):
        assert r["signals"][k]["r"] > 0.9, k
        assert r["signals"][k]["best_lag"] == 0, k
    for side in ("right", "left"):
        assert r["blink"][side]["f1"] == 1.0
    # per point, |2-D Gaussian error| has mean sigma * sqrt(pi / 2); over IOD ~100 px
    assert r["landmark_error_iod"]["median"] == pytest.approx(sigma * np.sqrt(np.pi / 2) / 100, rel=0.15)
    assert r["landmark_error_iod"]["median_target_points"] == pytest.approx(sigma * np.sqrt(np.pi / 2) / 100,
                                                                            rel=0.15)
    assert r["oracle_jitter_iod"] < 0.01
    # second difference of iid noise: 2-D Gaussian with sd sigma*sqrt(6) per axis; Rayleigh median sd*sqrt(2 ln 2)
    assert r["jitter_iod"] == pytest.approx(sigma * np.sqrt(6) * np.sqrt(2 * np.log(2)) / 100, rel=0.2)
    assert r["head_speed"]["ratio"] == pytest.approx(1.0, abs=0.15) and r["head_speed"]["frames"] > 100


def test_a_time_shift_is_found_and_costs_correlation():
    oracle, _, _ = face_track(200)
    lagged = np.concatenate([np.repeat(oracle[:1], 2, 0), oracle[:-2]])   # the mesh 2 frames late
    r = fs.compare(lagged, oracle, np.ones(len(oracle), bool))
    m = r["signals"]["mouth_open"]
    assert m["best_lag"] == 2 and m["r_best_lag"] > 0.999 and m["r"] < 0.95
    assert fs.best_lag(oracle[:, 0, 0], lagged[:, 0, 0])[0] == -2


def test_a_faint_signal_correlates_but_shows_little_gain():
    oracle, truth, _ = face_track(200)
    faint = oracle.copy()
    i = fs.IDX
    mid = (oracle[:, i["lip_upper_inner"]] + oracle[:, i["lip_lower_inner"]]) / 2
    for name in ("lip_upper_inner", "lip_lower_inner"):
        faint[:, i[name]] = mid + 0.2 * (oracle[:, i[name]] - mid)             # the mouth opens a fifth as far
    m = fs.compare(faint, oracle, np.ones(len(oracle), bool))["signals"]["mouth_open"]
    assert m["r"] == pytest.approx(1.0) and m["gain"] == pytest.approx(0.2)
    assert m["median"] == pytest.approx(0.2 * m["oracle_median"])


def test_r_interval_is_narrow_for_a_clear_signal_and_wide_for_a_faint_one():
    rng = np.random.default_rng(3)
    t = np.arange(240)
    truth = np.sin(t / 6.0)
    lo, hi = fs.r_interval(truth + 0.05 * rng.normal(size=240), truth)
    assert 0.98 < lo <= hi < 1.0
    faint = 0.1 * np.sin(t / 6.0)                      # a signal under its noise, as the talking clip's brows
    a, b = faint + 0.1 * rng.normal(size=240), faint + 0.1 * rng.normal(size=240)
    lo, hi = fs.r_interval(a, b)
    assert lo < fs.correlation(a, b) < hi and hi - lo > 0.15
    assert fs.r_interval(a, b) == [lo, hi]                                 # a fixed seed: the same every run
    assert np.isnan(fs.r_interval(a[:10], b[:10])).all()                  # under two blocks of frames
    valid = np.ones(240, bool)
    valid[::2] = False
    a[~valid] = 1e6                                                         # left out, whatever they hold
    assert np.isfinite(fs.r_interval(a, b, valid)).all() and fs.r_interval(a, b, valid)[1] < 1.0


def test_blink_f1_against_baked_weights():
    oracle, _, closed = face_track(120)
    valid = np.ones(len(oracle), bool)
    never = {"right": np.zeros(120, bool), "left": np.zeros(120, bool)}
    r = fs.compare(oracle, oracle, valid, blink_a=never)
    assert r["blink"]["left"]["recall"] == 0 and r["blink"]["left"]["f1"] == 0
    assert r["blink"]["left"]["events_truth"] == 3 and r["blink"]["right"]["events_truth"] == 1
    half = {"right": closed["right"], "left": closed["left"].copy()}
    half["left"][60:63] = False                                   # one of the left eye's three blinks missed
    half["left"][40:43] = True                                    # and a false one
    b = fs.compare(oracle, oracle, valid, blink_a=half)["blink"]["left"]
    assert (b["precision"], b["recall"]) == pytest.approx((6 / 9, 6 / 9))
    assert b["f1"] == pytest.approx(6 / 9) and b["events_pred"] == 3


def test_f1_and_events_edge_cases():
    z = np.zeros(10, bool)
    r = fs.f1(z, z)
    assert np.isnan(r["f1"]) and r["events_truth"] == 0
    x = np.array([1, 1, 0, 1, 0, 0, 1], bool)
    assert fs.events(x) == 3 and fs.events(x[2:]) == 2


def test_invalid_frames_are_left_out():
    rng = np.random.default_rng(2)
    oracle, _, _ = face_track(150)
    mesh = oracle + rng.normal(0, 0.5, oracle.shape)
    bad = mesh.copy()
    bad[30:35] = np.nan                                           # frames the mesh does not have
    valid = np.ones(len(oracle), bool)
    valid[70:72] = False                                          # frames the oracle did not find
    r = fs.compare(bad, oracle, valid)
    assert r["frames"] == 150 - 5 - 2
    assert np.isfinite(r["jitter_iod"]) and r["signals"]["mouth_open"]["r"] > 0.9
    assert np.isfinite(r["landmark_error_iod"]["median"])


def test_head_speed_ratio_reads_a_sluggish_head():
    oracle, _, _ = face_track(200)
    c = oracle.mean(1, keepdims=True)
    slow = c[:1] + 0.5 * (c - c[:1]) + (oracle - c)               # the centroid moves half as far
    r = fs.head_speed_ratio(slow, oracle, np.ones(len(oracle), bool))
    assert r["ratio"] == pytest.approx(0.5, abs=0.05)
    lo, hi = r["ratio_interval"]
    assert lo <= r["ratio"] <= hi and hi - lo < 0.1                 # many moving frames: a sure reading
    jerky = slow + np.random.default_rng(1).normal(0, 2.0, slow.shape[:1])[:, None, None]
    few = np.zeros(len(oracle), bool)
    few[40:47] = True                                                 # a handful of frames: a rough one
    lo_few, hi_few = fs.head_speed_ratio(jerky, oracle, few)["ratio_interval"]
    assert hi_few - lo_few > hi - lo
    still = np.repeat(oracle[:1], 50, 0)
    out = fs.head_speed_ratio(still, still, np.ones(50, bool))
    assert out["frames"] == 0 and np.isnan(out["ratio_interval"]).all()


def test_shake_follow_reads_how_much_of_a_known_shake_a_track_keeps():
    """Each frame's image shaken sideways by a known ``dx``: the oracle carries it whole; a track that keeps all of
    it reads 1 whatever its own offset, one that keeps 30 % reads 0.3, one a frame late (a quarter of a 4-frame
    swing) about 0; frames left out are not read."""
    oracle, _, _ = face_track(120)
    rng = np.random.default_rng(2)
    dx = 20.0 * np.sin(2 * np.pi * np.arange(120) / 4) * (np.arange(120) >= 40)
    shaken = oracle + np.stack([dx, np.zeros(120)], 1)[:, None]
    valid = np.ones(120, bool)
    noise = rng.normal(0, 0.5, oracle.shape)
    def kept(share, lag=0):
        return oracle + noise + [3.0, -2.0] + np.stack([share * np.roll(dx, lag), np.zeros(120)], 1)[:, None]
    assert fs.shake_follow(kept(1.0), shaken, valid, dx)["follow"] == pytest.approx(1.0, abs=0.02)
    assert fs.shake_follow(kept(0.3), shaken, valid, dx)["follow"] == pytest.approx(0.3, abs=0.02)
    assert abs(fs.shake_follow(kept(1.0, 1), shaken, valid, dx)["follow"]) < 0.1
    r = fs.shake_follow(kept(1.0), shaken, valid & (np.arange(120) < 80), dx)
    assert r["frames"] == 80 and r["residual_iod"] < 0.01
    assert np.isnan(fs.shake_follow(kept(1.0), shaken, valid, np.zeros(120))["follow"])      # nothing shaken


def test_roll_follow_reads_how_much_of_a_known_turn_the_eye_line_keeps():
    """Each frame's image turned by a known angle about a point (counter-clockwise as seen, cv2's sense): the oracle
    carries it whole; a track that turns with all of it reads 1, with 40 % 0.4, not at all 0."""
    oracle, _, _ = face_track(120)
    import cv2
    deg = 4.0 * np.sin(2 * np.pi * np.arange(120) / 4) * (np.arange(120) >= 40)
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 0.3, oracle.shape)

    def turned(points, share):
        out = np.empty_like(points)
        for k in range(len(points)):
            A = cv2.getRotationMatrix2D((320.0, 240.0), share * deg[k], 1.0)
            out[k] = points[k] @ A[:, :2].T + A[:, 2]
        return out
    b = turned(oracle, 1.0)
    valid = np.ones(120, bool)
    for share in (1.0, 0.4, 0.0):
        r = fs.roll_follow(turned(oracle + noise, share), b, valid, deg)
        assert r["follow"] == pytest.approx(share, abs=0.03), (share, r)
    assert r["frames"] == 120 and np.isnan(fs.roll_follow(oracle, oracle, valid, np.zeros(120))["follow"])


def test_place_follow_reads_how_much_of_a_known_move_the_centroid_keeps_whatever_the_turn():
    """Each frame moved and turned about a point off the face: the oracle carries it whole, and its centroid's move
    (b less b0, the oracle before the move) is the swing at the face; a track that moves with 70 % of it reads 0.7 on
    both axes, one that stays put 0."""
    import cv2
    oracle, _, _ = face_track(120)
    rng = np.random.default_rng(5)
    move = rng.normal(0, 6.0, (120, 3))
    noise = rng.normal(0, 0.3, oracle.shape)

    def moved(points, share):
        out = np.empty_like(points)
        for k in range(len(points)):
            A = cv2.getRotationMatrix2D((640.0, 360.0), share * move[k, 2] / 6.0, 1.0)
            A[:, 2] += share * move[k, :2]
            out[k] = points[k] @ A[:, :2].T + A[:, 2]
        return out
    b, valid = moved(oracle, 1.0), np.ones(120, bool)
    for share in (1.0, 0.7, 0.0):
        r = fs.place_follow(moved(oracle + noise, share), b, oracle, valid)
        assert r["x"]["follow"] == pytest.approx(share, abs=0.03) and r["y"]["follow"] == pytest.approx(share, abs=0.03)


def test_jitter_of_smooth_motion_is_zero():
    T = 50
    pts = np.zeros((T, len(fs.NAMES), 2)) + np.array([NEUTRAL[n] for n in fs.NAMES], float)
    pts += np.arange(T)[:, None, None] * [2.0, 1.0]               # constant velocity
    assert fs.jitter(pts, np.ones(T, bool)) == pytest.approx(0.0, abs=1e-9)


def test_pupil_oracle_finds_a_dark_pupil_and_reads_the_gaze_between_the_corners():
    """A grey eye (lids as a 6-point dlib contour) with a dark disc: the pupil centre comes back within a pixel, and
    its place between the corners reads as the gaze (0 outer, 1 inner; subject's right eye: outer corner on the
    image's left)."""
    img = np.full((80, 160), 200, np.uint8)
    contour = np.array([(20, 40), (50, 28), (90, 28), (120, 40), (90, 52), (50, 52)], np.float64)
    yy, xx = np.mgrid[:80, :160]
    for cx in (50.0, 70.0, 90.0):
        eye = img.copy()
        r = np.hypot(xx - cx, yy - 40)
        eye[r <= 13] = (60 + 5 * r[r <= 13]).astype(np.uint8)      # an iris darker towards its pupil, a third of the eye
        c = fs.pupil_centre(eye, contour)
        assert np.allclose(c, (cx, 40), atol=1.0), (cx, c)
        assert fs.along_eye(c, contour[0], contour[3]) == pytest.approx((cx - 20) / 100, abs=0.01)
    points = np.zeros((3, 68, 2))
    points[:, 36:42] = contour
    points[:, 42:48] = contour + (200, 0)                     # off the image: no pixels, NaN
    frames = [(t, img) for t in range(3)]
    g = fs.look_dlib(frames, points, np.array([True, False, True]))["along"]
    assert np.isfinite(g["right"][[0, 2]]).all() and np.isnan(g["right"][1]) and np.isnan(g["left"]).all()
    mp = np.zeros((2, 478, 2))
    mp[:, 33], mp[:, 133], mp[:, 468] = (0, 0), (10, 0), [(2.5, 1.0), (7.5, -1.0)]
    assert np.allclose(fs.look_mp478(mp)["along"]["right"], [0.25, 0.75])
    # the look's height: up (towards the brows, smaller image y) is positive for either eye, and in a mirror
    mp[:, 263], mp[:, 362], mp[:, 473] = (30, 0), (20, 0), [(26.0, -2.0), (24.0, 1.0)]
    look = fs.look_mp478(mp)
    assert np.allclose(look["up"]["right"], [-0.1, 0.1]) and np.allclose(look["up"]["left"], [0.2, -0.1])
    mirrored = mp * [-1, 1]
    mirrored[:, [33, 133, 468, 263, 362, 473]] = mirrored[:, [263, 362, 473, 33, 133, 468]]
    assert np.allclose(fs.look_mp478(mirrored)["up"]["right"], look["up"]["left"])
    tall = points[:1].copy()                                  # an eye wide open: the pupil's height in it
    tall[0, 36:42] = [(20, 40), (50, 10), (90, 10), (120, 40), (90, 70), (50, 70)]
    for cy in (30.0, 50.0):
        eye = img.copy()
        eye[np.hypot(xx - 70, yy - cy) <= 19] = 40            # over a quarter of the eye: the darkest quarter is in it
        g = fs.look_dlib([(0, eye)], tall, np.array([True]))
        assert g["up"]["right"][0] == pytest.approx((40 - cy) / 100, abs=0.01)
        assert g["along"]["right"][0] == pytest.approx(0.5, abs=0.01)


def test_target_point_error_leaves_out_the_lids_and_brows():
    oracle, _, _ = face_track(20)
    mesh = oracle.copy()
    for name in ("right_brow_mid", "left_brow_mid", "right_eye_upper", "left_eye_lower"):
        mesh[:, fs.IDX[name], 1] += 30.0                          # far off, at points the target does not name
    e = fs.landmark_error(mesh, oracle, np.ones(20, bool))
    assert e["median_target_points"] == pytest.approx(0.0, abs=1e-12) and e["median"] > 0.05
    mesh[:, fs.IDX["chin"], 0] += 12.0
    e = fs.landmark_error(mesh, oracle, np.ones(20, bool))
    assert e["median_target_points"] == pytest.approx(np.median(12.0 / fs.iod(oracle)) / len(fs.TARGET_POINTS))
    lo, hi = e["target_points_interval"]                  # the error changes with the face's size over the clip
    assert lo <= e["median_target_points"] <= hi and 0 < hi - lo < 0.5 * e["median_target_points"]
    assert np.isnan(fs.landmark_error(mesh[:10], oracle[:10], np.ones(10, bool))["target_points_interval"]).all()


def test_mouth_offsets_read_a_mouth_that_does_not_widen_with_the_subjects():
    T = 80
    t = np.arange(T)
    half = 40 + 15 * np.sin(t / 5.0)                  # the reference's corners, px from the middle at IOD 100
    base = np.array([NEUTRAL[n] for n in fs.NAMES], float)
    ref, mesh = np.repeat(base[None], T, 0), np.repeat(base[None], T, 0)
    ref[:, fs.IDX["mouth_right"], 0], ref[:, fs.IDX["mouth_left"], 0] = -half, half
    mesh[:, fs.IDX["mouth_right"], 0], mesh[:, fs.IDX["mouth_left"], 0] = -40.0, 46.0    # a still mouth, off-centre
    mesh[:, fs.IDX["lip_lower_outer"], 1] -= 3.0                                         # its lower lip 3 px high
    c, s = np.cos(0.3), np.sin(0.3)
    pose = lambda p: 1.5 * p @ np.array([[c, s], [-s, c]]) + [320.0, 200.0]       # noqa: E731
    out = fs.mouth_offsets(pose(mesh), pose(ref), np.ones(T, bool))
    quarter = int(out["quarter_frames"])
    assert out["frames"] == T and quarter == T // 4
    lo, hi = np.sort(half)[[quarter - 1, T - quarter]]
    right, left = out["points"]["mouth_right"], out["points"]["mouth_left"]
    assert right["narrow"] > (40 - lo) / 100 - 0.05 > 0 and right["wide"] < (40 - hi) / 100 + 0.05 < 0
    assert left["narrow"] - right["narrow"] == pytest.approx(0.06, abs=1e-9)
    assert right["r_width"] == pytest.approx(-1.0) and left["r_width"] == pytest.approx(-1.0)
    lip = out["points"]["lip_lower_outer"]
    assert lip["narrow"] == lip["wide"] == lip["all"] == pytest.approx(0.03)
    assert out["points"]["chin"]["all"] == pytest.approx(0.0, abs=1e-12)
    assert fs.mouth_offsets(pose(mesh), pose(ref), t < 3)["points"] == {}


def test_outline_width_is_read_against_dlibs_contour_row_by_row_where_the_head_faces_the_camera():
    """A face rolled 20 degrees in the image, dlib's contour pairs 240 px apart: an outline 10 % narrower at every
    pair's height reads 0.9 per pair and over them, on the frames where dlib's nose tip is near the contour's middle;
    the frames turned away and the rows another source did not read are left out."""
    T = 20
    flat = np.zeros((T, 68, 2))
    flat[:, 36], flat[:, 39], flat[:, 42], flat[:, 45] = [-80, -60], [-40, -60], [40, -60], [80, -60]   # eyes
    for k, (r, l) in enumerate(fs.OUTLINE_DLIB):
        flat[:, r], flat[:, l] = [-120.0, 10.0 * k], [120.0, 10.0 * k]
    turned = np.arange(T) % 4 == 0
    flat[turned, 30, 0] = 60.0
    roll = np.radians(20.0)
    rot = np.array([[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]])
    dlib = flat @ rot.T + [300.0, 200.0]
    turn, centre, heights = fs.outline_rows(dlib)
    np.testing.assert_allclose(centre, dlib[:, 30])
    np.testing.assert_allclose(heights, np.tile(10.0 * np.arange(len(fs.OUTLINE_DLIB)), (T, 1)), atol=1e-9)
    ends = np.tile([-108.0, 108.0], (T, len(fs.OUTLINE_DLIB), 1))
    ends[:, -1] = np.nan                                  # the last row unread
    out = fs.outline_width(ends, dlib, np.ones(T, bool))
    assert out["frames"] == T - turned.sum() and out["ratio"] == pytest.approx(0.9)
    assert out["rows"]["0/16"] == pytest.approx(0.9) and out["rows"]["1/15"] == pytest.approx(0.9)
    assert out["rows"]["4/12"] is None
    assert fs.outline_width(ends, dlib, np.arange(T) < 4)["ratio"] is None


def test_outline_sides_reads_the_near_and_far_side_apart_where_the_head_is_turned():
    """dlib's contour pairs 240 px apart, an outline 6 px outside it on the image's left and 6 px inside on its right:
    with the nose tip towards the image's right the near side is the subject's right (the image's left), read 0.025
    out and the far side 0.025 in; turned the other way, the other way round; the frames facing the camera are left
    out."""
    T = 12
    flat = np.zeros((T, 68, 2))
    flat[:, 36], flat[:, 39], flat[:, 42], flat[:, 45] = [-80, -60], [-40, -60], [40, -60], [80, -60]
    for k, (r, l) in enumerate(fs.OUTLINE_DLIB):
        flat[:, r], flat[:, l] = [-120.0, 10.0 * k], [120.0, 10.0 * k]
    flat[:, 30, 0] = np.repeat([60.0, -60.0, 0.0], 4)
    ends = np.tile([-126.0, 114.0], (T, len(fs.OUTLINE_DLIB), 1)) - flat[:, 30, :1, None]    # about the nose tip
    valid = np.ones(T, bool)
    for turned, near in ((np.arange(T) < 4, 0.025), ((np.arange(T) >= 4) & (np.arange(T) < 8), -0.025)):
        out = fs.outline_sides(ends, flat + [300.0, 200.0], valid & turned)
        assert out["frames"] == 4
        for row in out["near"]:
            assert out["near"][row] == pytest.approx(near) and out["far"][row] == pytest.approx(-near)
    assert fs.outline_sides(ends, flat, np.arange(T) >= 8)["frames"] == 0


def brow_clip(T=40, seed=0):
    """Grey frames of a face-like texture whose brows (dark bands above two eye positions) rise and fall by a known
    ``lift`` (px, image up) while the whole picture drifts by a sub-pixel translation; the named points of the first
    frame (IOD 60); and per frame the image shift."""
    import cv2
    rng = np.random.default_rng(seed)
    H = W = 240
    texture = cv2.GaussianBlur(rng.uniform(-25, 25, (H, W)).astype(np.float32), (0, 0), 1.5)
    t = np.arange(T)
    lift = 2.0 * np.sin(t / 3.0)
    shift = np.stack([3 * np.sin(t / 5.0), 2 * np.cos(t / 4.0) - 2], -1)
    yy = np.arange(H, dtype=np.float32)[:, None]
    frames = []
    for k in range(T):
        img = 190 + texture.copy()
        band = 130 * np.exp(-((yy - (90 - lift[k])) / 3.0) ** 2)
        for cx in (90, 150):
            img[:, cx - 20:cx + 20] -= band
        M = np.float32([[1, 0, shift[k, 0]], [0, 1, shift[k, 1]]])
        frames.append(np.clip(cv2.warpAffine(img, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT),
                              0, 255).astype(np.uint8))
    start = np.zeros((len(fs.NAMES), 2))
    for name, xy in dict(right_eye_outer=(70, 120), right_eye_inner=(110, 120), left_eye_inner=(130, 120),
                         left_eye_outer=(170, 120), right_brow_mid=(90, 90), left_brow_mid=(150, 90)).items():
        start[fs.IDX[name]] = xy
    return frames, start, lift, shift


def test_brow_pixels_read_a_sub_pixel_brow_lift_through_a_drifting_picture():
    frames, start, lift, shift = brow_clip()
    pix = fs.brow_pixels(enumerate(frames), start, len(frames))
    assert pix["iod"] == pytest.approx(60.0)
    # the followed patch moves with the picture
    np.testing.assert_allclose(pix["bridge"] - pix["bridge"][0], shift - shift[0], atol=0.1)
    assert np.nanmax(pix["patch_error"]) < 3
    for side in ("right", "left"):
        h = pix[side] * pix["iod"]                      # px above the patch
        assert fs.correlation(h, lift) > 0.99
        np.testing.assert_allclose(h - h.mean(), lift - lift.mean(), atol=0.3)


def test_brows_against_pixels_tell_the_brow_from_the_eye_corners():
    """A source whose brow points follow the brows scores r_point about 1; one whose eye corners wobble while its
    brow points sit still has a brow signal that is the corners (r_signal_eye about 1) and misses the brows."""
    frames, start, lift, shift = brow_clip()
    pix = fs.brow_pixels(enumerate(frames), start, len(frames))
    T = len(frames)
    faithful = np.repeat(start[None], T, 0) + shift[:, None]
    faithful[:, [fs.IDX["right_brow_mid"], fs.IDX["left_brow_mid"]], 1] -= lift[:, None]
    cornered = np.repeat(start[None], T, 0) + shift[:, None]
    wobble = 3 * np.random.default_rng(1).standard_normal(T)
    for name in ("right_eye_outer", "right_eye_inner", "left_eye_inner", "left_eye_outer"):
        cornered[:, fs.IDX[name], 1] += wobble
    out = fs.brows_against_pixels(dict(faithful=faithful, cornered=cornered), pix, np.ones(T, bool))
    assert out["patch_error_max"] < 3
    for side in ("right", "left"):
        row = out[side]
        assert row["band_sd_px"] == pytest.approx(np.std(lift), rel=0.1)
        assert row["faithful"]["r_signal"] > 0.98 and row["faithful"]["r_point"] > 0.98
        assert row["cornered"]["r_signal_eye"] > 0.98 and abs(row["cornered"]["r_signal"]) < 0.5


def test_looks_apart_reads_how_far_the_eyes_turn_up_or_down_apart_where_both_are_open():
    vertical = dict(right=np.array([0.3, 0.3, -0.2, np.nan, 0.5]), left=np.array([0.1, 0.3, 0.2, 0.0, -0.5]))
    inward = dict(right=np.array([0.1, -0.2, 0.0, 0.3, 0.9]), left=np.array([0.1, 0.0, -0.1, 0.1, 0.9]))
    both_open = np.array([True, True, True, True, False])                  # frame 4: an eye shut
    got = fs.looks_apart(vertical, inward, both_open)
    assert got["frames"] == 3 and got["median"] == pytest.approx(0.2) and got["p90"] == pytest.approx(0.36)
    assert got["inward_median"] == pytest.approx(0.05) and got["inward_p10"] == pytest.approx(-0.17)
    assert np.isnan(fs.looks_apart(vertical, inward, np.zeros(5, bool))["median"])


def test_compare_both_eyes_reads_the_two_eyes_mean_against_the_oracles():
    t = np.linspace(0.0, 6.0, 40)
    shared = np.sin(t)
    rng = np.random.default_rng(1)
    oracle = dict(right=shared + rng.normal(0, 0.3, 40), left=shared + rng.normal(0, 0.3, 40))
    apart = dict(right=shared + 0.5 * np.cos(3 * t), left=shared - 0.5 * np.cos(3 * t))     # each eye off, the mean not
    got = fs.compare_both_eyes(apart, oracle, np.ones(40, bool))
    assert got["frames"] == 40 and got["r"] > fs.compare_gaze(apart, oracle, dict(right=np.ones(40, bool),
                                                                                   left=np.ones(40, bool)))["right"]["r"]
    assert got["r"] == pytest.approx(fs.correlation(shared, 0.5 * (oracle["right"] + oracle["left"])))


def test_midline_aside_reads_a_chin_that_swings_with_the_lips_not_a_steady_offset():
    T = 60
    base = np.array([NEUTRAL[n] for n in fs.NAMES], float)        # IOD 100 px
    ref = np.repeat(base[None], T, 0)
    ref[:, fs.IDX["mouth_right"], 0] += 5.0                        # the subject's mouth sits 5 px aside: its own face
    ref[:, fs.IDX["mouth_left"], 0] += 5.0
    mesh = ref.copy()
    mesh[:, fs.IDX["chin"], 0] += 4.0                              # a steady offset: not an excursion
    smirk = np.arange(T) // 10 == 2                                # frames 20-29: the lips pulled 6 px aside
    for src in (ref, mesh):
        src[smirk, fs.IDX["mouth_right"], 0] += 6.0
        src[smirk, fs.IDX["mouth_left"], 0] += 6.0
    mesh[smirk, fs.IDX["chin"], 0] += 5.0                          # the mesh's chin swings with them
    mesh[:, :, 0] += 7.0                                           # the whole head placed aside: not counted
    c, s = np.cos(0.4), np.sin(0.4)
    pose = lambda p: 1.5 * p @ np.array([[c, s], [-s, c]]) + [320.0, 200.0]       # noqa: E731
    out = fs.midline_aside(pose(mesh), pose(ref), np.ones(T, bool))
    chin, mouth = out["points"]["chin"], out["points"]["mouth_middle"]
    assert out["frames"] == T
    assert chin["most"] == pytest.approx(0.05) and chin["p95"] == pytest.approx(0.05)
    assert chin["frames_over"] == 10
    assert mouth["most"] == pytest.approx(0.0, abs=1e-12) and mouth["frames_over"] == 0
    mirrored = fs.midline_aside(pose(mesh * [-1, 1]), pose(ref * [-1, 1]), np.ones(T, bool))
    assert mirrored["points"]["chin"]["most"] == pytest.approx(0.05)
    assert fs.midline_aside(pose(mesh), pose(ref), np.arange(T) < 3)["points"] == {}
