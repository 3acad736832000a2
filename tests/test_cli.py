"""bake.cli without bpy work: arguments, exit codes, early output checks, script mode."""
import subprocess
import sys
from pathlib import Path

import pytest

from bake import cli, pipeline
from core import errors

ROOT = Path(__file__).resolve().parents[1]


def _no_reconstruct(*a, **k):
    raise AssertionError("reconstruct must not run")


@pytest.mark.parametrize("argv", [[], ["x.mp4"], ["x.mp4", "--out", "a.fbx"], ["x.mp4", "--out", "a.blend", "--stride", "0"],
                                  ["x.mp4", "--out", "a.blend", "--smoothing", "2"],
                                  ["x.mp4", "--out", "a.blend", "--start", "5", "--end", "5"],
                                  ["x.mp4", "--out", "a.blend", "--lens", "0"],
                                  ["x.mp4", "--out", "a.blend", "--face", "0.5"],
                                  ["x.mp4", "--out", "a.blend", "--face", "1.5,0.2"],
                                  ["x.mp4", "--out", "a.blend", "--residual-keys", "20"],
                                  ["x.mp4", "--out", "a.blend", "--reframe", "9"],
                                  ["x.mp4", "--out", "a.blend", "--fusion", "both"],
                                  ["x.mp4", "--out", "a.blend", "--head-pose", "camera"],
                                  ["x.mp4", "--out", "a.blend", "--eye-distance", "20"],
                                  ["x.mp4", "--out", "a.blend", "--eye-bones", "eye.L,eye.R"],
                                  ["x.mp4", "--out", "a.blend", "--retarget", "c.blend", "--head-target", "Rig",
                                   "--eye-bones", "eye.L"],
                                  ["x.mp4", "--out", "a.blend", "--retarget", "c.blend", "--eye-bones", "eye.L,eye.R"]])
def test_bad_arguments_exit_2(argv, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "reconstruct", _no_reconstruct)
    assert cli.run(argv) == errors.InputError.exit_code
    assert "error" in capsys.readouterr().err


def test_missing_input_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "reconstruct", _no_reconstruct)
    assert cli.run([str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "a.blend")]) == errors.InputError.exit_code
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--out", "--fbx", "--csv", "--glb"])
def test_unwritable_output_exit_5_before_work(flag, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "reconstruct", _no_reconstruct)
    src = tmp_path / "in.mp4"
    src.write_bytes(b"x")
    bad = tmp_path / "missing_dir" / ("a.blend" if flag == "--out" else "a" + flag.replace("--", "."))
    argv = [str(src), "--out", str(tmp_path / "a.blend")]
    argv = [a if a != str(tmp_path / "a.blend") or flag != "--out" else str(bad) for a in argv]
    if flag != "--out":
        argv += [flag, str(bad)]
    assert cli.run(argv) == errors.ExportError.exit_code
    assert "does not exist" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [src]


def test_exit_codes_for_errors():
    """Each error class carries its exit code; the CLI has no table of its own."""
    assert errors.exit_code(errors.InputError("x")) == 2 and errors.exit_code(cli.BadArguments("x")) == 2
    assert errors.exit_code(errors.FootageError("x")) == 2
    assert errors.exit_code(errors.ModelError("x")) == 3
    assert errors.exit_code(errors.AssetError("x")) == 3
    assert errors.exit_code(errors.BakeError("x")) == 4
    assert errors.exit_code(errors.ExportError("x")) == 5
    assert errors.exit_code(errors.Cancelled("x")) == 130 and errors.exit_code(pipeline.Cancelled("x")) == 130
    assert errors.exit_code(KeyboardInterrupt()) == 130
    assert errors.exit_code(RuntimeError("x")) == 1 and errors.exit_code(errors.FaceCaptureError("x")) == 1


def test_script_argv():
    assert cli.script_argv(["blender", "-b", "--python", "cli.py", "--", "a.mp4", "--out", "b.blend"]) == \
        ["a.mp4", "--out", "b.blend"]
    assert cli.script_argv(["cli.py", "a.mp4"]) == ["a.mp4"]


def test_format_progress():
    assert cli.format_progress(0.5, "tracking") == "tracking  50.0%"
    assert cli.format_progress(1.0, "done") == "done 100.0%"


@pytest.mark.parametrize("mode", ["module", "script"])
def test_runs_as_module_and_as_script(mode, tmp_path):
    """`python -m bake.cli` and `python bake/cli.py -- ...` (the Blender --python form) share run()."""
    args = [str(tmp_path / "none.mp4"), "--out", str(tmp_path / "a.blend")]
    cmd = [sys.executable, "-m", "bake.cli", *args] if mode == "module" else \
        [sys.executable, str(ROOT / "bake" / "cli.py"), "--", *args]
    r = subprocess.run(cmd, cwd=ROOT if mode == "module" else tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "does not exist" in r.stderr


def test_a_librarys_info_lines_stay_off_stderr():
    """Blender's glTF exporter sets its own logger to INFO on every export; the CLI's stderr keeps warnings only."""
    code = ("import logging\nfrom bake import cli\ncli.log_to_stderr()\n"
            "noisy = logging.getLogger('glTFImporter')\nnoisy.setLevel(logging.INFO)\nnoisy.info('Extracting primitive')\n"
            "noisy.warning('a real warning')\nlogging.getLogger('bake.x').warning('ours')\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Extracting primitive" not in r.stderr
    assert "WARNING glTFImporter: a real warning" in r.stderr and "WARNING bake.x: ours" in r.stderr


def test_lens_and_focal_reach_the_config():
    cfg = cli.make_config(cli.parse_args(["x.mp4", "--out", "a.blend", "--lens", "26"]))
    assert cfg.focal_mm == 26.0 and cfg.focal_px is None
    cfg = cli.make_config(cli.parse_args(["x.mp4", "--out", "a.blend", "--focal", "900", "--face", "0.7,0.4"]))
    assert cfg.focal_px == 900.0 and cfg.face_point == (0.7, 0.4)
    assert cfg.mirror is False
    assert cli.make_config(cli.parse_args(["x.mp4", "--out", "a.blend", "--mirror"])).mirror is True
    assert cfg.reframe == 2
    assert cli.make_config(cli.parse_args(["x.mp4", "--out", "a.blend", "--reframe", "0"])).reframe == 0


def test_cli_options_are_recon_configs():
    """Every ReconConfig field with a command-line name is an option with the field's default, choices and help
    (range included); nothing else restates them."""
    from bake.config import range_text, settings
    actions = {a.dest: a for a in cli.build_parser()._actions}
    named = [(f, s) for f, s in settings() if s.cli]
    assert {"fusion", "focal_mm", "smoothing", "residual_keys", "reframe", "face_point"} <= {f.name for f, _ in named}
    for f, s in named:
        a = actions[f.name]
        assert s.cli in a.option_strings and a.default == f.default and s.help in a.help
        assert a.choices == s.choices or (a.choices is None and s.choices is None)
        if s.range is not None:
            assert range_text(s.range) in a.help
    cfg = cli.make_config(cli.parse_args(["x.mp4", "--out", "a.blend"]))
    assert cfg == pipeline.ReconConfig("x.mp4")
    cfg = cli.make_config(cli.parse_args(["x.mp4", "--out", "a.blend", "--fusion", "dense", "--providers", "A,B"]))
    assert cfg.fusion == "dense" and cfg.providers == ("A", "B")
