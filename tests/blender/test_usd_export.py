"""USD export with Blender's own exporter, read back with usd-core's pxr: blendshapes and their time samples."""
from __future__ import annotations

import numpy as np
import pytest

from .conftest import make_tracks


def test_usd_has_blendshapes_and_time_samples(bpy_mod, empty_scene, head, tmp_path):
    from pxr import Usd, UsdGeom, UsdSkel        # usd-core, pinned in requirements/dev.txt (no skip: it is required)

    from bake import blender_io
    from bake.blender_io.retarget import set_calibration
    from bake.calibrate import Calibration
    tr = make_tracks(head, n_frames=12)
    coll = blender_io.build_scene(tr, name="FC")
    key = coll.objects["FC_Head"].data.shape_keys
    cal = Calibration(region_gain={"jaw": 0.5})
    set_calibration(key, cal)                        # the export writes the calibrated curves
    out = blender_io.export_usd(tmp_path / "take.usdc", coll)
    stage = Usd.Stage.Open(str(out))
    shapes = [p for p in stage.Traverse() if p.IsA(UsdSkel.BlendShape)]
    assert sorted(p.GetName() for p in shapes) == sorted(head.arkit_names)
    anims = [UsdSkel.Animation(p) for p in stage.Traverse() if p.IsA(UsdSkel.Animation)]
    assert len(anims) == 1
    attr = anims[0].GetBlendShapeWeightsAttr()
    names = list(anims[0].GetBlendShapesAttr().Get())
    times = attr.GetTimeSamples()
    assert [int(t) for t in times] == [int(f) for f in tr.frames]
    expect = cal.apply(tr.weights, tr.key_names)
    for i in (0, 5, 11):
        got = np.array(attr.Get(times[i]))
        want = np.array([expect[i, tr.key_names.index(n)] for n in names])
        np.testing.assert_allclose(got, want, atol=1e-5)
    # the head motion: the SkelRoot's transform moves over time
    root = next(p for p in stage.Traverse() if p.IsA(UsdSkel.Root))
    xf = UsdGeom.Xformable(root)
    m0 = np.array(xf.ComputeLocalToWorldTransform(times[0]))
    m5 = np.array(xf.ComputeLocalToWorldTransform(times[5]))
    assert np.abs(m0 - m5).max() > 1e-3
    cams = [p for p in stage.Traverse() if p.IsA(UsdGeom.Camera)]
    assert len(cams) == 1


def test_usd_rejects_other_suffixes(bpy_mod, empty_scene, head, tmp_path):
    from bake import blender_io
    from core.errors import ExportError
    coll = blender_io.build_scene(make_tracks(head, n_frames=3), name="FC")
    with pytest.raises(ExportError):
        blender_io.export_usd(tmp_path / "take.fbx", coll)
