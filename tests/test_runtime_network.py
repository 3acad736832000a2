"""The network the runtime loads: the committed export with its MatMuls quantised (training/quantize_onnx.py)."""
import numpy as np

from core.presets import ASSETS, DEFAULT_PRESET, PRESETS, default_model_path

PRESET = PRESETS[DEFAULT_PRESET]


def test_the_default_network_is_the_runtime_form():
    from core.runtime import Predictor
    p = Predictor(threads=1)
    assert p.path == default_model_path() == ASSETS / PRESET.runtime
    assert p.metadata["preset"] == DEFAULT_PRESET and p.size == PRESET.size


def test_the_runtime_network_is_the_export_quantised(tmp_path):
    """Byte for byte: whoever re-exports the network re-runs ``python -m training.quantize_onnx``, or this fails."""
    from training.quantize_onnx import quantize
    again = quantize(ASSETS / PRESET.weights, tmp_path / PRESET.runtime)
    assert again.read_bytes() == (ASSETS / PRESET.runtime).read_bytes(), \
        f"core/assets/{PRESET.runtime} is not core/assets/{PRESET.weights} quantised: run python -m training.quantize_onnx"


def test_the_runtime_network_answers_as_the_export_on_real_crops(head, sample_face_crops):
    """On the sample clip's face crops the int8 network's canonical points and depth move by a tenth of a mm (its own
    error on held-out renders: about 5 mm) and its mask by less than a percent (measured: canonical 0.10 / 0.62 mm
    median / p99, depth 0.08 mm median, mask IoU 0.998 on an AVX-512 VNNI CPU; the bounds leave room for CPUs whose
    int8 kernels round otherwise)."""
    from core.runtime import Predictor
    export, runtime = Predictor(ASSETS / PRESET.weights, threads=1), Predictor(threads=1)
    frames, crops = sample_face_crops
    crops = crops[frames % 5 == 0]
    assert len(crops) >= 8
    a, b = export.predict(crops), runtime.predict(crops)
    face = np.stack([x.mask > 0.5 for x in a])
    canon = np.stack([np.linalg.norm(x.canon - y.canon, axis=-1) for x, y in zip(a, b)])[face] * head.canon_scale
    depth = np.stack([np.abs(x.depth - y.depth) for x, y in zip(a, b)])[face] * head.canon_scale
    assert np.median(canon) < 0.3 and np.quantile(canon, 0.99) < 2.0, (np.median(canon), np.quantile(canon, 0.99))
    assert np.median(depth) < 0.3, np.median(depth)
    other = np.stack([y.mask > 0.5 for y in b])
    assert (face & other).sum() / (face | other).sum() > 0.99


def test_the_extension_ships_the_networks_the_runtime_loads_and_no_other_export(build):
    """The CPU preset's fp32 export stays behind (training's --init reads it); the GPU preset's export is what the
    add-on's High quality loads on CUDA (dynamic int8 quantisation is onnxruntime's CPU recipe), so it ships
    when present."""
    assert f"core/assets/{PRESET.runtime}" == build.SHIPPED_MODEL
    assert f"core/assets/{PRESET.weights}" in build.NOT_SHIPPED
    gpu = PRESETS["gpu"]
    assert gpu.runtime == gpu.weights and f"core/assets/{gpu.weights}" not in build.NOT_SHIPPED
    assert default_model_path("gpu") == ASSETS / gpu.weights


def test_a_network_says_which_axis_its_depth_runs_along(tmp_path, monkeypatch):
    """The shipped network was trained on depths along the camera's axis and is read as carrying
    core.runtime.OPTICAL_TILT of its tilt; one exported as trained on the crop's axis (metadata depth_axis = crop)
    carries none, whatever that constant says."""
    import onnx
    import core.runtime
    from core.runtime import Predictor
    monkeypatch.setattr(core.runtime, "OPTICAL_TILT", 0.3)
    assert Predictor(threads=1).depth_tilt == 0.3
    m = onnx.load(str(default_model_path()))
    e = m.metadata_props.add()
    e.key, e.value = "depth_axis", "crop"
    onnx.save(m, str(tmp_path / "crop.onnx"))
    assert Predictor(tmp_path / "crop.onnx", threads=1).depth_tilt == 0.0
