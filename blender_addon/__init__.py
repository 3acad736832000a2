"""Face Capture: 4D face capture from ordinary footage -> a head with ARKit shape keys, head motion, camera.

The extension root (or, in the repository, its parent) holds the ``core`` and ``bake`` packages; it is put on
``sys.path`` at import so the add-on and the headless CLI share one code tree.
"""
import os
import sys


def _package_root() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    return here if os.path.isdir(os.path.join(here, "core")) else os.path.dirname(here)


_ROOT = _package_root()
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from . import operators, panels, preferences, properties  # noqa: E402

_MODULES = (properties, preferences, operators, panels)


def register():
    for m in _MODULES:
        m.register()


def unregister():
    for m in reversed(_MODULES):
        m.unregister()
