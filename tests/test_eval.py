"""training.eval: the synthetic metrics and the real-footage overlays run and report what they claim."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def random_onnx(tmp_path_factory):
    from training.export_onnx import export
    from training.model import FaceAnything
    torch.manual_seed(0)
    return export(FaceAnything("cpu"), tmp_path_factory.mktemp("m") / "random.onnx")


def test_synthetic_metrics(random_onnx):
    from training.eval import evaluate_synthetic
    res = evaluate_synthetic(str(random_onnx), count=4, batch=4)
    for k in ("depth_mm_median", "depth_mm_p90", "canon_mm_median", "canon_mm_p90", "mask_iou", "ms_per_frame"):
        assert np.isfinite(res[k]), k
    assert res["depth_mm_p90"] >= res["depth_mm_median"] and 0 <= res["mask_iou"] <= 1
    assert res["canon_mm_median"] > 5          # an untrained network is far off: the metric is not trivially 0
    assert res["split"] == "eval"
    edge = res["canon_mm_median_by_edge_px"]
    assert set(edge) <= {"0-3", "3-8", "8-20", "20+"} and {"0-3", "3-8"} <= set(edge)
    turn = res["canon_mm_median_by_turn_deg"]
    assert sum(v["pixels"] for v in edge.values()) == sum(v["pixels"] for v in turn.values())


def test_turn_angle():
    from training.eval import _bin, TURN_BINS, _turn_deg
    from training.synth import HEAD_TO_CV, _rot
    t = np.array([30.0, 0.0, 600.0])                   # head right of the optical axis, facing the camera centre
    to_cam = np.degrees(np.arctan2(30.0, 600.0))
    assert _turn_deg(HEAD_TO_CV @ _rot(0, 0, 0), t) == pytest.approx(to_cam, abs=0.01)
    assert _turn_deg(HEAD_TO_CV @ _rot(70, 0, 0), np.array([0.0, 0.0, 600.0])) == pytest.approx(70, abs=0.01)
    assert _bin(TURN_BINS, 70.0) == "60+" and _bin(TURN_BINS, 0.0) == "0-20"


def test_synthetic_split_and_seed_reach_the_data(random_onnx, tmp_path):
    from training.eval import evaluate_synthetic, main
    rc = main(["synthetic", "--model", str(random_onnx), "--count", "2", "--batch", "2", "--split", "train",
               "--seed", "123", "--json", str(tmp_path / "s.json")])
    res = json.loads((tmp_path / "s.json").read_text())
    assert rc == 0 and res["split"] == "train" and res["seed"] == 123
    held_out = evaluate_synthetic(str(random_onnx), count=2, batch=2, seed=123)
    assert held_out["canon_mm_median"] != res["canon_mm_median"]     # the other split: other samples
    assert held_out["framing"] == "head size"
    by_depth = evaluate_synthetic(str(random_onnx), count=2, batch=2, seed=123, frame_by_head_size=False)
    assert by_depth["framing"] == "true depth" and by_depth["canon_mm_median"] != held_out["canon_mm_median"]


@pytest.mark.footage
def test_real_overlays(random_onnx, footage_dir, tmp_path):
    from training.eval import main
    out = tmp_path / "real"
    rc = main(["real", "--model", str(random_onnx), "--footage", str(footage_dir), "--out", str(out),
               "--max-frames", "12", "--json", str(tmp_path / "r.json")])
    assert rc == 0
    res = json.loads((tmp_path / "r.json").read_text())
    assert set(res["clips"]) >= {"talking_green_screen.mp4", "expressions_office.mp4"}
    for name, r in res["clips"].items():
        assert r["frames"] > 0 and r["face_found"] == r["frames"], name
        assert (out / f"{name[:-4]}_overlay.mp4").stat().st_size > 1000
    assert (out / "talking_green_screen_strip.png").exists()


def test_missing_model_is_a_clear_error(tmp_path, capsys):
    from training.eval import main
    assert main(["synthetic", "--model", str(tmp_path / "none.onnx"), "--count", "1"]) == 2
    assert "none.onnx" in capsys.readouterr().err
