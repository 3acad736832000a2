"""bake.calibrate: neutral, per-region and per-shape gain/offset (no bpy)."""
import numpy as np
import pytest

from bake.calibrate import REGIONS, Calibration, find_neutral, parse_gains
from core.errors import InputError


def test_find_neutral_picks_the_quietest_window():
    w = np.full((40, 3), 0.5)
    w[20:26] = 0.05
    a, b = find_neutral(w, 5)
    assert 20 <= a and b <= 26 and b - a == 5
    assert find_neutral(w[:3], 5) == (0, 3)


def test_apply_formula():
    names = ("jawOpen", "eyeBlinkLeft", "mouthSmileLeft", "residual_00")
    w = np.array([[0.1, 0.2, 0.5, -0.4], [0.55, 1.0, 0.0, 0.3]])
    c = Calibration(neutral={"jawOpen": 0.1}, region_gain={"eyes": 0.5, "mouth": 2.0},
                    shape_gain={"mouthSmileLeft": 1.5}, region_offset={"jaw": 0.05}, shape_offset={"eyeBlinkLeft": 0.1})
    out = c.apply(w, names)
    np.testing.assert_allclose(out[:, 0], [0.05, 0.45 / 0.9 + 0.05])
    np.testing.assert_allclose(out[:, 1], [0.5 * 0.2 + 0.1, 0.6])
    np.testing.assert_allclose(out[:, 2], [1.0, 0.0])            # 0.5 * 3 clipped to 1
    np.testing.assert_allclose(out[:, 3], w[:, 3])               # not an ARKit shape: unchanged
    assert Calibration().apply(w, names).tolist() == w.tolist()
    assert Calibration().is_identity and not c.is_identity


def test_neutral_from_frame_and_auto_and_json_round_trip():
    names = ("jawOpen", "browInnerUp")
    w = np.array([[0.3, 0.2], [0.1, 0.05], [0.12, 0.04], [0.6, 0.9]])
    frames = np.array([10.0, 11, 12, 13])
    c = Calibration().with_neutral(w, names, frames, frame=13)
    assert c.neutral == {"jawOpen": 0.6, "browInnerUp": 0.9} and c.neutral_frames == (13.0, 13.0)
    c = Calibration(region_gain={"jaw": 2.0}).with_neutral(w, names, frames, window=2)
    assert c.neutral_frames == (11.0, 12.0)
    np.testing.assert_allclose(c.neutral["jawOpen"], 0.11)
    assert Calibration.from_json(c.to_json()) == c


def test_validation_and_gain_parsing():
    with pytest.raises(InputError):
        Calibration(region_gain={"ears": 1.0})
    with pytest.raises(InputError):
        Calibration(shape_gain={"smile": 1.0})
    regions, shapes = parse_gains(["mouth=1.3", "EyeBlinkLeft=0.9"])
    assert regions == {"mouth": 1.3} and shapes == {"eyeBlinkLeft": 0.9}
    with pytest.raises(InputError):
        parse_gains(["mouth:1"])
    assert set(REGIONS) >= {"eyes", "brows", "mouth", "jaw", "cheeks"}
    assert sum(len(v) for v in REGIONS.values()) == 52


def test_cli_calibration_options(tmp_path):
    """--calibration JSON, --gain/--offset and --neutral-frame combine into one Calibration (bake.cli)."""
    from bake import cli
    from bake.retarget import Take
    saved = tmp_path / "cal.json"
    saved.write_text(Calibration(shape_gain={"jawOpen": 2.0}, region_offset={"brows": 0.1}).to_json())
    take = Take(names=("jawOpen", "browInnerUp"), weights=np.array([[0.2, 0.3], [0.4, 0.5], [0.6, 0.0]]),
                frames=np.array([1.0, 2.0, 3.0]), fps=24.0)
    ns = cli.parse_args(["clip.mp4", "--out", "o.blend", "--calibration", str(saved), "--gain", "mouth=1.5",
                         "--offset", "browInnerUp=0.05", "--neutral-frame", "2"])
    c = cli.make_calibration(ns, take)
    assert c.shape_gain == {"jawOpen": 2.0} and c.region_gain == {"mouth": 1.5}
    assert c.region_offset == {"brows": 0.1} and c.shape_offset == {"browInnerUp": 0.05}
    assert c.neutral == {"jawOpen": 0.4, "browInnerUp": 0.5} and c.neutral_frames == (2.0, 2.0)
    assert cli.make_calibration(cli.parse_args(["clip.mp4", "--out", "o.blend"]), take) is None
    with pytest.raises(cli.BadArguments):
        cli.make_calibration(cli.parse_args(["clip.mp4", "--out", "o.blend", "--neutral-frame", "9"]), take)
    with pytest.raises(cli.BadArguments):
        cli.parse_args(["clip.mp4", "--out", "o.blend", "--neutral-frame", "soon"])
