"""An independent oracle for the real clips: dlib's frontal face detector + 68-point shape predictor on every frame.

    python benchmarks/oracle_dlib.py [--footage ../shared/footage] [--refresh] [clip.mp4 ...]

Benchmarks only. dlib and its 68-point model (``requirements/oracle.txt``: ``dlib-bin`` and the
``face_recognition_models`` sdist) share nothing with what ships (our network, MediaPipe's models), so
their points are a second opinion on where the face is. The model's training data (iBUG 300-W) forbid commercial
use: nothing that ships or that the tests need may import this module.

Per frame: the frontal detector (HOG) on the whole frame without upsampling, then with one upsampling (faces under
~80 px), then, when a face was found in an earlier frame, on a 2x-enlarged crop three face-widths around it (a turned
or small face the whole-frame search misses). Several faces: the one nearest the previous face, else the largest.
The predictor runs on the full-resolution frame, upscaled around the face (dlib returns whole pixels). Frames are
read with ``core.footage.open_footage`` (every decodable frame, as the product reads them); ``found`` is False where
no detection was made (no points are carried over).

Results are cached in ``benchmarks/cache/`` (gitignored) keyed by clip name, file size and mtime, as
``dlib68_v<VERSION>_<stem>_<size>_<mtime_ns>.npz`` with ``points (T, 68, 2) float32`` (pixels, NaN where not found;
pixel centres at ``i + 0.5`` like the product's camera and MediaPipe: dlib's own coordinates + 0.5),
``found (T,) bool``, ``frames (T,) int`` (source frame indices) and ``image_size (2,)`` (width, height).
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.footage import open_footage  # noqa: E402

PREDICT_SIDE = 400          # px: the face box is upscaled to this width for the predictor (see Dlib68._predict)
CACHE = ROOT / "benchmarks" / "cache"
VERSION = 3                 # bump when the detection strategy changes (invalidates the cache)


@dataclass(frozen=True, eq=False)
class OracleTrack:
    points: np.ndarray      # (T, 68, 2) float32 image pixels (pixel centres at i + 0.5), NaN where not found
    found: np.ndarray       # (T,) bool
    frames: np.ndarray      # (T,) int source frame indices (0-based)
    image_size: tuple       # (width, height)


def predictor_path() -> Path:
    """shape_predictor_68_face_landmarks.dat inside the face_recognition_models package (located without importing
    it: its __init__ needs pkg_resources, which recent setuptools no longer has)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("face_recognition_models is not installed: pip install -r requirements/oracle.txt")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / "shape_predictor_68_face_landmarks.dat"
    if not path.is_file():
        raise SystemExit(f"{path} is missing")
    return path


def cache_path(clip: Path, cache: Path = CACHE) -> Path:
    st = clip.stat()
    return cache / f"dlib68_v{VERSION}_{clip.stem}_{st.st_size}_{st.st_mtime_ns}.npz"


class Dlib68:
    """Detector + predictor with the previous face remembered (call ``reset`` between clips)."""

    def __init__(self):
        try:
            import dlib
        except ImportError:
            raise SystemExit("dlib is not installed: pip install -r requirements/oracle.txt "
                             "(or run bench_real.py with --no-oracle)") from None
        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(predictor_path()))
        self.prev: tuple | None = None       # (cx, cy, w) of the last face found

    def reset(self) -> None:
        self.prev = None

    def _pick(self, rects: list) -> tuple | None:
        if not rects:
            return None
        if self.prev is not None:
            cx, cy, _ = self.prev
            return min(rects, key=lambda r: (r[0] + r[2] / 2 - cx) ** 2 + (r[1] + r[3] / 2 - cy) ** 2)
        return max(rects, key=lambda r: r[2] * r[3])

    def _detect(self, gray: np.ndarray, upsample: int, offset=(0.0, 0.0), scale=1.0) -> list:
        dets, _, _ = self.detector.run(gray, upsample, 0.0)
        return [(offset[0] + d.left() / scale, offset[1] + d.top() / scale, d.width() / scale, d.height() / scale)
                for d in dets]

    def _detect_crop(self, gray: np.ndarray) -> list:
        import cv2
        cx, cy, w = self.prev
        H, W = gray.shape
        x0, y0 = int(max(0, cx - 1.5 * w)), int(max(0, cy - 1.5 * w))
        x1, y1 = int(min(W, cx + 1.5 * w)), int(min(H, cy + 1.5 * w))
        if x1 - x0 < 16 or y1 - y0 < 16:
            return []
        crop = cv2.resize(gray[y0:y1, x0:x1], None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR)
        return self._detect(np.ascontiguousarray(crop), 1, (x0, y0), 2.0)

    def _predict(self, gray: np.ndarray, box: tuple) -> np.ndarray:
        """The 68 points in the box. dlib returns whole pixels, so the predictor runs on a crop upscaled until the box
        is ``PREDICT_SIDE`` px wide (1/4 px steps for a 100-px face, instead of 1 px = 0.01 IOD)."""
        import cv2
        x, y, w, h = box
        H, W = gray.shape
        x0, y0 = int(max(0, np.floor(x - 0.5 * w))), int(max(0, np.floor(y - 0.5 * h)))
        x1, y1 = int(min(W, np.ceil(x + 1.5 * w))), int(min(H, np.ceil(y + 1.5 * h)))
        s = max(1.0, PREDICT_SIDE / w)
        crop = gray[y0:y1, x0:x1]
        if s > 1.0:
            crop = cv2.resize(crop, (int(round((x1 - x0) * s)), int(round((y1 - y0) * s))),
                              interpolation=cv2.INTER_CUBIC)
        sx, sy = crop.shape[1] / (x1 - x0), crop.shape[0] / (y1 - y0)
        rect = self.dlib.rectangle(int(round((x - x0) * sx)), int(round((y - y0) * sy)),
                                   int(round((x + w - x0) * sx)), int(round((y + h - y0) * sy)))
        shape = self.predictor(np.ascontiguousarray(crop), rect)
        parts = np.array([(p.x, p.y) for p in shape.parts()], np.float64)
        # dlib's pixel centres are at integer coordinates; ours at i + 0.5 (a resize maps centre to centre)
        return ((parts + 0.5) / [sx, sy] + [x0, y0]).astype(np.float32)

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        """(68, 2) points of the followed face in this frame (pixel centres at i + 0.5), or None."""
        gray = np.ascontiguousarray((rgb.astype(np.float32) @ [0.299, 0.587, 0.114]).round().astype(np.uint8))
        box = self._pick(self._detect(gray, 0)) or self._pick(self._detect(gray, 1))
        if box is None and self.prev is not None:
            box = self._pick(self._detect_crop(gray))
        if box is None:
            return None
        pts = self._predict(gray, box)
        x, y, w, h = box
        self.prev = (x + w / 2, y + h / 2, w)
        return pts


def run_clip(clip: Path, oracle: Dlib68 | None = None) -> OracleTrack:
    oracle = oracle or Dlib68()
    oracle.reset()
    points, found, frames = [], [], []
    with open_footage(str(clip)) as footage:
        size = (int(footage.width), int(footage.height))
        for frame in footage:
            p = oracle(frame.image)
            frames.append(frame.index)
            found.append(p is not None)
            points.append(np.full((68, 2), np.nan, np.float32) if p is None else p)
    return OracleTrack(np.stack(points), np.array(found), np.array(frames, np.int64), size)


def load(clip: Path, cache: Path = CACHE, refresh: bool = False) -> OracleTrack:
    """The clip's dlib track, from the cache when the clip is unchanged, else computed (and cached)."""
    clip = Path(clip)
    path = cache_path(clip, cache)
    if path.is_file() and not refresh:
        d = np.load(path)
        return OracleTrack(d["points"], d["found"], d["frames"], tuple(int(x) for x in d["image_size"]))
    track = run_clip(clip)
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob(f"dlib68_*_{clip.stem}_*.npz"):
        old.unlink()
    np.savez_compressed(path, points=track.points, found=track.found, frames=track.frames,
                        image_size=np.array(track.image_size))
    return track


def main(argv=None) -> int:
    from shared_clips import FOOTAGE, clip_paths  # noqa: E402  (same folder)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clips", nargs="*")
    ap.add_argument("--footage", default=str(FOOTAGE))
    ap.add_argument("--refresh", action="store_true", help="recompute even when cached")
    a = ap.parse_args(argv)
    footage = Path(a.footage)
    clips = clip_paths(a.clips, footage)
    if not clips:
        print(f"no clips found in {footage}; nothing to do", file=sys.stderr)
        return 0
    for c in clips:
        t = time.perf_counter()
        tr = load(c, refresh=a.refresh)
        print(f"{c.name}: {int(tr.found.sum())}/{len(tr.found)} frames with a face "
              f"({time.perf_counter() - t:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
