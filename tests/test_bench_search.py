"""benchmarks/bench_search.py's faceless frame and its counting of the tracker's detector calls (the sample clip, no
footage)."""
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_search  # noqa: E402
import core.track  # noqa: E402
from bench_turned import rolled  # noqa: E402
from core.face_models import default_models  # noqa: E402
from core.footage import open_footage  # noqa: E402
from core.presets import ASSETS  # noqa: E402


def test_the_faceless_frame_is_the_left_strip_mirrored_side_by_side_to_the_frames_width():
    frame = np.random.default_rng(0).integers(0, 255, (72, 1280, 3), np.uint8)
    out = bench_search.faceless(frame)
    strip = frame[:, :bench_search.BACKGROUND_PX]
    assert out.shape == frame.shape and out.flags.c_contiguous
    assert np.array_equal(out[:, :500], strip) and np.array_equal(out[:, 500:1000], strip[:, ::-1])
    assert np.array_equal(out[:, 1000:], strip[:, :280])


def test_the_diagonal_search_is_counted_where_it_runs_and_left_as_it_was():
    """The sample face upright is a sure face to the short-range detector: found on the first frame by four calls (the
    frame upright and turned by each quarter, as every first search is), with the diagonal search or without. Made
    128 px wide in a 640x360 frame and turned 135 degrees, no quarter turn of it is sure on the first frame's
    short-range pass, so that pass runs the turns between quarters too (more calls); every frame is read either way,
    and the tracker's search and detector are as shipped after."""
    with open_footage(str(ASSETS / "sample_clip.mp4"), end=3) as src:
        images = [f.image for f in src]
    kept = core.track.DIAGONAL_SEARCH
    upright = {way: bench_search.read(images, None if way else "diagonal") for way in (True, False)}
    assert upright[True]["detector_calls"] == upright[False]["detector_calls"] == 4
    small = []
    for im in images:
        frame = np.zeros((360, 640, 3), np.uint8)
        frame[100:228, 300:428] = cv2.resize(im, (128, 128), interpolation=cv2.INTER_AREA)
        small.append(rolled(frame, 135))
    turned = {way: bench_search.read(small, None if way else "diagonal") for way in (True, False)}
    assert turned[True]["detector_calls"] > turned[False]["detector_calls"]
    assert turned[True]["read"] == turned[False]["read"] == upright[True]["read"] == 3
    assert core.track.DIAGONAL_SEARCH == kept and "detect_faces" not in vars(default_models())


def test_one_search_is_timed_each_way_and_the_detail_left_as_shipped():
    frame = cv2.resize(np.random.default_rng(1).integers(0, 255, (72, 128, 3), np.uint8), (1280, 720))
    kept = core.track.DIAGONAL_DETAIL
    times = bench_search.call_ms(frame, repeats=1)
    assert sorted(times) == sorted(f"{way}, {model} range" for way in ("quarter", "between quarters",
                                                                       "between quarters turned whole")
                                   for model in ("short", "full"))
    assert all(t > 0 for t in times.values()) and core.track.DIAGONAL_DETAIL == kept


def test_a_face_too_close_is_read_only_with_the_search_on_the_grey_canvas(enlarged):
    """The sample frames enlarged 2.5 times (the face too large for the detectors on the frame): read with the search
    on the grey canvas, not without it (``--without canvas``), which then searches every frame in vain."""
    with open_footage(str(ASSETS / "sample_clip.mp4"), end=3) as src:
        images = [f.image for f in src]
    close, _ = enlarged(images, 2.5)
    shipped, without = bench_search.read(close), bench_search.read(close, "canvas")
    assert shipped["read"] == 3 and without["read"] == 0
    assert shipped["detector_calls"] < without["detector_calls"]
