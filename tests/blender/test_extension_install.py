"""Install the built linux-x64 extension zip (offline build from the wheel cache) into a throw-away Blender user
folder in a fresh process, enable it, run the operator when the default model exists, disable and uninstall."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _build_zip(tmp: Path) -> Path:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the install test builds the linux-x64 zip")
    base = [sys.executable, str(ROOT / "build.py"), "--platforms", "linux-x64", "--python", "3.11",
            "--build-dir", str(tmp / "build"), "--dist", str(tmp / "dist")]
    r = subprocess.run(base + ["--offline"], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:            # no cached wheels yet: download them (PyPI)
        r = subprocess.run(base, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        pytest.skip(f"cannot build the extension zip (no wheel cache, no PyPI?):\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    zips = sorted((tmp / "dist").glob("face_capture-*-linux_x64.zip"))
    assert len(zips) == 1, r.stdout
    return zips[0]


def _short_clip() -> str:
    from core.presets import default_model_path
    if not default_model_path().is_file():
        return ""
    sample = ROOT / "core" / "assets" / "sample_clip.mp4"
    if sample.is_file():
        return str(sample)
    shared = sorted((ROOT.parent / "shared" / "footage").glob("*.mp4"))
    return str(shared[0]) if shared else ""


@pytest.fixture(scope="module")
def installed():
    with tempfile.TemporaryDirectory(prefix="fc_ext_") as d:
        tmp = Path(d)
        z = _build_zip(tmp)
        clip = _short_clip()
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BLENDER_USER_RESOURCES")}
        env["BLENDER_USER_RESOURCES"] = str(tmp / "user")
        r = subprocess.run([sys.executable, str(Path(__file__).with_name("ext_install_script.py")), str(z), clip],
                           cwd=tmp, env=env, capture_output=True, text=True, timeout=900)
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
        assert r.returncode == 0 and lines, f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
        out = json.loads(lines[-1][len("RESULT "):])
        out["zip_mb"] = z.stat().st_size / 1e6
        out["user"] = str(tmp / "user")
        out["clip"] = clip
        yield out


def test_install_enable_uses_bundled_code_and_wheels(installed):
    o = installed
    assert o["install"] == ["FINISHED"] and o["enabled"] == [True, True]
    assert o["operator_registered"] and o["panel_registered"] and o["prefs"] == "FaceCapturePreferences"
    ext = os.path.join(o["user"], "extensions")
    assert o["bake_file"].startswith(ext) and o["core_file"].startswith(ext), (o["bake_file"], o["core_file"])
    # the bundled wheels were installed by Blender (in this venv the venv's copies may still win on sys.path)
    assert {"onnxruntime", "cv2", "scipy"} <= set(o["local_site"]), o["local_site"]
    assert not any(n.startswith(("numpy", "torch")) for n in o["local_site"])


def test_disable_and_uninstall_leave_nothing(installed):
    o = installed
    assert not o["after_disable_operator"]
    assert o["uninstall"] == ["FINISHED"]
    assert o["after_uninstall_modules"] == [] and o["after_uninstall_registered"] == []
    assert not o["scene_prop"] and not o["ext_dir_left"] and o["local_site_after"] == []


def test_operator_runs_on_a_short_clip(installed):
    o = installed
    if not o["clip"]:
        pytest.skip("no default model (core/assets/*.onnx) or no clip yet")
    assert o.get("run") == ["FINISHED"], o.get("run_error")
    assert o["key_count"] >= 53 and o["camera"] == "FaceCapture_Camera"
    assert o["result"]["total"] >= 1 and o["frames"][1] >= o["frames"][0]
