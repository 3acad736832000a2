"""benchmarks/bench_turned.py's reading of which way up a face is read (the sample clip, no footage)."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_turned  # noqa: E402
from core.footage import open_footage  # noqa: E402
from core.presets import ASSETS  # noqa: E402


def test_the_sample_face_is_read_the_right_way_up_at_every_turn_and_a_wrong_turn_is_counted():
    with open_footage(str(ASSETS / "sample_clip.mp4"), end=10) as src:
        images = [f.image for f in src]
    for quarters in range(4):
        assert bench_turned.read_turned(images, quarters) == dict(frames=10, read=10, right=10, wrong=0), quarters
    # the frames turned a half but scored against the upright eye line: every one read, none the right way up
    wrong = dict(bench_turned.EYE_LINE)
    bench_turned.EYE_LINE[2] = wrong[0]
    try:
        assert bench_turned.read_turned(images, 2) == dict(frames=10, read=10, right=0, wrong=10)
    finally:
        bench_turned.EYE_LINE.update(wrong)


def test_each_finding_is_read_without_the_righting_and_the_margin_summed():
    """``--margins``: the sample face upright is found once, read the right way up, no turned region surer of it; the
    summary counts a finding read the wrong way that a margin over QUARTER_MARGIN turns right, or another wrong way."""
    with open_footage(str(ASSETS / "sample_clip.mp4"), end=3) as src:
        images = [f.image for f in src]
    found = bench_turned.margins(images, 0)
    assert len(found) == 1 and found[0]["frame"] == 0 and found[0]["right"] and found[0]["margin"] < 0
    m = bench_turned.QUARTER_MARGIN
    summary = bench_turned.margin_summary([
        dict(right=True, margin=-3.0), dict(right=False, margin=m + 1, turned_right=True),
        dict(right=False, margin=m + 2, turned_right=False), dict(right=False, margin=m - 1, turned_right=True)])
    assert summary["read_right"] == 1 and summary["largest_margin_read_right"] == -3.0 and summary["read_wrong"] == 3
    assert summary["righted"] == 1 and summary["turned_another_wrong_way"] == 1
    assert summary["margins_read_wrong"] == [m - 1, m + 1, m + 2]


def test_a_turn_between_quarters_keeps_the_whole_frame_and_reads_the_face_turned():
    """``--angles``: ``rolled`` turns a frame about its centre on a canvas that holds all of it (a quarter turn the
    shape ``np.rot90`` gives); the sample face turned 45 degrees is read the right way up on every frame."""
    with open_footage(str(ASSETS / "sample_clip.mp4"), end=6) as src:
        images = [f.image for f in src]
    h, w = images[0].shape[:2]
    assert bench_turned.rolled(images[0], 90).shape == np.rot90(images[0]).shape
    side = int(np.ceil((w + h) * np.sqrt(0.5)))
    assert abs(bench_turned.rolled(images[0], 45).shape[0] - side) <= 1
    assert bench_turned.read_rolled(images, 45) == dict(frames=6, read=6, right=6, wrong=0)


def test_the_bake_reads_the_sample_face_turned_between_quarters_the_right_way_up(tmp_path):
    """``--bake``: the sample frames turned 45 degrees, written as PNGs and read by the bake's per-frame stage
    (``bake.pipeline.observe``), every frame read the right way up; the frames written are removed after."""
    with open_footage(str(ASSETS / "sample_clip.mp4"), end=4) as src:
        images = [f.image for f in src]
    assert bench_turned.read_baked(images, 45, tmp_path / "frames") == dict(frames=4, read=4, right=4, wrong=0)
    assert not list((tmp_path / "frames").iterdir())
