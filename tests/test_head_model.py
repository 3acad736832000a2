import json
import subprocess
import sys

import numpy as np
import pytest

from core import head_model
from core.errors import AssetError

STANDARD_ARKIT = {
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
    "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight",
    "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight",
    "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight",
    "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker",
    "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
    "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight", "tongueOut"}


def _action(head, name, w=1.0):
    e = np.zeros(52)
    e[head.arkit_names.index(name)] = w
    return head.shape(expression=e) - head.vertices


def test_arkit_names_are_the_standard_52(head):
    assert len(head.arkit_names) == 52
    assert set(head.arkit_names) == STANDARD_ARKIT


def test_frame_is_head_centred_mm_y_up_z_forward(head):
    lo, hi = head.bbox()
    size = hi - lo
    assert 130 < size[0] < 200 and 180 < size[1] < 320 and 170 < size[2] < 260   # human head + neck, mm
    nose_tip = head.vertices[np.argmax(head.vertices[:, 2])]
    assert abs(nose_tip[0]) < 3 and nose_tip[2] > 60            # nose on the mid-plane, in front of the origin
    top = head.vertices[np.argmax(head.vertices[:, 1])]
    assert top[1] > 80                                          # crown above the origin
    assert abs(head.vertices[:, 0].mean()) < 2                  # symmetric about X = 0


def test_jaw_open_moves_the_chin_down(head):
    d = _action(head, "jawOpen")
    moved = np.linalg.norm(d, axis=1)
    top = np.argsort(moved)[-50:]
    assert moved.max() > 10
    assert head.vertices[top, 1].mean() < -30                   # the chin/jaw area, below the origin
    assert d[top, 1].mean() < -5                                # moves down


@pytest.mark.parametrize("side,sign", [("Left", 1), ("Right", -1)])
def test_eye_blink_moves_its_own_upper_lid(head, side, sign):
    d = np.linalg.norm(_action(head, f"eyeBlink{side}"), axis=1)
    assert d.max() > 3
    moved = d > 0.3 * d.max()
    assert np.all(np.sign(head.vertices[moved, 0]) == sign)     # +X is the subject's left
    other = np.linalg.norm(_action(head, f"eyeBlink{'Right' if side == 'Left' else 'Left'}"), axis=1)
    assert np.all(np.sign(head.vertices[other > 0.3 * other.max(), 0]) == -sign)
    assert _action(head, f"eyeBlink{side}")[moved, 1].mean() < 0   # the upper lid comes down


def test_smile_left_raises_the_left_mouth_corner(head):
    d = _action(head, "mouthSmileLeft")
    i = np.argmax(np.linalg.norm(d, axis=1))
    assert head.vertices[i, 0] > 10 and d[i, 1] > 0


def test_identities_stay_plausible_and_topology_fixed(head):
    rng = np.random.default_rng(1)
    for _ in range(20):
        ident = rng.normal(0, 1, len(head.identity_std)) * head.identity_std
        expr = rng.uniform(0, 1, 52) * (rng.uniform(0, 1, 52) < 0.2)
        v = head.shape(identity=ident, expression=expr)
        assert v.shape == head.vertices.shape and np.isfinite(v).all()
        cranium = v[head.region_mask("scalp")]
        breadth, length = np.ptp(cranium[:, 0]), np.ptp(cranium[:, 2])
        assert 100 < breadth < 200 and 150 < length < 250      # cranium (scalp cap) breadth / length, mm
        # no explosion: edges stay within 3x of the template's
        e0 = np.linalg.norm(head.vertices[head.faces[:, 0]] - head.vertices[head.faces[:, 1]], axis=1)
        e1 = np.linalg.norm(v[head.faces[:, 0]] - v[head.faces[:, 1]], axis=1)
        assert np.quantile(e1 / np.maximum(e0, 1.0), 0.999) < 4      # edges under 1 mm (lip seams) may open


def test_regions_and_uvs(head):
    for name in head.region_names:
        assert head.region_mask(name).sum() > 20, name
    assert head.uv.min() >= -1e-4 and head.uv.max() <= 1 + 1e-4
    eyes = head.vertices[head.region_mask("eyes")]
    assert eyes[:, 2].mean() > 50 and eyes[:, 1].mean() > 0


def test_canonical_normalisation_round_trip(head):
    n = head.to_norm(head.vertices)
    assert np.abs(n).max() <= 1.0 + 1e-5
    np.testing.assert_allclose(head.to_mm(n), head.vertices, atol=1e-3)


def test_missing_and_corrupt_asset_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.npz"
    with pytest.raises(AssetError, match="nope.npz.*build_head_model"):
        head_model.load(missing)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(AssetError, match="bad.npz.*corrupt.*build_head_model"):
        head_model.load(bad)


def test_cli_info_and_the_preview_tool(tmp_path):
    out = subprocess.run([sys.executable, "-m", "core.head_model", "info"], capture_output=True, text=True,
                         check=True, cwd=head_model.ASSET_PATH.parents[2]).stdout
    info = json.loads(out)
    assert info["vertices"] > 2000 and len(info["arkit_names"]) == 52 and info["asset_version"] == 1
    r = subprocess.run([sys.executable, "-m", "tools.head_preview", "--out", str(tmp_path), "--size", "128"],
                       capture_output=True, text=True, cwd=head_model.ASSET_PATH.parents[2])
    assert r.returncode == 0, r.stderr
    import cv2
    img = cv2.imread(str(tmp_path / "arkit_jawOpen.png"))
    assert img is not None and (img.std() > 10)
    r = subprocess.run([sys.executable, "-m", "core.head_model", "--asset", str(tmp_path / "x.npz"), "info"],
                       capture_output=True, text=True, cwd=head_model.ASSET_PATH.parents[2])
    assert r.returncode == 2 and "x.npz" in r.stderr


@pytest.mark.slow
def test_asset_regenerates_identically(tmp_path):
    pytest.importorskip("anny")
    pytest.importorskip("torch")
    from training import build_head_model
    out = tmp_path / "head.npz"
    build_head_model.main(["--out", str(out)])
    with np.load(out) as new, np.load(head_model.ASSET_PATH) as old:
        assert set(new.files) == set(old.files)
        for k in old.files:
            if old[k].dtype.kind in "fc":
                np.testing.assert_allclose(new[k], old[k], atol=1e-3, err_msg=k)
            else:
                assert np.array_equal(new[k], old[k]), k
