"""Face Capture: 4D face capture from ordinary footage -> a head with ARKit shape keys, head motion, camera.

In the repository ``blender_addon``, ``core`` and ``bake`` are sibling packages and the add-on imports the other two
absolutely (``from core.errors import ...``). ``build.py`` vendors ``core`` and ``bake`` into the extension package
and rewrites those imports to relative ones, so inside Blender everything loads as ``bl_ext.<repo>.face_capture.*``:
no ``sys.path`` edits, no top-level modules of ours in Blender's shared interpreter.
"""
from . import character_operators, operators, panels, preferences, properties

_MODULES = (properties, preferences, operators, character_operators, panels)


def register():
    for m in _MODULES:
        m.register()


def unregister():
    for m in reversed(_MODULES):
        m.unregister()
