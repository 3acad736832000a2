"""The real clips re-shot: copies of a clip made as other cameras, framings and conditions would give it (mirrored,
turned, moved by a fraction of a pixel, shaken, dimmed, shaded, covered, a small face in a wide frame...; the list and
what each is for: bench_real.py's docstring and its --reshoot and --small-face), each an mp4 in a folder of the
caller's, with where the original's pixels went (``Reshot``), so that dlib's points read on the original carry into
the copy and score it. bench_e2e.py shades its renders with the same hat brim (``brim_polygon``, ``shade``).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import face_signals as fs


@dataclass
class Reshot:
    """A clip re-shot into another mp4 (``reshoot``), and where the original's pixels went there: ``clip`` is the
    original that dlib reads, ``path`` the copy, ``affine`` each source frame's 2x3 map from the original's pixel-centre
    coordinates to the copy's; in a ``mirrored`` copy the subject's sides swap places in the image; ``covered``, the
    source frames where something hides part of the face (an "occlude" or "shades" copy); ``frames``, for a copy that
    keeps only some of the source frames (a "stride", "fast" or "jump" copy), each kept source frame's index in the
    copy; ``shaken``, the source frames a "shake" copy moves by its swing and by how many pixels sideways (the others
    are steady); ``twisted``, those a "twist" or "handheld" copy turns and by how many degrees; ``cuts``, the source
    frames that begin a shot (a "cut" or "jump" copy)."""
    clip: Path
    path: Path
    affine: dict[int, np.ndarray]
    mirrored: bool = False
    covered: frozenset = frozenset()
    frames: dict[int, int] | None = None
    shaken: dict[int, float] = field(default_factory=dict)
    twisted: dict[int, float] = field(default_factory=dict)
    cuts: tuple = ()

    def carry(self, frames: np.ndarray, points: np.ndarray) -> np.ndarray:
        """dlib points (T, 68, 2) on the original's source ``frames``, carried to where they are in the copy (a
        mirrored copy's re-indexed, face_signals.DLIB_MIRROR); NaN on frames the copy lacks."""
        p = np.asarray(points, np.float64)[..., :2]
        if self.mirrored:
            p = p[:, fs.DLIB_MIRROR]
        out = np.full_like(p, np.nan)
        for k, f in enumerate(frames):
            A = self.affine.get(int(f))
            if A is not None:
                out[k] = p[k] @ A[:, :2].T + A[:, 2]
        return out


def pixel_centred(A: np.ndarray) -> np.ndarray:
    """OpenCV's 2x3 warp matrix ``A`` (a pixel's centre at index i, as cv2.warpAffine and getRotationMatrix2D take
    it) as the same map of points whose pixel centres lie at i + 0.5, as the oracle's and the product's do
    (oracle_dlib): x' = A (x - 0.5) + 0.5. A translation keeps its matrix; a mirror's W - 1 - x becomes W - x, a
    point on the turned frame of a "roll" copy moves by (I - R) (0.5, 0.5), a quarter of a pixel at 20 degrees."""
    A = np.asarray(A, np.float64)
    return np.concatenate([A[:, :2], (A[:, 2] + 0.5 * (1.0 - A[:, :2].sum(1)))[:, None]], 1)


# The re-shoots that take a number (``reshoot``): the frame turned, zoomed, moved, swayed, and the footage made worse as
# ordinary cameras make it (a dim room, sensor noise, a low-resolution camera, heavy compression, focus missed, a
# fast move, a low frame rate), a subject moving faster, and a hand over the lower face, dark glasses or a hat brim's
# shadow over the eyes for part of the clip.
RESHOOTS = ("roll", "zoom", "cut", "shift", "sway", "bob", "shake", "shaky", "twist", "twisty", "handheld", "exposure",
            "noise", "scale", "jpeg", "blur", "motion", "occlude", "shades", "stride", "fast", "side", "brim", "jump")
COVERS = ("occlude", "shades", "brim")   # the re-shoots that paint over or shade part of the face (``occluders``)
# The dlib points whose hull a hand over the lower face covers: the jaw line below the cheekbones (3-13) and the
# outer lips (48-59), so from under the nose to the chin; and each eye's points, the middle of a dark lens.
LOWER_FACE = tuple(range(3, 14)) + tuple(range(48, 60))
EYES = (tuple(range(36, 42)), tuple(range(42, 48)))
PAINT = {"occlude": (205, 150, 120), "shades": (28, 28, 32)}        # skin; a dark lens
SWAY_PERIOD_S = 2.0      # a "sway" copy's sideways swing, a "bob" copy's up and down: one back and forth in this
#                          many seconds
SHAKE_FRAMES = 4         # a "shake" copy's swing: one back and forth in this many frames (side to side in 2),
SHAKE_BURST_S = 1.0      # ... for this long
SHAKE_EVERY_S = 3.0      # ... starting every this many seconds, 1 s into the clip (steady between)
CUT_AT = (0.4, 0.45)     # a "cut" copy's closer camera enlarges the frame about this point (shares of width, height)
CUT_TAIL = 3             # ... which also shows the copy's last this many frames
JUMP_AT = (1 / 3, 2 / 3)  # a "jump" copy's jump cuts: where in the clip each skip of frames begins (shares of it)
HANDHELD_PX_PER_DEGREE = 6.0   # a "handheld" copy's jolts: PX px sideways and up and down, PX / this degrees of roll
PORTRAIT = (720, 1280)   # a "portrait" copy's frame (a phone held upright), and
PORTRAIT_HEIGHT = 0.45   # ... the share of its height a landscape clip's frame takes (its sides cut)
PORTRAIT_GREY = (120, 120, 120)
BRIM_LIGHT = 0.2          # a hat brim's shadow: the frame above its edge at this fraction of its values
BRIM_EDGE = 0.3           # ... the edge along the eyes, this far from the eyes' midpoint to the nose tip (dlib 30)
BRIM_REACH = 3.0          # ... the shaded region's half-width and height in eye distances (the polygon ``shade``
#                           blurs at 4 % of its width: an edge 0.24 eye distances soft)


def _lens(eye: np.ndarray, n: int = 24) -> np.ndarray:
    """An ellipse about an eye's six dlib points: along the corners 1.6 x the eye's width, across it 1.1 x."""
    c, a = eye.mean(0), eye[3] - eye[0]
    w = float(np.linalg.norm(a))
    u = a / w
    v = np.array([-u[1], u[0]])
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)[:, None]
    return c + 0.8 * w * np.cos(t) * u + 0.55 * w * np.sin(t) * v


def occluders(oracle, fraction: float, kind: str = "occlude") -> dict[int, list[np.ndarray]]:
    """Where ``reshoot``'s "occludeF" puts a hand, or "shadesF" dark glasses: for the middle ``fraction`` of the
    clip's frames (a span, as a hand raised to the mouth and taken away), the polygons to paint on each frame dlib
    found a face, by source frame index: the hull of dlib's LOWER_FACE points grown by a fifth about its centre (so
    the points themselves lie under solid paint), a lens about each eye, or for a hat brim's shadow the region above
    a line along the eyes (``brim``); ``oracle`` is oracle_dlib's track of the original."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"{kind}: the fraction of frames covered must be in (0, 1], got {fraction}")
    if kind not in COVERS:
        raise ValueError(f"unknown cover {kind!r}; expected one of {COVERS}")
    n = len(oracle.frames)
    first = int(round(n * (1.0 - fraction) / 2))
    span = range(first, min(n, first + max(1, int(round(n * fraction)))))
    out = {}
    for k in span:
        if oracle.found[k]:
            p = np.asarray(oracle.points[k], np.float64)
            if kind == "occlude":
                hull = p[list(LOWER_FACE)]
                out[int(oracle.frames[k])] = [hull.mean(0) + 1.2 * (hull - hull.mean(0))]
            elif kind == "brim":
                out[int(oracle.frames[k])] = [brim(p)]
            else:
                out[int(oracle.frames[k])] = [_lens(p[list(eye)]) for eye in EYES]
    return out


def brim(points: np.ndarray) -> np.ndarray:
    """A hat brim's shadow on a face with dlib's 68 ``points`` (``brim_polygon`` of its eyes' centres and nose
    tip)."""
    right, left = (points[list(eye)].mean(0) for eye in EYES)
    return brim_polygon(right, left, points[30])


def brim_polygon(right: np.ndarray, left: np.ndarray, nose_tip: np.ndarray) -> np.ndarray:
    """A hat brim's shadow on a face with its eyes' centres and nose tip at these pixels: the rectangle above a line
    along the eyes (through the point ``BRIM_EDGE`` of the way from the eyes' midpoint to the nose tip),
    ``BRIM_REACH`` eye distances to either side and upwards, so the brows and eyes lie in it and the nose tip, mouth
    and chin do not."""
    u = (left - right) / np.linalg.norm(left - right)
    down = np.array([-u[1], u[0]])
    if np.dot(nose_tip - 0.5 * (right + left), down) < 0:    # the face's down, wherever the image's is
        down = -down
    mid = 0.5 * (right + left)
    edge = mid + BRIM_EDGE * (nose_tip - mid)
    reach = BRIM_REACH * float(np.linalg.norm(left - right))
    up = -reach * down
    return np.array([edge - reach * u, edge + reach * u, edge + reach * u + up, edge - reach * u + up])


def reshoot_kind(text: str) -> str:
    """A re-shoot's name as ``reshoot`` takes it: "mirror", "roll:DEG" -> "rollDEG", "shift:PX" -> "shiftPX", and
    likewise the other ``RESHOOTS`` (argparse's type)."""
    if text in ("mirror", "grey", "portrait"):
        return text
    for kind in RESHOOTS:
        if text.startswith(kind + ":"):
            try:
                return f"{kind}{float(text[len(kind) + 1:]):g}"
            except ValueError:
                pass
    kinds = ", ".join(k + ":X" for k in RESHOOTS)
    raise argparse.ArgumentTypeError(f"{text!r}: expected mirror, grey, portrait or one of {kinds} (e.g. roll:20, "
                                     "shift:0.5, zoom:1.5, cut:1.6, sway:40, bob:120, shake:20, shaky:8, twist:3, "
                                     "handheld:6, "
                                     "exposure:0.35, "
                                     "noise:8, scale:0.5, jpeg:20, blur:2, motion:9, occlude:0.4, shades:0.4, brim:1, "
                                     "stride:2, fast:2, jump:30)")


def reshoot(path: Path, kind: str, folder: Path, covers: dict[int, list[np.ndarray]] | None = None) -> Reshot:
    """``path`` re-shot into an mp4 in ``folder`` as ``kind``: "NNpx", the face about NN px wide moving across a
    1280x720 frame (bench_track.small_face_frame); "mirror", flipped left to right; "portrait", in a ``PORTRAIT`` frame
    (a phone held upright), centred a third of the way down, grey around it, at its width there or, if wider than tall,
    at ``PORTRAIT_HEIGHT`` of the height (its sides cut); "rollDEG", the frame turned DEG degrees counter-clockwise
    about its centre, the edges filled by reflection (a camera held at a slant); "zoomF", the frame's centre enlarged F
    times, the rest cut off (a face too close to the camera, its chin or brow out of the frame); "cutF", the clip's
    middle third and its last ``CUT_TAIL`` frames (``cut_span``) enlarged F times about ``CUT_AT``, cut straight to and
    back from (an edit between a wider and a closer camera: the face jumps in place and size from one frame to the
    next); "shiftPX", moved PX pixels right and down, resampled with a Lanczos kernel, the edges filled by reflection;
    "swayPX", moved sideways by PX pixels times sin(2 pi t / ``SWAY_PERIOD_S``) at the clip's time t (a camera or a
    subject swaying: the clip starts on the swing's fastest stretch, and the swing stops and turns at either side),
    resampled and filled the same way; "bobPX", the same up and down (+ down); "shakePX", moved sideways by PX pixels
    times sin(2 pi m / ``SHAKE_FRAMES``), m frames into each burst of shaking (``shaking``), resampled and filled the
    same way (a head shaken left-right within 2-3 frames: its whole image moves, it does not turn); "shakyPX", the same
    from 1 s to the clip's end (a camera that shakes all along); "twistDEG", turned about the frame's centre by DEG
    degrees times the same swing in the same bursts, filled by reflection (a camera rolled side to side); "twistyDEG",
    the same from 1 s to the clip's end; "handheldPX", from 1 s on every frame moved sideways and up and down by PX px
    and turned about the frame's centre by PX / ``HANDHELD_PX_PER_DEGREE`` degrees times seeded noise (``jolt``: a hand
    holding a phone); "exposureF", every pixel's value times F, rounded and clipped (under 1 a dim room, the face in
    fewer grey levels; over 1 an over-exposed one, the highlights clipped); "sideF", the frame's left of its middle at F
    of the light, a soft edge over a tenth of its width (a window's side light: a face in the middle lit on one side);
    "noiseS", Gaussian noise of S grey levels on every pixel and channel, the same draw on every run (a camera at high
    gain); "scaleF", the frame scaled by F with area averaging (a low-resolution camera); "jpegQ", every frame through
    JPEG at quality Q (heavy compression) before the mp4's own; "grey", every frame in grey (an infrared or
    black-and-white camera); "blurS", a Gaussian blur of S px (focus missed); "motionL", every frame smeared L px
    sideways (a fast move in a long exposure); "occludeF", a hand over the lower face: a skin-coloured patch with soft
    edges over ``covers``' polygons on the frames it names (``occluders``; F, the fraction of frames, is what chose
    them); "shadesF", dark glasses over the eyes, painted the same way; "brimF", a hat brim's shadow over the eyes and
    brows on those frames, the frame above a line along the eyes at ``BRIM_LIGHT`` of its values (``brim``, ``shade``);
    "strideN", every Nth frame at 1/N of the frame rate (a camera that drops to 15 frames/s in a dim room, or footage
    converted down); "fastN", every Nth frame at the clip's own frame rate (the subject moving N times as fast: a fast
    talker's syllables, a quicker turn of the head); "jumpN", N frames left out at each of ``JUMP_AT`` (``jump_span``;
    a jump cut: an edit of one camera's take, the face where it was, its expression and turn jumping at once)."""
    import cv2
    from bench_track import SMALL_FRAME, small_face_frame
    from training.eval import half_in_shadow
    from core.footage import open_footage
    out, affine, kept, shaken, twisted, cuts = folder / f"{path.stem}_{kind}.mp4", {}, {}, {}, {}, []
    with open_footage(str(path)) as footage:
        W, H = int(footage.width), int(footage.height)
        if kind.endswith("px"):
            size = SMALL_FRAME
        elif kind == "mirror" or kind.startswith("roll"):
            size = (W, H)
            A = (np.array([[-1.0, 0.0, W - 1.0], [0.0, 1.0, 0.0]]) if kind == "mirror"
                 else cv2.getRotationMatrix2D(((W - 1) / 2, (H - 1) / 2), float(kind[4:]), 1.0))
        elif kind == "portrait":
            size = PORTRAIT
            s = PORTRAIT[0] / W if W <= H else PORTRAIT_HEIGHT * PORTRAIT[1] / H
            A = np.array([[s, 0.0, 0.5 * PORTRAIT[0] - s * 0.5 * W], [0.0, s, PORTRAIT[1] / 3 - s * 0.5 * H]])
        elif kind.startswith("zoom"):
            size, A = (W, H), cv2.getRotationMatrix2D(((W - 1) / 2, (H - 1) / 2), 0.0, float(kind[4:]))
        elif kind.startswith("cut"):
            size, A = (W, H), None
            with open_footage(str(path)) as counting:
                closer = cut_span(sum(1 for _ in counting))
        elif kind.startswith("shift"):
            size, d = (W, H), float(kind[5:])
            A = np.array([[1.0, 0.0, d], [0.0, 1.0, d]])
        elif kind.startswith(("sway", "bob", "shake", "shaky", "twist", "handheld")):
            size, A = (W, H), None
        elif kind.startswith("scale"):
            f = float(kind[5:])
            size = (max(1, round(W * f)), max(1, round(H * f)))
            fx, fy = size[0] / W, size[1] / H             # OpenCV's pixel i: x' + 0.5 = fx (x + 0.5)
            A = np.array([[fx, 0.0, 0.5 * (fx - 1.0)], [0.0, fy, 0.5 * (fy - 1.0)]])
        elif kind.startswith(("exposure", "side", "noise", "jpeg", "blur", "motion", "stride", "fast", "jump")
                             + COVERS) or kind == "grey":
            size, A = (W, H), np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
            if kind.startswith(COVERS) and covers is None:
                raise ValueError(f"a {kind} re-shoot needs the polygons to paint (occluders)")
        else:
            raise ValueError(f"unknown re-shoot {kind!r}")
        name = kind.rstrip("0123456789.")
        step = int(float(kind[len(name):])) if name in ("stride", "fast") else 1
        if step < 1:
            raise ValueError(f"a {name} re-shoot keeps every Nth frame, N >= 1; got {kind!r}")
        rate = footage.fps if name == "fast" else footage.fps / step
        skipped = np.zeros(0, bool)
        if name == "jump":
            with open_footage(str(path)) as counting:
                skipped = jump_span(sum(1 for _ in counting), int(float(kind[4:])))
        writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), rate, size)
        try:
            for n, frame in enumerate(footage):
                if frame.index % step or (n < len(skipped) and skipped[n]):
                    continue
                if n and n - 1 < len(skipped) and skipped[n - 1]:
                    cuts.append(int(frame.index))
                if kind.endswith("px"):
                    image, s, (x, y) = small_face_frame(frame.image, n, int(kind[:-2]))
                    A = np.array([[s, 0.0, x], [0.0, s, y]])
                elif kind.startswith(("sway", "bob", "shake", "shaky")):
                    dy = 0.0
                    if kind.startswith("sway"):
                        dx = float(kind[4:]) * np.sin(2.0 * np.pi * n / (SWAY_PERIOD_S * footage.fps))
                    elif kind.startswith("bob"):
                        dx, dy = 0.0, float(kind[3:]) * np.sin(2.0 * np.pi * n / (SWAY_PERIOD_S * footage.fps))
                    else:
                        m = shaking(n, footage.fps, all_along=kind.startswith("shaky"))
                        dx = 0.0 if m is None else float(kind[5:]) * np.sin(2.0 * np.pi * m / SHAKE_FRAMES)
                        if m is not None:
                            shaken[int(frame.index)] = dx
                    A = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
                    image = cv2.warpAffine(frame.image, A, size, flags=cv2.INTER_LANCZOS4,
                                           borderMode=cv2.BORDER_REFLECT)
                elif kind.startswith("cut"):
                    f = float(kind[3:]) if closer[n] else 1.0
                    if n and closer[n] != closer[n - 1]:
                        cuts.append(int(frame.index))
                    A = cv2.getRotationMatrix2D(((W - 1) * CUT_AT[0], (H - 1) * CUT_AT[1]), 0.0, f)
                    image = cv2.warpAffine(frame.image, A, size, flags=cv2.INTER_LINEAR,
                                           borderMode=cv2.BORDER_REFLECT)
                elif kind.startswith("handheld"):
                    px = float(kind[8:])
                    dx, dy, turn = (jolt(n) * [px, px, px / HANDHELD_PX_PER_DEGREE] if n >= round(footage.fps)
                                    else np.zeros(3))
                    if n >= round(footage.fps):
                        twisted[int(frame.index)] = float(turn)
                    A = cv2.getRotationMatrix2D(((W - 1) / 2, (H - 1) / 2), float(turn), 1.0)
                    A[:, 2] += [dx, dy]
                    image = cv2.warpAffine(frame.image, A, size, flags=cv2.INTER_LANCZOS4,
                                           borderMode=cv2.BORDER_REFLECT)
                elif kind.startswith("twist"):
                    m = shaking(n, footage.fps, all_along=kind.startswith("twisty"))
                    most = float(kind[6:] if kind.startswith("twisty") else kind[5:])
                    turn = 0.0 if m is None else most * np.sin(2.0 * np.pi * m / SHAKE_FRAMES)
                    if m is not None:
                        twisted[int(frame.index)] = turn
                    A = cv2.getRotationMatrix2D(((W - 1) / 2, (H - 1) / 2), turn, 1.0)
                    image = cv2.warpAffine(frame.image, A, size, flags=cv2.INTER_LANCZOS4,
                                           borderMode=cv2.BORDER_REFLECT)
                elif kind == "mirror":
                    image = frame.image[:, ::-1]
                elif kind == "portrait":
                    image = cv2.warpAffine(frame.image, A, size, flags=cv2.INTER_LINEAR,
                                           borderMode=cv2.BORDER_CONSTANT, borderValue=PORTRAIT_GREY)
                elif kind.startswith("scale"):
                    image = cv2.resize(frame.image, size, interpolation=cv2.INTER_AREA)
                elif kind.startswith("blur"):
                    image = cv2.GaussianBlur(frame.image, (0, 0), float(kind[4:]))
                elif kind.startswith("motion"):
                    length = max(1, int(round(float(kind[6:]))))
                    image = cv2.filter2D(frame.image, -1, np.full((1, length), 1.0 / length))
                elif kind == "grey":
                    image = np.repeat(cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
                elif kind.startswith("exposure"):
                    image = np.clip(np.rint(frame.image * float(kind[8:])), 0, 255).astype(np.uint8)
                elif kind.startswith("side"):
                    image = half_in_shadow(frame.image, float(kind[4:]))
                elif kind.startswith("noise"):
                    rng = np.random.default_rng(n)
                    image = np.clip(np.rint(frame.image + rng.normal(0.0, float(kind[5:]), frame.image.shape)),
                                    0, 255).astype(np.uint8)
                elif kind.startswith(COVERS + ("stride", "fast", "jump")):
                    image = frame.image
                    polygons = None if covers is None else covers.get(int(frame.index))
                    if polygons and kind.startswith("brim"):
                        image = shade(image, polygons, BRIM_LIGHT)
                    elif polygons:
                        image = cover(image, polygons, PAINT[kind.rstrip("0123456789.")])
                elif kind.startswith("jpeg"):
                    bgr = cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR)
                    _, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(float(kind[4:]))])
                    image = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
                else:
                    interpolation = cv2.INTER_LANCZOS4 if kind.startswith("shift") else cv2.INTER_LINEAR
                    image = cv2.warpAffine(frame.image, A, size, flags=interpolation, borderMode=cv2.BORDER_REFLECT)
                writer.write(cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR))
                # small_face_frame's A already maps pixel-centre coordinates; every other one is OpenCV's
                affine[int(frame.index)] = A if kind.endswith("px") else pixel_centred(A)
                kept[int(frame.index)] = len(kept)
        finally:
            writer.release()
    return Reshot(path, out, affine, mirrored=kind == "mirror", covered=frozenset(covers or ()),
                  frames=kept if step > 1 or name == "jump" else None, shaken=shaken, twisted=twisted, cuts=tuple(cuts))


def cut_span(count: int) -> np.ndarray:
    """(count,) bool: the frames a "cut" copy shows through its closer camera: the clip's middle third, and its last
    ``CUT_TAIL`` frames (a clip trimmed from an edit that runs on into the next shot)."""
    closer = np.zeros(count, bool)
    closer[count // 3: (2 * count) // 3] = True
    closer[max(0, count - CUT_TAIL):] = True
    return closer


def jump_span(count: int, skip: int) -> np.ndarray:
    """(count,) bool: the frames a "jump" copy leaves out: ``skip`` from each of ``JUMP_AT`` on."""
    if skip < 1:
        raise ValueError(f"a jump re-shoot leaves out N >= 1 frames at each cut; got {skip}")
    out = np.zeros(count, bool)
    for share in JUMP_AT:
        out[int(share * count): int(share * count) + skip] = True
    return out


def jolt(n: int) -> np.ndarray:
    """(3,) a "handheld" copy's move of its ``n``-th frame (sideways, up and down, turn), in units of its scale: the
    mean of three seeded standard normals (frames n - 1, n, n + 1) times sqrt(3), so each is unit noise that runs on
    over a frame either side, the same on every run."""
    return sum(np.random.default_rng(k).standard_normal(3) for k in (n - 1, n, n + 1)) / np.sqrt(3.0)


def shaking(n: int, fps: float, all_along: bool = False) -> int | None:
    """How many frames into a burst of a "shake" copy's shaking the clip's ``n``-th frame is (``SHAKE_BURST_S`` of
    every ``SHAKE_EVERY_S``, the first starting 1 s in; ``all_along``, a "shaky" copy's: one burst from 1 s to the
    clip's end), or None on a steady frame."""
    every, start = round(SHAKE_EVERY_S * fps), round(fps)
    if n < start:
        return None
    m = n - start if all_along else (n - start) % every
    return m if all_along or m < round(SHAKE_BURST_S * fps) else None


def _soft_mask(shape: tuple, polygons: list[np.ndarray]) -> np.ndarray:
    """(H, W, 1) float: 1 inside the convex hull of each polygon (pixel-centre coordinates), the edges blurred over
    4 % of the widest one's width."""
    import cv2
    mask = np.zeros(shape[:2], np.float32)
    width = 0.0
    for points in polygons:
        hull = cv2.convexHull(np.rint(np.asarray(points, np.float64) - 0.5).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1.0)
        width = max(width, float(np.ptp(hull[:, 0, 0])))
    return cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.04 * width))[..., None]


def cover(image: np.ndarray, polygons: list[np.ndarray], rgb: tuple) -> np.ndarray:
    """``image`` with the convex hull of each polygon painted ``rgb`` (``_soft_mask``)."""
    mask = _soft_mask(image.shape, polygons)
    return np.rint(image * (1.0 - mask) + np.asarray(rgb, np.float64) * mask).astype(np.uint8)


def shade(image: np.ndarray, polygons: list[np.ndarray], light: float) -> np.ndarray:
    """``image`` with the convex hull of each polygon at ``light`` of its values (``_soft_mask``): a shadow."""
    mask = _soft_mask(image.shape, polygons)
    return np.clip(np.rint(image * (1.0 - (1.0 - light) * mask)), 0, 255).astype(np.uint8)
