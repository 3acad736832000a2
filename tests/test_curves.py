"""The training-curve PNG: the (negative) confidence-weighted loss is drawn, errors share one mm axis."""
import cv2
import numpy as np

from training.curves import H, PAD, _grid_values, plot_curves, running_median


def _rows(n=200, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        r = dict(step=1000 + 10 * i, loss=-0.1 - 0.001 * i + 0.02 * rng.standard_normal(),
                 canon_err_mm=8.0 - 0.01 * i + rng.random(), depth_err_mm=10.0 - 0.01 * i + rng.random())
        if i % 20 == 0:
            r.update(eval_canon_mm=9.0 - 0.01 * i, eval_depth_mm=11.0 - 0.01 * i)
        rows.append(r)
    return rows


def test_negative_loss_is_drawn(tmp_path):
    path = tmp_path / "curves.png"
    plot_curves(_rows(), path)
    img = cv2.imread(str(path))
    assert img is not None and img.shape[0] == H
    top = img[PAD // 2 + 20: 210, PAD:]                      # loss panel, right of the axis labels
    bright = (top.min(axis=2) >= 200).sum()                   # the loss line is near-white
    assert bright > 200


def test_mm_panel_has_each_series_colour(tmp_path):
    path = tmp_path / "curves.png"
    plot_curves(_rows(), path)
    img = cv2.imread(str(path))[270:H - PAD, PAD:]
    for bgr in [(80, 200, 255), (120, 255, 120), (0, 120, 255), (0, 170, 0)]:
        near = (np.abs(img.astype(int) - np.array(bgr)).sum(axis=2) < 40).sum()
        assert near > 20, bgr


def test_empty_log_writes_nothing(tmp_path):
    plot_curves([], tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()


def test_running_median_and_grid():
    ys = np.array([0.0, 0, 10, 0, 0, 1, 1, 1])
    assert running_median(ys, 3)[2] == 0.0                    # the spike is removed
    assert np.array_equal(running_median(ys, 1), ys)
    assert _grid_values(1.5, 12) == [2, 5, 10]
