"""Face tracking: detect, follow, smooth, recover; one square ``CropBox`` per frame (or ``None`` when no face).

    tracker = FaceTracker(smoothing=0.5)
    for frame in footage:
        box = tracker.update(frame.image)      # causal: uses only this and earlier frames
    # or: result = FaceTracker().track(footage)  -> core.types.TrackResult

How it works
  * Detection: OpenCV's bundled Haar cascades (``cv2.data.haarcascades``; nothing is downloaded): frontal face (alt2)
    first, then the profile cascade on the frame and on its mirror image (the cascade knows one profile side only).
    Profile boxes are converted to the frontal box convention (``PROFILE_TO_FRONTAL``). When the face is lost the whole
    frame is searched (downscaled so its long side is about ``detect_side``, see "Large frames");
    while tracking, every ``redetect_every`` frames a small region around the track is searched at a scale where the
    face is about ``ROI_FACE_PX`` pixels wide (cheap), and the track is pulled towards the detection.
  * Following between detections: pyramidal Lucas-Kanade optical flow (``cv2.calcOpticalFlowPyrLK``) on corner
    points inside the face box, forward-backward checked; a RANSAC similarity (``cv2.estimateAffinePartial2D``) moves
    and scales the box. Too few surviving points, or ``max_unconfirmed`` frames without a confirming detection, count
    as lost: ``update`` returns ``None`` and the next frames search the whole frame again.
  * Several faces: ``choose="largest"`` takes the largest face when (re)acquiring; ``choose=(x, y)`` takes the face
    nearest that frame point first and, after a loss, the face nearest where the track was last.
  * Smoothing: a One-Euro filter (Casiez et al. 2012) on the crop centre and log side, in units of the crop side per
    frame, so it behaves the same at any resolution. ``smoothing`` in [0, 1]: 0 = raw, 0.5 = default, 1 = strong;
    the filter opens up during fast motion (speed coefficient ``ONE_EURO_BETA``) so fast moves lag little.

Crop convention (the synthetic training data uses the same framing, core/framing.py): a square crop whose centre is
near the nose and whose side covers the head like a template head's 260 mm at its depth (above the hair top to below
the chin). From the frontal detector box (x, y, w, h): ``centre = (x + w/2, y + h*CROP_CENTER_Y)``,
``side = CROP_SCALE * w``. The constants are measured by benchmarks/bench_framing.py: the bake's re-framing moves
the tracker's crop to the training framing of the head pose, and the median of that move over held-out synthetic
clips (true poses) and the real clips (the network's poses) gives them (results/framing.json). The first
calibration (1.5 w, 0.55 h, from the eye cascade's pupil distance and the template's 62.8 mm inter-pupil distance)
left crops 15-23 % too large on both kinds of clip once training framed heads relative to their size.

Large frames: everything runs on a copy with long side <= ``work_side`` (1280); the whole-frame search uses a
``detect_side`` copy every frame and, while lost, the scale ``min_face`` needs every ``redetect_every`` frames.
"""
from __future__ import annotations

import logging
from typing import Iterable

import cv2
import numpy as np

from .types import CropBox, Frame, TrackResult

log = logging.getLogger(__name__)

# Face box (frontal Haar alt2 convention) -> crop. Measured by benchmarks/bench_framing.py (see module docstring).
CROP_SCALE = 1.27      # crop side / face box width
CROP_CENTER_Y = 0.57   # crop centre below the box top, in box heights (box centre = 0.5)
# A profile-cascade box (cx, cy, w), in the cascade's own orientation, relative to the frontal box of the same face:
# centre offset (dx, dy) in frontal widths and width ratio, measured where both cascades fire (262 frames of the clips).
PROFILE_TO_FRONTAL = (0.18, -0.02, 1.05)

ROI_FACE_PX = 80       # face width in pixels at which the region around the track is searched
HAAR_WINDOW = 20       # the cascades' smallest window (pixels)
MIN_POINTS = 8         # fewer flow points than this -> lost
PATCH_PX = 32          # side of the appearance patch compared with the last detection
MIN_APPEARANCE = 0.5   # correlation with the last detected face patch below this -> detect now; none -> lost
ONE_EURO_BETA = 8.0    # speed coefficient of the One-Euro filter (per crop side per frame)
ONE_EURO_D_CUTOFF = 0.15  # cutoff of the speed estimate, cycles per frame

_CASCADES: dict[str, cv2.CascadeClassifier] = {}


def _cascade(name: str) -> cv2.CascadeClassifier:
    if name not in _CASCADES:
        path = cv2.data.haarcascades + name
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            from .errors import AssetError
            raise AssetError(f"OpenCV's Haar cascade {path} is missing or unreadable (reinstall opencv-python-headless)")
        _CASCADES[name] = cascade
    return _CASCADES[name]


def face_to_crop(face: np.ndarray | tuple) -> CropBox:
    """Frontal face box (x, y, w, h) in frame pixels -> the square crop of the crop convention."""
    x, y, w, h = (float(v) for v in face)
    side = CROP_SCALE * w
    cx, cy = x + 0.5 * w, y + CROP_CENTER_Y * h
    return CropBox(cx - 0.5 * side, cy - 0.5 * side, side)


def crop_center(box: CropBox) -> tuple[float, float]:
    return box.x0 + 0.5 * box.size, box.y0 + 0.5 * box.size


def detect_faces(gray: np.ndarray, min_size: float, max_size: float | None = None) -> np.ndarray:
    """Faces in an 8-bit gray image as (N, 4) float boxes x, y, w, h in the frontal convention (square boxes).

    Frontal cascade first; only where it finds nothing the profile cascade on the image and on its mirror.
    """
    eq = cv2.equalizeHist(gray)
    mn = max(HAAR_WINDOW, int(round(min_size)))
    kw = dict(scaleFactor=1.1, minNeighbors=4, minSize=(mn, mn))
    if max_size is not None:
        mx = max(mn + 1, int(round(max_size)))
        kw["maxSize"] = (mx, mx)
    found = _cascade("haarcascade_frontalface_alt2.xml").detectMultiScale(eq, **kw)
    if len(found):
        return np.asarray(found, np.float64).reshape(-1, 4)
    dx, dy, ratio = PROFILE_TO_FRONTAL
    width = gray.shape[1]
    boxes = []
    for mirrored in (False, True):
        img = np.ascontiguousarray(eq[:, ::-1]) if mirrored else eq
        for x, y, w, h in _cascade("haarcascade_profileface.xml").detectMultiScale(img, **kw):
            fw = w / ratio
            cx = x + 0.5 * w - dx * fw
            cy = y + 0.5 * h - dy * fw
            if mirrored:
                cx = width - cx
            boxes.append((cx - 0.5 * fw, cy - 0.5 * fw, fw, fw))
    return np.asarray(boxes, np.float64).reshape(-1, 4)


class OneEuro:
    """One-Euro low-pass filter on a vector signal sampled once per frame (cutoffs in cycles per frame)."""

    def __init__(self, min_cutoff: float, beta: float, d_cutoff: float = ONE_EURO_D_CUTOFF):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None

    @staticmethod
    def _alpha(cutoff):
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau)

    def reset(self) -> None:
        self.x = self.dx = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self.x is None:
            self.x, self.dx = x.copy(), np.zeros_like(x)
            return x
        a_d = self._alpha(self.d_cutoff)
        self.dx = a_d * (x - self.x) + (1 - a_d) * self.dx
        a = self._alpha(self.min_cutoff + self.beta * np.abs(self.dx))
        self.x = a * x + (1 - a) * self.x
        return self.x.copy()


class FaceTracker:
    """Streaming face tracker; see the module docstring. ``update`` per frame, or ``track`` for a whole clip."""

    def __init__(self, smoothing: float = 0.5, redetect_every: int = 10, min_face: int = 24,
                 choose: str | tuple[float, float] = "largest", detect_side: int = 640, max_unconfirmed: int = 50,
                 correction: float = 0.5, work_side: int = 1280):
        if not 0.0 <= smoothing <= 1.0:
            raise ValueError(f"smoothing must be in [0, 1], got {smoothing}")
        if redetect_every < 1 or min_face < 1:
            raise ValueError("redetect_every and min_face must be >= 1")
        if not (choose == "largest" or (isinstance(choose, (tuple, list)) and len(choose) == 2)):
            raise ValueError(f"choose must be 'largest' or an (x, y) frame point, got {choose!r}")
        self.smoothing = float(smoothing)
        self.redetect_every = int(redetect_every)
        self.min_face = int(min_face)
        self.choose = choose
        self.detect_side = int(detect_side)
        self.max_unconfirmed = int(max_unconfirmed)
        self.correction = float(correction)
        self.work_side = int(work_side)
        # min cutoff from 0.5 cycles/frame (almost no smoothing) down to 0.005 at smoothing = 1
        self._filter = OneEuro(0.5 * 0.01 ** self.smoothing, ONE_EURO_BETA) if smoothing > 0 else None
        self.reset()

    # -------------------------------------------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget the track (as at the start of a clip)."""
        self.face: np.ndarray | None = None   # (cx, cy, w) of the followed face box, frame pixels
        self.face_box: tuple | None = None     # last face box (x, y, w, h) in frame pixels, for drawing
        self.last_detection: tuple | None = None  # last raw detection (x, y, w, h) (frontal convention)
        self._gray_prev: np.ndarray | None = None
        self._points: np.ndarray | None = None
        self._since_detect = 0
        self._unconfirmed = 0
        self._last_center: np.ndarray | None = None
        self._template: np.ndarray | None = None
        self.appearance = float("nan")  # correlation of the current face patch with the last detected one
        self.frames_seen = 0
        self.detections = 0
        self._lost_frames = 0
        self._ws = 1.0
        if self._filter is not None:
            self._filter.reset()

    # ------------------------------------------------------------------------------------------------ public
    def update(self, frame_rgb: np.ndarray) -> CropBox | None:
        """Next frame (H, W, 3) uint8 RGB -> the smoothed crop box, or ``None`` when no face is found."""
        if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3:
            raise ValueError(f"update expects an (H, W, 3) RGB frame, got {frame_rgb.shape}")
        full = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2GRAY)
        ws = min(1.0, self.work_side / max(full.shape))   # large frames are tracked on a downscaled copy
        if ws != self._ws:
            self.reset()
            self._ws = ws
        gray = cv2.resize(full, None, fx=ws, fy=ws, interpolation=cv2.INTER_AREA) if ws < 1 else full
        self.frames_seen += 1
        if self.face is not None and self._gray_prev is not None:
            self._follow(self._gray_prev, gray)
        if self.face is None:
            self._acquire(gray, full)
        else:
            self._since_detect += 1
            suspect = self.appearance < MIN_APPEARANCE
            if self._since_detect >= self.redetect_every or self._unconfirmed > 0 or suspect:
                self._confirm(gray, strict=suspect)
        self._gray_prev = gray
        if self.face is None:
            self.appearance = float("nan")
            self.face_box = None
            if self._filter is not None:
                self._filter.reset()
            return None
        cx, cy, w = self.face / ws
        self.face_box = (cx - 0.5 * w, cy - 0.5 * w, w, w)
        crop = face_to_crop(self.face_box)
        return self._smooth(crop)

    def start(self, frame_rgb: np.ndarray, face_box: tuple) -> CropBox:
        """Begin a track on a known face box (x, y, w, h, frame pixels; frontal-detector convention, e.g. another
        tracker's ``face_box``) instead of detecting: used to follow a face backwards in time from where it was
        found. Returns the crop box of this frame; continue with ``update``."""
        self.reset()
        full = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2GRAY)
        self._ws = ws = min(1.0, self.work_side / max(full.shape))
        gray = cv2.resize(full, None, fx=ws, fy=ws, interpolation=cv2.INTER_AREA) if ws < 1 else full
        x, y, w, h = (float(v) * ws for v in face_box)
        self.face = np.array([x + 0.5 * w, y + 0.5 * h, w])
        self._begin(gray)
        self._gray_prev = gray
        self.frames_seen = 1
        cx, cy, w = self.face / ws
        self.face_box = (cx - 0.5 * w, cy - 0.5 * w, w, w)
        return self._smooth(face_to_crop(self.face_box))

    def track(self, frames: Iterable[Frame]) -> TrackResult:
        """Run ``update`` over ``frames`` (after ``reset``); gaps without a face are listed in ``warnings``."""
        self.reset()
        indices, boxes, found = [], [], []
        for frame in frames:
            box = self.update(frame.image)
            indices.append(frame.index)
            found.append(box is not None)
            boxes.append((box.x0, box.y0, box.size) if box is not None else (np.nan, np.nan, np.nan))
        indices = np.asarray(indices, np.int64)
        found = np.asarray(found, bool)
        return TrackResult(frames=indices, boxes=np.asarray(boxes, np.float64).reshape(-1, 3), found=found,
                           warnings=tuple(gap_warnings(indices, found)))

    # ------------------------------------------------------------------------------------------- internals
    def _smooth(self, crop: CropBox) -> CropBox:
        cx, cy = crop_center(crop)
        if self._filter is None:
            return crop
        side = crop.size
        # filter in units of the current side so the cutoffs do not depend on resolution or face size
        state = np.array([cx / side, cy / side, np.log(side)])
        if self._filter.x is not None:  # re-express the previous state in the current units
            prev_side = np.exp(self._filter.x[2])
            self._filter.x[:2] *= prev_side / side
            self._filter.dx[:2] *= prev_side / side
        fx, fy, flog = self._filter(state)
        new_side = float(np.exp(flog))
        cx, cy = fx * side, fy * side
        return CropBox(cx - 0.5 * new_side, cy - 0.5 * new_side, new_side)

    def _seed_points(self, gray: np.ndarray) -> None:
        """Corner points inside an ellipse in the face box (searched in the box's region only)."""
        cx, cy, w = self.face
        h, wd = gray.shape
        xa, ya = int(max(0, cx - 0.5 * w)), int(max(0, cy - 0.5 * w))
        xb, yb = int(min(wd, cx + 0.5 * w + 1)), int(min(h, cy + 0.5 * w + 1))
        if xb - xa < 4 or yb - ya < 4:
            self._points = None
            return
        mask = np.zeros((yb - ya, xb - xa), np.uint8)
        cv2.ellipse(mask, (int(round(cx - xa)), int(round(cy - ya))), (max(1, int(0.4 * w)), max(1, int(0.5 * w))),
                    0, 0, 360, 255, -1)
        pts = cv2.goodFeaturesToTrack(gray[ya:yb, xa:xb], maxCorners=100, qualityLevel=0.01,
                                      minDistance=max(2.0, w / 20), mask=mask, blockSize=max(3, int(w / 25) | 1))
        self._points = None if pts is None else (pts.reshape(-1, 2) + np.array([xa, ya])).astype(np.float32)

    def _follow(self, prev: np.ndarray, gray: np.ndarray) -> None:
        pts = self._points
        if pts is None or len(pts) < MIN_POINTS:
            self._lose("too few points to follow")
            return
        w = self.face[2]
        win = int(np.clip(w / 8, 9, 31)) | 1
        lk = dict(winSize=(win, win), maxLevel=3,
                  criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
        p0 = pts.reshape(-1, 1, 2)
        p1, st1, _ = cv2.calcOpticalFlowPyrLK(prev, gray, p0, None, **lk)
        if p1 is None:
            self._lose("optical flow failed")
            return
        back, st2, _ = cv2.calcOpticalFlowPyrLK(gray, prev, p1, None, **lk)
        fb = np.linalg.norm((back - p0).reshape(-1, 2), axis=1)
        ok = (st1.ravel() == 1) & (st2.ravel() == 1) & (fb < max(1.0, 0.02 * w))
        if ok.sum() < MIN_POINTS:
            self._lose(f"only {int(ok.sum())} points followed")
            return
        a, b = p0.reshape(-1, 2)[ok], p1.reshape(-1, 2)[ok]
        M, inliers = cv2.estimateAffinePartial2D(a, b, method=cv2.RANSAC, ransacReprojThreshold=max(1.0, 0.02 * w))
        if M is None or inliers is None or inliers.sum() < MIN_POINTS:
            self._lose("no consistent motion")
            return
        scale = float(np.sqrt(abs(np.linalg.det(M[:, :2]))))
        if not 0.7 < scale < 1.4:
            self._lose(f"implausible scale change {scale:.2f}")
            return
        cx, cy, w = self.face
        cx, cy = M @ np.array([cx, cy, 1.0])
        self.face = np.array([cx, cy, w * scale])
        keep = inliers.ravel() == 1
        self._points = b[keep].astype(np.float32)
        h, wd = gray.shape
        if not (0 <= cx < wd and 0 <= cy < h):
            self._lose("face left the frame")
            return
        self.appearance = self._correlation(gray)  # checked in update(): a low value forces a detection
        if len(self._points) < 2 * MIN_POINTS:
            self._seed_points(gray)

    def _patch(self, gray: np.ndarray) -> np.ndarray:
        """The face box as a zero-mean unit-norm PATCH_PX^2 patch (area-averaged; replicated past the frame)."""
        cx, cy, w = self.face
        h, wd = gray.shape
        xa, ya = int(round(cx - 0.5 * w)), int(round(cy - 0.5 * w))
        n = max(2, int(round(w)))
        region = gray[max(0, ya):max(0, min(h, ya + n)), max(0, xa):max(0, min(wd, xa + n))]
        if region.size == 0:
            return np.zeros((PATCH_PX, PATCH_PX), np.float32)
        pads = (max(0, -ya), max(0, ya + n - h), max(0, -xa), max(0, xa + n - wd))
        if any(pads):
            region = cv2.copyMakeBorder(region, *pads, cv2.BORDER_REPLICATE)
        p = cv2.resize(region, (PATCH_PX, PATCH_PX), interpolation=cv2.INTER_AREA).astype(np.float32)
        p -= p.mean()
        return p / (np.linalg.norm(p) + 1e-6)

    def _correlation(self, gray: np.ndarray) -> float:
        if self._template is None:
            return 1.0
        return float((self._patch(gray) * self._template).sum())

    def _lose(self, why: str) -> None:
        log.debug("track lost at frame %d: %s", self.frames_seen - 1, why)
        if self.face is not None:
            self._last_center = self.face[:2].copy()
        self.face = None
        self._points = None

    def _pick(self, boxes: np.ndarray, near: np.ndarray | None) -> np.ndarray:
        centres = boxes[:, :2] + 0.5 * boxes[:, 2:]
        if near is None:
            return boxes[np.argmax(boxes[:, 2])]
        return boxes[np.argmin(np.linalg.norm(centres - near, axis=1))]

    def _acquire(self, gray: np.ndarray, full: np.ndarray) -> None:
        """Search the whole frame: on a copy with long side ``detect_side`` every frame; where that is too coarse
        for ``min_face``, also at the scale ``min_face`` needs, every ``redetect_every`` frames while lost."""
        ws = self._ws
        h, w = full.shape
        coarse = min(1.0, self.detect_side / max(h, w))    # relative to the full frame
        fine = min(1.0, HAAR_WINDOW / self.min_face)
        boxes = self._detect_full(gray, full, coarse)
        if not len(boxes) and fine > coarse and self._lost_frames % self.redetect_every == 0:
            boxes = self._detect_full(gray, full, fine)
        if not len(boxes):
            self._lost_frames += 1
            return
        boxes = boxes * ws   # full-frame -> working pixels
        self._lost_frames = 0
        self.detections += 1
        if self.choose == "largest":
            near = None
        else:
            near = self._last_center if self._last_center is not None else np.asarray(self.choose, np.float64) * ws
        x, y, bw, bh = self._pick(boxes, near)
        self.last_detection = (x, y, bw, bh)
        self.face = np.array([x + 0.5 * bw, y + 0.5 * bh, bw])
        self._begin(gray)

    def _begin(self, gray: np.ndarray) -> None:
        """Start following ``self.face``: points to track and the appearance template."""
        self._since_detect = 0
        self._unconfirmed = 0
        self._seed_points(gray)
        self._template = self._patch(gray)
        if self._points is None or len(self._points) < MIN_POINTS:
            # a face without texture to follow (e.g. tiny): keep it for this frame, re-detect next frame
            self._points = None
            self._unconfirmed = 1

    def _detect_full(self, gray: np.ndarray, full: np.ndarray, scale: float) -> np.ndarray:
        """Detect on the frame resized by ``scale`` (from the working copy when it has enough pixels); full pixels."""
        src, rel = (gray, scale / self._ws) if scale <= self._ws else (full, scale)
        small = cv2.resize(src, None, fx=rel, fy=rel, interpolation=cv2.INTER_AREA) if rel < 0.999 else src
        return detect_faces(small, self.min_face * scale) / scale

    def _confirm(self, gray: np.ndarray, strict: bool = False) -> None:
        """Search around the track; pull the track towards the detection, or count an unconfirmed frame.

        ``strict``: the face patch no longer looks like the last detection; without a detection now, the track is lost.
        """
        cx, cy, fw = self.face
        h, w = gray.shape
        half = 1.2 * fw
        xa, ya = int(max(0, cx - half)), int(max(0, cy - half))
        xb, yb = int(min(w, cx + half)), int(min(h, cy + half))
        if xb - xa < 8 or yb - ya < 8:
            self._lose("face left the frame")
            return
        scale = min(1.0, ROI_FACE_PX / fw)
        roi = gray[ya:yb, xa:xb]
        if scale < 1:
            roi = cv2.resize(roi, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        boxes = detect_faces(roi, 0.6 * fw * scale, 1.6 * fw * scale)
        self._since_detect = 0
        if len(boxes):
            boxes = boxes / scale + np.array([xa, ya, 0, 0])
            x, y, bw, bh = self._pick(boxes, np.array([cx, cy]))
            det = np.array([x + 0.5 * bw, y + 0.5 * bh, bw])
            if np.linalg.norm(det[:2] - self.face[:2]) < 0.5 * fw:
                self.detections += 1
                self.last_detection = (x, y, bw, bh)
                g = self.correction if self._points is not None else 1.0
                self.face = self.face + g * (det - self.face)
                self._unconfirmed = 0
                self._seed_points(gray)
                self._template = self._patch(gray)
                return
        self._unconfirmed += 1
        if strict:
            self._lose(f"face patch unlike the detected face (correlation {self.appearance:.2f}) and no detection")
        elif self._unconfirmed > self.max_unconfirmed:
            self._lose(f"no detection confirmed the track for {self._unconfirmed} frames")
        elif self._points is None:
            self._lose("no points and no detection")


def gap_warnings(indices: np.ndarray, found: np.ndarray) -> list[str]:
    """Human-readable lines for the runs of frames without a face."""
    out = []
    if len(found) and not found.any():
        return [f"no face found in any of the {len(found)} frames"]
    n = len(found)
    i = 0
    while i < n:
        if found[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and not found[j + 1]:
            j += 1
        out.append(f"no face in frames {indices[i]}..{indices[j]} ({j - i + 1} frames)")
        i = j + 1
    return out
