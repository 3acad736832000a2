"""build.py pieces without downloading: assembly leaves training code out, the manifests validate."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_assemble_leaves_out_training_code(build, tmp_path):
    src = build.assemble(tmp_path)
    files = [p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file()]
    assert "__init__.py" in files and "operators.py" in files and "blender_manifest.toml" in files
    assert "core/assets/head_model.npz" in files and "bake/blender_io/__init__.py" in files and "bake/pipeline.py" in files
    from core import face_models
    for name in (*face_models.FILES.values(), face_models.MANIFEST, "NOTICE.md"):    # the real-face models ship
        assert f"core/assets/face_models/{name}" in files, name
    assert not set(files) & build.NOT_SHIPPED, "repository entry points and development code stay out"
    assert not [f for f in files if build.FORBIDDEN.search(f.lower())]
    assert not [f for f in files if "__pycache__" in f]


def test_manifests_validate(build, tmp_path, bpy_mod):
    ext = build.blender_ext_cli()
    src = build.assemble(tmp_path)
    (src / "wheels").mkdir()
    build.write_manifest(src, ["./wheels/a-1.0-py3-none-any.whl"], ["linux-x64"])
    text = (src / "blender_manifest.toml").read_text()
    assert 'wheels = [\n  "./wheels/a-1.0-py3-none-any.whl",\n]' in text and 'platforms = ["linux-x64"]' in text
    assert "wheels" not in (ROOT / "blender_manifest.toml").read_text().split("[permissions]")[0].replace(
        "# build.py writes `wheels", "")
    for d in (src, ):   # the committed manifest, as assembled, plus the generated wheel list
        r = subprocess.run([sys.executable, str(ext), "validate", str(d)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    tags = next(ext.parents[3].glob("modules/_bpy_internal/extensions/tags.py"), None)
    if tags is not None:
        r = subprocess.run([sys.executable, str(ext), "validate", f"--valid-tags={tags}", str(src)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr


def test_check_zip_rejects_torch(build, tmp_path):
    z = tmp_path / "bad.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("training/model.py", "import torch")
    with pytest.raises(AssertionError, match="training code or torch"):
        build.check_zip(z)
