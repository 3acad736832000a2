import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FOOTAGE = ROOT.parent / "shared" / "footage"

# Blender's user resources go to a throw-away folder before anything imports bpy.
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="fc_blender_user_"))


@pytest.fixture(scope="session")
def head():
    from core import head_model
    return head_model.load()


@pytest.fixture(scope="session")
def footage_dir():
    if not FOOTAGE.is_dir():
        pytest.skip("../shared/footage is absent")
    return FOOTAGE


@pytest.fixture(scope="session")
def build():
    """build.py (a script at the top, not a package module) loaded as a module."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("fc_build", ROOT / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
