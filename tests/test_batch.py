"""bake.batch: three clips (two short copies of the sample clip, one corrupt file) -> two outputs and one failed
manifest row; a second run skips the done clips; Ctrl-C leaves no temporary folder and a consistent manifest; the same
batch on a local Ray instance."""
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bake import batch

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "core" / "assets" / "sample_clip.mp4"
FRAMES = ["--end", "10"]


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / batch.MANIFEST).read_text().splitlines()]


@pytest.fixture()
def clips(tmp_path):
    d = tmp_path / "clips"
    d.mkdir()
    shutil.copy(SAMPLE, d / "take_a.mp4")
    shutil.copy(SAMPLE, d / "take_b.mp4")
    (d / "corrupt.mp4").write_bytes(os.urandom(20000))
    return d


def test_arguments_reuse_cli_options():
    ns = batch.parse_args(["x.mp4", "--out-dir", "o", "--end", "10", "--mirror", "--gain", "mouth=1.3",
                           "--formats", "csv,fbx"])
    assert ns.clip_argv == ("--end", "10", "--mirror", "--gain", "mouth=1.3")
    assert ns.formats == ("blend", "csv", "fbx")
    with pytest.raises(batch.BadBatchArguments):
        batch.parse_args(["x.mp4", "--out-dir", "o", "--smoothing", "3"])     # bake.cli's own range check
    with pytest.raises(batch.BadBatchArguments):
        batch.parse_args(["x.mp4", "--out-dir", "o", "--formats", "blend,mov"])
    assert batch.run(["x.mp4", "--out-dir", "o", "--workers", "0"]) == 2


def test_expand_folder_glob_and_list(clips, tmp_path):
    lst = tmp_path / "takes.txt"
    lst.write_text("# dialogue takes\nclips/take_b.mp4\nclips/take_a.mp4  # again\n")
    got = batch.expand_clips([str(clips / "take_a.mp4"), str(clips / "*.mp4"), str(lst)])
    assert [p.name for p in got] == ["take_a.mp4", "corrupt.mp4", "take_b.mp4"]
    assert len(batch.expand_clips([str(clips)])) == 3


def test_batch_one_corrupt_clip_then_resume(clips, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [str(clips), "--out-dir", str(out), "--formats", "csv", *FRAMES]
    assert batch.run(argv) == batch.EXIT_CLIP_FAILED
    by_name = {r["name"]: r for r in rows(out)}
    assert sorted(by_name) == ["corrupt", "take_a", "take_b"]
    for name in ("take_a", "take_b"):
        r = by_name[name]
        assert r["status"] == "done" and r["exit_code"] == 0 and r["frames"] == 10 and r["error"] is None
        assert {f"{name}.blend", f"{name}.csv"} <= set(r["outputs"])
        assert all((out / name / f).is_file() for f in r["outputs"])
        assert r["seconds"] > 0 and "network" in r["stage_seconds"]
        assert r["head"]["from"] == "network" and 20 < r["head"]["eye_distance_mm"] < 90
        fit = r["landmark_fit"]             # the head as baked against the tracker's landmarks (bake.fit_report)
        assert r["tracked"] == 10 and 0 < fit["median"] <= fit["worst"] < 0.1 and 0 <= fit["worst_frame"] < 10
        assert r["camera_degrees"] is None                 # the camera stands still unless asked to turn
        said = [ln.split("warning: ", 1)[1] for ln in (out / name / "bake.log").read_text().splitlines()
                if ln.startswith("warning: ")]
        assert r["warnings"] == said                       # the bake's warnings, as its log says them
    bad = by_name["corrupt"]
    assert bad["status"] == "failed" and bad["exit_code"] == 2 and "cannot open" in bad["error"] and bad["head"] is None
    assert bad["landmark_fit"] is None and bad["camera_degrees"] is None and bad["warnings"] == []
    assert not (out / "corrupt").exists() and (out / "corrupt.failed.log").is_file()
    assert not list(out.glob(batch.TMP_PREFIX + "*"))
    assert "3/3 clips (2 done, 1 failed" in capsys.readouterr().err

    # resume: the done clips are skipped, the failed one too (exit code still says a clip failed) ...
    stamp = (out / "take_a" / "take_a.blend").stat().st_mtime_ns
    assert batch.run(argv) == batch.EXIT_CLIP_FAILED
    assert len(rows(out)) == 3 and (out / "take_a" / "take_a.blend").stat().st_mtime_ns == stamp
    # ... and --retry-failed runs only the failed one again
    assert batch.run(argv + ["--retry-failed"]) == batch.EXIT_CLIP_FAILED
    assert [r["name"] for r in rows(out)[3:]] == ["corrupt"]
    # without the bad clip every listed clip is done: exit 0
    assert batch.run([str(clips / "take_*.mp4"), "--out-dir", str(out), *FRAMES]) == 0


def test_a_clips_warnings_reach_its_manifest_row(clips, tmp_path, monkeypatch):
    """The bake's warnings (bridged frames, a brim's shadow, ...) go into the clip's manifest row as its log says
    them, so that a batch's clips to look at can be picked out of the manifest."""
    from dataclasses import replace
    from bake import pipeline
    baked = pipeline.reconstruct

    def shaded(*a, **k):                # the bake as it is, and one warning more
        tracks, stats = baked(*a, **k)
        return tracks, replace(stats, warnings=stats.warnings + ("frames 2-3 (2 frames) read with the brows and eyes "
                                                                 "in shadow",))
    monkeypatch.setattr(pipeline, "reconstruct", shaded)
    job = batch.Job(clip=str(clips / "take_a.mp4"), name="take_a", argv=tuple(FRAMES), formats=("blend",), threads=1)
    row = batch.bake_clip(job, str(tmp_path / "take_a"))
    said = [ln.split("warning: ", 1)[1] for ln in (tmp_path / "take_a" / "bake.log").read_text().splitlines()
            if ln.startswith("warning: ")]
    assert row["status"] == "done" and row["warnings"] == said
    assert said[-1] == "frames 2-3 (2 frames) read with the brows and eyes in shadow"


def test_ctrl_c_leaves_consistent_manifest(clips, tmp_path):
    """SIGINT while a clip bakes: exit 130, no temporary folder, the clip in flight has a 'cancelled' row; the re-run
    bakes it."""
    (clips / "corrupt.mp4").unlink()
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "bake.batch", str(clips), "--out-dir", str(out), "--end", "40"]
    # Ctrl-C's default action in the child even where the test runs in a background job, whose shell starts its
    # commands with SIGINT ignored (Python then installs no KeyboardInterrupt handler, and bake.batch respects that)
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not list(out.glob(batch.TMP_PREFIX + "*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3.0)        # inside the first clip's bake
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not list(out.glob(batch.TMP_PREFIX + "*"))
    done = [r for r in rows(out) if r["status"] == "done"]
    cancelled = [r for r in rows(out) if r["status"] == "cancelled"]
    assert cancelled and len(done) + len(cancelled) <= 2
    assert all((out / r["name"]).is_dir() for r in done)
    assert not any((out / r["name"]).exists() for r in cancelled)
    assert batch.run([str(clips), "--out-dir", str(out), "--end", "10"]) == 0
    assert {r["name"] for r in rows(out) if r["status"] == "done"} == {"take_a", "take_b"}


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="ray is not importable (requirements/dev.txt pins it: pip install -r requirements/lock.txt)")
def test_batch_on_local_ray(clips, tmp_path):
    """Two short clips as Ray tasks on a local instance (ray.init(num_cpus=2)): the same folders and rows."""
    import ray
    (clips / "corrupt.mp4").unlink()
    out = tmp_path / "out"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    try:
        assert batch.run([str(clips), "--out-dir", str(out), "--ray", "auto", "--threads", "1", *FRAMES]) == 0
    finally:
        ray.shutdown()
    got = rows(out)
    assert sorted(r["name"] for r in got) == ["take_a", "take_b"]
    assert all(r["status"] == "done" and r["frames"] == 10 for r in got)
    assert all((out / r["name"] / f"{r['name']}.blend").is_file() for r in got)
    assert not list(out.glob(batch.TMP_PREFIX + "*"))


def test_workers_of_a_process_that_imported_bpy(clips, tmp_path):
    """After ``import bpy`` the parent's sys.path starts with Blender's script folders; the spawned workers inherit it
    and found the scripts' bpy package ("No module named '_bpy'") until the worker initializer dropped them."""
    import bpy  # noqa: F401  (the import under test: it rewrites this process's sys.path)
    assert any(Path(p).parts[-2:] == ("scripts", "modules") for p in sys.path)
    (clips / "corrupt.mp4").unlink()
    (clips / "take_b.mp4").unlink()
    out = tmp_path / "out"
    assert batch.run([str(clips), "--out-dir", str(out), "--formats", "csv", "--workers", "1", *FRAMES]) == 0
    assert [r["status"] for r in rows(out)] == ["done"]


def test_blender_script_form(clips, tmp_path):
    """``blender -b --python bake/batch.py -- CLIPS ...``: Blender runs the file as ``__main__`` with its own
    arguments before ``--`` and its script folders on sys.path; emulated with the bpy module in a fresh process run
    from another folder (no ``blender`` executable here)."""
    (clips / "corrupt.mp4").unlink()
    (clips / "take_b.mp4").unlink()
    out = tmp_path / "out"
    argv = ["blender", "-b", "--python", str(ROOT / "bake" / "batch.py"), "--", str(clips), "--out-dir", str(out),
            "--formats", "blend,csv", *FRAMES]
    code = ("import sys, runpy, bpy\n"
            f"sys.argv = {argv!r}\n"
            f"runpy.run_path({str(ROOT / 'bake' / 'batch.py')!r}, run_name='__main__')\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    got = rows(out)
    assert [(r["name"], r["status"]) for r in got] == [("take_a", "done")]
    assert (out / "take_a" / "take_a.blend").is_file() and (out / "take_a" / "take_a.csv").is_file()
