"""The frames on which the picture's edge cuts the face's mouth, eyes or brows (a face held so close to the camera that
its lips leave the frame, or one half out of the shot): the landmark model places their points beyond the edge by its
own guess, and the head follows that guess there, so the bake names those frames in a warning.

Why a warning and not another reading: the guess is better than none (the mouth read far worse with no weight on the
points outside the frame), and the depth network, whose crop then reaches past the frame too, reads no better there
(docs/MEASUREMENTS.md, "Found, not mended: a face so close that the frame cuts its chin"). The chin and the face's
outline are not named: the frame cuts the chin of ordinary close-ups (the expressions clip as shot, on 69 of its 354
frames), and the mouth's shapes come from the lips. numpy only.
"""
from __future__ import annotations

import numpy as np

from core import landmark_template as lt

from .filter import runs, stretch_lines

CUT_SHARE = 0.25     # a part counts as cut on a frame where at least this share of its landmarks lies outside the frame
#                      (a lip corner grazing the edge is not named: the talking clip zoomed twice puts at most a tenth
#                      of its lips' points past it on 64 of its 78 frames, the expressions clip zoomed 1.5 times a
#                      quarter or more on 121 of its 354)
PARTS = (("mouth", lt.LIPS), ("eyes", lt.RIGHT_EYE + lt.LEFT_EYE), ("brows", lt.RIGHT_BROW + lt.LEFT_BROW))


def outside(points: np.ndarray, image_size: tuple) -> np.ndarray:
    """(...) bool: which of ``points`` (..., >=2) frame pixels lie outside the frame of (width, height) (NaN: none)."""
    w, h = (float(v) for v in image_size[:2])
    p = np.asarray(points, np.float64)
    return (p[..., 0] < 0) | (p[..., 0] > w) | (p[..., 1] < 0) | (p[..., 1] > h)        # NaN compares False


def cut_parts(landmarks: np.ndarray, image_size: tuple) -> np.ndarray:
    """(T, len(PARTS)) bool: on which frames each of ``PARTS`` is cut (``CUT_SHARE`` of its points outside the frame),
    from the tracker's landmarks (T, 478, >=2) frame pixels (NaN where no face was read: never cut) and the frame's
    (width, height)."""
    marks = np.asarray(landmarks, np.float64)
    return np.stack([outside(marks[:, list(points)], image_size).mean(1) >= CUT_SHARE for _, points in PARTS], 1)


def cut_warnings(landmarks: np.ndarray, image_size: tuple, frames: np.ndarray, most: int = 3) -> list[str]:
    """The bake's warning lines for the frames ``cut_parts`` finds (``frames`` the footage frame of each): one per
    stretch of them naming the parts cut there, or, past ``most`` stretches, one for them all."""
    cut = cut_parts(landmarks, image_size)
    stretches = runs(cut.any(1))

    def what(a: int, b: int) -> str:
        named = [name for k, (name, _) in enumerate(PARTS) if cut[a:b, k].any()]
        parts = " and ".join([", ".join(named[:-1]), named[-1]] if len(named) > 1 else named)
        return (f": the picture's edge cuts the face's {parts}: the landmark model guesses the points beyond it and "
                "the head follows that guess (frame the whole face; check the overlay)")
    return stretch_lines(stretches, frames, what, most)
