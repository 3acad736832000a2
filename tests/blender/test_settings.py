"""The panel's property limits are ReconConfig's (bake.config): one source for every default, range and tooltip."""
from __future__ import annotations

import pytest

from bake.config import FUSION_MODES, setting


@pytest.fixture()
def settings_rna(bpy_mod, empty_scene):
    import blender_addon
    blender_addon.register()
    yield bpy_mod.types.Scene.bl_rna.properties["face_capture"].fixed_type.properties
    blender_addon.unregister()


@pytest.mark.parametrize("prop, field", [("lens", "focal_mm"), ("smoothing", "smoothing"),
                                         ("residual_keys", "residual_keys"), ("face_point", "face_point"),
                                         ("frame_start", "start"), ("corrective_keys", "corrective_keys")])
def test_panel_limits_are_recon_configs(settings_rna, prop, field):
    default, s = setting(field)
    p = settings_rna[prop]
    lo, hi = s.range
    assert p.hard_min == pytest.approx(max(lo, 1) if prop == "residual_keys" else lo)
    if hi is not None:
        assert p.hard_max == pytest.approx(hi)
    if s.soft_range is not None:
        assert (p.soft_min, p.soft_max) == pytest.approx(s.soft_range)
    if prop in ("lens", "smoothing", "frame_start", "corrective_keys"):
        assert p.default == pytest.approx(default)
        assert p.description.lower() == s.help.lower()


def test_panel_fusion_choices_are_recon_configs(settings_rna, bpy_mod):
    p = settings_rna["fusion"]
    assert tuple(i.identifier for i in p.enum_items) == FUSION_MODES
    assert p.default == setting("fusion")[0]
    scene = bpy_mod.context.scene
    from blender_addon.operators import settings_to_options
    scene.face_capture.fusion = "dense"
    scene.face_capture.source = "FILE"
    scene.face_capture.filepath = __file__
    assert settings_to_options(scene.face_capture, None, bpy_mod.context)["fusion"] == "dense"


def test_panel_head_size_choices_are_recon_configs(settings_rna, bpy_mod):
    from bake.config import HEAD_SIZES
    p = settings_rna["head_size"]
    assert tuple(i.identifier for i in p.enum_items) == HEAD_SIZES and p.default == setting("head_size")[0]
    scene = bpy_mod.context.scene
    from blender_addon.operators import settings_to_options
    scene.face_capture.source = "FILE"
    scene.face_capture.filepath = __file__
    assert settings_to_options(scene.face_capture, None, bpy_mod.context)["head_size"] == "network"
    scene.face_capture.head_size = "irises"
    assert settings_to_options(scene.face_capture, None, bpy_mod.context)["head_size"] == "irises"


def test_panel_eye_distance_is_recon_configs_with_zero_for_unknown(settings_rna, bpy_mod):
    p = settings_rna["eye_distance"]
    _, s = setting("eye_distance_mm")
    assert p.default == 0.0 and p.hard_max == pytest.approx(s.range[1]) and "0 = not known" in p.description
    scene = bpy_mod.context.scene
    from blender_addon.operators import settings_to_options
    scene.face_capture.source = "FILE"
    scene.face_capture.filepath = __file__
    assert settings_to_options(scene.face_capture, None, bpy_mod.context)["eye_distance_mm"] is None
    scene.face_capture.eye_distance = 63.0
    assert settings_to_options(scene.face_capture, None, bpy_mod.context)["eye_distance_mm"] == pytest.approx(63.0)
