"""The built linux-x64 extension zip, installed into a throw-away Blender user folder in a fresh process: enabled
next to a foreign top-level ``core`` module, run on the sample clip, disabled and uninstalled. Twice: with the bpy
module of this venv (Blender 5.0, Python 3.11) and with bpy 5.2.3 (Python 3.13, numpy 2) in ``.venv313/``, which the
set-up builds when python3.13 is present (gitignored, reused; the first time takes a few minutes: bpy is a ~400 MB
download).

Nothing here is skipped for a missing wheel cache: the zip is built offline from build/wheels-cache when that holds
every wheel, else the missing wheels are downloaded from PyPI; when both fail the test fails and says why.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("ext_install_script.py")
CLIP = ROOT / "core" / "assets" / "sample_clip.mp4"
LOCK_313 = ROOT / "requirements" / "lock-py313.txt"   # bpy 5.2.3 (Blender 5.2, Python 3.13, numpy 2), all pinned
VENV_313 = ROOT / ".venv313"
pytestmark = pytest.mark.slow


def _tail(r: subprocess.CompletedProcess, n: int = 3000) -> str:
    return f"--- stdout ---\n{r.stdout[-n:]}\n--- stderr ---\n{r.stderr[-n:]}"


@pytest.fixture(scope="module")
def linux_zip(tmp_path_factory) -> Path:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the install test builds and installs the linux-x64 zip")
    tmp = tmp_path_factory.mktemp("fc_build")
    base = [sys.executable, str(ROOT / "build.py"), "--platforms", "linux-x64", "--python", "3.11,3.13", "--strict",
            "--build-dir", str(tmp / "build"), "--dist", str(tmp / "dist")]
    r = subprocess.run(base + ["--offline"], capture_output=True, text=True, timeout=900)
    if r.returncode != 0:            # the cache lacks a wheel: download it (PyPI) into the same cache
        r = subprocess.run(base, capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        pytest.fail("cannot build the linux-x64 extension zip for Python 3.11 and 3.13: build/wheels-cache lacks "
                    "wheels and downloading them from PyPI failed; run `.venv/bin/python build.py --platforms "
                    f"linux-x64` where PyPI is reachable.\n{_tail(r)}")
    zips = sorted((tmp / "dist").glob("face_capture-*-linux_x64.zip"))
    assert len(zips) == 1, r.stdout
    return zips[0]


def _python313() -> str | None:
    """A working python3.13 (a pyenv shim without that version selected does not count), or None."""
    cands = [os.environ.get("FC_PYTHON313"), shutil.which("python3.13"),
             *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13"))),
             "/usr/bin/python3.13", "/usr/local/bin/python3.13"]
    for c in cands:
        if not c or not os.path.exists(c):
            continue
        r = subprocess.run([c, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"], capture_output=True,
                           text=True)
        if r.returncode == 0 and r.stdout.strip() == "True":
            return c
    return None


def venv_313() -> Path:
    """``.venv313/bin/python`` with ``LOCK_313`` installed (built on first use, reused while its marker matches;
    concurrent test runs wait for one another's build)."""
    import fcntl
    import tempfile
    with open(Path(tempfile.gettempdir()) / "face_capture_venv313.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_venv_313()


def _build_venv_313() -> Path:
    py = VENV_313 / "bin" / "python"
    marker = VENV_313 / ".face_capture_ready"
    want = hashlib.sha256(LOCK_313.read_bytes()).hexdigest()
    if marker.is_file() and marker.read_text().strip() == want and py.exists():
        return py
    base = _python313()
    if base is None:
        pytest.skip("python3.13 is not installed (set FC_PYTHON313 to one): no Blender 5.x/Python 3.13 run")
    if VENV_313.exists():
        shutil.rmtree(VENV_313)
    for cmd in ([base, "-m", "venv", str(VENV_313)],
                [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(LOCK_313)]):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if r.returncode != 0:
            pytest.fail(f"cannot build {VENV_313} from {LOCK_313.name} ({' '.join(cmd[-3:])}):\n{_tail(r)}")
    marker.write_text(want + "\n")
    return py


def _install_and_run(python: str | Path, z: Path, tmp: Path) -> dict:
    assert CLIP.is_file(), f"the sample clip {CLIP} is missing"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BLENDER_USER_RESOURCES", "PYTHONHOME")}
    env["BLENDER_USER_RESOURCES"] = str(tmp / "user")
    env["PYTHONNOUSERSITE"] = "1"
    r = subprocess.run([str(python), str(SCRIPT), str(z), str(CLIP)], cwd=tmp, env=env, capture_output=True,
                       text=True, timeout=900)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
    assert r.returncode == 0 and lines, _tail(r)
    out = json.loads(lines[-1][len("RESULT "):])
    out["user"] = str(tmp / "user")
    return out


@pytest.fixture(scope="module")
def installed(linux_zip, tmp_path_factory) -> dict:
    return _install_and_run(sys.executable, linux_zip, tmp_path_factory.mktemp("fc_ext311"))


@pytest.fixture(scope="module")
def installed_313(linux_zip, tmp_path_factory) -> dict:
    return _install_and_run(venv_313(), linux_zip, tmp_path_factory.mktemp("fc_ext313"))


@pytest.fixture(params=["installed", "installed_313"])
def run(request) -> dict:
    return request.getfixturevalue(request.param)


def test_zip_ships_wheels_for_both_pythons(linux_zip):
    import zipfile
    with zipfile.ZipFile(linux_zip) as zf:
        wheels = [n for n in zf.namelist() if n.startswith("wheels/")]
    for tag in ("cp311", "cp313"):
        assert any("onnxruntime" in w and f"-{tag}-" in w for w in wheels), (tag, wheels)
    assert any(w.startswith("wheels/opencv_python_headless") for w in wheels), wheels
    # numpy is Blender's own; scipy is a development dependency only (bake/numerics.py)
    assert not [w for w in wheels if "numpy" in w or "torch" in w or "scipy" in w], wheels


def test_install_enable_uses_bundled_code_and_wheels(run):
    o = run
    assert o["install"] == ["FINISHED"] and o["enabled"] == [True, True]
    assert o["operator_registered"] and o["panel_registered"] and o["prefs"] == "FaceCapturePreferences"
    ext = os.path.join(o["user"], "extensions")
    for name, f in o["package_files"].items():
        assert f and f.startswith(o["ext_dir"]) and f.startswith(ext), (name, f)
    # the bundled wheels were installed by Blender (in the 3.11 venv the venv's own copies may still win)
    assert {"onnxruntime", "cv2"} <= set(o["local_site"]), o["local_site"]
    assert not any(n.startswith(("numpy", "torch", "scipy")) for n in o["local_site"])


def test_loads_inside_its_own_package(run):
    """No top-level core/bake/operators/... module of ours, the extension's folder not on sys.path, and the foreign
    top-level ``core`` put in sys.modules first is untouched, before and after a run."""
    o = run
    for tag in ("enabled", "ran"):
        assert o[f"{tag}_top_level"] == [], (tag, o[f"{tag}_top_level"])
        assert o[f"{tag}_ext_on_sys_path"] == [], (tag, o[f"{tag}_ext_on_sys_path"])
        assert o[f"{tag}_foreign_core_kept"], tag


def test_operator_runs_on_the_sample_clip(run):
    o = run
    assert o.get("run") == ["FINISHED"], o.get("run_error")
    assert o["key_count"] >= 53 and o["camera"] == "FaceCapture_Camera"
    assert o["result"]["total"] >= 1 and o["result"]["tracked"] >= 1 and o["frames"][1] >= o["frames"][0]


def test_disable_and_uninstall_leave_nothing(run):
    o = run
    assert not o["after_disable_operator"]
    assert o["uninstall"] == ["FINISHED"]
    assert o["after_uninstall_modules"] == [] and o["after_uninstall_registered"] == []
    assert not o["scene_prop"] and not o["ext_dir_left"] and o["local_site_after"] == []


def test_runs_under_blender_5_2_and_python_3_13(installed_313):
    assert installed_313["python"] == [3, 13] and installed_313["blender"].startswith("5.2"), installed_313["blender"]
