"""benchmarks/bench_depth_axis.py's reading of which axis a depth map runs along."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_depth_axis as bda  # noqa: E402


def test_tilt_share_reads_which_axis_the_depths_run_along():
    rng = np.random.default_rng(0)
    axis = rng.normal(0, 5, 400)
    optical = axis + np.linspace(-3, 3, 400)              # the camera's reading tilts across the face
    assert bda.tilt_share(axis + 7.0, axis, optical) == pytest.approx(0.0, abs=1e-12)      # offsets do not count
    assert bda.tilt_share(optical - 2.0, axis, optical) == pytest.approx(1.0)
    assert bda.tilt_share(0.7 * axis + 0.3 * optical, axis, optical) == pytest.approx(0.3)
