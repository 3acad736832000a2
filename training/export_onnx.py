"""Export a training checkpoint to ONNX (dynamic batch; output names = core.types.PREDICTION_FIELDS).

    python -m training.export_onnx --ckpt runs/cpu/last.pt --out core/assets/face_anything_cpu.onnx

Checks parity with onnxruntime on random input before writing the final file.

The way back, ``load_onnx_weights``, rebuilds the torch model from an exported file, so that training can go on
from the shipped weights (``python -m training.train --init core/assets/face_anything_cpu.onnx``) in a checkout
that has no training checkpoint.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from core.presets import PRESETS
from core.types import PREDICTION_FIELDS
from .model import FaceAnything, OnnxWrapper

OPSET = 17


def load_checkpoint(path: str | Path, device: str = "cpu") -> FaceAnything:
    ck = torch.load(path, map_location=device, weights_only=False)
    model = FaceAnything(PRESETS[ck["preset"]])
    model.load_state_dict(ck["model"])
    return model.eval()


def _torch_export(model: FaceAnything, dummy: torch.Tensor, f) -> None:
    """The one export call (``export`` and the probe of ``load_onnx_weights`` must build the same graph)."""
    torch.onnx.export(OnnxWrapper(model.eval()), (dummy,), f, input_names=["image"],
                      output_names=list(PREDICTION_FIELDS), opset_version=OPSET, dynamo=False,
                      dynamic_axes={"image": {0: "batch"}, **{k: {0: "batch"} for k in PREDICTION_FIELDS}})


def export(model: FaceAnything, out: str | Path, metadata: dict | None = None) -> Path:
    import onnx
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    s = model.preset.size
    dummy = torch.rand(2, 3, s, s)
    tmp = out.with_suffix(".tmp.onnx")
    _torch_export(model, dummy, str(tmp))
    m = onnx.load(str(tmp))
    meta = dict(preset=model.preset.name, size=str(s), format="face_anything/1", depth_axis="crop",
                **(metadata or {}))      # trained on depths along the crop's axis (core.types, core.runtime)
    for k, v in meta.items():
        e = m.metadata_props.add()
        e.key, e.value = k, str(v)
    onnx.checker.check_model(m)
    onnx.save(m, str(tmp))
    err = parity(model, tmp)
    if err > 1e-3:
        tmp.unlink()
        raise RuntimeError(f"torch/onnxruntime parity failed: max abs diff {err:.2e}")
    tmp.replace(out)
    return out


def load_onnx_weights(path: str | Path) -> FaceAnything:
    """The torch model whose export is ``path`` (a file written by ``export``), checked by parity.

    The exporter renames some weights (Linear weights are stored transposed under generated names) and merges
    initializers with equal values (e.g. untrained LayerNorm scales), so names cannot be trusted. Instead a probe
    model of the same preset, every parameter set to distinct random values, is exported the same way: where a
    probe initializer enters a node, the file's initializer at the same node and input holds that parameter.
    """
    import io
    import onnx
    from onnx import numpy_helper
    m = onnx.load(str(path))
    meta = {e.key: e.value for e in m.metadata_props}
    if meta.get("format") != "face_anything/1" or meta.get("preset") not in PRESETS:
        raise ValueError(f"{path} is not a Face Anything export (metadata {meta})")
    model = FaceAnything(PRESETS[meta["preset"]]).eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for prm in model.parameters():
            prm.copy_(torch.randn(prm.shape, generator=g))
    buf = io.BytesIO()
    s = model.preset.size
    _torch_export(model, torch.rand(2, 3, s, s), buf)
    probe = onnx.load_from_string(buf.getvalue())
    p_init = {i.name: numpy_helper.to_array(i) for i in probe.graph.initializer}
    f_init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    p_nodes, f_nodes = _compute_nodes(probe.graph), _compute_nodes(m.graph)
    if [n[0] for n in p_nodes] != [n[0] for n in f_nodes]:
        raise ValueError(f"{path}: its graph differs from this code's {meta['preset']!r} network")
    params = dict(model.named_parameters())
    state = {}
    for (_, p_in), (_, f_in) in zip(p_nodes, f_nodes):
        for pi, fi in zip(p_in, f_in):
            if pi not in p_init:
                continue
            v = p_init[pi]
            for k, prm in params.items():
                t = prm.detach().numpy()
                if t.shape == v.shape and np.array_equal(t, v):
                    state[k] = f_init[fi]
                elif t.ndim == 2 and t.T.shape == v.shape and np.array_equal(t.T, v):
                    state[k] = f_init[fi].T
    # parameters the forward pass never uses (head.fuse.3.skip) are not exported: they keep their fresh values
    if any(not k.startswith("head.fuse.3.skip.") for k in set(params) - set(state)):
        raise ValueError(f"{path}: no weights found for {sorted(set(params) - set(state))}")
    model.load_state_dict({k: torch.from_numpy(np.array(v, np.float32)) for k, v in state.items()}, strict=False)
    err = parity(model, path)
    if err > 1e-3:
        raise ValueError(f"{path}: weights read back do not reproduce the file's outputs (max diff {err:.2e})")
    return model


def _compute_nodes(graph) -> list[tuple[str, list[str]]]:
    """(op, inputs) of every node but the Identity nodes, whose outputs are resolved to their inputs (the exporter
    adds them where it merges initializers with equal values)."""
    alias = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity"}
    return [(n.op_type, [alias.get(x, x) for x in n.input]) for n in graph.node if n.op_type != "Identity"]


@torch.no_grad()
def parity(model: FaceAnything, onnx_path: str | Path, batch: int = 3) -> float:
    import onnxruntime as ort
    s = model.preset.size
    x = torch.rand(batch, 3, s, s, generator=torch.Generator().manual_seed(0))
    ref = model(x)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run(list(PREDICTION_FIELDS), {"image": x.numpy()})
    return max(float(np.abs(ref[k].numpy() - g).max() / max(1.0, float(ref[k].abs().max())))
               for k, g in zip(PREDICTION_FIELDS, got))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    model = load_checkpoint(a.ckpt)
    ck = torch.load(a.ckpt, map_location="cpu", weights_only=False)
    from .curves import wall_minutes
    meta = dict(steps=ck["step"])
    minutes = wall_minutes(ck)
    if minutes is not None:
        meta["train_minutes"] = f"{minutes:.0f}"
    path = export(model, a.out, meta)
    print(json.dumps(dict(out=str(path), bytes=path.stat().st_size, steps=ck["step"])))


if __name__ == "__main__":
    main()
