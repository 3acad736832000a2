"""benchmarks/bench_e2e.py's exact maps: cut as the pipeline cuts the frame's crop."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_e2e  # noqa: E402

from core.preprocess import crop_to_frame  # noqa: E402
from core.types import CropBox  # noqa: E402


@pytest.mark.parametrize("angle", [0.0, 0.3])
def test_an_exact_map_is_cut_where_the_pipeline_places_each_crop_pixel(angle):
    """A map whose every frame pixel holds its own centre (i + 0.5, j + 0.5), cut with a box 1.6 times the crop's
    side (straight and turned): each crop pixel holds the frame point core.points places it at (core.preprocess
    .crop_to_frame of its centre) to within the nearest pixel's half, with no bias (cut as OpenCV's pixel indices,
    the map sat (box side / crop side - 1) / 2 frame pixels up and left: 0.31 here, half a pixel for a 256-px box)."""
    h, w, size = 300, 400, 64
    jj, ii = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    box = CropBox(61.3, 22.8, 1.618 * size, angle)                     # crop pixels spread over the frame's
    cut = bench_e2e.cut_map(np.stack([jj, ii], -1), box, size)
    centres = np.stack(np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5), -1)
    off = cut - crop_to_frame(centres, box, size)
    assert np.abs(off).max() <= 0.51                                    # OpenCV's fixed-point coordinates
    np.testing.assert_allclose(off.reshape(-1, 2).mean(0), 0.0, atol=0.05)     # ... fractions
