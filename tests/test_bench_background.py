"""benchmarks/bench_background.py runs and writes what docs/MEASUREMENTS.md quotes from it (a textured picture with no
face, turned a little each frame: every frame after the first is read, and the handheld copy's turns are read
against its applied ones at r near -1, the copy's sign being the opposite of the reader's; the camera's views follow
its roll and, on the copy seen by the camera turned on the spot, the applied turn within a tenth of a degree)."""
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_background  # noqa: E402


def test_bench_background_reads_a_turning_textured_clip_and_its_handheld_copy(tmp_path):
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (360, 640)).astype(np.float32), (0, 0), 2)
    base = cv2.normalize(base, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    clip = tmp_path / "turning.mp4"
    out = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (640, 360))
    for k in range(40):
        M = cv2.getRotationMatrix2D((320, 180), 0.2 * k, 1.0)
        out.write(cv2.cvtColor(cv2.warpAffine(base, M, (640, 360), borderMode=cv2.BORDER_REFLECT), cv2.COLOR_GRAY2BGR))
    out.release()
    result = tmp_path / "background.json"
    assert bench_background.main([str(clip), "--pairs", "0", "--json", str(result)]) == 0
    row = json.loads(result.read_text())["clips"]["turning.mp4"]
    assert row["read"] > 0.9 and row["copy_steps"] >= 10 and row["r"] < -0.95, row
    # the camera's whole turn: the clip's 7.8-degree roll read as its view, the turned copy's sway on top of it
    assert row["view_read"] > 0.9 and abs(row["view_still_degrees"] - 7.8) < 0.3, row
    assert row["turned_read"] > 0.9 and row["turned_degrees"]["max"] > 1.0, row
    assert row["turned_view_error_degrees"]["p90"] < 0.1, row
