"""Network, losses, training mechanics, ONNX export parity and the onnxruntime runtime."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from core.errors import ModelError  # noqa: E402
from core.presets import PRESETS  # noqa: E402
from core.types import PREDICTION_FIELDS  # noqa: E402


@pytest.fixture(scope="module")
def small_model():
    from training.model import FaceAnything
    torch.manual_seed(0)
    return FaceAnything("cpu").eval()


@pytest.fixture(scope="module")
def onnx_file(small_model, tmp_path_factory):
    from training.export_onnx import export
    return export(small_model, tmp_path_factory.mktemp("onnx") / "m.onnx")


def test_outputs_named_and_shaped(small_model):
    s = PRESETS["cpu"].size
    with torch.no_grad():
        out = small_model(torch.rand(2, 3, s, s))
    assert tuple(out) == PREDICTION_FIELDS
    assert out["canon"].shape == (2, s, s, 3) and out["depth"].shape == (2, s, s)
    assert (out["depth_conf"] >= 1).all() and (out["canon_conf"] >= 1).all()
    assert ((out["mask"] >= 0) & (out["mask"] <= 1)).all()


def _toy_batch(n, s, seed):
    """A learnable toy target: a disc whose canonical/depth values are smooth functions of the pixel."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, s), torch.linspace(-1, 1, s), indexing="ij")
    cx, cy = (torch.rand(n, 1, 1, generator=g) - 0.5) * 0.6, (torch.rand(n, 1, 1, generator=g) - 0.5) * 0.6
    r = ((xx - cx) ** 2 + (yy - cy) ** 2).sqrt()
    mask = (r < 0.6).float()
    img = torch.stack([mask * 0.8 + 0.1, (xx - cx) * 0.3 + 0.5, (yy - cy) * 0.3 + 0.5], 1)
    canon = torch.stack([xx - cx, yy - cy, 0.6 - r], 1) * mask[:, None]
    return dict(image=img, depth=(0.6 - r)[:, None] * mask[:, None], canon=canon, mask=mask[:, None])


def test_training_reduces_loss_and_resumes(tmp_path):
    from training import train as tr
    args = tr.parse_args(["--out", str(tmp_path), "--steps", "30", "--batch", "4", "--buffer", "16", "--chunk", "8",
                          "--refresh", "0", "--log-every", "5", "--save-every", "15", "--warmup", "5", "--lr", "2e-3"])
    tr._EVAL_CACHE["b"] = _toy_batch(4, PRESETS["cpu"].size, 99)
    data = lambda n, seed: _toy_batch(n, PRESETS["cpu"].size, seed)   # noqa: E731
    ck = tr.train(args, data_fn=data)
    rows = torch.load(ck, weights_only=False)["rows"]
    assert rows[-1]["step"] == 30
    assert np.mean([r["loss"] for r in rows[-2:]]) < rows[0]["loss"]
    assert (tmp_path / "curves.png").exists() and (tmp_path / "log.jsonl").exists()
    args2 = tr.parse_args(["--out", str(tmp_path), "--steps", "35", "--batch", "4", "--buffer", "16", "--chunk", "8",
                           "--refresh", "0", "--log-every", "5", "--warmup", "5"])
    ck2 = tr.train(args2, data_fn=data)
    full = torch.load(ck2, weights_only=False)
    assert full["step"] == 35          # continued, did not restart
    slim = torch.load(tmp_path / tr.WEIGHTS_FILE, weights_only=False)   # what a lent GPU machine can send back
    assert "opt" not in slim and slim["step"] == 35 and slim["rows"] == full["rows"]
    assert (tmp_path / tr.WEIGHTS_FILE).stat().st_size < 0.6 * ck2.stat().st_size
    from training.export_onnx import load_checkpoint
    for k, v in load_checkpoint(tmp_path / tr.WEIGHTS_FILE).state_dict().items():
        assert torch.equal(v, full["model"][k]), k
    again = tr.parse_args(["--out", str(tmp_path / "next"), "--init", str(tmp_path / tr.WEIGHTS_FILE), "--steps",
                           "36", "--batch", "4", "--buffer", "16", "--chunk", "8", "--refresh", "0"])
    assert torch.load(tr.train(again, data_fn=data), weights_only=False)["init"]["steps"] == 35


def test_every_preset_fits_the_weight_budget():
    """A preset whose export could not ship (or come back from the lent GPU machine) is of no use."""
    from core.presets import MAX_WEIGHT_BYTES
    from training.model import FaceAnything, count_parameters
    sizes = {name: count_parameters(FaceAnything(p)) * 4 for name, p in PRESETS.items()}
    assert all(b < MAX_WEIGHT_BYTES for b in sizes.values()), sizes
    assert sizes["gpu"] > 2 * sizes["cpu"] and PRESETS["gpu"].size > PRESETS["cpu"].size


def test_identity_scale_reaches_the_training_stream(monkeypatch):
    from training import synth
    from training import train as tr
    seen = []
    monkeypatch.setattr(synth, "make_batch",
                        lambda cfg, n, seed, split, device: seen.append((cfg, split)) or dict.fromkeys(tr.KEYS))
    args = tr.parse_args(["--identity-scale", "1.3"])
    tr.synth_batch(tr.PRESETS[args.preset], 2, 0, "cpu", identity_scale=args.identity_scale)
    tr.synth_batch(tr.PRESETS[args.preset], 2, 0, "cpu", split="eval")
    assert [(c.identity_scale, s) for c, s in seen] == [(1.3, "train"), (1.0, "eval")]
    assert tr.parse_args([]).identity_scale == 1.0


def test_learning_rate_schedule_and_warm_restart():
    from training import train as tr
    plain = tr.parse_args(["--steps", "1000", "--lr", "1e-3", "--warmup", "10"])
    assert tr.learning_rate(plain, 0) == pytest.approx(1e-4)                 # warm-up
    assert tr.learning_rate(plain, 500) == pytest.approx(5e-4)               # cosine half way
    assert tr.learning_rate(plain, 1000) == pytest.approx(0.0, abs=1e-12)
    # warm restart on step budget: a fresh cycle from the resumed step 600 to 1000
    rs = tr.parse_args(["--steps", "1000", "--lr", "1e-3", "--warmup", "10", "--restart"])
    assert tr.learning_rate(rs, 610, cycle_start=600) == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * 10 / 400)))
    assert tr.learning_rate(rs, 800, cycle_start=600) == pytest.approx(5e-4)
    # warm restart on a time budget: decays with wall time, whatever the step
    rt = tr.parse_args(["--lr", "1e-3", "--warmup", "10", "--restart", "--minutes", "10"])
    assert tr.learning_rate(rt, 5000, cycle_start=4000, elapsed_s=300) == pytest.approx(5e-4)
    assert tr.learning_rate(rt, 4100, cycle_start=4000, elapsed_s=600) == pytest.approx(0.0, abs=1e-12)
    assert tr.learning_rate(rt, 4100, cycle_start=4000, elapsed_s=900) == pytest.approx(0.0, abs=1e-12)


def test_warm_restart_needs_a_budget(tmp_path):
    from training import train as tr
    args = tr.parse_args(["--out", str(tmp_path), "--steps", "5", "--batch", "2", "--buffer", "4", "--chunk", "4",
                          "--refresh", "0", "--warmup", "2"])
    tr._EVAL_CACHE["b"] = _toy_batch(2, PRESETS["cpu"].size, 99)
    data = lambda n, seed: _toy_batch(n, PRESETS["cpu"].size, seed)   # noqa: E731
    tr.train(args, data_fn=data)
    again = tr.parse_args(["--out", str(tmp_path), "--steps", "5", "--batch", "2", "--buffer", "4", "--chunk", "4",
                           "--refresh", "0", "--restart"])
    with pytest.raises(ValueError, match="at step 5 needs --steps beyond"):
        tr.train(again, data_fn=data)


def test_onnx_parity_and_runtime(small_model, onnx_file):
    from core.runtime import Predictor
    p = Predictor(onnx_file, threads=1)
    s = p.size
    crops = np.random.default_rng(0).integers(0, 255, (3, s, s, 3), dtype=np.uint8)
    preds = p.predict(crops)
    assert len(preds) == 3
    with torch.no_grad():
        ref = small_model(torch.from_numpy(crops.transpose(0, 3, 1, 2).astype(np.float32) / 255))
    for i, pr in enumerate(preds):
        for k in PREDICTION_FIELDS:
            np.testing.assert_allclose(getattr(pr, k), ref[k][i].numpy(), atol=2e-3, rtol=1e-3)
    assert p.metadata["preset"] == "cpu"
    with pytest.raises(ValueError):
        p.predict(crops[:, :10])


def test_onnx_weights_read_back(small_model, onnx_file, tmp_path):
    """An export can be turned back into the torch model (to train on from the shipped weights)."""
    from training.export_onnx import load_onnx_weights
    back = load_onnx_weights(onnx_file)
    ref = small_model.state_dict()
    for k, v in back.state_dict().items():
        if not k.startswith("head.fuse.3.skip."):               # unused by the forward pass, so not exported
            assert torch.equal(v, ref[k]), k
    x = torch.rand(2, 3, PRESETS["cpu"].size, PRESETS["cpu"].size)
    with torch.no_grad():
        for k in PREDICTION_FIELDS:
            torch.testing.assert_close(back(x)[k], small_model(x)[k])
    bad = tmp_path / "plain.onnx"
    import onnx
    m = onnx.load(str(onnx_file))
    del m.metadata_props[:]
    onnx.save(m, str(bad))
    with pytest.raises(ValueError, match="not a Face Anything export"):
        load_onnx_weights(bad)


def test_training_from_exported_weights(small_model, onnx_file, tmp_path):
    """--init takes the exported weights and their step count; the learning rate starts a fresh warm-up there."""
    from training import train as tr
    import onnx
    m = onnx.load(str(onnx_file))
    e = m.metadata_props.add()
    e.key, e.value = "steps", "40"
    init = tmp_path / "init.onnx"
    onnx.save(m, str(init))
    args = tr.parse_args(["--out", str(tmp_path / "run"), "--init", str(init), "--steps", "42", "--batch", "2",
                          "--buffer", "4", "--chunk", "4", "--refresh", "0", "--warmup", "5", "--lr", "0"])
    tr._EVAL_CACHE["b"] = _toy_batch(2, PRESETS["cpu"].size, 99)
    ck = torch.load(tr.train(args, data_fn=lambda n, seed: _toy_batch(n, PRESETS["cpu"].size, seed)),
                    weights_only=False)
    assert ck["step"] == 42                                       # went on from the file's 40 steps
    for k, v in small_model.state_dict().items():                 # lr 0: the weights are the exported ones
        if not k.startswith("head.fuse.3.skip."):
            assert torch.equal(ck["model"][k], v), k
    assert tr.learning_rate(args, 40, cycle_start=40) == 0.0
    args.lr = 1e-3
    assert tr.learning_rate(args, 40, cycle_start=40) == pytest.approx(2e-4)    # warm-up restarts at step 40
    other = tr.parse_args(["--preset", "gpu", "--out", str(tmp_path / "g"), "--init", str(init)])
    with pytest.raises(ValueError, match="holds preset 'cpu'"):
        tr.train(other, data_fn=lambda n, seed: _toy_batch(n, PRESETS["gpu"].size, seed))


def test_wall_minutes_over_segments_and_init():
    from training.curves import wall_minutes
    rows = [dict(step=10, sec=60.0), dict(step=20, sec=120.0),      # first segment: 2 min
            dict(step=30, sec=30.0), dict(step=40, sec=180.0)]      # resumed: 3 min
    assert wall_minutes(dict(rows=rows)) == pytest.approx(5.0)
    assert wall_minutes(dict(rows=rows, init=dict(steps=5, minutes=100.0))) == pytest.approx(105.0)
    assert wall_minutes(dict(rows=rows, init=dict(steps=5, minutes=None))) is None    # unknown stays unknown


def test_runtime_errors(tmp_path):
    from core.runtime import Predictor
    with pytest.raises(ModelError, match="not found"):
        Predictor(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    with pytest.raises(ModelError, match="bad.onnx"):
        Predictor(bad)


def test_flip_average_is_mirror_equivariant(onnx_file):
    """With flip=True the answer for a mirrored crop is the mirror of the answer for the crop (canonical x mirrored
    through the head's symmetry plane), whatever the weights: catches a wrong flip axis or sign."""
    from core.head_model import load
    from core.runtime import Predictor
    head = load()
    p = Predictor(onnx_file, threads=1, flip=True)
    s = p.size
    crop = np.random.default_rng(1).integers(0, 255, (1, s, s, 3), dtype=np.uint8)
    a, b = p.predict(crop)[0], p.predict(crop[:, :, ::-1].copy())[0]
    for k in ("depth", "depth_conf", "canon_conf", "mask"):
        np.testing.assert_allclose(getattr(b, k), getattr(a, k)[:, ::-1], atol=1e-4)
    ca, cb = head.to_mm(a.canon[:, ::-1]), head.to_mm(b.canon)
    np.testing.assert_allclose(cb[..., 0], -ca[..., 0], atol=1e-2)
    np.testing.assert_allclose(cb[..., 1:], ca[..., 1:], atol=1e-2)
    plain = Predictor(onnx_file, threads=1).predict(crop)[0]
    assert not np.allclose(plain.depth, a.depth)         # the average differs from a single pass


def test_model_card_states_lineage_and_restarts(tmp_path):
    """The card's training line comes from the checkpoint: the --init source, total wall time, and warm restarts
    (a warm-up's rising rows are not restarts; a rise after a fall is)."""
    from training.model_card import card
    warm = [dict(step=100 + 10 * i, sec=10.0 * i, lr=1e-4 * (i + 1)) for i in range(4)]          # warm-up
    decay = [dict(step=140 + 10 * i, sec=40.0 + 10 * i, lr=4e-4 / (i + 1)) for i in range(4)]   # decay
    again = [dict(step=180, sec=80.0, lr=3e-4), dict(step=190, sec=120.0, lr=2e-4)]           # restart at 180
    ck = dict(preset="cpu", step=190, rows=warm + decay + again, init=dict(path="x/old.onnx", steps=100, minutes=58.0),
              args=dict(buffer=8, refresh=2, batch=4, lr=4e-4, steps=1000, identity_scale=1.2))
    torch.save(ck, tmp_path / "last.pt")
    text = card(tmp_path / "last.pt")
    assert "identities 1.2x as spread" in text
    assert "warm restart(s) at step 180)" in text
    assert "in 60 min of wall time" in text                   # 58 before + 2 logged
    assert "started from `old.onnx`, trained 100 steps before" in text
