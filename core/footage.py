"""Footage reader: video files, image folders and single images as a stream of ``core.types.Frame``.

    with open_footage("clip.mp4", start=10, end=200, stride=2) as footage:
        print(footage.fps, footage.width, footage.height)
        for frame in footage:          # Frame(index, time, image RGB uint8), one at a time
            ...
        for line in footage.report():  # what was odd about the input
            print(line)

* Frames are decoded one at a time (memory does not grow with the clip length); iterating again re-opens the source.
* ``start``/``end``/``stride`` select source frame numbers like ``range(start, end, stride)`` (``end`` exclusive,
  ``None`` = to the end). ``Frame.index`` is the source frame number, ``Frame.time`` its time in seconds (the
  container's timestamp for videos, so variable frame rates come out right; ``index / fps`` for images).
* Odd inputs are handled and described in ``report()``: containers that report more frames than decode (the stream
  ends early; what decoded is kept), variable frame rate, rotation metadata (frames come out upright; ``width`` and
  ``height`` are after rotation), vertical video, very large frames (tracking downscales for detection).
* Errors are ``core.errors.FootageError`` naming the path and the problem.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Iterator

# OpenCV reads OpenEXR only when this is set before the first EXR is decoded.
os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from .errors import FootageError  # noqa: E402
from .exposure import to_srgb  # noqa: E402
from .types import Frame  # noqa: E402

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".exr")
DEFAULT_IMAGE_FPS = 25.0
LARGE_SIDE = 2160  # frames with a side at least this long are reported (4K); the tracker detects on a downscale


def natural_key(name: str) -> list:
    """Sort key that orders embedded numbers by value: ``img2 < img10``; case-insensitive otherwise."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part.lower())
            for part in re.split(r"(\d+)", name) if part]


def list_images(folder: Path) -> list[Path]:
    """Image files of a folder (not recursive), sorted naturally by name."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
             and not p.name.startswith(".")]
    return sorted(files, key=lambda p: natural_key(p.name))


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """Any image OpenCV decodes (BGR/BGRA/gray, 8/16-bit or float) as (H, W, 3) uint8 RGB.

    Float images (EXR) are taken as linear light in [0, 1], clipped and given the sRGB curve.
    """
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.shape[2] == 1:
        image = cv2.cvtColor(image[..., 0], cv2.COLOR_GRAY2BGR)
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype.kind == "f":
        image = np.round(to_srgb(np.nan_to_num(image.astype(np.float32))) * 255).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise FootageError(f"unsupported pixel type {image.dtype}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise FootageError(f"{path}: cannot decode this image (corrupt file or a format this OpenCV build lacks)")
    return to_rgb8(image)


class Footage:
    """An opened clip; use through ``open_footage``. Iterate for frames, ``report()`` for warnings."""

    def __init__(self, source: Path, kind: str, start: int, end: int | None, stride: int, fps: float | None):
        self.source = str(source)
        self.kind = kind  # "video" | "folder" | "image"
        self.start, self.end, self.stride = start, end, stride
        self._path = source
        self._warnings: list[str] = []
        self._cap: cv2.VideoCapture | None = None
        self._primed: tuple[cv2.VideoCapture, np.ndarray] | None = None   # the probe's capture and first frame
        self._images: list[Path] = []
        self.frame_count_decoded: int | None = None  # frames the last full pass decoded (videos)
        self.rotation = 0
        if kind == "video":
            self._probe_video(fps)
        else:
            self._images = list_images(source) if kind == "folder" else [source]
            if not self._images:
                raise FootageError(f"{source}: folder contains no images ({', '.join(IMAGE_EXTENSIONS)})")
            self.fps = float(fps) if fps else DEFAULT_IMAGE_FPS
            self.frame_count_reported = len(self._images)
            first = _read_image(self._images[min(start, len(self._images) - 1)])
            self.height, self.width = first.shape[:2]
        if start >= self.frame_count_reported and not (kind == "video" and self.frame_count_reported <= 0):
            self._release()
            raise FootageError(f"{source}: start frame {start} is beyond the last frame "
                               f"({self.frame_count_reported} frames)")
        self._describe_shape()

    # ----------------------------------------------------------------------------------------------- probing
    def _open_capture(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(str(self._path))
        if not cap.isOpened():
            raise FootageError(f"{self._path}: cannot open as video (not a video file, or a codec OpenCV lacks)")
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)  # frames come out upright
        return cap

    def _probe_video(self, fps: float | None) -> None:
        """Size, frame count, rotation and rate from the first frame; the capture stays open with that frame for the
        first pass (some files take a third of a second to open and decode their first frame)."""
        cap = self._open_capture()
        try:
            ok, bgr = cap.read()
            if not ok or bgr is None:
                raise FootageError(f"{self._path}: video has no decodable frames")
            self.height, self.width = bgr.shape[:2]
            self.frame_count_reported = int(max(0, cap.get(cv2.CAP_PROP_FRAME_COUNT)))
            self.rotation = int(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
            container_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        except BaseException:
            cap.release()
            raise
        self._primed = cap, bgr
        if fps:
            self.fps = float(fps)
        elif container_fps > 0 and np.isfinite(container_fps):
            self.fps = container_fps
        else:
            self.fps = DEFAULT_IMAGE_FPS
            self._warn(f"container reports no frame rate; assuming {DEFAULT_IMAGE_FPS:g} fps")
        if self.rotation:
            self._warn(f"rotation metadata {self.rotation} deg applied; frames are {self.width}x{self.height}")

    def _describe_shape(self) -> None:
        if self.height > self.width:
            self._warn(f"vertical footage ({self.width}x{self.height})")
        if max(self.width, self.height) >= LARGE_SIDE:
            self._warn(f"large frames ({self.width}x{self.height}); face detection runs on a downscaled copy")

    def _warn(self, message: str) -> None:
        if message not in self._warnings:
            self._warnings.append(message)
            log.warning("%s: %s", self.source, message)

    def report(self) -> list[str]:
        """Warnings collected so far (probe + frames iterated), one human-readable line each."""
        return list(self._warnings)

    # --------------------------------------------------------------------------------------------- iteration
    def _wanted(self, index: int) -> bool:
        return index >= self.start and (index - self.start) % self.stride == 0

    def __iter__(self) -> Iterator[Frame]:
        return self._iter_video() if self.kind == "video" else self._iter_images()

    def _iter_images(self) -> Iterator[Frame]:
        stop = len(self._images) if self.end is None else min(self.end, len(self._images))
        for index in range(self.start, stop, self.stride):
            path = self._images[index]
            try:
                image = _read_image(path)
            except FootageError as exc:
                self._warn(f"skipped frame {index}: {exc}")
                continue
            if image.shape[:2] != (self.height, self.width):
                raise FootageError(f"{path}: image is {image.shape[1]}x{image.shape[0]} but the sequence is "
                                   f"{self.width}x{self.height}; all images of a sequence must share one size")
            yield Frame(index, index / self.fps, image)

    def _iter_video(self) -> Iterator[Frame]:
        primed, self._primed = self._primed, None
        self._release()
        cap, ready = primed or (self._open_capture(), None)     # ready: the probe's first frame, already decoded
        self._cap = cap
        index = -1
        times = []
        try:
            while self.end is None or index + 1 < self.end:
                if ready is None and not cap.grab():  # grab only: frames outside the selection are not converted
                    break
                bgr, ready = ready, None
                index += 1
                t_ms = cap.get(cv2.CAP_PROP_POS_MSEC)
                t = t_ms / 1000.0 if t_ms is not None and t_ms >= 0 and (index == 0 or t_ms > 0) else index / self.fps
                times.append(t)
                if not self._wanted(index):
                    continue
                ok, bgr = (True, bgr) if bgr is not None else cap.retrieve()
                if not ok or bgr is None:
                    self._warn(f"frame {index} could not be decoded; skipped")
                    continue
                yield Frame(index, t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            else:
                return  # stopped at `end`: no statement about the tail
            decoded = index + 1
            self.frame_count_decoded = decoded
            if decoded < self.frame_count_reported:
                self._warn(f"container reports {self.frame_count_reported} frames but only {decoded} decoded "
                           f"(frames {decoded}..{self.frame_count_reported - 1} are missing or broken)")
            if decoded <= self.start:
                self._warn(f"start frame {self.start} is beyond the {decoded} decodable frames; nothing read")
        finally:
            self._check_frame_rate(times)
            self._release()

    def _check_frame_rate(self, times: list[float]) -> None:
        if len(times) < 3:
            return
        dt = np.diff(np.asarray(times))
        nominal = 1.0 / self.fps
        if np.any(dt <= 0) or np.max(np.abs(dt - nominal)) > 0.25 * nominal:
            self._warn(f"variable frame rate: frame intervals {1000 * dt.min():.1f}..{1000 * dt.max():.1f} ms "
                       f"(nominal {1000 * nominal:.1f} ms); Frame.time holds the true timestamps")

    # ------------------------------------------------------------------------------------------------ closing
    def _release(self) -> None:
        if self._primed is not None:
            self._primed[0].release()
            self._primed = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def close(self) -> None:
        self._release()

    def __enter__(self) -> "Footage":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Footage({self.source!r}, {self.kind}, {self.width}x{self.height}, {self.fps:g} fps, "
                f"{self.frame_count_reported} frames reported)")


def open_footage(source: str | Path, start: int = 0, end: int | None = None, stride: int = 1,
                 fps: float | None = None) -> Footage:
    """Open a video file, an image folder (natural order) or a single image; see the module docstring.

    ``fps`` overrides the frame rate (images default to 25). Raises ``FootageError`` for a missing path, an
    unsupported extension, an unreadable or empty video, a folder without images, or a bad range.
    """
    path = Path(source).expanduser()
    if int(start) != start or start < 0:
        raise FootageError(f"{path}: start frame must be an integer >= 0, got {start!r}")
    if int(stride) != stride or stride < 1:
        raise FootageError(f"{path}: stride must be an integer >= 1, got {stride!r}")
    if end is not None and (int(end) != end or end <= start):
        raise FootageError(f"{path}: bad frame range: start {start} is not before end {end} (end is exclusive)")
    if fps is not None and not (np.isfinite(fps) and fps > 0):
        raise FootageError(f"{path}: fps must be a positive number, got {fps!r}")
    if not path.exists():
        raise FootageError(f"{path}: no such file or folder")
    if path.is_dir():
        kind = "folder"
    else:
        suffix = path.suffix.lower()
        if suffix in VIDEO_EXTENSIONS:
            kind = "video"
        elif suffix in IMAGE_EXTENSIONS:
            kind = "image"
        else:
            raise FootageError(f"{path}: unsupported file type {suffix or '(no extension)'!r}; expected a video "
                               f"({', '.join(VIDEO_EXTENSIONS)}), an image ({', '.join(IMAGE_EXTENSIONS)}) or a folder")
        if path.stat().st_size == 0:
            raise FootageError(f"{path}: file is empty")
    return Footage(path, kind, int(start), None if end is None else int(end), int(stride), fps)
