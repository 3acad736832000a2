"""Export a training checkpoint to ONNX (dynamic batch; output names = core.types.PREDICTION_FIELDS).

    python -m core.train.export_onnx --ckpt runs/cpu/last.pt --out core/assets/face_anything_cpu.onnx

Checks parity with onnxruntime on random input before writing the final file.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ..presets import PRESETS
from ..types import PREDICTION_FIELDS
from .model import FaceAnything, OnnxWrapper

OPSET = 17


def load_checkpoint(path: str | Path, device: str = "cpu") -> FaceAnything:
    ck = torch.load(path, map_location=device, weights_only=False)
    model = FaceAnything(PRESETS[ck["preset"]])
    model.load_state_dict(ck["model"])
    return model.eval()


def export(model: FaceAnything, out: str | Path, metadata: dict | None = None) -> Path:
    import onnx
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    s = model.preset.size
    dummy = torch.rand(2, 3, s, s)
    tmp = out.with_suffix(".tmp.onnx")
    torch.onnx.export(OnnxWrapper(model.eval()), (dummy,), str(tmp), input_names=["image"],
                      output_names=list(PREDICTION_FIELDS), opset_version=OPSET, dynamo=False,
                      dynamic_axes={"image": {0: "batch"}, **{k: {0: "batch"} for k in PREDICTION_FIELDS}})
    m = onnx.load(str(tmp))
    meta = dict(preset=model.preset.name, size=str(s), format="face_anything/1", **(metadata or {}))
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
    path = export(model, a.out, dict(steps=ck["step"]))
    print(json.dumps(dict(out=str(path), bytes=path.stat().st_size, steps=ck["step"])))


if __name__ == "__main__":
    main()
