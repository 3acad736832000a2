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
    assert abs(row["rolled_degrees"] - 7.8) < 0.3 and row["copy_rolled_degrees"] > row["rolled_degrees"], row
    # the camera's whole turn: the clip's 7.8-degree roll read as its view, the turned copy's sway on top of it
    assert row["view_read"] > 0.9 and abs(row["view_still_degrees"] - 7.8) < 0.3, row
    assert row["turned_read"] > 0.9 and row["turned_degrees"]["max"] > 1.0, row
    assert row["turned_view_error_degrees"]["p90"] < 0.1, row



def test_plot_turns_draws_each_heads_yaw_pitch_and_roll(tmp_path):
    """Two heads rolling opposite ways: each is drawn in its colour, rising and falling across the roll panel."""
    from core.head_model import HEAD_TO_CV
    R = np.stack([cv2.Rodrigues(np.radians([0.0, 0.0, 10.0 * k / 19]))[0] @ HEAD_TO_CV for k in range(20)])
    path = tmp_path / "turns.png"
    bench_background.plot_turns(path, [("a", R), ("b", R[::-1].copy())], "title")
    img = cv2.imread(str(path)).astype(int)
    assert img.shape == (50 + 3 * 220, 900, 3)
    roll, moves = img[50 + 2 * 220:], []
    for colour in ((40, 40, 40), (0, 94, 213)):                 # the first head's colour, the second's
        hit = np.abs(roll - colour).sum(-1) < 30
        ys = [np.nonzero(hit[:, x])[0].mean() for x in (15, 885) if hit[:, x].any()]
        assert len(ys) == 2, colour
        moves.append(ys[1] - ys[0])
    assert min(abs(m) for m in moves) > 100 and moves[0] * moves[1] < 0, moves      # across the panel, opposite ways
