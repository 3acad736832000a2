"""How closely the baked head follows the face: its landmarks against the tracker's, frame by frame.

The figure an artist or a batch job reads after a bake ("landmark fit" on the command line, in the panel and in the
batch manifest): on each tracked frame, the median image distance between MediaPipe's landmarks and the same skin
points of the head as baked (``core.landmark_template``: its shape keys at the exported weights, posed and projected
through the baked camera), over the lips, eyes, brows and nose (``FIT_LANDMARKS``: fixed skin points; the face
oval slides over a turned cheek and the iris centres turn with the look), as a share of that frame's eye distance
(MediaPipe's, between the eyes' contour centres), so it means the same at any resolution or face size.

It is not an error against the truth: MediaPipe's landmarks are the bake's own input, and they err too (on the
shared real clips 0.028-0.050 of the eye distance from an independent detector's at its points). It tells where the
head left the face: a frame the pose filter smoothed past, a bridged gap, a solve that lost the mouth. The frames
well off the clip's usual fit (``POOR_FIT``) are named in a warning. docs/MEASUREMENTS.md, "The landmark fit".
"""
from __future__ import annotations

import numpy as np

from core import landmark_template as lt

from .filter import runs
from .fusion import MIN_PRESENCE      # frames whose face presence (MediaPipe's score) is under it are not scored
from .types import SceneTracks

FIT_LANDMARKS = np.array(sorted(set(lt.LIPS + lt.RIGHT_EYE + lt.LEFT_EYE + lt.RIGHT_BROW + lt.LEFT_BROW + lt.NOSE)))
POOR_FIT = 0.1          # a frame whose fit is worse than this share of the eye distance (about 6 mm on an adult) is
                        # named in a warning: the shared real clips' bakes stay under 0.06 on every frame
NAMED_STRETCHES = 5     # at most this many stretches of such frames are named


def landmark_points(tracks: SceneTracks, template: lt.LandmarkTemplate, index: np.ndarray) -> np.ndarray:
    """(T, L, 3) camera-space mm of landmarks ``index`` on the head as baked (every shape key at its weight)."""
    def at(v):                          # the landmarks of index on the baked topology's shapes v (..., V, 3)
        return template.points(np.asarray(v, np.float64), tracks)[..., index, :]
    shapes = at(tracks.basis) + np.einsum("tn,nlc->tlc", tracks.weights.astype(np.float64), at(tracks.key_deltas))
    return np.einsum("tij,tlj->tli", tracks.head_rotation, shapes) + tracks.head_translation[:, None]


def eyes_apart(marks: np.ndarray) -> np.ndarray:
    """(T,) the distance between the eyes' contour centres (``lt.RIGHT_EYE``, ``lt.LEFT_EYE``; 16-point means) of
    landmarks (T, 478, 2): the fit's unit, within 2 % of the corners' midpoints' distance bake.head_size reads."""
    return np.linalg.norm(marks[:, list(lt.LEFT_EYE)].mean(1) - marks[:, list(lt.RIGHT_EYE)].mean(1), axis=-1)


def landmark_fit(tracks: SceneTracks, marks: np.ndarray, presence: np.ndarray,
                 template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """(T,) each frame's fit: the median distance of ``FIT_LANDMARKS`` on the baked head (projected by
    ``tracks.K``) from the tracker's ``marks`` (T, 478, 2 pixels), over that frame's eye distance; NaN where the
    frame was bridged, its face's ``presence`` (T,) is under MIN_PRESENCE or its landmarks are missing."""
    template = template or lt.load()
    cam = landmark_points(tracks, template, FIT_LANDMARKS)
    z = np.where(cam[..., 2] > 1e-6, cam[..., 2], np.nan)
    K = tracks.K
    pix = np.stack([K[0, 0] * cam[..., 0] / z + K[0, 2], K[1, 1] * cam[..., 1] / z + K[1, 2]], -1)
    seen = np.asarray(marks, np.float64)
    apart = eyes_apart(seen)
    off = np.linalg.norm(pix - seen[:, FIT_LANDMARKS], axis=-1)
    scored = np.asarray(tracks.tracked, bool) & (np.asarray(presence) >= MIN_PRESENCE) & (apart > 0)
    scored &= np.isfinite(off).all(1)
    fit = np.full(len(off), np.nan)
    fit[scored] = np.median(off[scored], axis=1) / apart[scored]
    return fit


def summary(fit: np.ndarray, frames: np.ndarray) -> tuple[float | None, int | None, float | None, tuple]:
    """The clip's median fit, its worst frame (the footage frame of ``frames``) and that frame's fit (None where no
    frame was scored), and the warning that names the stretches of frames whose fit is worse than POOR_FIT."""
    ok = np.isfinite(fit)
    if not ok.any():
        return None, None, None, ()
    worst = int(np.nanargmax(fit))
    stretches = runs(ok & (fit > POOR_FIT))
    warnings = ()
    if stretches:
        named = ", ".join(f"{frames[a]}" if b - a == 1 else f"{frames[a]}-{frames[b - 1]}"
                          for a, b in stretches[:NAMED_STRETCHES]) + (", ..." if len(stretches) > NAMED_STRETCHES
                                                                       else "")
        n = sum(b - a for a, b in stretches)
        warnings = (f"the head is more than {POOR_FIT:.0%} of the eye distance off the face's landmarks on {n} "
                    f"frame(s) ({named}): check them in the overlay",)
    return float(np.median(fit[ok])), int(frames[worst]), float(fit[worst]), warnings


def report(stats) -> dict | None:
    """The fit as the batch manifest keeps it (``stats``: bake.types.BakeStats): median and worst share of the eye
    distance, rounded, and the worst frame; None where it was not read."""
    if stats.landmark_fit is None:
        return None
    return {"median": round(stats.landmark_fit, 4), "worst": round(stats.worst_fit, 4),
            "worst_frame": stats.worst_fit_frame}


def fit_text(stats) -> str:
    """The fit as the command line says it: "2.2 % of the eye distance (worst 4.3 %, frame 16)" (the footage's frame;
    the panel names the scene's, one more)."""
    if stats.landmark_fit is None:
        return "not read (no landmarks, or the head kept still)"
    return (f"{100 * stats.landmark_fit:.1f} % of the eye distance (worst {100 * stats.worst_fit:.1f} %, frame "
            f"{stats.worst_fit_frame})")
