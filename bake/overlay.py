"""The fitted mesh drawn over footage frames, for a person to judge: a PNG strip and optionally an MP4."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.mesh_render import render_mesh

from .fit_report import POOR_FIT
from .tracks import posed_vertices
from .types import SceneTracks


def overlay_frame(tracks: SceneTracks, i: int, image: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """RGB frame with the fitted head of tracks frame index i (0-based) drawn semi-transparently; labelled where the
    frame was bridged, and where the head is further off the face's landmarks than bake.fit_report's POOR_FIT (the
    frames its warning names), so they stand out in the overlay video."""
    h, w = image.shape[:2]
    out = render_mesh(posed_vertices(tracks, i), tracks.faces, tracks.K, (h, w), background=image, alpha=alpha)
    if not tracks.tracked[i]:
        _label(out, "bridged", 0, (255, 80, 80))
    fit = None if tracks.landmark_fit is None else float(tracks.landmark_fit[i])
    if fit is not None and fit > POOR_FIT:              # NaN (not read) is not
        _label(out, f"{100 * fit:.0f}% of the eye distance off the landmarks", 1, (255, 160, 0))
    return out


def _label(image: np.ndarray, text: str, row: int, colour: tuple) -> None:
    """``text`` in ``colour`` on a dark box at the top left of ``image`` (RGB), on line ``row``, sized to the frame."""
    scale = max(0.5, image.shape[0] / 900.0)
    thick = max(1, round(2 * scale))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x, y = 10, 10 + row * (th + base + 12)
    cv2.rectangle(image, (x - 4, y), (x + tw + 4, y + th + base + 8), (0, 0, 0), -1)
    cv2.putText(image, text, (x, y + th + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)


def _frames(tracks: SceneTracks, wanted: set[int]):
    """(index into tracks, RGB image) for wanted source frame numbers, streamed from tracks.footage_path."""
    from core.footage import open_footage
    src = tracks.frames - 1
    pos = {int(f): k for k, f in enumerate(src)}
    with open_footage(tracks.footage_path, int(src.min()), int(src.max()) + 1) as footage:
        for frame in footage:
            if frame.index in wanted and frame.index in pos:
                yield pos[frame.index], frame.image


def write_overlays(tracks: SceneTracks, folder: str | Path, n_strip: int = 6, video: bool = False,
                   tile_height: int = 360, alpha: float = 0.5) -> list[Path]:
    """Write ``overlay_strip.png`` (n_strip evenly spaced frames side by side) and, with video=True,
    ``overlay.mp4`` (every baked frame). Needs tracks.footage_path. Returns the written paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not tracks.footage_path:
        return []
    src = tracks.frames - 1
    picks = set(int(src[k]) for k in np.linspace(0, len(src) - 1, min(n_strip, len(src))).astype(int))
    wanted = set(int(f) for f in src) if video else picks
    tiles, written, writer = [], [], None
    try:
        for k, image in _frames(tracks, wanted):
            img = overlay_frame(tracks, k, image, alpha)
            if video:
                if writer is None:
                    path = folder / "overlay.mp4"
                    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(tracks.fps),
                                             (img.shape[1], img.shape[0]))
                    written.append(path)
                writer.write(img[..., ::-1])
            if int(src[k]) in picks:
                s = tile_height / img.shape[0]
                tiles.append(cv2.resize(img, (int(round(img.shape[1] * s)), tile_height), interpolation=cv2.INTER_AREA))
    finally:
        if writer is not None:
            writer.release()
    if tiles:
        path = folder / "overlay_strip.png"
        if not cv2.imwrite(str(path), np.concatenate(tiles, 1)[..., ::-1]):
            raise OSError(f"cannot write {path}")
        written.append(path)
    return written


def write_video(tracks: SceneTracks, path: str | Path, alpha: float = 0.5) -> Path:
    """An MP4 (mp4v) of every baked frame with the fitted head drawn over the footage, at the clip's rate; written
    to a temporary name and renamed at the end. Needs tracks.footage_path."""
    import os
    p = Path(path).expanduser().resolve()
    if not tracks.footage_path:
        raise OSError("no footage to draw the fitted head over")
    tmp = p.with_name(f".{p.stem}.{os.getpid()}.partial.mp4")
    writer = None
    try:
        for k, image in _frames(tracks, set(int(f) for f in tracks.frames - 1)):
            img = overlay_frame(tracks, k, image, alpha)
            if writer is None:
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(tracks.fps),
                                         (img.shape[1], img.shape[0]))
                if not writer.isOpened():
                    raise OSError(f"OpenCV cannot write an MP4 at {p}")
            writer.write(np.ascontiguousarray(img[..., ::-1]))
        if writer is None:
            raise OSError(f"no footage frame decoded for {p}")
        writer.release()
        writer = None
        os.replace(tmp, p)
    finally:
        if writer is not None:
            writer.release()
        if tmp.exists():
            tmp.unlink()
    return p
