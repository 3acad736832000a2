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


def test_the_mae_at_rest_is_the_weight_on_the_shapes_the_truth_never_moves():
    """``at_rest_error``: of a MAE made of 0.1 off on a moving shape and 0.2 on one the truth leaves at 0, the latter's
    part (0.2 / 52 a frame), which all-zero weights would not have; a truth that moves every shape has none."""
    T = 10
    truth = np.zeros((T, 52))
    truth[:, 3] = np.linspace(0.0, 0.8, T)
    weights = truth.copy()
    weights[:, 3] += 0.1
    weights[:, 7] = 0.2
    assert bench_e2e.at_rest_error(weights, truth) == pytest.approx(0.2 / 52)
    assert bench_e2e.at_rest_error(weights, truth) < np.abs(weights - truth).mean()
    assert bench_e2e.at_rest_error(weights, truth + 0.5) == 0.0


def test_shape_shares_name_the_shape_an_expression_error_comes_from():
    """``shape_shares``: weights right but for one shape read at half its truth; setting that shape to the truth takes
    the whole expression error away, any other shape nothing."""
    rng = np.random.default_rng(0)
    T, V = 12, 40
    deltas = rng.normal(0.0, 2.0, (52, V, 3))
    truth = np.zeros((T, 52))
    truth[:, [5, 9]] = rng.uniform(0.3, 1.0, (T, 2))
    moved = np.einsum("tk,kvc->tvc", truth, deltas)
    weights = truth.copy()
    weights[:, 9] *= 0.5
    fitted = np.einsum("tk,kvc->tvc", weights, deltas)
    shares = bench_e2e.shape_shares(fitted, weights, truth, deltas, moved)
    base = bench_e2e.skin_error(fitted, moved)
    assert base > 0.5
    assert shares[9] == pytest.approx(base)
    np.testing.assert_allclose(np.delete(shares, 9), 0.0, atol=1e-9)


def test_opening_gain_reads_a_mouth_opened_half_as_far():
    """``opening_gain``: points whose inner lips open half as far as the truth's read a gain of 0.5 and r 1; frames
    without points are left out."""
    T = 20
    truth = np.zeros((T, 478, 2))
    gap = np.linspace(0.0, 30.0, T)
    truth[:, 13] = (150.0, 150.0)
    truth[:, 14, 0], truth[:, 14, 1] = 150.0, 150.0 + gap
    points = truth.copy()
    points[:, 14, 1] = 150.0 + 0.5 * gap
    points[3] = np.nan
    out = bench_e2e.opening_gain(points, truth)
    assert out["mouth_open_gain"] == pytest.approx(0.5, abs=0.02)
    assert out["mouth_open_r"] == pytest.approx(1.0)


def test_steady_off_error_leaves_what_changes_from_frame_to_frame():
    """Weights off the truth by the same amount on every frame lose their whole error with the steady offset taken
    off; an error that changes sign from frame to frame keeps it."""
    rng = np.random.default_rng(3)
    deltas = rng.normal(0.0, 3.0, (52, 40, 3))
    truth = rng.uniform(0.0, 0.5, (20, 52))
    moved = np.einsum("tk,kvc->tvc", truth, deltas)
    steady = truth.copy()
    steady[:, 4] += 0.3
    fitted = np.einsum("tk,kvc->tvc", steady, deltas)
    assert bench_e2e.skin_error(fitted, moved) > 0.5
    assert bench_e2e.steady_off_error(fitted, steady, truth, deltas, moved) == pytest.approx(0.0, abs=1e-9)
    flipping = truth.copy()
    flipping[:, 4] += 0.3 * np.where(np.arange(20) % 2, 1.0, -1.0)
    fitted = np.einsum("tk,kvc->tvc", flipping, deltas)
    base = bench_e2e.skin_error(fitted, moved)
    assert bench_e2e.steady_off_error(fitted, flipping, truth, deltas, moved) == pytest.approx(base, rel=0.05)
