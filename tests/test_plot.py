"""bake.plot: the curves PNG (OpenCV only)."""
import cv2
import numpy as np
import pytest

from bake.plot import plot_curves
from core.errors import ExportError
from tests.blender.conftest import make_tracks


def test_plot_writes_panels_per_region(head, tmp_path):
    tr = make_tracks(head, n_frames=90)
    p = plot_curves(tmp_path / "curves.png", tr.key_names, tr.weights, tr.frames, tr.fps, title="test take")
    img = cv2.imread(str(p))
    assert img is not None and img.shape[1] == 1600
    assert img.shape[0] == 44 + 7 * (150 + 14) + 40          # 7 regions, one panel each
    coloured = (img.max(2).astype(int) - img.min(2).astype(int)) > 60
    assert coloured.mean() > 0.005                              # the active curves are drawn in colour
    only_jaw = plot_curves(tmp_path / "jaw.png", ("jawOpen", "residual_00"), tr.weights[:, :2], tr.frames, 24)
    assert cv2.imread(str(only_jaw)).shape[0] == 44 + 164 + 40
    with pytest.raises(ExportError):
        plot_curves(tmp_path / "none.png", ("residual_00",), np.zeros((5, 1)), np.arange(5), 24)
