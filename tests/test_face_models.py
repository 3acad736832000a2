"""core.face_models: bundled files vs manifest, parity with TFLite's outputs (golden file written by
tools/face_models/convert.py), detection and landmarks on the sample clip, blendshape names, missing/corrupt files."""
import hashlib
import json
import shutil

import numpy as np
import pytest

from core import face_models as fm
from core.errors import AssetError
from core.footage import open_footage
from core.head_model import ARKIT_NAMES

GOLDEN = fm.Path(__file__).parent / "data" / "face_models_golden.npz"
# Largest |onnxruntime - TFLite| accepted on the golden inputs; measured (manifest.json "parity_max_abs") about
# 1e-4 for detector regressions (model pixels) and logits, 2e-4 crop px for landmarks, 6e-7 for blendshapes.
TOL = {"regressors": 2e-3, "logits": 2e-3, "points": 5e-3, "presence": 1e-3, "scores": 1e-5}
# MediaPipe's published blendshape category names, in the model's output order.
MEDIAPIPE_NAMES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
    "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight",
    "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight",
    "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight",
    "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker",
    "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
    "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight")


@pytest.fixture(scope="module")
def golden():
    return dict(np.load(GOLDEN))


@pytest.fixture(scope="module")
def models():
    return fm.default_models()


@pytest.fixture(scope="module")
def sample_frame():
    with open_footage(fm.Path(fm.__file__).parent / "assets" / "sample_clip.mp4") as src:
        return next(iter(src)).image


def test_committed_files_match_manifest():
    manifest = json.loads((fm.MODEL_DIR / fm.MANIFEST).read_text())
    assert set(manifest["files"]) == set(fm.FILES.values())
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((fm.MODEL_DIR / name).read_bytes()).hexdigest() == digest, name
    assert (fm.MODEL_DIR / "NOTICE.md").read_text().count("Apache License") >= 2


@pytest.mark.parametrize("key", ["detector_short", "detector_full"])
def test_detector_parity_with_tflite(models, golden, key):
    x = golden[f"{key}_input"].astype(np.float32) / 127.5 - 1.0
    for i in range(len(x)):
        reg, logits = models._run(key, x[i:i + 1])
        assert np.abs(reg[0] - golden[f"{key}_regressors"][i]).max() < TOL["regressors"]
        near = golden[f"{key}_logits"][i] > -10
        assert np.abs(logits[0, :, 0] - golden[f"{key}_logits"][i])[near].max() < TOL["logits"]


def test_landmarks_and_blendshapes_parity_with_tflite(models, golden):
    pts, presence, _ = models._run("landmarks", golden["landmarks_input"].astype(np.float32) / 255.0)
    assert np.abs(pts.reshape(len(pts), -1) - golden["landmarks_points"]).max() < TOL["points"]
    assert np.abs(presence.reshape(-1) - golden["landmarks_presence_logit"]).max() < TOL["presence"]
    for inp, want in zip(golden["blendshapes_input"], golden["blendshapes_scores"]):
        got = models._run("blendshapes", inp[None])[0].reshape(-1)
        assert np.abs(got - want).max() < TOL["scores"]
        # the public call selects the same 146 points from 478 and reorders by name
        pts478 = np.zeros((fm.NUM_LANDMARKS, 3), np.float32)
        pts478[fm.BLENDSHAPE_LANDMARKS, :2] = inp
        np.testing.assert_allclose(models.blendshapes(pts478), fm.to_arkit_order(want), atol=TOL["scores"])


def test_iris_model_parity_with_tflite(models, golden):
    """On eye crops cut by core.face_models.eye_crops (crop pixels of the 64-px crop; measured about 5e-5)."""
    for x, want in zip(golden["iris_input"], golden["iris_points"]):
        contour = models._run("iris", x[None].astype(np.float32) / 255.0)[0].reshape(-1)
        assert np.abs(contour - want).max() < TOL["points"]


def test_prelu_split_keeps_the_function_and_the_landmark_model_has_none():
    """tools.face_models.convert.split_prelu writes PRelu as slope * x + (1 - slope) * relu(x) with 1x1 depthwise
    convolutions (onnxruntime keeps those in its blocked layout: the 478-point model 19-21 -> 8.1 ms per call,
    bench_face_models): the same outputs to float rounding on a small graph with per-channel slopes (one above 1, one
    below 0), a slope that is not per channel is refused, and the committed landmark model carries its 69 in this
    form."""
    onnx = pytest.importorskip("onnx")
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    from tools.face_models.convert import split_prelu

    def prelu_model(slope: np.ndarray):
        graph = helper.make_graph([helper.make_node("PRelu", ["x", "slope"], ["y"])], "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 5])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 5])],
                                  [numpy_helper.from_array(slope.astype(np.float32), "slope")])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)

    model = prelu_model(np.array([0.25, -0.5, 2.0]).reshape(3, 1, 1))
    x = np.random.default_rng(0).normal(size=(1, 3, 4, 5)).astype(np.float32)
    run = lambda m: ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(  # noqa: E731
        None, {"x": x})[0]
    want = run(model)
    assert split_prelu(model) == 1
    assert [n.op_type for n in model.graph.node] == ["Relu", "Conv", "Conv", "Add"]
    assert [i.name for i in model.graph.initializer] == ["split_prelu_0_slope", "split_prelu_0_one_minus_slope"]
    onnx.checker.check_model(model)
    np.testing.assert_allclose(run(model), want, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="not per channel"):
        split_prelu(prelu_model(np.full((1, 4, 5), 0.25)))
    landmarks = onnx.load(str(fm.MODEL_DIR / fm.FILES["landmarks"]))
    ops = [n.op_type for n in landmarks.graph.node]
    assert "PRelu" not in ops and "Max" not in ops and ops.count("Relu") == 69    # the 69 PReLUs in today's form


def test_blendshape_name_mapping():
    assert fm.BLENDSHAPE_MODEL_NAMES == MEDIAPIPE_NAMES
    raw = np.arange(52, dtype=np.float32)
    out = fm.to_arkit_order(raw)
    assert out.shape == (52,) and out.dtype == np.float32
    for i, name in enumerate(ARKIT_NAMES):
        if name == "tongueOut":
            assert np.isnan(out[i])
        else:
            assert out[i] == MEDIAPIPE_NAMES.index(name)
    assert len(fm.BLENDSHAPE_LANDMARKS) == 146 and fm.BLENDSHAPE_LANDMARKS.max() == 477


def test_detector_and_landmarks_on_sample_frame(sample_frame):
    h, w = sample_frame.shape[:2]
    for full_range in (False, True):
        dets = fm.detect_faces(sample_frame, full_range)
        assert len(dets) == 1 and dets[0].score > 0.6
        x, y, bw, bh = dets[0].box
        assert 0.3 * w < bw < 0.8 * w and 0 < x and x + bw < w
        kp = dets[0].keypoints
        assert kp[0, 0] < kp[1, 0]                         # subject's right eye is on the image left
        assert kp[0, 1] < kp[3, 1] and kp[1, 1] < kp[3, 1]  # eyes above the mouth
    roi = fm.roi_from_detection(fm.detect_faces(sample_frame)[0])
    pts, presence = fm.landmarks(sample_frame, roi)
    assert pts.shape == (478, 3) and pts.dtype == np.float32 and presence > 0.9
    assert pts[33, 0] < pts[263, 0] and pts[33, 1] < pts[13, 1]   # eye corners left/right, above the lips
    box = dets[0].box
    inside = (pts[:, 0] > box[0] - 0.2 * box[2]) & (pts[:, 0] < box[0] + 1.2 * box[2])
    assert inside.mean() > 0.95
    # the tracking loop's next ROI sits on the same face
    roi2 = fm.roi_from_landmarks(pts)
    assert abs(roi2.cx - roi.cx) < 0.15 * roi.side and 0.7 < roi2.side / roi.side < 1.3
    # a batch of crops gives the same answer as one at a time
    both, pres = fm.default_models().landmarks_batch(sample_frame, [roi, roi2])
    np.testing.assert_allclose(both[0], pts, atol=1e-3)
    # the presence as the model's logit: its sigmoid is the probability, and it goes on where that saturates at 1
    same, logits = fm.default_models().landmarks_batch(sample_frame, [roi, roi2], logits=True)
    np.testing.assert_array_equal(same, both)
    np.testing.assert_allclose(1.0 / (1.0 + np.exp(-logits)), pres, atol=1e-6)
    assert logits.dtype == np.float64 and (logits > 2.0).all()
    scores = fm.blendshapes(pts)
    assert scores.shape == (52,) and np.isnan(scores[ARKIT_NAMES.index("tongueOut")])
    assert np.nanmin(scores) >= 0 and np.nanmax(scores) <= 1


def test_the_tracking_roi_turns_with_a_tilted_head():
    """Landmarks turned in the frame give the upright ones' ROI turned with them: the same side, the centre carried
    by the same turn, the angle along the eye line (a tilted head is cut as an upright one is, not larger)."""
    rng = np.random.default_rng(3)
    pts = np.zeros((478, 3))
    pts[:, :2] = rng.uniform(-1.0, 1.0, (478, 2)) * [70.0, 95.0] + [4.0, 10.0]    # taller than wide, off-centre
    pts[33, :2], pts[263, :2] = (-40.0, -20.0), (40.0, -20.0)                     # a level eye line
    upright = fm.roi_from_landmarks(pts)
    assert upright.angle == pytest.approx(0.0, abs=1e-12)
    assert upright.side == pytest.approx(1.5 * (pts[:, 1].max() - pts[:, 1].min()))
    for deg in (20.0, -35.0):
        a = np.deg2rad(deg)
        turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        tilted = pts.copy()
        tilted[:, :2] = pts[:, :2] @ turn.T + [300.0, 200.0]
        roi = fm.roi_from_landmarks(tilted)
        assert roi.side == pytest.approx(upright.side, rel=1e-9)
        assert roi.angle == pytest.approx(a, abs=1e-9)
        np.testing.assert_allclose([roi.cx, roi.cy], turn @ [upright.cx, upright.cy] + [300.0, 200.0], atol=1e-9)


def test_crop_affine_round_trip():
    """A bright square's centre, found in the crop and mapped back by the crop's affine, lands where it was; also
    for a region large enough to be area-downscaled before the warp."""
    img = np.zeros((900, 1200, 3), np.uint8)
    img[396:405, 596:605] = 255        # 9 x 9 px, centre (600.5, 400.5)
    for roi in (fm.Roi(600.5, 400.5, 64.0, 0.0), fm.Roi(590.0, 410.0, 80.0, 0.6),
                fm.Roi(620.0, 380.0, 800.0, -0.3)):
        crop, A = fm.crop_roi(img, roi)
        w = crop[..., 0].astype(np.float64)
        v, u = np.mgrid[0:w.shape[0], 0:w.shape[1]]
        cu, cv = (w * (u + 0.5)).sum() / w.sum(), (w * (v + 0.5)).sum() / w.sum()
        p = A @ np.array([cu, cv, 1.0])
        assert np.hypot(p[0] - 600.5, p[1] - 400.5) < 0.3 * max(1.0, roi.side / 256), roi


def _copy_models(tmp_path):
    d = tmp_path / "face_models"
    shutil.copytree(fm.MODEL_DIR, d)
    return d


def test_missing_file_names_it(tmp_path):
    d = _copy_models(tmp_path)
    (d / fm.FILES["landmarks"]).unlink()
    models = fm.FaceModels(d)
    models.session("detector_short")   # the others still load
    with pytest.raises(AssetError) as e:
        models.session("landmarks")
    assert fm.FILES["landmarks"] in str(e.value) and "tools.face_models.convert" in str(e.value)
    assert e.value.exit_code == 3


def test_corrupt_file_and_missing_manifest(tmp_path):
    d = _copy_models(tmp_path)
    path = d / fm.FILES["blendshapes"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(AssetError, match=fm.FILES["blendshapes"]):
        fm.FaceModels(d).blendshapes(np.zeros((478, 3), np.float32))
    (d / fm.MANIFEST).unlink()
    with pytest.raises(AssetError, match="manifest.*tools.face_models.convert"):
        fm.FaceModels(d).check()


def test_a_session_loads_once_when_two_threads_ask_for_it(monkeypatch):
    """bake.pipeline loads the sessions on a worker (``check``) while the tracker may already ask for one: the second
    caller waits for the first load rather than repeating it, and both get the same session."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor
    models = fm.FaceModels()
    loads = []
    real = models._load

    def slow_load(key):
        loads.append(key)
        time.sleep(0.2)                  # long enough for the other thread to ask meanwhile
        return real(key)
    monkeypatch.setattr(models, "_load", slow_load)
    start = threading.Barrier(2)

    def ask(_):
        start.wait()
        return models.session("blendshapes")
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(ask, range(2))
    assert loads == ["blendshapes"] and a is b
