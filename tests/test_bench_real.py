"""benchmarks/bench_real.py's weights-against-scores reading and the re-shot clips of benchmarks/reshoots.py (no shared
footage, no dlib)."""
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_real  # noqa: E402
import reshoots  # noqa: E402
from bake import fusion  # noqa: E402
from core.head_model import ARKIT_NAMES  # noqa: E402


def test_score_agreement_splits_prior_and_other_shapes_and_skips_the_rescaled_blinks():
    rng = np.random.default_rng(0)
    T = 12
    scores = rng.uniform(0, 1, (T, 52))
    scores[:, ARKIT_NAMES.index("tongueOut")] = np.nan            # the model does not read it
    names = list(reversed(ARKIT_NAMES)) + ["residual_0"]          # the bake's key order need not be ARKit's
    weights = np.zeros((T, 53))
    for k, n in enumerate(names[:52]):
        weights[:, k] = np.nan_to_num(scores[:, ARKIT_NAMES.index(n)])
    other = next(n for n, p in zip(ARKIT_NAMES, fusion.prior_shapes()) if not p and n != "tongueOut")
    weights[:, names.index(other)] += 0.3
    weights[:, names.index("eyeBlinkLeft")] += 0.9               # rescaled to the clip's lids: not compared
    faces = [SimpleNamespace(blendshapes=s) for s in scores[:-1]] + [None]
    tracks = SimpleNamespace(frames=np.arange(1, T + 1), weights=weights, key_names=names, tracked=np.ones(T, bool))
    r = bench_real.score_agreement(tracks, faces)
    n_other = int((~fusion.prior_shapes()).sum()) - 1             # without tongueOut (no blink is a non-prior shape)
    assert r["frames"] == T - 1
    assert r["prior_shapes"] == pytest.approx(0.0, abs=1e-12)
    assert r["other_shapes"] == pytest.approx(0.3 / n_other)
    assert list(r["worst_other"])[0] == other and r["worst_other"][other] == pytest.approx(0.3)
    dimple = ARKIT_NAMES.index("mouthDimpleLeft")                  # as baked beside its score, over the same frames
    assert r["dimples"]["mouthDimpleLeft"]["weight_median"] == pytest.approx(np.median(scores[:-1, dimple]))
    assert r["dimples"]["mouthDimpleLeft"]["score_p95"] == pytest.approx(np.percentile(scores[:-1, dimple], 95))
    press = ARKIT_NAMES.index("mouthPressRight")                   # and the presses over the frames with lips apart
    apart = scores[:-1, ARKIT_NAMES.index("jawOpen")] >= fusion.JAW_OPEN_RAMP[1]
    p = r["presses"]["mouthPressRight"]
    assert p["frames_apart"] == apart.sum() > 0 and p["weight_mean"] == pytest.approx(scores[:-1, press].mean())
    assert p["apart"]["score_mean"] == pytest.approx(scores[:-1, press][apart].mean())
    forward = ARKIT_NAMES.index("jawForward")                      # the stray shapes beside their scores
    assert r["stray"]["jawForward"]["weight_p95"] == pytest.approx(np.percentile(scores[:-1, forward], 95))
    assert r["stray"]["jawForward"]["score_mean"] == pytest.approx(scores[:-1, forward].mean())
    with pytest.raises(ValueError):
        bench_real.score_agreement(tracks, faces[:-1])


def test_forehead_light_spread_skips_frames_without_a_face_or_a_reading():
    light = [1.6, 0.1, None, np.nan, 0.3, 2.0]
    states = [None if v is None else SimpleNamespace(forehead_light=v) for v in light]
    r = bench_real.forehead_light(states)
    assert r == dict(frames=4, min=0.1, median=0.95, max=2.0, weighed_down=0.5)      # 0.1 and 0.3 under SHADE_FREE
    assert bench_real.forehead_light([None]) == dict(frames=0)


def test_cut_frames_counts_the_frames_whose_parts_the_edge_cuts_as_the_bakes_warnings_do():
    from core.landmark_template import LIPS, NUM_LANDMARKS
    inside = np.full((NUM_LANDMARKS, 3), 100.0, np.float32)
    low = inside.copy()
    low[list(LIPS)[:len(LIPS) // 2], 1] = 250.0                     # half the lips below a 200-px-high frame
    grazed = inside.copy()
    grazed[LIPS[0], 0] = -1.0                                       # one lip corner past the left edge
    states = [SimpleNamespace(landmarks=m) for m in (inside, low, low, grazed)] + [None]
    assert bench_real.cut_frames(states, (300, 200)) == dict(frames=4, mouth=2, eyes=0, brows=0, any=2, lips_any=3)
    assert bench_real.cut_frames([None], (300, 200))["frames"] == 0


@pytest.mark.parametrize("kind", ["mirror", "roll20", "60px", "shift3.5", "scale0.5", "exposure0.6", "noise6", "jpeg25",
                                  "grey", "blur2", "motion9", "zoom1.3", "sway20", "portrait"])
def test_a_reshot_clip_carries_the_oracles_points_onto_the_same_pixels(tmp_path, kind):
    """A clip whose frames carry a red dot at dlib's point 36 (the subject's right eye's outer corner) and a green one
    at 45 (the left eye's), re-shot: each carried point lies on its dot in the copy; mirrored, point 36 lies on the
    green dot (the subject's right eye is now where the left one was seen). The copies made worse are so: darker,
    noisier, smaller, grey."""
    import cv2
    from core.footage import open_footage
    T, spots = 3, np.array([[(100.5, 90.5), (210.5, 120.5)], [(104.5, 92.5), (214.5, 118.5)],
                            [(108.5, 94.5), (218.5, 116.5)]])           # (frame, [36, 45], xy), pixel centres at
    points = np.full((T, 68, 2), np.nan)                                 # i + 0.5 as dlib's cached points have them
    points[:, 36], points[:, 45] = spots[:, 0], spots[:, 1]
    for t in range(T):
        img = np.full((240, 320, 3), 90, np.uint8)
        for (x, y), colour in zip(spots[t], ((255, 0, 0), (0, 255, 0))):
            cv2.circle(img, (int(x), int(y)), 9, colour, -1)               # OpenCV's pixel i: its centre at i
        cv2.imwrite(str(tmp_path / f"f{t:03d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    (tmp_path / "copy").mkdir()
    copy = reshoots.reshoot(tmp_path, kind, tmp_path / "copy")
    assert copy.mirrored == (kind == "mirror") and sorted(copy.affine) == list(range(T))
    carried = copy.carry(np.arange(T), points)
    assert np.isnan(carried[:, 0]).all()                                  # no point, none carried
    if kind.startswith("shift"):                                          # moved as asked, dots and points alike
        np.testing.assert_allclose(carried[:, [36, 45]] - points[:, [36, 45]], 3.5)
    if kind.startswith("sway"):                                           # sideways, by 20 px times the swing's sine
        from core.footage import DEFAULT_IMAGE_FPS                        # an image folder's frame rate
        swing = 20.0 * np.sin(2.0 * np.pi * np.arange(T) / (reshoots.SWAY_PERIOD_S * DEFAULT_IMAGE_FPS))
        np.testing.assert_allclose(carried[:, [36, 45], 0] - points[:, [36, 45], 0], np.repeat(swing[:, None], 2, 1))
        np.testing.assert_allclose(carried[:, [36, 45], 1], points[:, [36, 45], 1])
    assert np.isnan(reshoots.Reshot(tmp_path, copy.path, {}).carry([0], points)).all()   # no frame, none either
    scale = {"60px": 60 / (0.45 * 320), "portrait": reshoots.PORTRAIT_HEIGHT * 1280 / 240}.get(kind, 1.0)
    with open_footage(str(copy.path)) as footage:
        if kind != "60px":
            assert (footage.width, footage.height) == {"scale0.5": (160, 120),
                                                       "portrait": reshoots.PORTRAIT}.get(kind, (320, 240))
        for t, frame in enumerate(footage):
            img = frame.image.astype(np.float64)
            if kind == "grey":                                           # no colour left to find the dots by
                assert np.abs(img - img.mean(2, keepdims=True)).max() < 8 and np.ptp(img[..., 1]) > 30
                continue
            if kind in ("exposure0.6", "noise6"):                             # the grey background: 90 -> 54; noisy
                background = img[:40, :40]
                assert abs(background.mean() - (54 if kind == "exposure0.6" else 90)) < 3
                assert (background.std() > 3) == (kind == "noise6")
            for k, channel in ((36, 0), (45, 1)):
                if kind == "mirror":
                    channel = 1 - channel
                mass = np.clip(img[..., channel] - img[..., 1 - channel] - 60, 0, None)
                ys, xs = np.nonzero(mass)
                centre = np.array([(xs * mass[ys, xs]).sum(), (ys * mass[ys, xs]).sum()]) / mass[ys, xs].sum() + 0.5
                assert np.linalg.norm(carried[t, k] - centre) < 0.25 * max(scale, 1.0), (kind, t, k, carried[t, k],
                                                                                      centre)
    with pytest.raises(ValueError):
        reshoots.reshoot(tmp_path, "sideways", tmp_path / "copy")
    assert reshoots.reshoot_kind("roll:-12.5") == "roll-12.5" and reshoots.reshoot_kind("mirror") == "mirror"
    assert reshoots.reshoot_kind("shift:0.50") == "shift0.5" and reshoots.reshoot_kind("jpeg:25") == "jpeg25"
    assert reshoots.reshoot_kind("grey") == "grey" and reshoots.reshoot_kind("portrait") == "portrait"
    assert reshoots.reshoot_kind("occlude:0.40") == "occlude0.4" and reshoots.reshoot_kind("stride:2") == "stride2"
    assert reshoots.reshoot_kind("shades:.5") == "shades0.5" and reshoots.reshoot_kind("sway:40") == "sway40"
    for bad in ("roll:up", "shift:", "shift", "smudge:2"):
        with pytest.raises(Exception):
            reshoots.reshoot_kind(bad)


def _dot_frames(folder, T: int, at: tuple, radius: int) -> np.ndarray:
    """``T`` 320x240 frames in ``folder`` (f000.png ...), a red dot of ``radius`` px on OpenCV's pixel ``at`` on
    each, and a "copy" folder beside them; dlib's points (T, 68, 2) with point 36 on the dot (pixel centres at
    i + 0.5, as oracle_dlib caches them), the rest NaN."""
    import cv2
    points = np.full((T, 68, 2), np.nan)
    points[:, 36] = np.asarray(at, np.float64) + 0.5
    for t in range(T):
        img = np.full((240, 320, 3), 90, np.uint8)
        cv2.circle(img, at, radius, (255, 0, 0), -1)
        cv2.imwrite(str(folder / f"f{t:03d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    (folder / "copy").mkdir()
    return points


def _assert_dot_carried(copy, carried: np.ndarray) -> None:
    """On every frame of the re-shot ``copy`` of ``_dot_frames``, the red dot's centre (the red mass's, pixel centres
    at i + 0.5) lies within a quarter of a pixel of dlib's point 36 as the copy carries it (``carried``)."""
    from core.footage import open_footage
    with open_footage(str(copy.path)) as footage:
        for t, frame in enumerate(footage):
            mass = np.clip(frame.image[..., 0].astype(np.float64) - frame.image[..., 1] - 60, 0, None)
            ys, xs = np.nonzero(mass)
            at = np.array([(xs * mass[ys, xs]).sum(), (ys * mass[ys, xs]).sum()]) / mass[ys, xs].sum() + 0.5
            assert np.linalg.norm(at - carried[t, 36]) < 0.25, (t, at, carried[t, 36])


def test_a_shaken_copy_swings_sideways_within_four_frames_in_bursts(tmp_path):
    """A "shake" copy: steady for its first second, then for ``SHAKE_BURST_S`` each frame moved sideways by PX
    times sin(2 pi m / ``SHAKE_FRAMES``), m frames into the burst; the dot drawn on each frame sits where its carried
    point says, and the copy names the frames it shook."""
    import cv2
    from core.footage import DEFAULT_IMAGE_FPS, open_footage
    fps = DEFAULT_IMAGE_FPS
    assert [reshoots.shaking(n, fps) for n in (0, 24, 25, 26, 49, 50, 99, 100)] == [None, None, 0, 1, 24, None,
                                                                                      None, 0]
    assert [reshoots.shaking(n, fps, all_along=True) for n in (24, 25, 50, 100)] == [None, 0, 25, 75]
    assert reshoots.reshoot_kind("shaky:8") == "shaky8"
    T = round(fps) + 6
    points = _dot_frames(tmp_path, T, (150, 110), 9)
    copy = reshoots.reshoot(tmp_path, reshoots.reshoot_kind("shake:12"), tmp_path / "copy")
    m = np.arange(T) - round(fps)
    swing = np.where(m >= 0, 12.0 * np.sin(2 * np.pi * m / reshoots.SHAKE_FRAMES), 0.0)
    assert sorted(copy.shaken) == list(range(round(fps), T))
    np.testing.assert_allclose([copy.shaken[f] for f in sorted(copy.shaken)], swing[round(fps):], atol=1e-9)
    carried = copy.carry(np.arange(T), points)
    np.testing.assert_allclose(carried[:, 36, 0] - 150.5, swing, atol=1e-9)
    with open_footage(str(copy.path)) as footage:
        for t, frame in enumerate(footage):
            mass = np.clip(frame.image[..., 0].astype(np.float64) - frame.image[..., 1] - 60, 0, None)
            ys, xs = np.nonzero(mass)
            assert abs((xs * mass[ys, xs]).sum() / mass[ys, xs].sum() - carried[t, 36, 0]) < 1.0


def test_a_twisted_copy_turns_side_to_side_about_the_frames_centre_in_the_shake_bursts(tmp_path):
    """A "twist" copy: steady for its first second, then each frame turned DEG times sin(2 pi m / ``SHAKE_FRAMES``)
    degrees about its centre; the copy names the frames it turned and by how much, and a dot drawn off the centre sits
    where its carried point says."""
    import cv2
    from core.footage import DEFAULT_IMAGE_FPS
    fps = DEFAULT_IMAGE_FPS
    T = round(fps) + 6
    points = _dot_frames(tmp_path, T, (230, 60), 7)
    assert reshoots.reshoot_kind("twist:5") == "twist5" and reshoots.reshoot_kind("twisty:1.5") == "twisty1.5"
    assert reshoots.reshoot_kind("handheld:6") == "handheld6"
    np.testing.assert_array_equal(reshoots.jolt(40), reshoots.jolt(40))          # the same on every run
    copy = reshoots.reshoot(tmp_path, "twist5", tmp_path / "copy")
    m = np.arange(T) - round(fps)
    turn = np.where(m >= 0, 5.0 * np.sin(2 * np.pi * m / reshoots.SHAKE_FRAMES), 0.0)
    assert sorted(copy.twisted) == list(range(round(fps), T)) and not copy.shaken
    np.testing.assert_allclose([copy.twisted[f] for f in sorted(copy.twisted)], turn[round(fps):], atol=1e-9)
    carried = copy.carry(np.arange(T), points)
    centre = np.array([160.0, 120.0])                                     # the frame's, pixel centres at i + 0.5
    seen = np.degrees(np.arctan2(*(carried[:, 36] - centre)[:, ::-1].T))
    np.testing.assert_allclose(seen - seen[0], -turn, atol=1e-6)          # counter-clockwise as seen: y runs down
    _assert_dot_carried(copy, carried)


def test_occluders_cover_the_middle_of_the_clip_where_dlib_found_a_face():
    T = 10
    points = np.arange(T * 68 * 2, dtype=np.float64).reshape(T, 68, 2)
    found = np.ones(T, bool)
    found[4] = False
    oracle = SimpleNamespace(frames=np.arange(T) + 5, points=points, found=found)
    covers = reshoots.occluders(oracle, 0.4)                   # rows 3-6 of 10, row 4 without a face
    assert sorted(covers) == [8, 10, 11]
    hull = points[5][list(reshoots.LOWER_FACE)]
    (grown,) = covers[10]
    np.testing.assert_allclose(grown.mean(0), hull.mean(0))
    np.testing.assert_allclose(np.ptp(grown, 0), 1.2 * np.ptp(hull, 0))
    assert sorted(reshoots.occluders(oracle, 1.0)) == [f + 5 for f in range(T) if f != 4]
    lenses = reshoots.occluders(oracle, 0.4, "shades")[10]
    for lens, eye in zip(lenses, reshoots.EYES):               # a lens about each eye, 1.6 x its width
        corners = points[5][[eye[0], eye[3]]]
        np.testing.assert_allclose(lens.mean(0), points[5][list(eye)].mean(0), atol=1e-9)
        width = np.linalg.norm(corners[1] - corners[0])
        assert np.linalg.norm(lens - lens.mean(0), axis=1).max() == pytest.approx(0.8 * width)
    (brim,) = reshoots.occluders(oracle, 0.4, "brim")[10]
    assert len(brim) == 4


def test_a_brim_shades_the_eyes_and_brows_but_not_the_nose_tip_mouth_or_chin():
    """dlib's 68 points of an upright face and of the same face upside down: the brim's shadow lies over the face's
    top either way."""
    import cv2

    def inside(polygon, points):
        contour = polygon.astype(np.float32).reshape(-1, 1, 2)
        return np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), False) > 0 for x, y in points])
    pts = np.zeros((68, 2))
    pts[36:42] = (100.0, 100.0)                                 # right eye (image left)
    pts[42:48] = (160.0, 100.0)
    pts[17:27] = np.column_stack([np.linspace(90, 170, 10), np.full(10, 80.0)])     # brows
    pts[30] = (130.0, 140.0)                                    # nose tip
    pts[48:60] = (130.0, 170.0)                                 # mouth
    pts[8] = (130.0, 200.0)                                     # chin
    for p in (pts, 260.0 - pts):
        region = reshoots.brim(p)
        assert inside(region, p[17:27]).all() and inside(region, p[36:48]).all()
        assert not inside(region, p[[30, 8] + list(range(48, 60))]).any()
    image = np.full((260, 260, 3), 200, np.uint8)
    out = reshoots.shade(image, [reshoots.brim(pts)], reshoots.BRIM_LIGHT)
    assert out[80, 130, 0] == pytest.approx(200 * reshoots.BRIM_LIGHT, abs=6) and out[200, 130, 0] == 200
    assert cv2.absdiff(out, image)[230:, :].max() == 0


def test_occluders_reject_a_bad_fraction_or_kind():
    T = 10
    oracle = SimpleNamespace(frames=np.arange(T), points=np.zeros((T, 68, 2)), found=np.ones(T, bool))
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError):
            reshoots.occluders(oracle, bad)
    with pytest.raises(ValueError):
        reshoots.occluders(oracle, 0.4, "scarf")


def test_an_occluded_copy_paints_the_hull_on_the_named_frames_only(tmp_path):
    import cv2
    from core.footage import open_footage
    for t in range(3):
        cv2.imwrite(str(tmp_path / f"f{t:03d}.png"), np.full((240, 320, 3), 90, np.uint8))
    square = np.array([(120.0, 80.0), (200.0, 80.0), (200.0, 160.0), (120.0, 160.0), (160.0, 120.0)])
    (tmp_path / "copy").mkdir()
    with pytest.raises(ValueError):
        reshoots.reshoot(tmp_path, "occlude0.3", tmp_path / "copy")
    copy = reshoots.reshoot(tmp_path, "occlude0.3", tmp_path / "copy", {1: [square]})
    np.testing.assert_allclose(copy.carry([1], np.array([square])), [square])         # nothing moved
    assert copy.covered == {1}
    with open_footage(str(copy.path)) as footage:
        images = [frame.image.astype(np.float64) for frame in footage]
    for t, img in enumerate(images):
        centre, far = img[110:130, 150:170].mean((0, 1)), img[:40, :40].mean((0, 1))
        np.testing.assert_allclose(far, 90, atol=6)
        np.testing.assert_allclose(centre, reshoots.PAINT["occlude"] if t == 1 else 90, atol=6)


def test_a_strided_copy_keeps_every_nth_frame_at_a_lower_frame_rate(tmp_path):
    import cv2
    from core.footage import open_footage
    for t in range(5):
        cv2.imwrite(str(tmp_path / f"f{t:03d}.png"), np.full((120, 160, 3), 40 * t + 20, np.uint8))
    (tmp_path / "copy").mkdir()
    copy = reshoots.reshoot(tmp_path, "stride2", tmp_path / "copy")
    assert copy.frames == {0: 0, 2: 1, 4: 2} and sorted(copy.affine) == [0, 2, 4]
    with open_footage(str(tmp_path)) as source:
        fps = source.fps
    with open_footage(str(copy.path)) as footage:
        assert footage.fps == pytest.approx(fps / 2, rel=1e-3)
        levels = [frame.image.mean() for frame in footage]
    np.testing.assert_allclose(levels, [20, 100, 180], atol=8)          # the video codec shifts grey levels
    assert reshoots.reshoot(tmp_path, "stride1", tmp_path / "copy").frames is None
    with pytest.raises(ValueError):
        reshoots.reshoot(tmp_path, "stride0", tmp_path / "copy")


def test_a_fast_copy_keeps_every_nth_frame_at_the_clips_own_frame_rate(tmp_path):
    """--reshoot fast:N: the frames a stride copy keeps, at the source's frame rate (the subject N times as fast)."""
    import cv2
    from core.footage import open_footage
    for t in range(7):
        cv2.imwrite(str(tmp_path / f"f{t:03d}.png"), np.full((120, 160, 3), 30 * t + 20, np.uint8))
    (tmp_path / "copy").mkdir()
    assert reshoots.reshoot_kind("fast:3") == "fast3"
    copy = reshoots.reshoot(tmp_path, "fast3", tmp_path / "copy")
    assert copy.frames == {0: 0, 3: 1, 6: 2} and copy.path.name.endswith("_fast3.mp4")
    with open_footage(str(tmp_path)) as source:
        fps = source.fps
    with open_footage(str(copy.path)) as footage:
        assert footage.fps == pytest.approx(fps, rel=1e-3)               # the subject moves three times as fast
        levels = [frame.image.mean() for frame in footage]
    np.testing.assert_allclose(levels, [20, 110, 200], atol=8)
    with pytest.raises(ValueError, match="fast re-shoot"):
        reshoots.reshoot(tmp_path, "fast0", tmp_path / "copy")


def test_a_jump_copy_leaves_frames_out_at_a_third_and_two_thirds_and_names_its_cuts(tmp_path):
    """--reshoot jump:N: N frames left out from a third and from two thirds of the clip on, at its own frame rate; the
    first source frame after each gap is a cut (scored as a cut copy's)."""
    import cv2
    from core.footage import open_footage
    for t in range(12):
        cv2.imwrite(str(tmp_path / f"f{t:03d}.png"), np.full((120, 160, 3), 20 * t + 10, np.uint8))
    (tmp_path / "copy").mkdir()
    assert reshoots.reshoot_kind("jump:2") == "jump2"
    copy = reshoots.reshoot(tmp_path, "jump2", tmp_path / "copy")
    assert copy.frames == {0: 0, 1: 1, 2: 2, 3: 3, 6: 4, 7: 5, 10: 6, 11: 7} and copy.cuts == (6, 10)
    with open_footage(str(tmp_path)) as source:
        fps = source.fps
    with open_footage(str(copy.path)) as footage:
        assert footage.fps == pytest.approx(fps, rel=1e-3)
        levels = [frame.image.mean() for frame in footage]
    np.testing.assert_allclose(levels, [10, 30, 50, 70, 130, 150, 210, 230], atol=8)
    with pytest.raises(ValueError, match="jump re-shoot"):
        reshoots.reshoot(tmp_path, "jump0", tmp_path / "copy")


def test_obs_cache_keys_a_copy_by_its_clip_and_kind_not_by_the_file_made_anew(tmp_path):
    """--obs-cache: a clip as shot is keyed by its own file; a re-shot copy, written anew into a temporary folder
    each run, by its clip's file and the copy's name, so a later run finds it; another kind is another key."""
    import os
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x" * 10)
    copies = []
    for run in range(2):
        folder = tmp_path / f"run{run}"
        folder.mkdir()
        copy = folder / "clip_brim1.mp4"
        copy.write_bytes(b"y" * (20 + run))                     # the copy's bytes and time differ run to run
        os.utime(copy, (1000 + run, 1000 + run))
        copies.append(reshoots.Reshot(clip, copy, {}))
    key = lambda r: bench_real.cache_file(tmp_path / "cache", r.path, "default", "observed", r)  # noqa: E731
    before = key(copies[0])
    assert key(copies[1]) == before
    other = tmp_path / "run0" / "clip_brim0.5.mp4"
    other.write_bytes(b"z")
    assert key(reshoots.Reshot(clip, other, {})) != before
    as_shot = bench_real.cache_file(tmp_path / "cache", clip, "default", "observed")
    assert as_shot != before
    clip.write_bytes(b"x" * 11)                                  # the clip changed: its copies' keys change too
    assert key(copies[0]) != before
    assert bench_real.cache_file(tmp_path / "cache", clip, "default", "observed") != as_shot


def test_over_shots_averages_each_clips_shots_and_keeps_the_range():
    def row(r_eye, err, gaze):
        signals = {k: {"r": 0.9} for k in bench_real.fs.SIGNALS}
        signals["eye_open_right"] = {"r": r_eye}
        return {"signals": signals, "landmark_error_iod": {"median_target_points": err},
                "gaze": {"right": {"r": gaze}, "left": {"r": gaze}}}
    results = {"a.mp4": {"mesh": row(0.8, 0.03, 0.9)}, "mirror a": {"mesh": row(0.6, 0.05, 0.7)},
               "b.mp4": {"mesh": row(0.7, 0.04, 0.8)}}
    out = bench_real.over_shots(results, {"a": ["a.mp4", "mirror a", "roll20 a"], "b": ["b.mp4", "mirror b"]})
    assert list(out) == ["a"]                                  # b has one shot measured: nothing to average
    m = out["a"]["mesh"]
    assert m["shots"] == 2 and m["r_mean"]["eye_open_right"] == pytest.approx(0.7)
    assert m["r_min"]["eye_open_right"] == pytest.approx(0.6) and m["r_mean"]["mouth_open"] == pytest.approx(0.9)
    assert m["r_max"]["eye_open_right"] == pytest.approx(0.8) and m["r_max"]["mouth_open"] == pytest.approx(0.9)
    assert m["gaze_r_mean"] == pytest.approx(0.8) and m["error_target_points_mean"] == pytest.approx(0.04)
    assert m["error_target_points_range"] == pytest.approx([0.03, 0.05])
    assert "mediapipe" not in out["a"]
    assert "a" in bench_real.over_shots_table(out)


def test_one_frame_spikes_and_lower_face_pops_count_what_moves_out_and_back_within_a_frame(head):
    """A mouth shape out and back within a frame is a spike of the weights and a pop of the head's lower face; a blink
    is a spike of the eyes' and no pop there; a shape that rises over five frames is neither."""
    from bake.tracks import build_tracks
    T = 12
    w = np.zeros((T, 52), np.float32)
    w[5, ARKIT_NAMES.index("jawOpen")] = 0.8
    w[3, ARKIT_NAMES.index("eyeBlinkLeft")] = 1.0
    w[6:, ARKIT_NAMES.index("mouthSmileLeft")] = np.linspace(0.0, 1.0, T - 6)
    tracks = build_tracks(head, np.zeros(len(head.identity_std)), w, np.tile(np.eye(3), (T, 1, 1)),
                          np.tile([0.0, 0.0, 500.0], (T, 1)), np.arange(T), 30.0, np.eye(3), (640, 480),
                          np.ones(T, bool))
    assert bench_real.one_frame_spikes(tracks) == dict(eyes=1, others=1)
    pops = bench_real.lower_face_pops(tracks)
    assert pops["frames"] == 1 and pops["most_mm"] > 5.0
    w[5, ARKIT_NAMES.index("jawOpen")] = 0.0
    tracks = replace(tracks, weights=w)
    assert bench_real.one_frame_spikes(tracks) == dict(eyes=1, others=0)
    assert bench_real.lower_face_pops(tracks)["frames"] == 0


def test_arkit_only_poses_the_neutral_by_the_exported_weights_alone(head):
    """The character's view: the corrective and residual keys at 0, the ARKit weights as baked."""
    from bake.tracks import build_tracks, posed_vertices
    T, jaw = 3, ARKIT_NAMES.index("jawOpen")
    w = np.zeros((T, 53), np.float32)
    w[:, jaw], w[:, -1] = [0.0, 0.5, 1.0], 0.8
    corrective = 0.3 * head.arkit_deltas[ARKIT_NAMES.index("mouthSmileLeft")][None]
    tracks = build_tracks(head, np.zeros(len(head.identity_std)), w, np.tile(np.eye(3), (T, 1, 1)),
                          np.tile([0.0, 0.0, 500.0], (T, 1)), np.arange(T), 30.0, np.eye(3), (640, 480),
                          np.ones(T, bool), corrective_deltas=corrective)
    alone = bench_real.arkit_keys_only(tracks)
    assert alone.weights[:, -1] == pytest.approx(0.0) and alone.weights[:, jaw] == pytest.approx(tracks.weights[:, jaw])
    want = tracks.basis + np.tensordot(tracks.weights[2, :52], tracks.key_deltas[:52], 1) + [0.0, 0.0, 500.0]
    assert np.abs(posed_vertices(alone, 2) - want).max() < 1e-3
    assert np.abs(posed_vertices(tracks, 2) - want).max() > 0.1          # the corrective key moved the head


def test_scores_as_weights_pose_the_neutral_by_mediapipes_scores_alone(head):
    """The MediaPipe add-on's character: the 52 ARKit keys at the tracker's scores (tongueOut, which it does not read,
    and a frame without a face at 0; clipped to [0, 1]), every other key at 0, in the bake's key order."""
    from bake.tracks import build_tracks
    T, jaw, smile = 3, ARKIT_NAMES.index("jawOpen"), ARKIT_NAMES.index("mouthSmileLeft")
    w = np.full((T, 53), 0.4, np.float32)
    tracks = build_tracks(head, np.zeros(len(head.identity_std)), w, np.tile(np.eye(3), (T, 1, 1)),
                          np.tile([0.0, 0.0, 500.0], (T, 1)), np.arange(T), 30.0, np.eye(3), (640, 480),
                          np.ones(T, bool), corrective_deltas=0.3 * head.arkit_deltas[smile][None])
    scores = np.zeros((2, 52), np.float32)
    scores[:, jaw], scores[1, smile] = [0.2, 1.3], 0.7
    scores[:, ARKIT_NAMES.index("tongueOut")] = np.nan
    faces = [SimpleNamespace(blendshapes=s) for s in scores] + [None]
    out = bench_real.scores_as_weights(tracks, faces)
    names = list(out.key_names)
    assert out.weights[:, names.index("jawOpen")] == pytest.approx([0.2, 1.0, 0.0])
    assert out.weights[:, names.index("mouthSmileLeft")] == pytest.approx([0.0, 0.7, 0.0])
    assert out.weights[:, names.index("tongueOut")] == pytest.approx(0.0)
    assert out.weights[:, -1] == pytest.approx(0.0)                          # the corrective key
    assert out.weights.sum() == pytest.approx(0.2 + 1.0 + 0.7)
    with pytest.raises(ValueError):
        bench_real.scores_as_weights(tracks, faces[:-1])


def test_bench_e2e_reads_mediapipes_scores_as_weights_against_the_truth(head):
    """bench_e2e's "mediapipe" row: the scores as the weights, eyeBlink 1 shutting the true head's lids as the
    export's does, so scores equal to the exported truth have no error, and half of them half the skin's motion."""
    import bench_e2e
    rng = np.random.default_rng(3)
    T = 6
    seq = dict(arkit=np.where(rng.uniform(size=(T, 52)) < 0.3, rng.uniform(0, 0.8, (T, 52)), 0.0),
               identity=np.zeros(len(head.identity_std)))
    truth = bench_e2e.true_weights(seq, head)
    exact = bench_e2e.score_metrics([SimpleNamespace(blendshapes=t) for t in truth], seq, head)
    assert exact["arkit_mae"] == pytest.approx(0.0) and exact["expression_mm"] == pytest.approx(0.0, abs=1e-9)
    half = bench_e2e.score_metrics([SimpleNamespace(blendshapes=0.5 * t) for t in truth], seq, head)
    assert half["arkit_mae"] == pytest.approx(0.5 * np.abs(truth).mean())
    assert 0 < half["expression_mm"] < bench_e2e.score_metrics([None] * T, seq, head)["expression_mm"]


def test_bench_e2e_names_each_shapes_error_and_their_mean_over_the_seeds():
    """``arkit_mae_shapes``: each ARKit shape's own error, whose mean is the ARKit MAE; ``shapes_mean`` averages it
    over the sequences, largest first."""
    import bench_e2e
    rng = np.random.default_rng(4)
    truth = rng.uniform(0, 1, (10, 52))
    off = truth.copy()
    off[:, ARKIT_NAMES.index("mouthPressLeft")] += 0.3
    off[:, ARKIT_NAMES.index("jawOpen")] -= 0.1
    e = bench_e2e.weight_errors(off, truth)
    assert list(e["arkit_mae_shapes"]) == list(ARKIT_NAMES)
    assert e["arkit_mae_shapes"]["mouthPressLeft"] == pytest.approx(0.3)
    assert e["arkit_mae_shapes"]["jawOpen"] == pytest.approx(0.1) and e["arkit_mae_shapes"]["eyeBlinkLeft"] == 0.0
    assert np.mean(list(e["arkit_mae_shapes"].values())) == pytest.approx(e["arkit_mae"], abs=1e-5)
    other = bench_e2e.weight_errors(truth, truth)
    mean = bench_e2e.shapes_mean([e, other])
    assert list(mean)[:2] == ["mouthPressLeft", "jawOpen"] and mean["mouthPressLeft"] == pytest.approx(0.15)


def test_bench_e2e_reads_the_gaze_against_the_truth_and_nothing_where_the_truth_never_looks():
    import bench_e2e
    T = 40
    truth = np.zeros((T, 52))
    side = np.sin(np.linspace(0, 6, T))
    for n, w in (("eyeLookOutLeft", side), ("eyeLookInRight", side), ("eyeLookInLeft", -side),
                 ("eyeLookOutRight", -side), ("eyeLookDownLeft", -np.cos(np.linspace(0, 4, T))),
                 ("eyeLookDownRight", -np.cos(np.linspace(0, 4, T)))):
        truth[:, ARKIT_NAMES.index(n)] = np.maximum(w, 0)
    signals = bench_e2e.gaze_signals(truth)                  # right eye's out, up; left eye's out, up
    assert np.allclose(signals[:, 0], -side) and np.allclose(signals[:, 2], side)
    assert bench_e2e.gaze_agreement(truth, truth) == {"gaze_r": pytest.approx(1.0), "gaze_gain": pytest.approx(1.0)}
    assert bench_e2e.gaze_agreement(0.5 * truth, truth)["gaze_gain"] == pytest.approx(0.5)
    assert bench_e2e.gaze_agreement(np.zeros((T, 52)), truth) == {"gaze_r": 0.0, "gaze_gain": 0.0}
    assert bench_e2e.gaze_agreement(truth, np.zeros((T, 52))) == {}


def test_bench_e2e_shades_a_renders_brows_and_eyes_on_the_middle_frames(head):
    """bench_e2e's ``--brim F``: the true head's brows and eyes in a brim's shadow on the middle F of the frames,
    its mouth lit, the other frames as rendered."""
    import bench_e2e
    from core import landmark_template as lt
    from training import groundtruth as gt
    g = gt.make_sequence(head, 8, seed=1, width=320, height=320)
    seq = dict(image=np.full((8, 320, 320, 3), 200, np.uint8), verts_cam=g.verts_cam, K=g.K)
    out = bench_e2e.brimmed(seq, head, 0.5)
    p = bench_e2e.true_points(seq, head, np.arange(8))
    value = lambda t, i: int(out[t, int(round(p[t, i, 1])), int(round(p[t, i, 0])), 0])     # noqa: E731
    for t in range(8):
        shaded = 2 <= t < 6
        for eye in lt.IRIS_CENTRES:                                          # near the shadow's soft edge
            assert value(t, eye) < 100 if shaded else value(t, eye) == 200
        assert value(t, 10) == (40 if shaded else 200)                       # the forehead
        assert value(t, lt.UPPER_LIP_OUTER) == 200 and value(t, lt.CHIN) == 200
    assert (seq["image"] == 200).all()                                       # the sequence's own images untouched


def test_bench_e2e_reads_the_heads_rotation_from_the_true_one_and_its_motion_apart_from_a_held_offset():
    from scipy.spatial.transform import Rotation
    import bench_e2e
    truth = Rotation.from_euler("y", [[0], [30], [-60]], degrees=True).as_matrix()
    baked = (Rotation.from_euler("x", [[5], [-12], [0]], degrees=True) * Rotation.from_matrix(truth)).as_matrix()
    turn, motion = bench_e2e.rotation_error(baked, truth)
    np.testing.assert_allclose(turn, [5, 12, 0], atol=1e-6)
    assert 0 < motion.max() < 12
    held = truth @ Rotation.from_euler("z", 7, degrees=True).as_matrix()   # the same offset in the head's frame
    turn, motion = bench_e2e.rotation_error(held, truth)
    np.testing.assert_allclose(turn, 7, atol=1e-6)
    np.testing.assert_allclose(motion, 0, atol=1e-6)
    np.testing.assert_allclose(bench_e2e.rotation_error(truth, truth), 0, atol=1e-6)


def test_bench_e2e_cuts_a_tight_frame_whose_intrinsics_still_project_onto_the_same_content():
    """``--cut F``: F of the rows gone, half above and half below; a point the truth's intrinsics put on a pixel
    lands, with the cut's, on the same pixel's content, and the principal point stays in the middle."""
    import bench_e2e
    T, H, W = 2, 100, 80
    rng = np.random.default_rng(0)
    seq = dict(image=rng.integers(0, 255, (T, H, W, 3), dtype=np.uint8), depth=rng.uniform(size=(T, H, W)),
               canon=rng.uniform(size=(T, H, W, 3)), mask=rng.uniform(size=(T, H, W)) > 0.5,
               K=np.array([[90.0, 0, W / 2], [0, 90.0, H / 2], [0, 0, 1]]), R=np.zeros((T, 3, 3)))
    cut = bench_e2e.cut_frame(seq, 0.4)
    assert cut["image"].shape == (T, 60, W, 3) and cut["mask"].shape == (T, 60, W)
    assert cut["K"][1, 2] == pytest.approx(30.0) and seq["K"][1, 2] == H / 2 and cut["R"] is seq["R"]
    point = np.array([7.0, -5.0, 100.0])
    before, after = (k @ point / point[2] for k in (seq["K"], cut["K"]))
    (x0, y0), (x1, y1) = np.round(before[:2]).astype(int), np.round(after[:2]).astype(int)
    for k in ("image", "depth", "canon", "mask"):
        np.testing.assert_array_equal(cut[k][:, y1, x1], seq[k][:, y0, x0])
    assert bench_e2e.cut_frame(seq, 0.0) is seq


def test_a_handheld_copy_jolts_every_frame_after_the_first_second_as_jolt_says(tmp_path):
    """A "handheld" copy: steady for its first second, then each frame moved by ``jolt`` times (PX, PX) px and turned
    by it times PX / ``HANDHELD_PX_PER_DEGREE`` degrees; the copy names the frames it turned and by how much, and a dot
    sits where its carried point says."""
    from core.footage import DEFAULT_IMAGE_FPS
    fps = DEFAULT_IMAGE_FPS
    T = round(fps) + 4
    points = _dot_frames(tmp_path, T, (200, 90), 7)
    copy = reshoots.reshoot(tmp_path, "handheld6", tmp_path / "copy")
    assert sorted(copy.twisted) == list(range(round(fps), T))
    for f in copy.twisted:
        assert copy.twisted[f] == pytest.approx(reshoots.jolt(f)[2] * 6.0 / reshoots.HANDHELD_PX_PER_DEGREE)
    carried = copy.carry(np.arange(T), points)
    assert np.abs(carried[round(fps):, 36] - (200, 90)).max() > 1.0                            # it did move
    _assert_dot_carried(copy, carried)


def test_a_turned_heads_near_side_is_read_at_the_ears_root_and_its_far_side_and_a_facing_head_as_the_bake_reads_them():
    """The template at 600 mm, read at the eyes' height (oval point 234's): facing the camera, and on the far side of a
    head turned 30 degrees, the contour's sides (in front of the ear's root) give about the bake's own outline (within
    1 % of the face's width); on the near side they reach out to the ear's root, which the bake's sides (15 mm in front
    of the ear) fall short of by more than 5 %."""
    from bake.face_outline import levelling
    from core import head_model, landmark_template
    from core.mesh_render import HEAD_TO_CV, rotation_y
    head = head_model.load()
    K = np.array([[1000.0, 0, 640], [0, 1000.0, 360], [0, 0, 1]])
    marks = landmark_template.load().basis(head, np.array([234, 1]))[0]      # the eyes' height, the nose tip
    eyes_height = marks[0, 1]
    ends, nose = {}, {}
    for yaw in (0.0, 30.0):
        cam = (head.vertices @ rotation_y(yaw).T) @ HEAD_TO_CV.T + [0.0, 0.0, 600.0]
        tip = (marks[1] @ rotation_y(yaw).T) @ HEAD_TO_CV.T + [0.0, 0.0, 600.0]
        nose[yaw] = 640.0 + 1000.0 * tip[0] / tip[2]
        row = np.array([[360.0 - 1000.0 * eyes_height / 600.0]])
        args = (cam[None], K, head, levelling(np.zeros(1)), np.array([[0.0, 0.0]]), row)
        ends[yaw] = [bench_real.outline_ends(*args)[0, 0], bench_real.outline_ends(
            *args, sides=bench_real.contour_sides(head))[0, 0]]
    bake_sides, contour = ends[0.0]
    width = bake_sides[1] - bake_sides[0]
    np.testing.assert_allclose(contour, bake_sides, atol=0.01 * width)          # facing: the same outline
    bake_sides, contour = ends[30.0]
    near = int(np.argmax(np.abs(contour - nose[30.0])))                          # the side away from the nose
    assert abs(contour[1 - near] - bake_sides[1 - near]) < 0.01 * width          # the far side: the cheek's
    assert abs(contour[near] - bake_sides[near]) > 0.05 * width                 # the near side: out to the ear
    assert abs(contour[near] - nose[30.0]) > abs(bake_sides[near] - nose[30.0])


def test_a_clip_written_forth_and_back_runs_on_without_a_cut(tmp_path):
    import cv2
    import bench_clip_length
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (64, 48))
    for level in (30, 120, 210):                                  # three flat frames, told apart by their grey
        writer.write(np.full((48, 64, 3), level, np.uint8))
    writer.release()
    assert bench_clip_length.bounced(clip, 3, tmp_path / "x3.mp4") == 9
    cap, means = cv2.VideoCapture(str(tmp_path / "x3.mp4")), []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        means.append(frame.mean())
    assert len(means) == 9
    order = np.argmin(np.abs(np.array(means)[:, None] - [30, 120, 210]), 1)
    assert order.tolist() == [0, 1, 2, 2, 1, 0, 0, 1, 2]


def _poses(facing_deg, ray_deg, tracked=None, axis=0):
    """Tracks-like poses: each head 1 m away along a ray ``ray_deg`` right of the optical axis (``axis`` 1: below it),
    its face turned ``facing_deg`` towards the image's right (below) from looking along the optical axis."""
    from core.head_model import HEAD_TO_CV
    f, r = np.radians(facing_deg), np.radians(ray_deg)
    R = []
    for a in f:
        c, s = np.cos(a), np.sin(a)
        turn = (np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]]) if axis == 0         # the face's way to +x
                else np.array([[1, 0, 0], [0, c, -s], [0, s, c]]))                 # ... to +y
        R.append(turn @ HEAD_TO_CV)
    t = np.zeros((len(r), 3))
    t[:, axis], t[:, 2] = 1000 * np.sin(r), 1000 * np.cos(r)
    return SimpleNamespace(head_rotation=np.stack(R), head_translation=t,
                           tracked=np.ones(len(f), bool) if tracked is None else tracked)


def test_a_head_facing_the_camera_from_off_axis_turns_zero_from_its_ray():
    tracked = np.array([True, True, False])
    for axis in (0, 1):
        turn = bench_real.turn_from_ray(_poses(np.array([-20.0, 0.0, 5.0]), np.array([20.0, 20.0, 0.0]), tracked,
                                               axis))
        assert turn[axis, 0] == pytest.approx([0.0, 20.0], abs=1e-9)   # 20 degrees off, looking at the camera's centre
        assert turn[axis, 1] == pytest.approx([20.0, 20.0], abs=1e-9)  # looking along the optical axis: 20 off its ray
        assert turn[1 - axis, :2] == pytest.approx(np.zeros((2, 2)), abs=1e-9)   # nothing along the other axis
        assert np.isnan(turn[:, 2]).all()


def test_turn_against_ray_reads_a_head_that_keeps_facing_the_optical_axis_and_one_that_keeps_its_turn():
    """The clip as shot has the head's own turn; its copy moves the face across the frame. A bake that reads the turn
    from the face keeps it from the ray (slope 0); one that keeps the head facing the optical axis turns it with the
    ray (slope 1); up and down as sideways."""
    rng = np.random.default_rng(0)
    n = 60
    own = rng.normal(0.0, 8.0, n)                                   # the subject's own turns
    ray = np.linspace(-18.0, 16.0, n)
    for axis in (0, 1):
        shot = bench_real.turn_from_ray(_poses(own, np.zeros(n), axis=axis))[axis]
        reads = bench_real.turn_against_ray(shot, bench_real.turn_from_ray(_poses(own - ray, ray, axis=axis))[axis])
        keeps_axis = bench_real.turn_against_ray(shot, bench_real.turn_from_ray(_poses(own, ray, axis=axis))[axis])
        assert reads["slope"] == pytest.approx(0.0, abs=1e-3)
        assert reads["off_axis_error_deg"] == pytest.approx(0, abs=0.01)
        assert keeps_axis["slope"] == pytest.approx(1.0, abs=1e-3)
        assert keeps_axis["offset_deg"] == pytest.approx(0.0, abs=0.01)
        assert keeps_axis["off_axis_error_deg"] > 10 and keeps_axis["frames"] == n
        assert keeps_axis["ray_range_deg"] == pytest.approx([-18.0, 16.0], abs=0.1)
        still = bench_real.turn_from_ray(_poses(own, np.full(n, 3.0), axis=axis))[axis]
        still = bench_real.turn_against_ray(shot, still)
        assert still is None                                        # the rays do not spread: no slope to read
    row = dict(axis="sideways", **keeps_axis)
    table = bench_real.turn_table({"60px a": {"turn_against_ray": row}, "a.mp4": {"turn_against_ray": None}})
    assert "60px a" in table and "+1.00" in table and "a.mp4" not in table


def test_a_bobbed_copy_moves_the_frame_up_and_down_with_the_sway_period(tmp_path):
    """A "bob" copy: each frame moved down by PX times sin(2 pi t / ``SWAY_PERIOD_S``), not sideways; a dot drawn on
    each frame sits where its carried point says."""
    from core.footage import DEFAULT_IMAGE_FPS
    fps, T = DEFAULT_IMAGE_FPS, 12
    points = _dot_frames(tmp_path, T, (150, 110), 9)
    assert reshoots.reshoot_kind("bob:20") == "bob20"
    copy = reshoots.reshoot(tmp_path, "bob20", tmp_path / "copy")
    swing = 20.0 * np.sin(2 * np.pi * np.arange(T) / (reshoots.SWAY_PERIOD_S * fps))
    carried = copy.carry(np.arange(T), points)
    np.testing.assert_allclose(carried[:, 36, 0] - 150.5, 0.0, atol=1e-9)
    np.testing.assert_allclose(carried[:, 36, 1] - 110.5, swing, atol=1e-9)
    _assert_dot_carried(copy, carried)


def test_pitch_with_jaw_reads_a_head_that_nods_with_the_mouth_where_mediapipes_skull_points_hold_still(head):
    """A baked head pitched 4 degrees down on every frame its jawOpen is 0.4, over landmarks of a head that holds
    still (their 3-D points as the landmark model gives them: pixels and relative depth at the same scale, along the
    ray through the face): the bake reads 4 degrees and r 1 with the jaw, MediaPipe's skull points 0; with the bake
    held still too, both read 0; over landmarks of a head that nods as the bake does (off the camera's axis), the
    skull points read the bake's nod."""
    from types import SimpleNamespace
    from core import landmark_template as lt
    from core.head_model import ARKIT_NAMES, HEAD_TO_CV
    T = 20
    jaw = np.where(np.arange(T) % 4 < 2, 0.4, 0.0)
    K = np.array([[800.0, 0, 320], [0, 800.0, 240], [0, 0, 1]])
    still = HEAD_TO_CV @ np.eye(3)
    points = lt.load().points(head.vertices.astype(np.float64), head)

    def seen(R):                         # the landmarks of the template posed by R, as the landmark model gives them
        p = points @ R.T + [30.0, -20.0, 600.0]
        from bake.fusion import SKULL_POINTS           # depth along the ray through the face (fusion.skull_rotations)
        axis = (p[list(SKULL_POINTS)] / p[list(SKULL_POINTS), 2:]).mean(0)
        along = p @ (axis / np.linalg.norm(axis))
        depth = (along - along.mean()) * 800.0 / along.mean()
        return SimpleNamespace(landmarks=np.concatenate([p[:, :2] / p[:, 2:] * 800.0 + [320, 240], depth[:, None]], 1))
    faces = [seen(still)] * T

    def nod(deg):
        a = np.radians(deg)
        return still @ np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    weights = np.zeros((T, len(ARKIT_NAMES)))
    weights[:, ARKIT_NAMES.index("jawOpen")] = jaw
    tracks = SimpleNamespace(key_names=ARKIT_NAMES, weights=weights, K=K, tracked=np.ones(T, bool),
                             head_rotation=np.stack([nod(10 * j) for j in jaw]))
    read = bench_real.pitch_with_jaw(tracks, faces, head)
    assert read["frames_open"] == read["frames_rest"] == 10
    assert abs(read["open_less_rest_deg"]) == pytest.approx(4.0, abs=0.01) and abs(read["r"]) == pytest.approx(1.0)
    assert read["skull_open_less_rest_deg"] == pytest.approx(0.0, abs=0.01)
    held = bench_real.pitch_with_jaw(SimpleNamespace(**{**vars(tracks), "head_rotation": np.stack([still] * T)}),
                                     faces, head)
    assert held["open_less_rest_deg"] == pytest.approx(0.0, abs=0.01)
    assert bench_real.pitch_with_jaw(SimpleNamespace(**{**vars(tracks), "weights": 0 * weights}), faces, head) is None
    both = bench_real.pitch_with_jaw(tracks, [seen(nod(10 * j)) for j in jaw], head)
    assert both["skull_open_less_rest_deg"] == pytest.approx(both["open_less_rest_deg"], abs=0.3)
    assert both["skull_r"] == pytest.approx(both["r"], abs=0.01)


def test_mirror_pairs_put_each_side_beside_the_same_side_mirrored():
    def row(**r):
        return {"signals": {k: {"r": r.get(k, 0.9)} for k in bench_real.fs.SIGNALS}}
    results = {"a.mp4": {"mesh": row(brow_right=0.7, brow_left=0.6, mouth_open=0.8),
                         "mediapipe": row(eye_open_right=0.5)},
               "mirror a": {"mesh": row(brow_right=0.4, brow_left=0.5, mouth_open=0.6),
                            "mediapipe": row(eye_open_left=0.3)},
               "b.mp4": {"mesh": row()}}
    out = bench_real.mirror_pairs(results, ["a.mp4", "b.mp4"])
    assert list(out) == ["a.mp4"]                              # b has no mirrored copy
    mesh = out["a.mp4"]["mesh"]
    assert mesh["brow_right"] == pytest.approx(dict(as_shot=0.7, mirrored=0.5, mean=0.6))     # the subject's right
    assert mesh["brow_left"] == pytest.approx(dict(as_shot=0.6, mirrored=0.4, mean=0.5))      # brow is the copy's left
    assert mesh["mouth_open"] == pytest.approx(dict(as_shot=0.8, mirrored=0.6, mean=0.7))
    assert out["a.mp4"]["mediapipe"]["eye_open_right"] == pytest.approx(dict(as_shot=0.5, mirrored=0.3, mean=0.4))
    results["mirror a"]["mesh"]["signals"]["brow_left"]["r"] = None                # a signal dlib could not read
    assert bench_real.mirror_pairs(results, ["a.mp4"])["a.mp4"]["mesh"]["brow_right"]["mean"] is None
    assert "a.mp4" in bench_real.mirror_pairs_table(out)


def test_clip_paths_take_names_in_the_footage_folder_and_stop_on_a_missing_one(tmp_path):
    """A benchmark's clips given by name are looked for in --footage as well (a bare name ran into a traceback from
    deep inside the first bake); one found nowhere stops the run before any work, naming it; none given, the shared
    clips that are there."""
    from shared_clips import clip_paths
    footage = tmp_path / "footage"
    footage.mkdir()
    (footage / "a.mp4").write_bytes(b"x")
    (tmp_path / "b.mp4").write_bytes(b"x")
    assert clip_paths(["a.mp4", str(tmp_path / "b.mp4")], footage) == [footage / "a.mp4", tmp_path / "b.mp4"]
    assert clip_paths([], footage, default=("a.mp4", "c.mp4")) == [footage / "a.mp4"]
    with pytest.raises(SystemExit, match="no such clip: c.mp4 .nor in .*footage"):
        clip_paths(["a.mp4", "c.mp4"], footage)
    with pytest.raises(SystemExit, match="no such clip: c.mp4"):
        bench_real.main(["c.mp4", "--footage", str(footage), "--json", str(tmp_path / "r.json")])
    assert not (tmp_path / "r.json").exists()
