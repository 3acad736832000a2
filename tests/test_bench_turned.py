"""benchmarks/bench_turned.py's reading of which way up a face is read (the sample clip, no footage)."""
import sys
from pathlib import Path

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
