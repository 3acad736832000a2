"""Run the Face Anything network with onnxruntime (no torch): batched, CPU by default, CUDA when present.

Input: RGB uint8 crops (B, S, S, 3) cut with core.preprocess.crop_image at the preset's size; they are fed
as float32 NCHW in [0, 1] (the network normalises inside, exactly as in training).
"""
from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np

from .errors import ModelError
from .exposure import match_exposure
from .presets import default_model_path
from .types import PREDICTION_FIELDS, FramePrediction

log = logging.getLogger(__name__)

# Which axis a network's depth answers along (core.types reads it along the crop's own): a model exported with the
# metadata ``depth_axis`` = "crop" (training.export_onnx, trained on that target) has none of the camera axis's tilt;
# one without it was trained on depths along the camera's optical axis, which it can only guess at from the crop, and
# is read as carrying OPTICAL_TILT of that axis's tilt. The shipped network carries 0.19-0.29 (mean 0.26) of it on
# its own training renders, heads 15 degrees off the axis at 0.5 and 1.75 m (benchmarks/bench_depth_axis.py), but on
# real faces moved across the frame next to none: read with 0, their head keeps its turn from the ray where 0.3 turned
# it with the ray (bench_real.py's turn_against_ray; docs/MEASUREMENTS.md "The shipped network's depth read along the
# crop's axis on real faces"). So 0: a model that reads the tilt off real faces would set it here.
OPTICAL_TILT = 0.0


@functools.lru_cache(maxsize=4)
def _session(path: str, mtime_ns: int, size: int, providers: tuple, threads: int):
    """One onnxruntime session per model file (and version of it), providers and thread count in a process: a batch
    worker that bakes many clips loads the network once. Sessions are safe to run from several threads."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(path, sess_options=opts, providers=list(providers))
    except Exception as e:   # onnxruntime raises its own Fail/InvalidGraph/... types
        raise ModelError(f"cannot load model {path}: {e}") from e


class Predictor:
    """``flip=True`` also runs every crop mirrored left-right and averages the two answers (the mirrored canonical
    map is mirrored back through the head's plane of symmetry, x = 0 in the head frame): twice the network time for
    less noise (measured: benchmarks/results/eval_synthetic_flip.json against eval_synthetic.json).
    ``exposure=True`` (default) lifts each crop whose face is darker than the training renders' to their exposure
    first (core.exposure.match_exposure); other crops are fed as they are."""

    def __init__(self, model_path: str | Path | None = None, providers=None, threads: int | None = None,
                 flip: bool = False, exposure: bool = True):
        import onnxruntime as ort
        path = Path(model_path) if model_path else default_model_path()
        if not path.is_file():
            raise ModelError(f"model file not found: {path}"
                             + ("" if model_path else " (the bundled default weights are missing from this install)"))
        avail = ort.get_available_providers()
        wanted = list(providers) if providers else ["CPUExecutionProvider"]
        use = [p for p in wanted if p in avail] or ["CPUExecutionProvider"]
        if use != wanted:
            log.warning("execution providers %s not available, using %s", wanted, use)
        st = path.stat()
        self.session = _session(str(path.resolve()), st.st_mtime_ns, st.st_size, tuple(use), int(threads or 0))
        inputs = self.session.get_inputs()
        outputs = [o.name for o in self.session.get_outputs()]
        if len(inputs) != 1 or inputs[0].name != "image" or outputs != list(PREDICTION_FIELDS):
            raise ModelError(f"model {path} has inputs {[i.name for i in inputs]} and outputs {outputs}; "
                             f"expected 'image' -> {list(PREDICTION_FIELDS)}")
        shape = inputs[0].shape
        if not (isinstance(shape[2], int) and shape[2] == shape[3]):
            raise ModelError(f"model {path} has input shape {shape}; expected a fixed square crop size")
        self.size = int(shape[2])
        self.path = path
        self.providers = self.session.get_providers()
        meta = self.session.get_modelmeta().custom_metadata_map
        self.metadata = dict(meta)
        self.flip = bool(flip)
        self.exposure = bool(exposure)
        # the share of the camera axis's depth tilt in its answers (core.points.to_point_cloud's ``tilt``)
        self.depth_tilt = 0.0 if meta.get("depth_axis") == "crop" else OPTICAL_TILT
        if self.flip:
            from .head_model import load
            head = load()
            self._mirror_x = -2.0 * float(head.canon_center[0]) / float(head.canon_scale)   # c_x -> -c_x + this

    def predict(self, crops: np.ndarray) -> list[FramePrediction]:
        crops = np.asarray(crops)
        if crops.ndim == 3:
            crops = crops[None]
        if crops.shape[1:] != (self.size, self.size, 3):
            raise ValueError(f"crops must be (B, {self.size}, {self.size}, 3) uint8 RGB, got {crops.shape}")
        if self.exposure and crops.dtype == np.uint8:
            crops = np.stack([match_exposure(c) for c in crops])
        x = np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
        if self.flip:
            x = np.concatenate([x, x[..., ::-1]])
        outs = dict(zip(PREDICTION_FIELDS, self.session.run(list(PREDICTION_FIELDS), {"image": x})))
        if self.flip:
            n = len(crops)
            for k in PREDICTION_FIELDS:
                back = outs[k][n:][:, :, ::-1]     # (B, S, S[, 3]): axis 2 is the image width
                if k == "canon":                   # normalised canonical: mirror x back
                    back = back.copy()
                    back[..., 0] = self._mirror_x - back[..., 0]
                outs[k] = 0.5 * (outs[k][:n] + back)
        return [FramePrediction(**{k: outs[k][i] for k in PREDICTION_FIELDS}) for i in range(len(crops))]
