"""build.py's vendoring: absolute imports of ``core``/``bake`` become package-relative in the extension, with ast +
tokenize (formatting, comments and unrelated names untouched); what cannot be rewritten fails the build."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_from_imports_keep_their_formatting(build):
    src = ('"""Docstring: from core.errors import X stays as text."""\n'
           "from __future__ import annotations\n"
           "import os\n"
           "from core.errors import (BakeError,  # why\n"
           "                         ExportError)\n"
           "from core import head_model\n"
           "from .types import SceneTracks\n"
           "from corelib import thing\n"
           "import bakery\n"
           "x = 'é'; from core.types import CropBox  # a non-ASCII character before it on the line\n"
           "from core \\\n    .points import intrinsics\n"
           "\n"
           "def f():\n"
           "    from bake import blender_io, pipeline   # lazy\n"
           "    return blender_io, pipeline\n")
    out, n = build.relativize(src, "bake/x.py")
    assert n == 5
    assert out == src.replace("from core.errors import (", "from ..core.errors import (") \
        .replace("from core import head_model", "from ..core import head_model") \
        .replace("; from core.types import", "; from ..core.types import") \
        .replace("from core \\\n    .points", "from ..core.points") \
        .replace("    from bake import blender_io", "    from ..bake import blender_io")
    compile(out, "x", "exec")


def test_depth_decides_the_number_of_dots(build):
    assert build.relativize("from bake import pipeline\n", "operators.py")[0] == "from .bake import pipeline\n"
    assert build.relativize("from core.x import y\n", "core/sub/m.py")[0] == "from ...core.x import y\n"
    assert build.relativize("from core.x import y\n", "core/__init__.py")[0] == "from ..core.x import y\n"


def test_plain_imports(build):
    assert build.relativize("import core.errors as errs\n", "bake/m.py")[0] == \
        "from ..core import errors as errs\n"
    assert build.relativize("import core\n", "operators.py")[0] == "from . import core\n"
    assert build.relativize("import corelib, os\n", "operators.py") == ("import corelib, os\n", 0)


@pytest.mark.parametrize("src,why", [
    ("import core.errors\n", "binds the top-level name"),
    ("import os, core.errors as e\n", "several modules"),
    ("import importlib\nm = importlib.import_module('core.errors')\n", "dynamic import"),
    ("m = __import__('bake.pipeline')\n", "dynamic import"),
])
def test_what_cannot_be_rewritten_fails(build, src, why):
    with pytest.raises(build.VendorError, match=why):
        build.relativize(src, "bake/m.py")


def test_unresolved_relative_import_fails(build, tmp_path):
    (tmp_path / "bake").mkdir()
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "bake" / "__init__.py").write_text("")
    (tmp_path / "bake" / "a.py").write_text("from core import head_model\n")
    with pytest.raises(build.VendorError, match="core, which is not in the extension"):
        build.vendor(tmp_path)
    (tmp_path / "bake" / "a.py").write_text("from ...x import y\n")
    with pytest.raises(build.VendorError, match="above the extension package"):
        build.vendor(tmp_path)


def test_assembled_extension_has_only_relative_imports(build, tmp_path):
    src = build.assemble(tmp_path)
    build.check_imports(src)          # also run by assemble; explicit here
    files = {p.relative_to(src).as_posix() for p in src.rglob("*.py")}
    assert {"operators.py", "bake/pipeline.py", "core/errors.py"} <= files
    assert not files & build.NOT_SHIPPED
    text = (src / "operators.py").read_text()
    assert "from .core.errors import" in text and "from .bake import pipeline" in text
    assert "from ..core import head_model" in (src / "bake" / "pipeline.py").read_text()
