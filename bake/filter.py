"""Temporal filtering of the solved curves, and bridging of frames without a face.

One user-facing ``strength`` in [0, 1]: 0 leaves the curves untouched; otherwise a Gaussian of
``sigma = strength * MAX_SIGMA_S * fps`` frames (strength 1 = 0.1 s, 3 frames at 30 fps) runs over the ARKit / residual
weights, the translations and the rotations (as unit quaternions made sign-continuous, then re-normalised); the pose
also gets a heavier one where the head is still (below).
Filtering is confidence-weighted, so badly observed frames lean on their neighbours, and each frame takes the value of
the line fitted to its neighbours (``local_line``: least squares weighted by the Gaussian times the confidences), which
amid equally confident frames is the Gaussian's weighted mean (``G*(c x) / G*c``) and at the clip's ends, or beside
a stretch where the face was lost, where the neighbours lie on one side, does not pull a moving head back towards the
inside (the mean did: a face moving 2 px a frame across a 720p wide shot was placed 0.14 IOD off on the clip's first
and last frames; docs/MEASUREMENTS.md, "The clip's ends"). Frames held at the ends (no face there) hold the nearest
solved frame's filtered value.

The weights are filtered by speed too (``smooth_weights``): where a weight moves faster than ``WEIGHT_SPEED_REF`` per
second (a blink, a word's jaw), the Gaussian would cut its peak and blur its timing, so it keeps its solved value there;
slower stretches get the Gaussian (measured in docs/MEASUREMENTS.md: blinks reach their shut value, the held-out
synthetic expression error falls, the jitter rises a little and stays a fraction of the landmark detectors'). At a
quick peak the filtered curve stands still, so a blink's shapes read the gate's fastest within ``PEAK_REACH`` frames
either side (``peaks``): a blink of a frame or two shuts as far as solved.
Because a weight that leaps for a single frame moves fast too, the speed filter would keep it: a face 32-60 px wide,
solved frame by frame, gets such one-frame spikes of 0.3-1.0 on its jawForward, cheekPuff and lip shapes where
neither its landmarks nor MediaPipe's scores move. ``despike`` takes those back to their neighbours' range first
(bake.pipeline, on the solved weights of every shape but the eyes', which blink that fast): at 20 frames/s and more
nothing else on a face moves out and back within one frame. Nor does anything on a face, the eyes included, flip
out, back and out again from one frame to the next (``zigzag``), as such a face's solve does between two readings of
its mouth, and the speed gate took for fast motion: there the weight gets the Gaussian alone.

The head pose is filtered by speed (the idea of the One Euro filter): a light filter (the weights' sigma) and a heavy
one (``POSE_SIGMA_SCALE`` x that) are blended per frame by how fast the heavily filtered head moves compared with the
clip's pose noise (its median distance from that path): a still head gets the heavy filter, a turning one the light
filter, so slow drift loses its jitter without fast motion lagging. A frame whose solved pose lies far outside the
clip's pose noise from the heavy path (``POSE_KEEP``; a head shaken left-right within 2-3 frames, which both filters
would average away) keeps its solved pose. So does the head's turn where it alone lies that far from the light path
against its own noise (``keep_fast_turn``: a far face's depth noise swamps the whole pose's), and so does the face's
place in the image (``keep_image_shake``): where the face's middle as solved sits sideways further from the light path
than ``POSE_KEEP`` times that place's own noise (read against where the landmarks see the face, ``seen``, when given),
the filtered head is turned about the camera's centre until it sits there (a camera shaken or a face jerked sideways
8-20 px within 2-3 frames: less, in mm, than a far face's depth and turn noise, so the whole-pose test misses it, while
the landmarks place the face in the image within a pixel). Where the dense network's own reading of the face's place
in the image is there too (``dense_steps``), the place instead takes the landmarks' quick motion that the dense reading
shares (``follow_seen_place``: a handheld camera's shake, the head's own quick moves), which is real where two readings
with independent noise agree beyond what two noises agree by chance over the window (``quick_share``); its roll in
the image likewise takes the landmarks' eye line's quick turns that the dense reading's turns share
(``follow_seen_roll``), and where the background is read, the camera's quick roll from its turns whole
(core.background). The roll is also kept where the landmarks' eye line leaves its own path
the same way (``keep_image_roll``: a camera rolled side to side; a jolt of the solve alone is not kept). The constants
were chosen by a one-off sweep on 13 held-out synthetic clips baked through the network; that sweep and the rerunnable
checks (benchmarks/bench_e2e.py, benchmarks/bench_real.py) are in docs/MEASUREMENTS.md.

Gaps (frames that were not solved): a gap of at most ``max_gap`` frames between two solved frames is bridged by
linear interpolation (weights, translations) and slerp (rotations); longer gaps, and gaps at the start or end of the
clip, hold the nearest solved value and are reported in ``warnings``. Every such frame has ``tracked = False``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from core.framing import CROP_ANCHOR
from .config import DEFAULT_SMOOTHING
from .numerics import gaussian_filter, matrix_from_quat, quat_from_matrix, quat_inverse, quat_multiply, quat_slerp, \
    rotation_angle, rotation_vector

MAX_SIGMA_S = 0.1
WEIGHT_SPEED_REF = 2.5   # weight units per second (the talking clip's blink shuts at 6-7: 0.11 -> 0.66 in two frames
                         # at 25 fps): at this speed of the filtered curve a weight keeps its solved value, below it
                         # leans on the Gaussian (5 and none measured too, docs/MEASUREMENTS.md)
POSE_SIGMA_SCALE = 3.0   # the heavy pose filter's sigma, in multiples of the weights' sigma
POSE_SPEED_REF = 1.5     # head speed (per frame) at which the light pose filter takes over, in multiples of the noise
HEAD_RADIUS_MM = 80.0    # a rotation moves skin by about this radius times the angle
POSE_KEEP = 4.0          # a frame further than this many times the clip's median pose noise from the heavy path is
                         # real motion and kept unfiltered (fully at twice that)
QUICK_WINDOW = 6.0       # frames: the Gaussian over which follow_seen_place compares the landmarks' quick moves with
                         # the dense network's
ROLL_KEEP = 2.5          # the same for the face's roll in the image where the landmarks' roll leaves its path alike
                         # (keep_image_roll: two noises must agree, so fewer of them are needed; 4 kept 0.48 of the
                         # press clip's 3-degree twist, docs/MEASUREMENTS.md)
SHARE_DOUBT = (1.0, 3.0)  # quick_share: the local correlation of the two readings' quick moves, in standard errors of
                         # a correlation of unrelated noise, below which nothing is shared and above which all is
                         # (docs/MEASUREMENTS.md, "A still face's share of noise")
SECOND_DIFF_OVERLAP = 35.0 / 18.0   # 1 + 2 (4/6)^2 + 2 (1/6)^2: how much the product of two series of second
                         # differences of white noise overlaps itself frame to frame (each lag's correlation squared)
PEAK_REACH = 1           # frames: a blink's shapes (smooth_weights' ``peaks``) keep their solved value where the
                         # filtered curve moves fast within this many frames either side; at the blink's peak it stands
                         # still, and a blink of one or two frames shut 0.6-0.8 of the way (docs/MEASUREMENTS.md, "A
                         # blink's peak kept")
SPIKE_MIN = 0.1          # despike: a weight this far outside both neighbours' range for one frame, with steady
SPIKE_STEADY = 0.25      # frames on either side (each side moving under this share of it), is taken back to it, and
SPIKE_FPS = 20.0         # zigzag: one as far out the other way next to it is noise; at this frame rate and more (a
                         # 32-60 px face's solve put one-frame spikes and flips of 0.3-1.0 on its jawForward,
                         # cheekPuff and lips, docs/MEASUREMENTS.md, "One-frame spikes and flips on a small face")


@dataclass(frozen=True, eq=False)
class Filtered:
    weights: np.ndarray        # (T, K)
    rotation: np.ndarray       # (T, 3, 3)
    translation: np.ndarray    # (T, 3)
    tracked: np.ndarray        # (T,) bool
    warnings: tuple


def frame_rate(fps: float) -> float:
    """The clip's frame rate, 30 where it is unknown (0 or missing)."""
    return float(fps if fps and fps > 0 else 30.0)


def sigma_frames(strength: float, fps: float) -> float:
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"smoothing strength must be in [0, 1], got {strength}")
    return float(strength) * MAX_SIGMA_S * frame_rate(fps)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of runs of True."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]))


def stretch_lines(stretches: list[tuple[int, int]], frames: np.ndarray, what: Callable[[int, int], str],
                  most: int = 3) -> list[str]:
    """A bake warning's lines for ``stretches`` ([start, end) positions, as ``runs`` gives them; ``frames`` the footage
    frame of each position): "frames A-B (N frames)" (or "frame A") and ``what(start, end)`` for each stretch, or,
    past ``most`` of them, one line "N frames in K stretches between frames A and B" and ``what`` over them all
    (``what`` begins with its own separator)."""
    if len(stretches) > most:
        n = sum(b - a for a, b in stretches)
        return [f"{n} frames in {len(stretches)} stretches between frames {frames[stretches[0][0]]} and "
                f"{frames[stretches[-1][1] - 1]}{what(stretches[0][0], stretches[-1][1])}"]
    return [(f"frame {frames[a]}" if b - a == 1 else f"frames {frames[a]}-{frames[b - 1]} ({b - a} frames)")
            + what(a, b) for a, b in stretches]


def bridge(weights: np.ndarray, rotation: np.ndarray, translation: np.ndarray, valid: np.ndarray,
           max_gap: int = 12, frames: np.ndarray | None = None):
    """Fill unsolved frames; returns (weights, rotation, translation, warnings)."""
    T = len(valid)
    W, R, t = weights.astype(np.float64).copy(), rotation.astype(np.float64).copy(), translation.astype(np.float64).copy()
    frames = np.arange(T) if frames is None else np.asarray(frames)
    if valid.all():
        return W, R, t, ()
    if not valid.any():
        raise ValueError("no solved frame to bridge from")
    idx = np.nonzero(valid)[0]
    warnings = []
    for a, b in runs(~valid):
        n = b - a
        if a > 0 and b < T and n <= max_gap:
            s = (np.arange(a, b) - (a - 1)) / (b - (a - 1))
            W[a:b] = (1 - s[:, None]) * W[a - 1] + s[:, None] * W[b]
            t[a:b] = (1 - s[:, None]) * t[a - 1] + s[:, None] * t[b]
            R[a:b] = matrix_from_quat(quat_slerp(*quat_from_matrix(R[[a - 1, b]]), s))
            continue
        src = a - 1 if a > 0 else b                       # hold the last solved value (the next one at the start)
        W[a:b], R[a:b], t[a:b] = W[src], R[src], t[src]
        where = "start" if a == 0 else "end" if b == T else "middle"
        warnings.append(f"no face in frames {frames[a]}-{frames[b - 1]} ({n} frames, at the {where} of the clip): "
                        f"the head holds its pose and expression there")
    del idx
    return W, R, t, tuple(warnings)


def smooth(x: np.ndarray, sigma: float, conf: np.ndarray | None = None) -> np.ndarray:
    """Confidence-weighted Gaussian smoothing along axis 0, as a local line: each frame's value is that of the line
    fitted to the frames around it by least squares weighted by a Gaussian of ``sigma`` frames times ``conf``
    (``local_line``). Amid equally confident frames that is the Gaussian's weighted mean; at the clip's ends, where
    the frames lie on one side, a mean pulls the curve towards the inside (a head moving steadily as the clip starts
    or ends lagged there by its motion over about 0.8 sigma frames), the line does not."""
    if sigma <= 0 or len(x) < 2:
        return x.copy()
    c = np.ones(len(x)) if conf is None else np.maximum(np.asarray(conf, np.float64), 1e-6)
    return local_line(x, sigma, c)


def local_line(x: np.ndarray, sigma: float, c: np.ndarray, truncate: float = 4.0) -> np.ndarray:
    """Per frame t of ``x`` (T, ...), a + b (s - t) fitted over the frames s within ``truncate * sigma`` by least
    squares weighted by exp(-(s - t)^2 / 2 sigma^2) c[s], evaluated at t (the value a); where the frames in reach
    cannot tell a slope (one frame, or all but one weighing nothing) the weighted mean."""
    x = np.asarray(x, np.float64)
    T = len(x)
    radius = int(truncate * float(sigma) + 0.5)
    if radius == 0:
        return x.copy()
    k = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (k / float(sigma)) ** 2)
    window = np.lib.stride_tricks.sliding_window_view        # frame t's window: frames t - radius .. t + radius
    s0, s1, s2 = (window(np.pad(c, radius), 2 * radius + 1) @ np.stack([g, g * k, g * k * k], 1)).T
    cx = np.pad(x.reshape(T, -1) * c[:, None], [(radius, radius), (0, 0)])
    xs = window(cx, 2 * radius + 1, axis=0)                                   # (T, columns, window)
    t0, t1 = xs @ g, xs @ (g * k)
    det = s0 * s2 - s1 * s1
    slope = det > 1e-9 * s0 * s2
    a = np.where(slope[:, None], (s2[:, None] * t0 - s1[:, None] * t1) / np.where(slope, det, 1.0)[:, None],
                 t0 / s0[:, None])
    return a.reshape(x.shape)


def smooth_rotations(R: np.ndarray, sigma: float, conf: np.ndarray | None = None) -> np.ndarray:
    if sigma <= 0 or len(R) < 2:
        return R.copy()
    q = quat_from_matrix(R)
    flip = np.cumprod(np.where((q[1:] * q[:-1]).sum(1) < 0, -1.0, 1.0))   # make the sign continuous
    q[1:] *= flip[:, None]
    q = smooth(q, sigma, conf)
    return matrix_from_quat(q)


def temporal_filter(weights: np.ndarray, rotation: np.ndarray, translation: np.ndarray, valid: np.ndarray,
                    fps: float, strength: float = DEFAULT_SMOOTHING, max_gap: int = 12, confidence: np.ndarray | None = None,
                    frames: np.ndarray | None = None, n_bounded: int | None = None, pose: bool = True,
                    seen: np.ndarray | None = None, seen_roll: np.ndarray | None = None,
                    dense_steps: np.ndarray | None = None, background_turns: np.ndarray | None = None,
                    peaks: np.ndarray | None = None, shots: tuple = ()) -> Filtered:
    """Bridge gaps then smooth; with ``shots`` (the frames, as positions, where a camera cut begins a new shot:
    ``shot_spans``) each shot on its own, so a cut stays a cut. ``n_bounded`` leading weight columns (the ARKit ones)
    are clipped to [0, 1]. ``seen`` (T, 2), optional: where the landmarks see the face each frame (x / z, y / z; NaN
    where none), for ``keep_image_shake``; ``seen_roll`` (T,), optional: the angle of a line the landmarks see
    across the face (radians, image x right and y down; NaN where none), for ``keep_image_roll``; ``dense_steps``
    (T, 3), optional: how far the dense observations moved and turned in the image since the frame before
    (bake.observations.image_steps), for ``follow_seen_place`` (which with ``seen`` takes the place of
    ``keep_image_shake``) and ``follow_seen_roll``; ``background_turns`` (T,), optional: how the background turned
    since the frame before (core.background; NaN where unread), the camera's roll for ``follow_seen_roll``.
    ``pose=False``: the weights alone are smoothed, the pose comes back bridged only (for weights whose pose is
    filtered elsewhere: bake.pipeline's corrective difference). ``peaks`` (K,) bool, optional: the columns whose peaks
    the speed gate keeps (``smooth_weights``; the blink's)."""
    valid = np.asarray(valid, bool)
    spans = shot_spans(valid, shots)
    if len(spans) > 1:
        per_frame = dict(weights=weights, rotation=rotation, translation=translation, valid=valid,
                         confidence=confidence, frames=frames, seen=seen, seen_roll=seen_roll, dense_steps=dense_steps,
                         background_turns=background_turns)
        parts = [temporal_filter(fps=fps, strength=strength, max_gap=max_gap, n_bounded=n_bounded, pose=pose,
                                 peaks=peaks, **{k: None if v is None else np.asarray(v)[span]
                                                 for k, v in per_frame.items()}) for span in spans]
        return Filtered(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("weights", "rotation",
                                                                                  "translation", "tracked")),
                        sum((p.warnings for p in parts), ()))
    sigma = sigma_frames(strength, fps)
    W, R, t, warnings = bridge(weights, rotation, translation, valid, max_gap, frames)
    conf = None
    if confidence is not None:
        conf = np.where(valid, np.asarray(confidence, np.float64), 0.0)
        conf = np.where(valid, conf / (np.median(conf[valid]) + 1e-12), 0.05)   # bridged frames barely count
    W = smooth_weights(W, sigma, fps, conf, peaks)
    if pose:
        R, t = smooth_pose(R, t, sigma, conf, valid, seen, seen_roll, dense_steps, background_turns)
    solved = np.nonzero(valid)[0]       # the frames held at the clip's ends hold the nearest solved frame's, filtered
    for x in (W, R, t):                 # (the line through the solved frames would go on past them)
        x[:solved[0]], x[solved[-1] + 1:] = x[solved[0]], x[solved[-1]]
    nb = W.shape[1] if n_bounded is None else n_bounded
    W[:, :nb] = np.clip(W[:, :nb], 0.0, 1.0)
    return Filtered(W.astype(np.float32), R, t, valid.copy(), warnings)


def shot_spans(valid: np.ndarray, shots=()) -> list[slice]:
    """The clip's shots as slices of its ``valid`` (T,) frames: from each of ``shots`` (positions where a camera cut
    begins one; core.track's ``cuts``) to the next. A shot without a solved frame joins the one after it (at the
    clip's end, the one before): each shot's filter bridges from its own frames."""
    valid = np.asarray(valid, bool)
    starts = [0]
    for s in sorted(int(k) for k in shots):
        if starts[-1] < s < len(valid) and valid[starts[-1]:s].any() and valid[s:].any():
            starts.append(s)
    return [slice(a, b) for a, b in zip(starts, starts[1:] + [len(valid)])]


def outside(W: np.ndarray) -> np.ndarray:
    """(T, K): how far each frame's weight lies outside the range of its two neighbours' (signed; 0 within it and at
    the clip's first and last frames)."""
    W = np.asarray(W, np.float64)
    out = np.zeros_like(W)
    out[1:-1] = W[1:-1] - np.clip(W[1:-1], np.minimum(W[:-2], W[2:]), np.maximum(W[:-2], W[2:]))
    return out


def despike(W: np.ndarray, valid: np.ndarray, fps: float, columns: np.ndarray) -> np.ndarray:
    """(T, K) weights with each one-frame spike of the ``columns`` (a bool mask over K) taken out: where a solved
    frame's weight lies more than ``SPIKE_MIN`` outside the range of its two neighbours' (``outside``) and the frames
    beside them are steady (each side moves under ``SPIKE_STEADY`` times as much), it is brought back to that range.
    Only at ``SPIKE_FPS`` frames/s and more, where no face but a blinking eye's moves out and back within a frame;
    the caller leaves the eyes out."""
    W = np.array(W, np.float64)
    if frame_rate(fps) < SPIKE_FPS or len(W) < 5:
        return W
    out = outside(W)[2:-2]
    a, b, d, e = W[:-4], W[1:-3], W[3:-1], W[4:]
    steady = np.maximum(np.abs(a - b), np.abs(d - e)) < SPIKE_STEADY * np.abs(out)
    solved = np.lib.stride_tricks.sliding_window_view(np.asarray(valid, bool), 5).all(1)
    spike = (np.abs(out) > SPIKE_MIN) & steady & solved[:, None] & np.asarray(columns, bool)[None]
    W[2:-2] -= np.where(spike, out, 0.0)
    return W


def smooth_weights(W: np.ndarray, sigma: float, fps: float, conf: np.ndarray | None = None,
                   peaks: np.ndarray | None = None) -> np.ndarray:
    """Speed-adaptive filter of the weights (T, K) (the module docstring): per weight and frame, the Gaussian of
    ``sigma`` frames blended towards the solved value as the Gaussian's curve moves towards WEIGHT_SPEED_REF per
    second (the blend itself smoothed over ``sigma``, so it does not switch from one frame to the next); for the
    ``peaks`` columns ((K,) bool) the fastest within ``PEAK_REACH`` frames either side, so that a quick peak, where
    the curve stands still, keeps its solved value too; at ``SPIKE_FPS`` and more a frame that flips with its
    neighbour (``zigzag``) gets the Gaussian alone."""
    if sigma <= 0 or len(W) < 3:
        return W.copy()
    slow = smooth(W, sigma, conf)
    fast = np.clip(np.abs(np.gradient(slow, axis=0)) * frame_rate(fps) / WEIGHT_SPEED_REF, 0.0, 1.0)
    if peaks is not None:
        fast[:, peaks] = widest(fast[:, peaks], PEAK_REACH)
    keep = gaussian_filter(fast, sigma)
    if frame_rate(fps) >= SPIKE_FPS:            # a weight flipping from frame to frame is noise, not a fast move
        keep = np.where(zigzag(W), 0.0, keep)
    return keep * W + (1.0 - keep) * slow


def widest(x: np.ndarray, reach: int) -> np.ndarray:
    """(T, K): each frame's largest value of ``x`` within ``reach`` frames either side (the clip's ends: what lies
    within it)."""
    out = np.array(x, copy=True)
    for k in range(1, min(reach, len(x) - 1) + 1):
        out[k:] = np.maximum(out[k:], x[:-k])
        out[:-k] = np.maximum(out[:-k], x[k:])
    return out


def zigzag(W: np.ndarray) -> np.ndarray:
    """(T, K) bool: the frames where a weight lies more than ``SPIKE_MIN`` outside its two neighbours' range
    (``outside``) and a neighbour lies as far outside its own the other way (out, back and out again from one frame
    to the next)."""
    out = outside(W)
    far = np.abs(out) > SPIKE_MIN
    flip = np.zeros_like(far)
    flip[1:] = far[1:] & far[:-1] & (out[1:] * out[:-1] < 0)        # with the frame before
    return flip | np.concatenate([flip[1:], np.zeros_like(flip[:1])])      # and with the frame after


def smooth_pose(R: np.ndarray, t: np.ndarray, sigma: float, conf: np.ndarray | None = None,
                solved: np.ndarray | None = None, seen: np.ndarray | None = None,
                seen_roll: np.ndarray | None = None, dense_steps: np.ndarray | None = None,
                background_turns: np.ndarray | None = None):
    """Speed-adaptive pose filter (see the module docstring): (R (T, 3, 3), t (T, 3) mm) -> filtered (R, t).
    ``solved``: the frames solved, not bridged or held (the keeps read the noise on them; None: all); ``seen``,
    ``seen_roll``, ``dense_steps`` and ``background_turns`` as ``temporal_filter``'s."""
    if sigma <= 0 or len(t) < 3:
        return R.copy(), t.copy()
    R1, t1 = smooth_rotations(R, sigma, conf), smooth(t, sigma, conf)
    heavy = sigma * POSE_SIGMA_SCALE
    R2, t2 = smooth_rotations(R, heavy, conf), smooth(t, heavy, conf)
    q0, q1, q2 = quat_from_matrix(R), quat_from_matrix(R1), quat_from_matrix(R2)
    turn = rotation_angle(quat_multiply(q2[1:], quat_inverse(q2[:-1])))
    speed = np.linalg.norm(np.gradient(t2, axis=0), axis=1) + HEAD_RADIUS_MM * np.concatenate([turn[:1], turn])
    noise = np.median(np.linalg.norm(t - t2, axis=1)) + 1e-9      # the translation's noise: mm from the heavy path
    light = gaussian_filter(np.clip(speed / (POSE_SPEED_REF * noise), 0.0, 1.0), heavy)[:, None]
    # a swing far outside the pose noise (a head shaken within 2-3 frames) is real motion that both filters would
    # average away: there the solved pose is kept as it is
    dev = np.linalg.norm(t - t2, axis=1) + HEAD_RADIUS_MM * rotation_angle(quat_multiply(q0, quat_inverse(q2)))
    keep = np.clip(dev / (POSE_KEEP * (np.median(dev) + 1e-9)) - 1.0, 0.0, 1.0)
    keep = np.maximum(keep, gaussian_filter(keep, 1.0))[:, None]
    q0 *= np.sign((q1 * q0).sum(1, keepdims=True) + 1e-300)
    q2 *= np.sign((q1 * q2).sum(1, keepdims=True) + 1e-300)
    q = keep * q0 + (1 - keep) * (light * q1 + (1 - light) * q2)
    t_out = keep * t + (1 - keep) * (light * t1 + (1 - light) * t2)
    R_out, t_out = keep_fast_turn(R, R1, matrix_from_quat(q), t_out, solved)
    if _mostly(seen, solved) and _mostly(dense_steps, solved):
        places = (_image(R, t), _image(R1, t1), _image(R2, t2))
        R_out, t_out = follow_seen_place(places, light, keep, R_out, t_out, seen, dense_steps[:, :2], sigma, heavy)
    else:
        R_out, t_out = keep_image_shake(R, t, R1, t1, R_out, t_out, solved, seen=seen)
    if _mostly(seen_roll, solved) and _mostly(dense_steps, solved):
        rolls = (image_roll(R, t), image_roll(R1, t1), image_roll(R2, t2))
        R_out, t_out = follow_seen_roll(rolls, light, keep, R_out, t_out, seen_roll, dense_steps[:, 2], sigma, heavy,
                                        background_turns=background_turns if _mostly(background_turns, solved)
                                        else None)
    return keep_image_roll(R, t, R1, t1, R_out, t_out, seen_roll, sigma, solved)


def _keep(dev: np.ndarray, noise: float, times: float = POSE_KEEP) -> np.ndarray:
    """(T, 1) share of each frame's solved value to keep: 0 within ``times`` noises of the light path, 1 beyond
    twice that, spread over a frame either side (the whole-pose keep's ramp)."""
    keep = np.clip(dev / (times * noise) - 1.0, 0.0, 1.0)
    return np.maximum(keep, gaussian_filter(keep, 1.0))[:, None]


def noise_scale(x: np.ndarray, solved: np.ndarray | None) -> float | None:
    """The scale of i.i.d. noise on ``x`` (T, D): the median norm of its second differences over sqrt(6), read where
    a frame and both its neighbours are ``solved`` (None: all); None where no such frame is."""
    solved = np.ones(len(x), bool) if solved is None else np.asarray(solved, bool)
    second = np.linalg.norm(x[2:] - 2 * x[1:-1] + x[:-2], axis=1)[solved[2:] & solved[1:-1] & solved[:-2]]
    return float(np.median(second)) / np.sqrt(6.0) if len(second) else None


def _mostly(x: np.ndarray | None, solved: np.ndarray | None) -> bool:
    """Whether ``x`` (T, ...) is there (finite) on most solved frames."""
    if x is None:
        return False
    ok = np.ones(len(x), bool) if solved is None else np.asarray(solved, bool)
    return bool(ok.any()) and np.isfinite(np.asarray(x, np.float64)).reshape(len(x), -1).all(1)[ok].mean() > 0.5


def _image(R: np.ndarray, t: np.ndarray, face=CROP_ANCHOR) -> np.ndarray:
    """(T, 2) where the face's middle is seen (x / z, y / z) for the poses ``R, t``."""
    p = _at(R, t, face)
    return p[:, :2] / p[:, 2:]


def turned_poses(turn: np.ndarray, R: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The poses ``R, t`` (T, 3, 3 and T, 3: head frame -> a camera) turned by ``turn`` (T, 3, 3) about the camera's
    centre: as a camera turned the other way sees them (bake.camera_turn's views: each frame's camera -> the first's)."""
    return turn @ R, np.einsum("tij,tj->ti", turn, t)


def _turn_to(Rf: np.ndarray, tf: np.ndarray, target: np.ndarray, face=CROP_ANCHOR) -> tuple[np.ndarray, np.ndarray]:
    """The poses ``Rf, tf`` turned about the camera's centre, per frame, so the face's middle is seen at ``target``
    (T, 2; x / z, y / z): the shortest turn, the quaternion (a x b, 1 + a . b), normalised by matrix_from_quat."""
    pf = _at(Rf, tf, face)
    a = pf / np.linalg.norm(pf, axis=1, keepdims=True)
    b = np.concatenate([target, np.ones((len(target), 1))], 1)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    turn = matrix_from_quat(np.concatenate([np.cross(a, b), 1.0 + np.einsum("ti,ti->t", a, b)[:, None]], 1))
    return turned_poses(turn, Rf, tf)


def _roll_about_sight(Rf: np.ndarray, tf: np.ndarray, angle: np.ndarray, face=CROP_ANCHOR):
    """The poses ``Rf, tf`` turned by ``angle`` (T,) radians about the line of sight through the face's middle, which
    raises their ``image_roll`` by as much and leaves that middle where it is seen: the quaternion
    (sin(angle / 2) axis, cos(angle / 2))."""
    axis = _at(Rf, tf, face)
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    turn = matrix_from_quat(np.concatenate([np.sin(angle / 2)[:, None] * axis, np.cos(angle / 2)[:, None]], 1))
    return turned_poses(turn, Rf, tf)


def _at(R: np.ndarray, t: np.ndarray, point) -> np.ndarray:
    """(T, 3) where the head-frame ``point`` lies in camera coordinates for the poses ``R, t``."""
    return np.einsum("tij,j->ti", R, np.asarray(point, np.float64)) + t


def keep_fast_turn(R: np.ndarray, R1: np.ndarray, Rf: np.ndarray, tf: np.ndarray, solved: np.ndarray | None = None,
                   face=CROP_ANCHOR) -> tuple[np.ndarray, np.ndarray]:
    """The filtered pose ``Rf, tf`` with its turn moved towards the solved ``R`` on frames where that lies from the
    light path's ``R1`` by more than ``POSE_KEEP`` times the turn's own noise (``_keep``), turned about the face's
    middle (``face``, as ``keep_image_shake``'s) so its place stays the filtered one; ``solved`` as
    ``smooth_pose``'s.

    Why: ``smooth_pose``'s test adds the translation's deviation in mm to the turn's, and a far face's depth is noisy
    by centimetres: a head shaken 10 degrees within 2 frames 600 mm away (depth noise 6 mm, turn noise 0.6 degrees)
    kept 0.17 of its swing (``tests/test_bake_filter.py``). Its turn alone is steady to about half a
    degree. The noise is read as ``keep_image_shake`` reads the place's (``_noise`` of the turn summed frame to frame,
    whose second differences are the frame-to-frame turn's first); the deviation is from the light path, which smooth
    turning hardly lags."""
    q0, q1, qf = quat_from_matrix(R), quat_from_matrix(R1), quat_from_matrix(Rf)
    step = rotation_vector(quat_multiply(q0[1:], quat_inverse(q0[:-1])))         # frame to frame, camera axes
    turned = np.concatenate([np.zeros((1, 3)), np.cumsum(step, axis=0)])      # its second differences: step's first
    noise = noise_scale(turned, solved)
    if noise is None:
        return Rf, tf
    keep = _keep(rotation_angle(quat_multiply(q0, quat_inverse(q1))), noise + 1e-12)
    if not keep.any():
        return Rf, tf
    q0 = q0 * np.sign((qf * q0).sum(1, keepdims=True) + 1e-300)
    Rk = matrix_from_quat(keep * q0 + (1.0 - keep) * qf)
    return Rk, _at(Rf, tf, face) - _at(Rk, np.zeros_like(tf), face)


def image_roll(R: np.ndarray, t: np.ndarray, face=CROP_ANCHOR, half_width: float = 30.0) -> np.ndarray:
    """(T,) the head's roll in the image, radians: the angle (image x right, y down) of the head's left-right axis
    through the face's middle as the poses ``R, t`` project it (normalised image coordinates; NaN where behind the
    camera)."""
    ends = [_at(R, t, np.asarray(face, np.float64) + [s * half_width, 0.0, 0.0]) for s in (-1.0, 1.0)]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = [np.where(e[:, 2:] > 0, e[:, :2] / e[:, 2:], np.nan) for e in ends]
    d = u[1] - u[0]
    return np.arctan2(d[:, 1], d[:, 0])


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


def keep_image_roll(R: np.ndarray, t: np.ndarray, R1: np.ndarray, t1: np.ndarray, Rf: np.ndarray, tf: np.ndarray,
                    seen_roll: np.ndarray | None, sigma: float, solved: np.ndarray | None = None,
                    face=CROP_ANCHOR) -> tuple[np.ndarray, np.ndarray]:
    """The filtered pose ``Rf, tf`` turned about the line of sight through the face's middle (``face``) so its roll
    in the image (``image_roll``) is the solved pose's on frames where both the solved roll and the landmarks'
    (``seen_roll`` (T,), radians, any fixed line of the face; NaN where none) leave their light paths (the solved
    one's ``R1, t1``; the landmarks' local line of ``sigma`` frames) the same way by more than ``ROLL_KEEP`` times
    the noise of the one less the other (``_keep`` on the smaller deviation); elsewhere unchanged. ``solved`` as
    ``smooth_pose``'s; nothing is kept unless the landmarks are there on most solved frames.

    Why: a camera rolled a few degrees side to side within 2-3 frames rolls the face in the image by as much; the
    whole-pose test reads 3 degrees as 4 mm and keeps little of it (the clips re-shot so, ``bench_real.py --reshoot
    twist:3``). The solved roll alone cannot tell such a swing from a one-frame jolt of the solve (the talking clip's
    blinks roll it 0.6-0.8 degrees for a frame, ten times its roll noise), but the landmarks' eye line does not jolt
    with it: only a roll both see is kept."""
    if seen_roll is None:
        return Rf, tf
    seen_roll = np.asarray(seen_roll, np.float64)
    ok = np.ones(len(R), bool) if solved is None else np.asarray(solved, bool)
    have = np.isfinite(seen_roll)
    if not ok.any() or have[ok].mean() <= 0.5:
        return Rf, tf
    r, r1, rf = image_roll(R, t, face), image_roll(R1, t1, face), image_roll(Rf, tf, face)
    if not (np.isfinite(r).all() and np.isfinite(r1).all() and np.isfinite(rf).all()):
        return Rf, tf
    frames = np.arange(len(R))
    line = np.unwrap(np.interp(frames, frames[have], np.unwrap(seen_roll[have])))
    seen_light = smooth(line[:, None], sigma, have.astype(np.float64))[:, 0]
    rel = np.unwrap(r) - line                        # the solved roll less the landmarks': a rolled camera moves
    noise = noise_scale(rel[:, None], ok & have)     # both alike, so the noise is read without the roll itself
    if noise is None:
        return Rf, tf
    d_solved, d_seen = _wrap(r - r1), np.where(have, _wrap(line - seen_light), 0.0)
    dev = np.where(np.sign(d_solved) == np.sign(d_seen), np.minimum(np.abs(d_solved), np.abs(d_seen)), 0.0)
    keep = _keep(dev, noise + 1e-12, ROLL_KEEP)[:, 0]
    if not keep.any():
        return Rf, tf
    angle = keep * _wrap(r - rf)
    return _roll_about_sight(Rf, tf, angle, face)


def keep_image_shake(R: np.ndarray, t: np.ndarray, R1: np.ndarray, t1: np.ndarray, Rf: np.ndarray, tf: np.ndarray,
                     solved: np.ndarray | None = None, face=CROP_ANCHOR,
                     seen: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The filtered pose ``Rf, tf`` turned about the camera's centre, per frame, so the face's middle (``face``,
    head-frame mm: the network crop's centre, core.framing) sits where the solved pose ``R, t`` puts it in the image
    on frames where that place lies sideways from the light path's ``R1, t1`` by more than ``POSE_KEEP`` times its
    noise (``_keep``); elsewhere unchanged. Poses in camera coordinates, z along the view (OpenCV's, as the solve
    gives them); ``solved`` as ``smooth_pose``'s. ``seen`` (T, 2): where the landmarks see the face (x / z, y / z, any
    fixed point of it; NaN where none); when it is there on most solved frames the noise is read on the solved place
    less that one, which a camera that shakes all along moves alike (else the shake itself reads as the noise;
    docs/MEASUREMENTS.md, "A camera shake").

    Why: a camera shaken, or a face jerked sideways, by 8-20 px within 2-3 frames moves the face's middle 3-9 mm at
    its depth, less than a far face's depth and turn noise, so ``smooth_pose``'s test on the whole pose keeps 5-20 %
    of it (``bench_real.py --reshoot shake:PX``), while its place in the image, read from the landmarks, is steady to
    a fraction of a millimetre. The noise is that place's own (``_noise``; against ``seen`` when given), which the
    head's smooth motion hardly raises; the deviation is from the light path, which smooth motion hardly lags, so only
    motion the light filter would cut is kept. Turning about the camera's centre moves the
    whole face by the same few pixels and leaves its depth and its turn towards the camera as filtered."""
    p, p1, pf = _at(R, t, face), _at(R1, t1, face), _at(Rf, tf, face)
    if not (p[:, 2] > 0).all() or not (p1[:, 2] > 0).all() or not (pf[:, 2] > 0).all():
        return Rf, tf                                        # a pose behind the camera: no image place to keep
    depth = float(np.median(p[:, 2]))
    u, u1, uf = p[:, :2] / p[:, 2:], p1[:, :2] / p1[:, 2:], pf[:, :2] / pf[:, 2:]
    dev = np.linalg.norm(u - u1, axis=1) * depth
    ok = np.ones(len(u), bool) if solved is None else np.asarray(solved, bool)
    rel = u
    if seen is not None and np.isfinite(seen).all(1)[ok].mean() > 0.5:        # seen on most solved frames
        rel = u - seen
        ok = ok & np.isfinite(seen).all(1)
    noise = noise_scale(rel, ok)
    if noise is None:
        return Rf, tf
    keep = _keep(dev, noise * depth + 1e-9)
    if not keep.any():
        return Rf, tf
    return _turn_to(Rf, tf, keep * u + (1.0 - keep) * uf, face)


def quick_share(seen: np.ndarray, dense_steps: np.ndarray, window: float = QUICK_WINDOW,
                doubt: tuple[float, float] | None = SHARE_DOUBT) -> np.ndarray:
    """(T,) per frame, how much of the landmarks' quick motion the dense network shares: the covariance of the second
    differences of ``seen`` (T, D) and of the dense place (the first differences of ``dense_steps``), over the
    variance of the former, each summed under a Gaussian of ``window`` frames; times how sure the two are related
    (``_share_sureness`` with ``doubt``; None: not weighed by it, benchmarks/bench_share.py); clipped to [0, 1], 0
    where neither is read. Each reading's own noise is independent of the other's and averages out of the
    covariance, while a camera's shake or the head's own quick move is in both (the shaken copies share 0.94-1.00;
    docs/MEASUREMENTS.md, "A handheld camera")."""
    seen, steps = np.asarray(seen, np.float64), np.asarray(dense_steps, np.float64)
    hs = np.zeros_like(seen)
    hd = np.zeros_like(seen)
    hs[1:-1] = seen[2:] - 2 * seen[1:-1] + seen[:-2]
    hd[1:-1] = steps[2:] - steps[1:-1]
    ok = np.isfinite(hs).all(1) & np.isfinite(hd).all(1)
    ok[:1] = ok[-1:] = False                             # no second difference at the ends
    hs[~ok], hd[~ok] = 0.0, 0.0
    cov, var, var_dense = (gaussian_filter((a * b).sum(1), window) for a, b in ((hs, hd), (hs, hs), (hd, hd)))
    share = np.clip(cov / np.maximum(var, 1e-300), 0.0, 1.0) * (var > 0)
    if doubt is None:
        return share
    return share * _share_sureness(cov, var, var_dense, _products_read(ok, window) * seen.shape[1], doubt)


def _products_read(ok: np.ndarray, window: float) -> np.ndarray:
    """(T,) how many independent products of second differences the Gaussian of ``window`` frames sums at each frame,
    of the frames read (``ok``): Kish's effective count (sum w)^2 / sum w^2 over the frames read, w the weights
    gaussian_filter sums with (read off an impulse), divided by ``SECOND_DIFF_OVERLAP`` (about 11 for 6 frames
    amid frames all read). Near a clip's ends, or beside frames without a reading, the Gaussian sums fewer products
    than its width says (the ends' products are 0, repeated outwards): an 8-frame clip's few products counted as 11
    gave unrelated noise a share of up to 0.17 (0.03 on 300 frames; benchmarks/bench_share.py, docs/MEASUREMENTS.md
    "A short window's share")."""
    impulse = np.zeros(2 * int(5.0 * window) + 1)
    impulse[len(impulse) // 2] = 1.0
    w = gaussian_filter(impulse, window)
    w = w[w > 0]
    c = np.pad(ok.astype(np.float64), len(w) // 2)
    return np.convolve(c, w, "valid") ** 2 / np.maximum(np.convolve(c, w * w, "valid"), 1e-300) / SECOND_DIFF_OVERLAP


def _share_sureness(cov: np.ndarray, var: np.ndarray, var_dense: np.ndarray, n: np.ndarray,
                    doubt: tuple[float, float] = SHARE_DOUBT) -> np.ndarray:
    """(T,) 0 where the local correlation cov / sqrt(var var_dense) lies within ``doubt[0]`` standard errors of
    unrelated noise's, 1 beyond ``doubt[1]``, linear between. The standard error is 1 / sqrt(n) for ``n`` independent
    products (``_products_read`` times the readings' dimensions).

    Why: the covariance of two noises over some 20 frames is not 0 but scatters about it, and where the dense
    reading is the noisier (its quick moves 3-10 times the landmarks') that scatter over the landmarks' variance is a
    share of 0.3-1 either way, clipped to its positive half: a still face took a third of the landmarks' noise
    (the held-out renders, whose camera is still: jitter 0.0027 -> 0.0054 IOD, the truth's 0.001). A shake shared
    by both correlates far beyond the scatter and is kept whole."""
    rho = cov / np.sqrt(np.maximum(var * var_dense, 1e-300))
    low, high = doubt
    return np.clip((rho * np.sqrt(n) - low) / (high - low), 0.0, 1.0)


def follow_seen_place(places: tuple[np.ndarray, np.ndarray, np.ndarray], light: np.ndarray, keep: np.ndarray,
                      Rf: np.ndarray, tf: np.ndarray, seen: np.ndarray, dense_steps: np.ndarray, sigma: float,
                      heavy: float, face=CROP_ANCHOR) -> tuple[np.ndarray, np.ndarray]:
    """The filtered pose ``Rf, tf`` turned about the camera's centre so the face's middle (``face``) is seen where the
    pose filter's blend puts it plus the landmarks' quick motion that the dense network shares. ``places`` = (solved,
    light path's, heavy path's) place of the face's middle (T, 2 each; x / z, y / z); ``light`` and ``keep`` (T, 1),
    ``smooth_pose``'s blend towards the light path and share of the solved pose kept; the target is
    keep u + (1 - keep) (light u1 + (1 - light) u2 + share (seen - the same blend of seen)), ``share`` from
    ``quick_share``. ``seen``, ``dense_steps`` as ``temporal_filter``'s; ``sigma`` and ``heavy``, the light and
    heavy filters' sigmas in frames.

    Why: the filter takes out what moves faster than it lets through, and a handheld camera's shake, or the head's
    own quick moves, are such motion: a camera shaken at random by 6 px was followed 0.68-0.92 sideways before
    (``keep_image_shake`` keeps only what lies several noises out; docs/MEASUREMENTS.md, "A handheld camera"). The
    landmarks place the face in the image steadier than the solve does (0.08 mm against 0.18-0.24 on the
    close-ups), but with noise of their own; the dense network reads the place from other evidence, so where its
    quick moves go with the landmarks' the motion is real and is kept, and where they do not it is noise and stays
    filtered."""
    return _turn_to(Rf, tf, _seen_target(places, light, keep, seen, dense_steps, sigma, heavy), face)


def _seen_target(solved: tuple[np.ndarray, np.ndarray, np.ndarray], light: np.ndarray, keep: np.ndarray,
                 seen: np.ndarray, dense_steps: np.ndarray, sigma: float, heavy: float) -> np.ndarray:
    """(T, D) keep v + (1 - keep) (light v1 + (1 - light) v2 + share (seen - the same blend of seen)) for ``solved`` =
    (v, v1, v2), the solved, light and heavy paths' readings (T, D), the landmarks' ``seen`` (T, D; NaN where none,
    filled in by interpolation for the blend) and ``share`` from ``quick_share`` with ``dense_steps`` (T, D)."""
    v, v1, v2 = solved
    fr = np.arange(len(seen))
    have = np.isfinite(seen).all(1)
    line = np.stack([np.interp(fr, fr[have], seen[have, k]) for k in range(seen.shape[1])], 1)
    quick = np.where(have[:, None], _quick(line, light, sigma, heavy, have.astype(np.float64)), 0.0)
    share = quick_share(seen, dense_steps)[:, None]
    return keep * v + (1 - keep) * (light * v1 + (1 - light) * v2 + share * quick)


def _quick(line: np.ndarray, light: np.ndarray, sigma: float, heavy: float, c: np.ndarray | None = None) -> np.ndarray:
    """(T, D) ``line``'s quick moves: it less the pose filter's blend (``light``) of its light and heavy paths."""
    return line - (light * smooth(line, sigma, c) + (1 - light) * smooth(line, heavy, c))


def follow_seen_roll(rolls: tuple[np.ndarray, np.ndarray, np.ndarray], light: np.ndarray, keep: np.ndarray,
                     Rf: np.ndarray, tf: np.ndarray, seen_roll: np.ndarray, dense_turns: np.ndarray, sigma: float,
                     heavy: float, face=CROP_ANCHOR,
                     background_turns: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``follow_seen_place`` for the face's roll in the image (``image_roll``): ``rolls`` = the solved, light and heavy
    paths' (T,) radians; the target keep r + (1 - keep) (light r1 + (1 - light) r2 + share (seen - the same blend of
    seen)), ``share`` from ``quick_share`` of the landmarks' eye line (``seen_roll``) and the dense network's
    frame-to-frame turns (``dense_turns`` (T,), bake.observations.image_steps); the filtered pose is turned about the
    line of sight through the face's middle to it. Why: as ``follow_seen_place``'s; ``keep_image_roll`` keeps only
    what lies several noises out, and a handheld camera's roll of about a degree it mostly does not.

    With ``background_turns`` (T,; core.background, NaN where unread) the camera's roll is taken apart: its quick
    moves (those of the background's turns summed) are followed whole, and the share goes to what is left, the eye
    line's roll against the background (the head's own, and the landmarks' noise) confirmed by the dense turn against
    the background. Why: the share is the landmarks' Wiener gain, and on a small face their eye line is about as noisy
    as a one-degree roll (the press clip's handheld copy kept 0.69 of it), while the background reads a camera's roll
    at |r| 1.00 (benchmarks/bench_background.py; docs/MEASUREMENTS.md, "The background's turn"). Where the background
    is unread its turn counts as none, and that frame's camera roll is left to the share; ``smooth_pose`` hands the
    turns over only where they are read on most frames (a blank background's few stray corners, on the body's edge,
    moved the held-out renders' still heads)."""
    r0 = np.unwrap(rolls[0])
    solved = tuple((r0 + _wrap(r - r0))[:, None] for r in rolls)         # on one branch of the angle
    have = np.isfinite(seen_roll)
    seen = np.full((len(seen_roll), 1), np.nan)
    seen[have, 0] = np.unwrap(seen_roll[have])
    turns = np.asarray(dense_turns, np.float64)[:, None]
    camera = None
    if background_turns is not None:
        b = np.nan_to_num(np.asarray(background_turns, np.float64))[:, None]
        camera = np.cumsum(b, axis=0)
        seen, turns = seen - camera, turns - b
    target = _seen_target(solved, light, keep, seen, turns, sigma, heavy)
    if camera is not None:
        target = target + (1 - keep) * _quick(camera, light, sigma, heavy)
    return _roll_about_sight(Rf, tf, _wrap(target[:, 0] - image_roll(Rf, tf, face)), face)
