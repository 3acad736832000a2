"""Face tracking on MediaPipe's real-face models (core.face_models): one ``FaceState`` per frame, or ``None``.

    tracker = FaceTracker()
    for frame in footage:
        state = tracker.update(frame.image)     # causal: uses only this and earlier frames
        # state.box (CropBox for the dense network), state.landmarks (478, 3), state.presence, state.blendshapes
    # or, a whole clip: FaceTracker().states(images) -> a FaceState or None per image (a trial's frames read
    # backwards, as the bake reads them); FaceTracker().track(footage) -> core.types.TrackResult (crop boxes only)

How it works (MediaPipe's face-landmarker graph, plus searches for small faces)
  * Acquisition (no face followed): the face detector on the whole frame, short range first (faces that fill a good part
    of the frame), then full range (small and distant faces); then, if a face was followed before, both on a square
    around where it was last (``LOST_SEARCH`` x its size), so a small face is seen at a larger scale; and every
    ``search_every`` frames while still lost, the full-range detector on overlapping tiles of the frame (faces down to
    about ``min_face`` pixels) and, where they find none, both detectors on the frame set on a grey canvas
    (``CANVAS_MARGIN``): a face too large for them, one that fills the frame or more (a phone or webcam held close, the
    chin or lips cut off), is not detected whole-frame but is on the canvas. A pass whose best face scores under
    ``TURN_CHECK_SCORE``, and the whole-frame passes on the first frame of a search and on the tiles' frames whatever
    they find, are read again on the image turned upside down and sideways, and the orientation that scores best is
    taken, turned only where it scores at least ``TURN_CHECK_SCORE`` (footage whose rotation tag is lost, a subject
    lying down: upside down the detector finds the face but places its eyes as if upright, and a face 90-100 px wide
    upside down scores over that upright); where no quarter turn has a sure face either, on the image turned half way
    between quarters (``DIAGONAL_SEARCH``: a small face turned about 135 degrees), taken there from ``DIAGONAL_FLOOR``.
    Detection runs on a copy of the frame with long side at most ``detect_side``.
  * A face found is read on its detection's region, and that region turned by one, two and three quarter turns in
    the same model call; where the landmark model is surer of a face in a turned one by more than ``QUARTER_MARGIN``
    (its presence logit), that reading is taken (``righted``): a small face on its side or upside down whose
    detection, upright, reads it upright (its keypoints too rough to turn the region by), and which the landmark
    model reads sideways with a presence that passes, is read the right way up from the frame it is found on.
  * A face found on a turned detection where an upright one of the same face scored less (a small face, whose
    turned reading may score higher: the landmark model then reads it sideways, its points off over the hair): both
    readings are followed for ``TRIAL_STEPS`` frames, and the one that steps less from frame to frame is taken
    (the upright one where its median step is under ``UPRIGHT_STEADIER`` times the turned one's; the misreading
    steps about four times as far; where the turned one is lost first, neither, and the face is searched for again;
    none where the turned reading was righted, above). Where the upright detection is a sure face
    (``TURN_CHECK_SCORE``) and both read the face the same way up (eye lines within ``TRIAL_APART``), the upright
    reading is taken at once, as where no turned detection scored more.
    ``update`` returns ``None`` for the frames before that decision, as for frames without a face; ``states`` (and
    ``track``, and bake.pipeline) follow them ``backwards`` from the reading taken. At the footage's end ``settle``
    decides a trial still open on the steps made so far and gives the last frame's state.
  * Several faces: ``choose="largest"`` takes the largest detection; ``choose=(x, y)`` the one nearest that frame
    point at first and, after a loss, the one nearest where the track was last (with a point, the short- and
    full-range detections on the whole frame are pooled before choosing).
  * Following: the landmark model on a rotated square around the face (``core.face_models.Roi``), cut from the
    full-resolution frame; the next frame's region comes from this frame's landmarks. Where the landmarks moved
    more than ``REFINE_MOVE`` of the region (a fast head), the model runs once more on the region they give, so a
    head shaking left and right within a few frames is followed without lag. There is no temporal smoothing.
  * A face that passes in front of the followed one can take the track over (the landmark region slides onto it,
    or it is found where the followed one was lost): where the face's size (``face_size``: the spread of landmarks
    that neither a turn of the head nor an expression moves) changes by more than ``JUMP_RATIO`` from one frame to
    the next, that frame is listed in ``jumps`` (bake.pipeline warns of it). Telling faces apart by their looks is
    not done.
  * Cuts: a frame where the followed face changed size so at once, or jumped in place (``moves``: its rigid points
    moved more than ``MOVE_JUMP`` face sizes in one step ``MOVE_STEADY`` times any other near it, as at a jump cut), or
    where it is found again away from where it was on the frame before (lost there, so searched for), is listed in
    ``cuts``: a camera cut (or another face) that the bake's temporal filters must not smooth across
    (bake.filter.shot_spans).
  * Loss: the landmark model's face-presence probability under ``min_presence`` (or a region that left the frame);
    the same frame is then searched again as in acquisition, but for ``REACQUIRE_FRAMES`` frames a face that was
    already in view beside the lost one is not taken, so a second person in the shot is not taken for the one who
    left (the same person after a cut, where no face was, is).
  * Lids: MediaPipe's iris model reads each eye on its own crop and its lower lid replaces the 478 model's where the
    eye faces the camera and is large enough (``core.eyelids``; ``iris_lids=False`` keeps the 478 model's). The next
    frame's region, the crop box and the blendshape scores come from the 478 model's own points (the scores' model
    reads those), and so does how shut each eye is (``FaceState.lid_aspects``: the iris model keeps a lower lid
    under a shut eye).

Crop convention (the synthetic training data uses the same framing, core/framing.py): a square crop whose centre is
near the nose and whose side covers the head like a template head's 260 mm at its depth, upright unless the face
rolls beyond ``ROLL_FREE`` (then turned with it, ``crop_turn``). From the landmarks: the
size is the root-mean-square 3D distance of ``STABLE_LANDMARKS`` (eye corners, nose ridge, forehead: points that
expressions hardly move) from their centroid (MediaPipe's z has the pixel scale of x and y, so the size hardly
changes as the head turns); side = ``CROP_SCALE`` x size; centre = centroid + ``CROP_CENTER_Y`` x size along the
face's own downward direction (eyes to mouth, in 3D, projected). Both constants are measured by
benchmarks/bench_framing.py (the median move of the bake's re-framing from the tracker's crop to the training
framing of the head pose; results/framing.json).
"""
from __future__ import annotations

import logging
import math
from collections import deque
from typing import Iterable

import cv2
import numpy as np

from .exposure import forehead_light
from .eyelids import iris_share, lid_aspects, with_iris_lids
from .face_models import (DETECTORS, Detection, FaceModels, Roi, default_models, roi_from_detection,
                          roi_from_landmarks)
from .types import CropBox, FaceState, Frame, TrackResult

log = logging.getLogger(__name__)

# Landmarks -> crop (see the module docstring). Measured by benchmarks/bench_framing.py.
CROP_SCALE = 6.26          # crop side / RMS 3D spread of STABLE_LANDMARKS
CROP_CENTER_Y = 0.69       # crop centre below their centroid along the face's downward direction, in that spread
STABLE_LANDMARKS = (33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 1, 10, 151, 9)
# The roll (radians) up to which the network's crop stays upright; beyond it the crop turns with the face, so the
# network sees at most this roll: its training renders roll about 9 degrees (sd; clipped at 35, training/synth), and
# on the real clips turned 20 degrees the bake holds while at 30 it starts to slip and at 45-90 it fails
# (docs/MEASUREMENTS.md, "The network's crop turns with a rolled face"). Faces within it keep the upright crop.
ROLL_FREE = math.radians(15.0)
EYE_OUTER = (33, 263)      # subject's right and left eye outer corners
MIDLINE = (10, 152)        # the face's midline: forehead top and chin
LIPS_MID = (13, 14)        # inner upper and lower lip midpoints
# A reading whose eye line lies further than this from square to its midline is a face the landmark model folded (a
# profile it read with presence 0.9 but its eyes' line reversed and its mesh squashed to half height), not a face:
# the shared clips and their re-shoots lie within 12 degrees, the held-out renders within 15 and turned to 80
# degrees within 31, a profile's folded readings 64-118 (benchmarks/bench_fold.py; bench_e2e.py --turn 80
# --turn-path toward, seed 7; docs/MEASUREMENTS.md, "A folded reading is no face").
FOLD_SKEW = math.radians(45.0)

# The models a clip whose face is found at once uses (a load ahead of time, bake.pipeline): the full-range detector
# only where the short-range one finds nothing.
FOLLOWING_MODELS = ("detector_short", "landmarks", "blendshapes", "iris")
REFINE_MOVE = 0.08         # landmark region moved more than this (centre in sides, or log size, or radians): rerun
LOST_SEARCH = 3.0          # side of the square searched around the last face, in its face-box sides
TURNED_SEARCH = (2, 1, 3)  # quarter turns of the frame searched where the upright frame has no sure face
DIAGONAL_SEARCH = (45.0, 135.0, 225.0, 315.0)   # turns (degrees) of the frame searched where no quarter turn has a
                                                # sure face either, the image first brought down to DIAGONAL_DETAIL
DIAGONAL_DETAIL = 3.0                           # times the detector's input (bench_turned.py --angles, bench_search.py)
DIAGONAL_FLOOR = 0.7                            # a detection there scoring this, and DIAGONAL_MARGIN over the
DIAGONAL_MARGIN = 0.1                           # upright one, is taken where none is sure (no upright one seeing the
                                                # face alike; its box inside the image searched)
REACQUIRE_FRAMES = 60      # frames after a loss during which a face already beside the lost one is not taken (2 s
REACQUIRE_RADIUS = 1.5     # at 30 fps); a face within this many long sides of a box's centre is that box's face
JUMP_RATIO = 1.1           # a followed face whose size (face_size) grows or shrinks more than this and by more than
JUMP_PX = 0.5              # this many pixels from one frame to the next, and so from the median of the JUMP_FRAMES
JUMP_FRAMES = 3            # frames before to that of this and the next ones, in a step JUMP_STEADY times any other
JUMP_STEADY = 3.0          # within them, is reported (jump_readings; the figures: benchmarks/bench_fold.py --read
                           # cuts, results/cuts_{clips,renders}.json)
MOVE_JUMP = 0.1            # ... and one whose rigid points (STABLE_LANDMARKS) move more than this many face sizes from
MOVE_STEADY = 4.0          # one frame to the next, this many times any other step within JUMP_FRAMES (move_readings;
                           # the figures: the same files)
TURN_CHECK_SCORE = 0.85    # a detection scoring this or more is a sure face, and a turned one is taken only where
                           # it scores as much (the clips upright 0.90-0.95, turned a quarter or over 0.63-0.86,
                           # bench_track.py; the sample clip's face, which tests/test_track.py turns over, must
                           # score above it upright)
TILE_FACES = 8             # tiles of the tiled search are this many ``min_face`` wide
CANVAS_MARGIN = 0.5        # the search for a face too large for the detectors (a close-up that fills the frame, its
#                            chin or lips cut off) sets the detection copy on a grey canvas this much of its size wider
#                            on every side, and takes a face found there whose box's long side is at least
CANVAS_LARGE = 0.75        # this share of the frame's short side: the close-ups enlarged 1.75-3 times were found there
#                            at 0.80-1.32; a face swaying half out of the frame, whose mirror image its reflected border
#                            completes (bench_fold.py --read cuts, the sway300 copies), at 0.34-0.66, and taken it made
#                            cuts where the face came back
QUARTER_MARGIN = 2.0       # at acquisition, the detection's region turned 1-3 quarters is read instead where the
                           # landmark model's presence logit there beats the region's own by more than this (a face
                           # on its side or upside down that the detector read upright; docs/MEASUREMENTS.md, "A small
                           # face on its side read upright, righted by the landmark model's own certainty")
TRIAL_STEPS = 8            # a face found on a turned detection where an upright one scored less (the same face in
UPRIGHT_STEADIER = 0.5     # the same place) is followed both ways for this many frames, and the upright reading
                           # is taken where its median step is under this times the turned one's (docs/MEASUREMENTS.md,
                           # "A small face taken for one lying on its side, mended")
TRIAL_APART = math.radians(45.0)   # ... or, where the upright detection is a sure face, where the two readings'
                           # eye lines lie further apart than this: nearer, both read the face the same way up (the
                           # clips rolled 30-90 degrees: within 4.5 degrees; upside down against the right way,
                           # 178-180: ``weighed`` in benchmarks/results/cuts_{clips,readme}.json; docs/MEASUREMENTS.md,
                           # "A face 90-100 px wide upside down"), and the upright reading is taken at once


def eye_line_apart(a: np.ndarray, b: np.ndarray, eyes: tuple[int, int] = EYE_OUTER) -> float:
    """The angle (radians, 0-pi) between two 478-landmark readings' eye lines (``EYE_OUTER``, in the frame); with
    ``eyes`` (0, 1), between two detections' (``Detection.keypoints``: the subject's right eye, then left)."""
    u, v = (np.asarray(p, np.float64)[eyes[1], :2] - np.asarray(p, np.float64)[eyes[0], :2] for p in (a, b))
    return float(abs(math.atan2(u[0] * v[1] - u[1] * v[0], u @ v)))


def crop_turn(eye_line: np.ndarray) -> float:
    """``CropBox.angle`` (radians) of the network's crop for a face whose eye line (subject's right to left eye,
    frame pixels) is ``eye_line``: the face's roll beyond ``ROLL_FREE`` either way, so that the network sees it
    rolled by at most that much (0 for a face within it: the crop as before turned crops existed). Near upside down
    the roll it is left with falls to 0 at 180 degrees, so the turn does not jump where the roll passes +-180."""
    roll = math.atan2(float(eye_line[1]), float(eye_line[0]))
    left = min(abs(roll), ROLL_FREE, math.pi - abs(roll))           # the roll the network sees, its size
    return float(math.copysign(abs(roll) - left, roll))


def skew(points: np.ndarray) -> float:
    """Radians between the landmarks' eye line (``EYE_OUTER``) and the square to their midline (``MIDLINE``, forehead
    to chin): near 0 on a face at any roll (the two turn together), any size on a reading folded over a profile."""
    p = np.asarray(points, np.float64)[:, :2]
    eye, down = p[EYE_OUTER[1]] - p[EYE_OUTER[0]], p[MIDLINE[1]] - p[MIDLINE[0]]
    off = math.atan2(eye[1], eye[0]) - math.atan2(-down[0], down[1])
    return abs((off + math.pi) % (2 * math.pi) - math.pi)


def face_size(points: np.ndarray) -> float:
    """The face's size in frame pixels from its 478 landmarks: the root-mean-square 3D distance of
    ``STABLE_LANDMARKS`` from their centroid (MediaPipe's z has the pixel scale of x and y, so turning the head
    hardly changes it, and expressions do not move those points)."""
    s = np.asarray(points, np.float64)[list(STABLE_LANDMARKS)]
    return float(np.sqrt(((s - s.mean(0)) ** 2).sum(1).mean()))


def lone_steps(steps, reach: int) -> np.ndarray:
    """(T,) each of ``steps`` (NaN where unread) over the largest other read step within ``reach`` places either side
    (floored at 1e-9): how far a step stands out of the stretches around it (``jump_readings``, ``move_readings``);
    NaN where it is unread, inf where none of those around it is read."""
    x = np.asarray(steps, np.float64)
    edge = np.full(reach, np.nan)
    around = np.lib.stride_tricks.sliding_window_view(np.concatenate([edge, x, edge]), 2 * reach + 1).copy()
    around[:, reach] = np.nan                                             # the step itself
    read = np.isfinite(around).any(1)
    most = np.nanmax(np.where(read[:, None], around, 0.0), axis=1)
    return np.where(read, x / np.maximum(most, 1e-9), np.where(np.isnan(x), np.nan, np.inf))


def jump_readings(sizes) -> tuple[np.ndarray, np.ndarray]:
    """How far a followed face's size jumps at each frame of ``sizes`` (its ``face_size`` per frame, NaN where none
    was found), as a step between two steady stretches: ``reading`` (T,) >= 1, the smaller of two ratios either way,
    the size against the frame before's and the median over ``JUMP_FRAMES`` frames from this one on against the
    median over the ``JUMP_FRAMES`` before it, where each differs by more than ``JUMP_PX`` and the frame's own step
    is at least ``JUMP_STEADY`` times every other step within those frames (else 1, as on the first frame and where
    this frame or the one before has no face); ``ratio`` (T,), the medians' ratio where read (else 1). A misreading
    that comes back within a frame or two, or a size read drifting over several frames (a profile behind dark
    glasses, a small face in a fast turn), is no jump."""
    s = np.asarray(sizes, np.float64)
    reading, ratio = np.ones(len(s)), np.ones(len(s))
    with np.errstate(invalid="ignore"):
        steps = np.abs(np.log(s[1:] / s[:-1]))                          # NaN beside a frame without a face
        at = np.nonzero(np.abs(s[1:] - s[:-1]) > JUMP_PX)[0] + 1
    lone = lone_steps(steps, JUMP_FRAMES - 1)          # against the other steps within the medians' frames
    for k in at:
        before, after = np.nanmedian(s[max(0, k - JUMP_FRAMES):k]), np.nanmedian(s[k:k + JUMP_FRAMES])
        if abs(after - before) > JUMP_PX and lone[k - 1] >= JUMP_STEADY:
            ratio[k] = after / before
            reading[k] = math.exp(min(steps[k - 1], abs(math.log(ratio[k]))))
    return reading, ratio


def size_jumps(sizes) -> list[tuple[int, float]]:
    """(frame, ratio of the medians) where a followed face changes size at once: its ``jump_readings`` over
    ``JUMP_RATIO``."""
    reading, ratio = jump_readings(sizes)
    return [(int(k), float(ratio[k])) for k in np.nonzero(reading > JUMP_RATIO)[0]]


def face_step(before: np.ndarray, after: np.ndarray) -> float:
    """How far a face moved in the picture between two frames' 478 landmarks: the median 2-D distance (pixels) of
    ``STABLE_LANDMARKS``, which expressions do not move, so it is the head's move and turn as the picture shows it."""
    rigid = list(STABLE_LANDMARKS)
    a, b = np.asarray(before, np.float64)[rigid, :2], np.asarray(after, np.float64)[rigid, :2]
    return float(np.median(np.linalg.norm(b - a, axis=1)))


def move_readings(steps, sizes) -> tuple[np.ndarray, np.ndarray]:
    """How far a followed face jumps in place at each frame: ``moved`` (T,), its ``face_step`` from the frame before
    (``steps``, pixels, NaN where this frame or the one before has no face) in face sizes (``sizes``, face_size), and
    ``reading`` (T,), that step over the largest other step within ``JUMP_FRAMES`` frames either side (0 where it or
    every one of them is unread). A jump cut (one camera's take edited, the face where it was but turned or moved at
    once) reads high; a head turned or shaken fast moves over several frames, each step near the next, and a landmark
    reading off for a frame steps out and back, two steps alike."""
    moved = np.asarray(steps, np.float64) / np.asarray(sizes, np.float64)
    lone = lone_steps(moved, JUMP_FRAMES)
    return moved, np.where(np.isfinite(lone), lone, 0.0)


def place_jumps(steps, sizes) -> list[tuple[int, float]]:
    """(frame, step in pixels) where a followed face jumps in place at once: ``move_readings`` of at least
    ``MOVE_STEADY`` on a step over ``MOVE_JUMP`` face sizes."""
    moved, reading = move_readings(steps, sizes)
    return [(int(k), float(steps[k])) for k in np.nonzero((reading >= MOVE_STEADY) & (moved > MOVE_JUMP))[0]]


def _median_step(readings: list) -> float:
    """The median step of a face's readings (pts, presence) from frame to frame, in face sizes (``face_step``)."""
    return float(np.median([face_step(a[0], b[0]) / face_size(b[0]) for a, b in zip(readings, readings[1:])]))


def quarter_readings(models: FaceModels, image: np.ndarray, roi: Roi) -> tuple[list[Roi], np.ndarray, np.ndarray]:
    """``roi`` turned by 0-3 quarter turns, the landmark model's (4, 478, 3) readings there and their (4,) presence
    logits, in one model call (``FaceTracker._right_way_up``; benchmarks/bench_turned.py ``--margins``)."""
    turned = [Roi(roi.cx, roi.cy, roi.side, roi.angle + k * math.pi / 2) for k in range(4)]
    pts, logits = models.landmarks_batch(image, turned, logits=True)
    return turned, pts, logits


def crop_from_landmarks(points: np.ndarray) -> CropBox:
    """The training-framing crop of a face from its 478 landmarks (frame pixels), turned with a face rolled beyond
    ``ROLL_FREE`` (``crop_turn``)."""
    p = np.asarray(points, np.float64)
    centroid, size = p[list(STABLE_LANDMARKS)].mean(0), face_size(p)
    ex = p[EYE_OUTER[1]] - p[EYE_OUTER[0]]
    ex /= max(np.linalg.norm(ex), 1e-9)
    down = p[list(LIPS_MID)].mean(0) - p[list(EYE_OUTER)].mean(0)
    down -= ex * (down @ ex)
    ey = down / max(np.linalg.norm(down), 1e-9)
    cx, cy = centroid[:2] + CROP_CENTER_Y * size * ey[:2]
    side = CROP_SCALE * size
    return CropBox(float(cx - 0.5 * side), float(cy - 0.5 * side), float(side), crop_turn(ex))


def landmark_box(points: np.ndarray) -> tuple[float, float, float, float]:
    """Square face box (x, y, w, h) around the landmarks: the centre and long side of their bounding box."""
    p = np.asarray(points, np.float64)[:, :2]
    lo, hi = p.min(0), p.max(0)
    c, side = 0.5 * (lo + hi), float((hi - lo).max())
    return (float(c[0] - 0.5 * side), float(c[1] - 0.5 * side), side, side)


def _roi_change(a: Roi, b: Roi) -> float:
    shift = math.hypot(b.cx - a.cx, b.cy - a.cy) / a.side
    turn = abs((b.angle - a.angle + math.pi) % (2 * math.pi) - math.pi)
    return max(shift, abs(math.log(b.side / a.side)), turn)


def _surer(dets: list[Detection], best: float, found: list[Detection],
           floor: float = TURN_CHECK_SCORE) -> tuple[list[Detection], float]:
    """``found`` and its best score where that is higher than ``best`` and at least ``floor`` (a sure face,
    ``TURN_CHECK_SCORE``, unless given), else ``dets`` and ``best``."""
    score = max((float(d.score) for d in found), default=0.0)
    return (found, score) if score > best and score >= floor else (dets, best)


def _seen_alike(det: Detection, upright: list[Detection]) -> bool:
    """Whether an upright detection of the same face (``_near``) sees it the same way up as ``det`` (their keypoints'
    eye lines within ``TRIAL_APART``): a face a turn between quarters finds, upright or tilted, whose upright reading
    stands (else it would outscore an unsure upright detection and put the two on trial)."""
    return any(_near(det.box, u.box) and eye_line_apart(det.keypoints, u.keypoints, (0, 1)) <= TRIAL_APART
               for u in upright)


def _whole_in(det: Detection, img: np.ndarray, ox: float, oy: float, ws: float) -> bool:
    """Whether ``det``'s box (frame pixels) lies wholly inside ``img``, the part of the detection copy at (ox, oy) it
    was found in: a face the frame's edge cuts scores 0.70-0.83 turned between quarters (a face swaying out of the
    frame, bench_fold.py ``--read cuts``), and is not taken on so low a score."""
    x, y, w, h = (float(v) * ws for v in det.box)
    return x >= ox and y >= oy and x + w <= ox + img.shape[1] and y + h <= oy + img.shape[0]


def _near(a, box: tuple) -> bool:
    """Whether box ``a``'s centre (x, y, w, h; a Detection's box too) lies within ``REACQUIRE_RADIUS`` of
    ``box``'s, in ``box``'s long sides."""
    x, y, w, h = box
    return bool(np.hypot(a[0] + 0.5 * a[2] - x - 0.5 * w, a[1] + 0.5 * a[3] - y - 0.5 * h)
                <= REACQUIRE_RADIUS * max(w, h))


class FaceTracker:
    """Streaming face tracker; see the module docstring. ``update`` per frame, or ``track`` for a whole clip.

    ``min_presence``: the landmark model's presence probability below which the face counts as lost.
    ``min_face``: the smallest face (pixels, of the frame) the tiled search looks for. ``search_every``: frames
    between tiled searches while lost. ``detect_side``: long side of the copy detection runs on. ``iris_lids``:
    the iris model's lower lids in ``FaceState.landmarks`` (see the module docstring).
    """

    def __init__(self, choose: str | tuple[float, float] = "largest", min_presence: float = 0.5,
                 min_face: int = 40, search_every: int = 10, detect_side: int = 1280,
                 models: FaceModels | None = None, iris_lids: bool = True):
        if not (choose == "largest" or (isinstance(choose, (tuple, list)) and len(choose) == 2)):
            raise ValueError(f"choose must be 'largest' or an (x, y) frame point, got {choose!r}")
        if not 0.0 < min_presence < 1.0:
            raise ValueError(f"min_presence must be in (0, 1), got {min_presence}")
        if min_face < 8 or search_every < 1 or detect_side < 128:
            raise ValueError("min_face must be >= 8, search_every >= 1 and detect_side >= 128")
        self.choose = choose
        self.min_presence = float(min_presence)
        self.min_face = int(min_face)
        self.search_every = int(search_every)
        self.detect_side = int(detect_side)
        self.models = models or default_models()
        self.iris_lids = bool(iris_lids)
        self.reset()

    # -------------------------------------------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget the track (as at the start of a clip)."""
        self._roi: Roi | None = None            # the landmark region for the next frame
        self.face_box: tuple | None = None      # square box (x, y, w, h) around the last landmarks, frame pixels
        self.state: FaceState | None = None     # the last frame's result
        self._last_box: tuple | None = None     # the last face box before a loss (where to look again)
        self._seen_image: np.ndarray | None = None   # the last frame the face was followed in
        self._others: list | None = None        # the other faces in that frame, once a loss asks for them
        self.frames_seen = 0
        self.detections = 0
        self.refined = 0                        # frames where a fast move made the landmark model run twice
        self.folded = 0                         # landmark readings refused as folded (``FOLD_SKEW``)
        self.sizes: list[float] = []            # face_size per frame (NaN where no face was found)
        self.steps: list[float] = []            # face_step from the frame before (NaN where either has no face)
        self._moved: list[int] = []             # frame counts from 0 where the face was found elsewhere
        self._lost_frames = 0
        self._rivals: list[tuple] = []          # (turned detection, the best upright one it outscored)
        self._chosen: Detection | None = None   # the detection the last acquisition read the face on
        self._trial: tuple[list, list] | None = None   # readings (pts, presence) as found turned / upright
        self.trials: list[tuple[int, bool]] = []      # (frame count from 0 of the finding, upright taken)
        self.righted: list[tuple[int, int]] = []      # (frame count from 0, quarter turns) of ``_right_way_up``
        self.weighed: list[tuple[int, float, bool]] = []   # (frame count from 0, degrees between the two readings'
                                                           # eye lines, upright sure) of ``_weigh_rival``

    # ------------------------------------------------------------------------------------------------ public
    def update(self, frame_rgb: np.ndarray) -> FaceState | None:
        """Next frame (H, W, 3) uint8 RGB -> the face's state, or ``None`` when no face is found."""
        if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3:
            raise ValueError(f"update expects an (H, W, 3) RGB frame, got {frame_rgb.shape}")
        frame_rgb = np.ascontiguousarray(frame_rgb)     # a view (turned, flipped) as OpenCV reads it
        self.frames_seen += 1
        before = self.face_box                  # the face followed in the last frame, if any
        last = self.state                       # ... and its landmarks
        if self._trial is not None:             # a face found both ways: one more frame of each
            state = self._try_on(frame_rgb)
            if self._trial is not None:
                return self._withheld()
        else:
            state = self._follow(frame_rgb, self._roi) if self._roi is not None else None
        acquired = state is None
        if acquired:
            if before is not None:              # lost on this frame: searched for again near where it was
                self._last_box = before
                self._others = None
            state = self._acquire(frame_rgb)
        if state is not None and before is not None and not _near(landmark_box(state[0]), before):
            self._moved.append(self.frames_seen - 1)     # found elsewhere on the frame after it was followed: a cut
        if acquired:
            state = self._weigh_rival(frame_rgb, state)
            if self._trial is not None:
                return self._withheld()
        result = self._finish(frame_rgb, state)
        self.sizes.append(math.nan if result is None else face_size(result.landmarks))
        self.steps.append(math.nan if result is None or last is None else face_step(last.landmarks, result.landmarks))
        return result

    def _weigh_rival(self, image: np.ndarray, state: tuple | None) -> tuple | None:
        """The reading to take of the face just found (``state``). Where it was read on a turned detection that
        outscored an upright one of the same face, which the landmark model also reads: the upright reading where
        that detection is a sure face (``TURN_CHECK_SCORE``: the frame was searched turned only as every whole-frame
        search is) and both readings see the face the same way up (eye lines within ``TRIAL_APART``), as without the
        turned search; else ``None``, a trial of both begun (``self._trial``; this frame is withheld). Else
        ``state``. Each weighing is recorded in ``weighed``. (An unsure upright detection's trial stands even where
        both agree: its frames, read backwards from the reading taken, start from a followed region, not a
        detection's; taken at once, the expressions clip rolled 45 degrees read its first and last frames further
        off: docs/MEASUREMENTS.md, "A face 90-100 px wide upside down, read upright by a sure detection".)"""
        rival = next((r for d, r in self._rivals if d is self._chosen), None)
        if state is None or rival is None or not _near(rival.box, landmark_box(state[0])):
            return state
        upright = self._landmarks(image, roi_from_detection(rival))
        if upright is None:
            return state
        apart, sure = eye_line_apart(upright[0], state[0]), float(rival.score) >= TURN_CHECK_SCORE
        self.weighed.append((self.frames_seen - 1, math.degrees(apart), sure))
        if sure and apart <= TRIAL_APART:
            return upright
        self._trial = ([state], [upright])
        self.face_box = self.state = self._roi = None
        return None

    def _withheld(self) -> None:
        """A frame of a trial (the face found both ways, not yet decided): returned as one without a face."""
        self.sizes.append(math.nan)
        self.steps.append(math.nan)
        return None

    def _try_on(self, image: np.ndarray) -> tuple[np.ndarray, float] | None:
        """Both readings of a trial followed one frame more; once they have made ``TRIAL_STEPS`` steps, or either
        is lost, the trial ends (``self._trial`` None) with the reading taken: the upright one where it steps under
        ``UPRIGHT_STEADIER`` times the turned one's, else the turned one, as without a trial. Where the turned one is
        lost first, the face is lost on this frame (``None``: searched for again, as without a trial; the upright
        reading kept then would be one whose single step was its measure, and a misreading of a face truly turned
        steps as far)."""
        turned, upright = self._trial
        for readings in self._trial:
            readings.append(self._follow(image, roi_from_landmarks(readings[-1][0])))
        if turned[-1] is not None and upright[-1] is not None and len(turned) <= TRIAL_STEPS:
            return None
        return self._end_trial()

    def _end_trial(self) -> tuple[np.ndarray, float] | None:
        """The open trial ended on this frame (``_try_on``, ``settle``): the reading taken, recorded in ``trials``."""
        turned, upright = self._trial
        take_upright = bool(turned[-1] is not None and upright[-1] is not None and len(turned) > 1
                            and _median_step(upright) < UPRIGHT_STEADIER * _median_step(turned))
        if turned[-1] is None:                     # searched for again near where it was
            self._last_box = landmark_box(turned[-2][0])
        self.trials.append((self.frames_seen - len(turned), take_upright))
        self._trial = None
        return upright[-1] if take_upright else turned[-1]

    def settle(self, image: np.ndarray) -> FaceState | None:
        """The footage has ended (``image`` was its last frame, given to ``update``): a trial still open is decided on
        the steps its readings have made (``_end_trial``; the turned reading where none has been made), and the
        reading taken is returned as that frame's state, to be followed backwards over the trial's other frames as
        after any frame found; ``None`` where no trial was open. Without it a clip that ends within ``TRIAL_STEPS``
        frames of a trial's start would lose those frames (a clip that short, all of them)."""
        if self._trial is None:
            return None
        state = self._finish(image, self._end_trial())
        self.sizes[-1] = face_size(state.landmarks)
        return state

    @property
    def jumps(self) -> list[tuple[int, float]]:
        """(frame count from 0, size ratio) where the followed face (the face of the last frame, or one found where
        it was lost) changed size at once (``size_jumps``): a cut, or another face."""
        moved = set(self._moved)
        return [(k, r) for k, r in size_jumps(self.sizes) if k not in moved]

    @property
    def moves(self) -> list[tuple[int, float]]:
        """(frame count from 0, pixels) where the followed face jumped in place at once (``place_jumps``): a cut
        within one camera's take (a jump cut), or another face in the same place."""
        moved = set(self._moved)
        return [(k, px) for k, px in place_jumps(self.steps, self.sizes) if k not in moved]

    @property
    def cuts(self) -> list[int]:
        """Frame counts from 0 where the followed face jumped in size (``jumps``) or place (``moves``; or was found
        elsewhere after it was lost)."""
        return sorted(set(self._moved) | {k for k, _ in self.jumps} | {k for k, _ in self.moves})

    @property
    def face_roll(self) -> float:
        """The followed face's roll in the frame (radians, its eye line's angle; 0 when none is followed)."""
        return float(self._roi.angle) if self._roi is not None else 0.0

    def start(self, frame_rgb: np.ndarray, face_box: tuple, roll: float = 0.0) -> FaceState | None:
        """Begin a track on a known face box (x, y, w, h, frame pixels; e.g. another tracker's ``face_box``) rolled
        by ``roll`` (radians; that tracker's ``face_roll``) instead of detecting: used to follow a face backwards in
        time from where it was found. Returns this frame's state (``None`` if the landmark model sees no face
        there); continue with ``update``."""
        self.reset()
        self.frames_seen = 1
        frame_rgb = np.ascontiguousarray(frame_rgb)
        x, y, w, h = (float(v) for v in face_box)
        roi = Roi(x + 0.5 * w, y + 0.5 * h, 1.5 * max(w, h), float(roll))
        return self._finish(frame_rgb, self._follow(frame_rgb, roi))

    def backwards(self, image: np.ndarray, earlier: Iterable[np.ndarray], scale: float = 1.0) -> list[FaceState]:
        """The face this tracker follows now (its ``face_box`` and ``face_roll``, found in the frame ``image`` is a copy
        of, after ``update`` or ``settle``), followed backwards in time by a fresh tracker of the same models over
        ``earlier``, the frames before it, newest first: their states, newest first, up to the first frame without a
        face. ``scale``: the size of ``image`` and ``earlier`` against the frames this tracker read (copies kept
        small); the states are in their pixels. How a clip that starts on a turned or hidden face, a detector's miss
        or a trial's frames are recovered (bake.pipeline, ``states``)."""
        if self.face_box is None:
            raise ValueError("backwards needs a face followed now (update or settle found one)")
        back = FaceTracker(min_presence=self.min_presence, models=self.models, iris_lids=self.iris_lids)
        back.start(image, tuple(v * scale for v in self.face_box), self.face_roll)
        out = []
        for img in earlier:
            state = back.update(img)
            if state is None:
                break
            out.append(state)
        return out

    def states(self, images: Iterable[np.ndarray]) -> list[FaceState | None]:
        """``update`` over ``images`` (after ``reset``; RGB, read in order), then ``settle``, with the frames of a
        trial (given by ``update`` as faceless until it decides) followed ``backwards`` from the reading taken, as
        the bake reads them: one state per image, ``None`` where no face was found. Holds ``TRIAL_STEPS`` + 1
        images."""
        self.reset()
        states: list[FaceState | None] = []
        held: deque = deque(maxlen=TRIAL_STEPS + 1)
        decided, img = 0, None

        def back_over_trial():      # the trial's frames before the last, newest first, read from the last
            first = self.trials[-1][0]
            earlier = [held[k - len(states)] for k in range(len(states) - 2, first - 1, -1)]
            for k, state in enumerate(self.backwards(held[-1], earlier), start=1):
                states[-1 - k] = state
        for img in images:
            held.append(img)
            states.append(self.update(img))
            if len(self.trials) > decided and states[-1] is not None:     # a trial decided on this frame
                back_over_trial()
            decided = len(self.trials)
        last = self.settle(img) if img is not None else None          # a trial still open when the images end
        if last is not None:
            states[-1] = last
            back_over_trial()
        return states

    def track(self, frames: Iterable[Frame]) -> TrackResult:
        """The crop boxes of ``states`` over ``frames``; gaps without a face are listed in ``warnings``."""
        indices: list[int] = []

        def images():
            for frame in frames:
                indices.append(int(frame.index))
                yield frame.image
        states = self.states(images())
        found = np.asarray([s is not None for s in states], bool)
        boxes = [(s.box.x0, s.box.y0, s.box.size) if s is not None else (np.nan,) * 3 for s in states]
        idx = np.asarray(indices, np.int64)
        return TrackResult(frames=idx, boxes=np.asarray(boxes, np.float64).reshape(-1, 3), found=found,
                           warnings=tuple(gap_warnings(idx, found)))

    # ------------------------------------------------------------------------------------------- internals
    def _finish(self, image: np.ndarray, state: tuple | None) -> FaceState | None:
        if state is None:
            if self.face_box is not None:
                self._last_box = self.face_box
            self._roi = self.face_box = self.state = None
            self._lost_frames += 1
            return None
        pts, presence = state
        self._lost_frames = 0
        self._seen_image = image
        self._roi = roi_from_landmarks(pts)
        self.face_box = landmark_box(pts)
        share = iris_share(pts) if self.iris_lids else np.zeros(2)
        lids = with_iris_lids(pts, self.models.eye_contours(image, pts), share) if share.any() else pts
        self.state = FaceState(crop_from_landmarks(pts), lids, presence, self.models.blendshapes(pts),
                               forehead_light(image, pts), lid_aspects(pts))
        return self.state

    def _landmarks(self, image: np.ndarray, roi: Roi) -> tuple[np.ndarray, float] | None:
        h, w = image.shape[:2]
        if roi.side < 8 or not (-0.5 * roi.side < roi.cx < w + 0.5 * roi.side
                                and -0.5 * roi.side < roi.cy < h + 0.5 * roi.side):
            return None
        pts, presence = self.models.landmarks(image, roi)
        if presence < self.min_presence:
            return None
        if skew(pts) > FOLD_SKEW:         # a profile the model folded: no face, as a low presence
            self.folded += 1
            return None
        return pts, presence

    def _follow(self, image: np.ndarray, roi: Roi) -> tuple[np.ndarray, float] | None:
        """Landmarks in ``roi``; once more in the region they give when that moved a lot (a fast head)."""
        found = self._landmarks(image, roi)
        if found is None:
            log.debug("face lost at frame %d", self.frames_seen - 1)
            return None
        nxt = roi_from_landmarks(found[0])
        if _roi_change(roi, nxt) > REFINE_MOVE:
            again = self._landmarks(image, nxt)
            if again is not None:
                self.refined += 1
                return again
        return found

    def _acquire(self, image: np.ndarray) -> tuple[np.ndarray, float] | None:
        """The face searched for on the whole frame (see the module docstring); ``self._chosen`` is the detection it
        was read on, and ``self._rivals`` the upright detections that turned ones outscored."""
        self._rivals, self._chosen = [], None
        h, w = image.shape[:2]
        ws = min(1.0, self.detect_side / max(h, w))
        small = cv2.resize(image, None, fx=ws, fy=ws, interpolation=cv2.INTER_AREA) if ws < 1 else image
        near = None
        if self.choose != "largest":
            near = np.asarray(self._box_centre(self._last_box) if self._last_box else self.choose, np.float64)
        # each search is one or more detector passes whose detections are pooled before choosing
        searches = [[(small, (0.0, 0.0), False)], [(small, (0.0, 0.0), True)]]
        if near is not None:                 # a chosen face may be one only the full-range model sees
            searches = [searches[0] + searches[1]]
        if self._last_box is not None:       # around where the face was last, at a larger scale
            x, y, bw, bh = self._last_box
            side = LOST_SEARCH * max(bw, bh) * ws
            cx, cy = (x + 0.5 * bw) * ws, (y + 0.5 * bh) * ws
            region = self._region(small, cx - 0.5 * side, cy - 0.5 * side, side)
            if region is not None:
                searches += [[(region[0], region[1], False)], [(region[0], region[1], True)]]
        whole = (self._lost_frames % self.search_every) == 0      # also search the whole frame turned, whatever
        for passes in searches:                                    # it finds upright
            dets = [d for img, (ox, oy), full in passes
                    for d in self._oriented(img, full, ox, oy, ws, whole and img is small)]
            found = self._try(image, dets, near)
            if found is not None:
                return found
        if (self._lost_frames % self.search_every) == 0:
            return self._try(image, self._tiled(small, ws), near) or self._try(image, self._on_canvas(small, ws), near)
        return None

    def _oriented(self, img: np.ndarray, full: bool, ox: float, oy: float, ws: float,
                  turned: bool) -> list[Detection]:
        """Detections in ``img`` (the detection copy, or a part of it at offset (ox, oy)), in frame pixels, read in
        the orientation that scores best: upright, or (where its best score is under ``TURN_CHECK_SCORE``, or
        whatever it finds with ``turned``) turned upside down or sideways (``TURNED_SEARCH``) when a detection there
        scores higher and at least that much (a small face's turned detections score low, their keypoints too rough
        to turn its region by). Upside down, the detector still finds a face but reads its eyes where an upright
        face's would be (the clips turned over score 0.63-0.74, upright 0.90-0.95: bench_track.py; a face 90-100 px
        wide upside down scores 0.92 upright, 0.96 turned back, and read upright its mesh sets the mouth on the
        forehead: bench_turned.py ``--sizes``, so ``_acquire`` gives ``turned`` on the whole frame's passes where it
        searches it turned anyway); its keypoints, turned back, turn the landmark region (``roi_from_detection``), so
        the landmark model sees the face upright. Where no quarter turn has a sure face either, the image is searched
        turned half way between quarters (``DIAGONAL_SEARCH``, ``_rolled_detections``), and a detection there that
        scores over every other and is sure, or over every other, at least ``DIAGONAL_FLOOR`` and ``DIAGONAL_MARGIN``
        over the upright detection, with its box inside the image searched (``_whole_in``), is taken, but for a face an
        upright detection sees the same way up (``_seen_alike``): a small face turned about 135 or 225 degrees scores
        0.61-0.77 on every quarter turn, and was read the wrong way up or late; turned back between quarters it scores
        0.72-0.79, and no upright or quarter-turned face of bench_turned.py's sets is read on such a detection
        (``--angles``, ``--sizes``)."""
        dets = upright = self._detections(img, full, ox, oy, ws)
        best = max((float(d.score) for d in dets), default=0.0)
        if not (turned or dets and best < TURN_CHECK_SCORE):
            return dets
        for quarters in TURNED_SEARCH:
            dets, best = _surer(dets, best, self._turned_detections(img, quarters, full, ox, oy, ws))
        floor = max(DIAGONAL_FLOOR, best + DIAGONAL_MARGIN)      # over the upright detection (none sure)
        for degrees in DIAGONAL_SEARCH if best < TURN_CHECK_SCORE else ():
            found = [d for d in self._rolled_detections(img, degrees, full, ox, oy, ws) if not _seen_alike(d, upright)]
            dets, best = _surer(dets, best, found)
            dets, best = _surer(dets, best, [d for d in found if _whole_in(d, img, ox, oy, ws)], floor)
        if upright and dets is not upright:      # remembered: the face may be upright after all (a trial)
            rival = max(upright, key=lambda d: float(d.score))
            self._rivals += [(d, rival) for d in dets]
        return dets

    def _turned_detections(self, img: np.ndarray, quarters: int, full: bool, ox: float, oy: float,
                           ws: float) -> list[Detection]:
        """Detections in ``img`` (at offset (ox, oy) of the detection copy) turned by ``quarters`` quarter turns
        (``np.rot90``), in frame pixels."""
        h, w = img.shape[:2]
        back = {1: lambda q: np.stack([w - q[..., 1], q[..., 0]], -1),       # np.rot90 k=1: (x, y) -> (y, w - x)
                2: lambda q: np.stack([w - q[..., 0], h - q[..., 1]], -1),
                3: lambda q: np.stack([q[..., 1], h - q[..., 0]], -1)}[quarters]
        out = []
        for d in self.models.detect_faces(np.ascontiguousarray(np.rot90(img, quarters)), full):
            x, y, bw, bh = (float(v) for v in d.box)
            corners = back(np.array([[x, y], [x + bw, y + bh]], np.float64)) + [ox, oy]
            lo, hi = corners.min(0), corners.max(0)
            box = np.array([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]], np.float64) / ws
            keypoints = (back(d.keypoints.astype(np.float64)) + [ox, oy]) / ws
            out.append(Detection(box.astype(np.float32), keypoints.astype(np.float32), d.score))
        return out

    def _rolled_detections(self, img: np.ndarray, degrees: float, full: bool, ox: float, oy: float,
                           ws: float) -> list[Detection]:
        """Detections in ``img`` (at offset (ox, oy) of the detection copy) turned by ``degrees``
        (``rolled_on_canvas``), in frame pixels: the keypoints turned back, and the box's centre, its size kept (the
        landmark region is turned by the keypoints and sized by the box). The image is first brought down to
        ``DIAGONAL_DETAIL`` times the detector's input (its letterbox brings the turned canvas down further anyway):
        a 720p frame turned whole costs about twice as much (bench_search.py ``search_call_ms_720p``)."""
        h, w = img.shape[:2]
        f = min(1.0, DIAGONAL_DETAIL * DETECTORS[bool(full)].size / max(h, w))
        small = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1.0 else img
        scale = np.array([small.shape[1] / w, small.shape[0] / h])       # small's pixels per img's, per axis
        canvas, back = rolled_on_canvas(small, degrees)
        out = []
        for d in self.models.detect_faces(canvas, full):
            x, y, bw, bh = (float(v) for v in d.box)
            centre = back @ np.array([x + 0.5 * bw, y + 0.5 * bh, 1.0]) / scale
            keypoints = np.c_[d.keypoints.astype(np.float64), np.ones(len(d.keypoints))] @ back.T / scale
            size = np.array([bw, bh]) / scale
            box = np.r_[centre - 0.5 * size + [ox, oy], size] / ws
            out.append(Detection(box.astype(np.float32), ((keypoints + [ox, oy]) / ws).astype(np.float32), d.score))
        return out

    def _try(self, image: np.ndarray, dets: list[Detection], near) -> tuple[np.ndarray, float] | None:
        """Landmarks on the chosen detection (frame pixels); None when there is none or its presence is low."""
        dets = self._not_another_face(dets)
        if not dets:
            return None
        if near is None:
            dets = sorted(dets, key=lambda d: -float(d.box[2] * d.box[3]))
        else:
            dets = sorted(dets, key=lambda d: float(np.hypot(*(d.box[:2] + 0.5 * d.box[2:] - near))))
        self.detections += 1
        for det in dets[:3]:
            roi = roi_from_detection(det)
            found = self._landmarks(image, roi)
            if found is not None:
                self._chosen = det
                return self._right_way_up(image, roi, found)
        return None

    def _right_way_up(self, image: np.ndarray, roi: Roi, found: tuple) -> tuple[np.ndarray, float]:
        """``found``, the landmarks read in a detection's region ``roi``, or those of that region turned by one, two or
        three quarter turns where the landmark model is surer of a face there by more than ``QUARTER_MARGIN`` (its
        presence logit; one model call for the four regions): a small face on its side or upside down whose
        detection reads it upright (its keypoints too rough to turn the region by) is read the right way up. Each such
        reading is recorded in ``righted``."""
        turned, _, logits = quarter_readings(self.models, image, roi)
        k = int(np.argmax(logits[1:])) + 1
        if logits[k] - logits[0] <= QUARTER_MARGIN:
            return found
        again = self._landmarks(image, turned[k])
        if again is None:
            return found
        self.righted.append((self.frames_seen - 1, k))
        self._rivals = []                       # decided: no trial of the detection against an upright one
        return again

    def _not_another_face(self, dets: list[Detection]) -> list[Detection]:
        """While the followed face has been lost for fewer than ``REACQUIRE_FRAMES`` frames, ``dets`` without the
        faces that were already in view beside it in the last frame it was followed in (detected there once per
        loss; the ones within ``REACQUIRE_RADIUS`` of its box are its own): a second person in the shot is not taken
        for the one who stepped out or turned away (the bake fits one head to the clip), while the same person
        after a cut, found where no face was, is. After that time any face is taken, as at the start."""
        if self._last_box is None or self._seen_image is None or self._lost_frames >= REACQUIRE_FRAMES or not dets:
            return dets
        if self._others is None:
            img = self._seen_image
            ws = min(1.0, self.detect_side / max(img.shape[:2]))
            small = cv2.resize(img, None, fx=ws, fy=ws, interpolation=cv2.INTER_AREA) if ws < 1 else img
            seen = [d for full in (False, True) for d in self._detections(small, full, 0.0, 0.0, ws)]
            self._others = [d for d in seen if not _near(d.box, self._last_box)]
        return [d for d in dets if not any(_near(d.box, o.box) for o in self._others)]

    def _detections(self, img: np.ndarray, full: bool, ox: float, oy: float, ws: float) -> list[Detection]:
        """Detections in ``img`` (a part of the detection copy at offset (ox, oy)) in frame pixels."""
        out = []
        for d in self.models.detect_faces(img, full):
            box = np.array([(d.box[0] + ox) / ws, (d.box[1] + oy) / ws, d.box[2] / ws, d.box[3] / ws], np.float32)
            out.append(Detection(box, ((d.keypoints + np.float32([ox, oy])) / ws).astype(np.float32), d.score))
        return out

    @staticmethod
    def _region(img: np.ndarray, x0: float, y0: float, side: float):
        h, w = img.shape[:2]
        xa, ya = max(0, int(x0)), max(0, int(y0))
        xb, yb = min(w, int(x0 + side)), min(h, int(y0 + side))
        if xb - xa < 16 or yb - ya < 16:
            return None
        return img[ya:yb, xa:xb], (float(xa), float(ya))

    def _tiled(self, small: np.ndarray, ws: float) -> list[Detection]:
        """The full-range detector on overlapping square tiles (faces down to ``min_face`` frame pixels)."""
        h, w = small.shape[:2]
        tile = int(min(max(TILE_FACES * self.min_face * ws, 192), min(h, w)))
        if tile >= max(h, w):
            return []
        step = max(1, int(0.75 * tile))
        xs = sorted({*range(0, max(1, w - tile), step), max(0, w - tile)})
        ys = sorted({*range(0, max(1, h - tile), step), max(0, h - tile)})
        dets = []
        for y in ys:
            for x in xs:
                dets += self._oriented(small[y:y + tile, x:x + tile], True, float(x), float(y), ws, False)
        return dets

    def _on_canvas(self, small: np.ndarray, ws: float) -> list[Detection]:
        """Both detectors on the detection copy set on a grey canvas ``CANVAS_MARGIN`` of its size wider on every side:
        a face too large for them (one that fills the frame, or more, cut by its edges) is seen smaller there. Only
        faces whose box is at least ``CANVAS_LARGE`` of the frame's short side are kept: a smaller one the whole
        frame's search missed for another reason."""
        h, w = small.shape[:2]
        py, px = int(round(CANVAS_MARGIN * h)), int(round(CANVAS_MARGIN * w))
        canvas = cv2.copyMakeBorder(small, py, py, px, px, cv2.BORDER_CONSTANT, value=(128, 128, 128))
        large = CANVAS_LARGE * min(h, w) / ws
        return [d for full in (False, True) for d in self._detections(canvas, full, -float(px), -float(py), ws)
                if max(float(d.box[2]), float(d.box[3])) >= large]

    @staticmethod
    def _box_centre(box: tuple) -> tuple[float, float]:
        x, y, w, h = box
        return (x + 0.5 * w, y + 0.5 * h)


def rolled_on_canvas(image: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` turned ``degrees`` counter-clockwise about its centre (as ``np.rot90`` turns by quarters) on a canvas
    that holds the whole of it (black outside), and the 2x3 affine map from the canvas's pixels back to the image's."""
    h, w = image.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    c, s = abs(turn[0, 0]), abs(turn[0, 1])
    side_w, side_h = (int(np.ceil(v - 1e-9)) for v in (w * c + h * s, w * s + h * c))   # a quarter turn: h x w
    turn[:, 2] += (side_w - w) / 2, (side_h - h) / 2
    return cv2.warpAffine(image, turn, (side_w, side_h)), cv2.invertAffineTransform(turn)


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
