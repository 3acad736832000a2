"""benchmarks/readme_tables.py: the README's tables of current figures are the result files' (no footage needed)."""
import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import readme_tables  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_holds_the_tables_the_committed_result_files_give():
    assert readme_tables.main(["--check", str(ROOT / "README.md")]) == 0


def test_check_fails_on_a_readme_whose_figures_differ(tmp_path, capsys):
    readme = tmp_path / "README.md"
    real, synthetic = readme_tables.tables()
    changed = synthetic.replace("| the bundled network, fused |", "| the bundled network, fused | 9")
    readme.write_text(real + "\n\n" + changed)
    assert readme_tables.main(["--check", str(readme)]) == 1
    err = capsys.readouterr().err
    assert "| path | reprojection" in err and "| signal (target)" not in err


def _row(table: str, label: str) -> list[str]:
    line = next(x for x in table.splitlines() if x.startswith(f"| {label}"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_a_figure_that_misses_its_target_is_bold_and_one_that_meets_it_is_not():
    oracle = json.loads((readme_tables.RESULTS / "real_oracle.json").read_text())
    worse = copy.deepcopy(oracle)
    mouth = worse["clips"]["talking_green_screen.mp4"]["mesh"]["signals"]["mouth_open"]
    mouth["r"] = 0.5
    worse["clips"]["expressions_office.mp4"]["mesh"]["signals"]["mouth_open"]["r"] = 0.9
    row = _row(readme_tables.real_table(worse), "mouth opening r")
    assert row[1].startswith("**0.50**;") and row[2].startswith("0.90;")
    error = worse["clips"]["press_wide_shot.mp4"]["mesh"]["landmark_error_iod"]
    error["median_target_points"] = 0.031                 # a ceiling: under it is met
    assert _row(readme_tables.real_table(worse), "landmark error")[3].startswith("0.031;")
    error["median_target_points"] = 0.047
    assert _row(readme_tables.real_table(worse), "landmark error")[3].startswith("**0.047**;")


def test_a_clip_without_blinks_says_so_rather_than_scoring_f1():
    oracle = json.loads((readme_tables.RESULTS / "real_oracle.json").read_text())
    row = _row(readme_tables.real_table(oracle), "closed-eye F1")
    press = oracle["clips"]["press_wide_shot.mp4"]["mesh"]["blink"]
    assert all(press[s]["events_truth"] == 0 for s in readme_tables.SIDES)
    assert row[3] == "(no blinks)" and row[1] != "(no blinks)"


def test_the_head_speed_cell_gives_dlibs_own_reading_beside_the_mesh_where_the_result_file_has_it():
    oracle = json.loads((readme_tables.RESULTS / "real_oracle.json").read_text())
    clip = oracle["clips"]["talking_green_screen.mp4"]
    clip["mesh"]["head_speed"].update(ratio=0.95, frames=7)
    clip["oracle_head_speed"]["ratio"] = 0.871
    assert _row(readme_tables.real_table(oracle), "head speed ratio")[1] == "0.95 (7 frames); dlib's own 0.87"
    del clip["oracle_head_speed"]                        # a result file from before it was measured
    clip["mesh"]["head_speed"]["ratio"] = 1.2
    assert _row(readme_tables.real_table(oracle), "head speed ratio")[1] == "**1.20** (7 frames)"
