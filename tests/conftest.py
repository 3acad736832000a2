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
