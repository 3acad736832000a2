"""benchmarks/bench_outline.py: the keyed silhouette it reads the face's width against."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_outline  # noqa: E402


def test_the_keyed_silhouette_is_the_run_of_non_green_pixels_through_the_centre_along_the_turned_row():
    """A grey disc of radius 60 before a green screen, a grey bar beside it that the run does not reach: each row's
    ends are the disc's chord there, also read along a row turned by 30 degrees; a row whose centre is screen reads
    nothing."""
    img = np.zeros((240, 320, 3), np.uint8)
    img[...] = (40, 180, 60)
    yy, xx = np.mgrid[:240, :320]
    img[(xx - 160) ** 2 + (yy - 120) ** 2 <= 60 ** 2] = (150, 130, 120)
    img[:, 290:300] = (150, 130, 120)
    centre = np.array([160.0, 120.0])
    heights = np.array([0.0, 36.0, 80.0])
    ends = bench_outline.screen_ends(img, np.eye(2), centre, heights)
    np.testing.assert_allclose(ends[:2], [[-60.0, 60.0], [-48.0, 48.0]], atol=1.5)     # to the pixel
    assert np.isnan(ends[2]).all()
    a = np.radians(30.0)
    turn = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    np.testing.assert_allclose(bench_outline.screen_ends(img, turn, centre, heights[:2]), ends[:2], atol=2.0)
