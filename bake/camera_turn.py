"""The exported camera's turn: a handheld or panning camera's motion read off the background, on the camera.

core.background gives each frame the camera's view: its turn (pan, tilt and roll) from the first frame it read,
off the background's corners. The baked head's pose is against the camera of its own frame, so the head seen through
the turning camera sits on the footage; in the world the camera takes its own motion and the head keeps the head's (a
retargeted character's head no longer shakes with the camera; the CSV's head turn is the world's too). The pose filter
smooths the head in the world, the camera's turn taken off its pose and off what the landmarks and the dense points
show in the image (bake.pipeline), and the camera's turn is put back on the filtered pose: a handheld camera's shake
is no noise to smooth, and the head follows it on the footage.

The camera stays still (None) unless the background is read on most frames (``MIN_READ``: a green screen, a blank
wall or a close-up is not) and its view leaves a cone of ``MIN_DEGREES`` somewhere in the clip: a camera on a tripod
reads only noise. Frames unread in between keep the view of the nearest frame read before them (after, at the start).
"""
from __future__ import annotations

import cv2
import numpy as np

MIN_READ = 0.8          # share of the clip's frames the background must give a view for
MIN_DEGREES = 0.5       # the view must leave this cone about the first one on some frame
HINT_DEGREES = 1.0      # a still camera's bake whose background rolls through this much says the camera could turn


def _matrices(views: np.ndarray) -> np.ndarray:
    return np.stack([cv2.Rodrigues(np.asarray(v, np.float64).reshape(3, 1))[0] for v in views]) if len(views) \
        else np.zeros((0, 3, 3))


def camera_rotations(views: np.ndarray) -> np.ndarray | None:
    """(T, 3, 3) per slot: the camera of that slot -> the camera of its first view (OpenCV axes), from ``views``
    (T, 3) (core.background.BackgroundTurn.view per slot in time order: rotation vectors, NaN where unread); None
    where the camera is taken as still (module docstring)."""
    views = np.asarray(views, np.float64).reshape(-1, 3)
    read = np.isfinite(views).all(1)
    if not len(views) or read.mean() < MIN_READ:
        return None
    idx = np.nonzero(read)[0]
    held = idx[np.clip(np.searchsorted(idx, np.arange(len(views)), side="right") - 1, 0, None)]
    out = _matrices(views[held])
    return out if turned_degrees(out) >= MIN_DEGREES else None


def camera_still_warning(views: np.ndarray) -> str:
    """Why ``camera_rotations`` keeps the camera of ``views`` still, for the artist who asked it to turn."""
    views = np.asarray(views, np.float64).reshape(-1, 3)
    read = np.isfinite(views).all(1)
    if not len(views) or read.mean() < MIN_READ:
        return (f"camera turn: the background was read on {100 * read.mean() if len(views) else 0:.0f} % of the "
                f"frames (a green screen, a blank wall or a close-up; {100 * MIN_READ:.0f} % needed): the camera "
                "stays still")
    return (f"camera turn: the background shows the camera turning at most "
            f"{turned_degrees(_matrices(views[read])):.2f} degrees (under {MIN_DEGREES}): the camera stays still")


def turn_hint(background_turns: np.ndarray) -> str | None:
    """For a bake that keeps the camera still: where its background (``background_turns``, core.background's roll
    from frame to frame, NaN where unread) is read on most frames and rolls through ``HINT_DEGREES`` or more, a hint
    that the camera could take its turn; else None. (The press clip's still camera rolls through 0.12 degrees, its
    handheld and twisted copies 4.0 and 6.0; docs/MEASUREMENTS.md, "The camera's turn".)"""
    rolled = rolled_degrees(background_turns)
    if rolled is None or rolled < HINT_DEGREES:
        return None
    return (f"the background shows the camera rolling through {rolled:.1f} degrees: --camera-turn background (the "
            "panel's Camera: Background) puts the camera's turn on the exported camera instead of the head")


def rolled_degrees(background_turns: np.ndarray) -> float | None:
    """The range in degrees of the roll that core.background's turns from frame to frame (NaN where unread) add up to;
    None where they are read on fewer than ``MIN_READ`` of the frames."""
    turns = np.asarray(background_turns, np.float64)
    if not len(turns) or np.isfinite(turns).mean() < MIN_READ:
        return None
    return float(np.degrees(np.ptp(np.cumsum(np.nan_to_num(turns)))))


def joined_views(before: dict, lead: tuple, views) -> np.ndarray:
    """(T, 3) ``views`` (a chunk's, against its own reader's first view; bake.chunked) carried onto the views
    ``before`` it ({footage frame: view} of the chunks before, in frame order): through the latest frame of the
    chunk's ``lead`` ((frame, view) its reader read before the chunk's own frames: its warm-up) that the chunks before
    read too, the same camera seen both ways. Without one, the chunk's first view is taken to look where the last one
    before it does (the turn between them lost)."""
    def ok(v) -> bool:
        return v is not None and bool(np.isfinite(v).all())
    views = np.asarray(views, np.float64).reshape(-1, 3)
    shared = [(f, v) for f, v in lead if ok(v) and ok(before.get(f))]
    first = np.nonzero(np.isfinite(views).all(1))[0]
    prior = [v for v in before.values() if ok(v)]
    if shared:
        base = _matrices([before[shared[-1][0]]])[0] @ _matrices([shared[-1][1]])[0].T
    elif prior and len(first):
        base = _matrices([prior[-1]])[0] @ _matrices([views[first[0]]])[0].T
    else:
        return views
    out = np.full_like(views, np.nan)
    read = np.isfinite(views).all(1)
    out[read] = [cv2.Rodrigues(base @ m)[0].ravel() for m in _matrices(views[read])]
    return out


def turn_degrees(rotations: np.ndarray) -> np.ndarray:
    """(...) how far each of ``rotations`` (..., 3, 3) turns from the identity, in degrees."""
    cos = (np.trace(np.asarray(rotations, np.float64), axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def turned_degrees(rotations: np.ndarray) -> float:
    """The furthest (T, 3, 3) ``rotations`` turn from the identity, in degrees."""
    return float(turn_degrees(rotations).max())


def world_rotation(tracks) -> np.ndarray:
    """(T, 3, 3) the head frame -> the first view's camera (the world's axes) of a bake.types.SceneTracks: its head
    rotation against its own frame's camera, turned with that camera (the head rotation itself where the camera is
    still)."""
    R = np.asarray(tracks.head_rotation, np.float64)
    cam = getattr(tracks, "camera_rotation", None)
    return R if cam is None else np.asarray(cam, np.float64) @ R
