"""The whole path on the real clips (../shared/footage): how well the baked head follows the face.

    python benchmarks/bench_real.py [--footage ../shared/footage] [--png /tmp/real] [--model default]
        [--json benchmarks/results/real.json] [--oracle-json benchmarks/results/real_oracle.json]
        [--no-oracle] [--mediapipe] [--fusion fused|dense|landmarks] [--obs-cache DIR] [--eye-distance MM]
        [--head-size network|irises] [--corrective-keys N] [--arkit-only] [--scores-as-weights] [--small-face PX ...]
        [--brow-pixels] [--no-outline] [--mirror]
        [--camera-turn still|background] [clip.mp4 ...]

There is no ground truth for real footage. Two kinds of measurement:

1. How the fit follows what the network saw, three numbers per clip in inter-ocular distances (IOD, the distance
between the projected eye centres of the fitted head, per frame; results in --json):
  - fit residual: median over frames and observed face vertices of the image distance between the fitted vertex and
    where the network's canonical lookup saw that vertex (the pixel its observation projects to). Large = the head
    model could not follow what the network saw (a wrong pose, or expressions the fit missed).
  - jitter: median over vertices and consecutive frame triples of |second difference| of the projected fitted
    vertices (the issue's definition). Real motion is not zero; on the synthetic clips the truth has 0.001-0.005.
  - bridged: frames the bake replaced by interpolation (no face, or a pose that jumped away from its neighbours).
  - the baked head's size and distance: ``eye_distance_mm`` (centre to centre; adults' 60-66) and the median
    ``head_distance_mm`` (``--eye-distance MM`` bakes with it known, ``--head-size irises`` with the irises'
    reading, bake.head_size); ``iris_eye_distance_mm``, what the irises read (None: too few open-eyed frames).
  - ``background_read``: the share of frames whose turn since the frame before the background gives (core.background;
    the pose filter takes the camera's roll from it where that is over half).
  - weights against MediaPipe's blendshape scores (``weights_vs_scores``, ``score_agreement``): mean |baked weight -
    score| over the shapes whose score is the solve's prior and, apart, over the others, which no term pulls towards
    the scores: how the bake splits an expression over the ARKit shapes, read by a model trained on real faces (the
    synthetic clips' truth is read by MediaPipe on renders, outside its training).
  - ``mouth_close_over_jaw`` (``close_over_jaw``): the frames whose exported mouthClose exceeds jawOpen by more than
    0.01 (an ARKit rig's lips pass through each other there), the most it does, and the median mouthClose.
  - ``opposite_at_once``: per pair of exported shapes that turn one part of the face opposite ways (each eye up and
    down, in and out; the jaw and the mouth left and right), the frames both exceed 0.05 and the most they do.
  - ``one_frame_spikes``: the exported weights' one-frame spikes, (frame, shape) pairs where a weight lies more than
    ``SPIKE`` (0.3) outside the range of its two neighbours' on tracked frames, the eyes' and the other shapes' apart
    (at 25-30 frames/s only a blink moves out and back that fast; a rig driven by the weights pops there), and
    ``lower_face_pops``: the baked head's, the frames where a vertex within ``LOWER_FACE_MM`` (40) of the lips'
    middle lies more than 1 mm from the midpoint of its places in the two frames beside (head coordinates) while
    moving less than half as far between those and the frames beyond them, with the 99th percentile and the most of
    that distance over the frames (mm).
  - the tracker's reading of the light above the eyes over the cheeks' (``forehead_light``, core.exposure): lowest,
    median and highest over the frames, and the fraction the fusion weighs down for a hat brim's shadow.
  - frames/s of the whole path and ``stage_ms_per_frame``: the pipeline's stages (decode + tracking, the network with
    its re-framing passes, point clouds, correspondence, solve, filter) in ms per frame; ``cpu_seconds``, the
    process's CPU time (every thread) over the same span as ``seconds``, and ``cores_busy``, their ratio (on 2 cores
    a clip whose work keeps both busy reads near 2: it is bound by its CPU work, not by waiting).

2. How the baked mesh follows the real face, against an oracle that shares nothing with what ships: dlib's 68-point
predictor (benchmarks/oracle_dlib.py; needs requirements/oracle.txt, benchmarks only; skipped with --no-oracle).
The mesh's 478 MediaPipe-indexed points (core.landmark_template on each frame's baked vertices, basis + weights x
key deltas, moved by the baked head pose into camera space and projected with the baked K) and dlib's 68 points are
reduced to the points both define alike (benchmarks/face_signals.py, SHARED), on every frame dlib found a face.
Per clip (results in --oracle-json; all distances in IOD, each family's own IOD for its signals, dlib's for errors):
  - signals r: Pearson correlation over time between the mesh's signal and dlib's: mouth opening (inner lip
    midpoints), each eye's opening (lid midpoints), mouth width (corners), each brow's height (brow middle above the
    eye centre); openings are signed (upper point above lower along the face's up), so lids or lips that pass
    through each other read negative (negative_frames counts them, crossed_frames those below -0.02 IOD: a shut eye
    reads about 0, of either sign); gain: the mesh signal's standard deviation over
    dlib's (how much of the movement the mesh shows; a near-flat signal can still correlate); the time shift within
    +-5 frames that correlates best and its r; ``r_interval``, how sure r is over the clip's frames (the 5th and
    95th percentiles of r over a moving-block bootstrap, face_signals.r_interval).
  - blink F1, per eye: frames dlib sees closed (eye aspect ratio below half the clip's 90th percentile, see
    face_signals.CLOSED_FRACTION) vs frames whose baked eyeBlinkRight/Left weight is above 0.5; precision, recall,
    and the number of closed runs ("events") on each side; blink_weight_when_shut: the median baked eyeBlink over
    the frames dlib sees shut (1 = shut as ARKit means it), blink_weight_when_open over those it sees open (0 = the
    lids at rest, bake.tracks.blink_rest).
  - landmark error: median over frames of the mean distance over the shared points between mesh and dlib; and the
    same over the points issue 18's target names (``median_target_points``, face_signals.TARGET_POINTS: the shared
    points without the lid and brow midpoints, which each family puts on its own curve); ``ends``, the mean over
    the clip's first and last three frames (face_signals.END_FRAMES; the table's "ends"): where a filter that leans
    on the frames inside lags a head or a camera that moves as the clip starts or ends; ``target_points_interval``,
    the target points' median over moving-block bootstrap draws of the frames, 5th-95th percentile.
  - jitter: median |second difference| over the shared points and consecutive frame triples, for the mesh and for
    dlib itself (the oracle's own noise floor, same definition).
  - head speed ratio: median over frames of the mesh points' centroid speed / dlib's centroid speed (dlib's
    smoothed over 3 frames), on frames where dlib's moves more than 0.01 IOD per frame; 1 = follows the head's
    motion, < 1 = lags or damps it; ``ratio_interval``, the 5th-95th percentile of that median over bootstrap
    draws of those frames. ``oracle_head_speed``: the same for dlib's own points, unsmoothed, against their smoothed
    centroid: what the oracle itself reads on the clip (its frame-to-frame noise against its 3-frame mean).
  - gaze, per eye: r and gain over the frames dlib sees the eye open of the mesh's iris centre's position between
    the eye's corners against the pupil's inside dlib's eye contour (the darkest quarter of its pixels;
    face_signals.look_dlib), the sideways look the baked eyeLook* weights carry; ``gaze_up`` the same for the
    vertical look, the point's height above the corner line (face_signals.up_eye; the pupil's is the rougher
    reading, a lowered lid hiding the iris's top); ``gaze_up_both``, the two eyes' mean vertical look against the
    two pupils' (face_signals.compare_both_eyes: the eyes turn up and down together, and each pupil's own reading is
    rough); ``looks_apart``, how far apart the exported weights turn the two eyes up or down, and
    whether they diverge (face_signals.looks_apart: a character's eyes).
  - the mouth's place (``mouth_offsets``; face_signals.mouth_offsets): each mouth corner's offset outwards from
    dlib's (+ = the mesh's mouth wider), the lip midpoints' and the chin's upwards, in IOD, over the quarter of
    frames where dlib's mouth is narrowest (a mouth at rest) and the quarter where it is widest (a smile): a mouth
    that does not widen as the subject's does shows as a corner outside at rest and inside when smiling.
  - the chin and the mouth sideways (``midline_aside``; face_signals.midline_aside): each one's offset from the
    subnasale along dlib's eye line less dlib's, the clip's median taken off, in IOD: the 95th percentile and the most
    of its excursions and the frames over 0.03 (a smirk pulls the lips aside with the chin still; a chin that swings
    with them, or lips that stay, show here).
  - the face's width (``outline_width``; face_signals.outline_width): the mesh's silhouette (``silhouette_ends``: where
    the triangles of its face's sides cross the line) at the height of each of dlib's jaw-contour pairs from the
    eyes' height to below the mouth, over dlib's width there, median over the frames where the head faces the camera
    (``rows``: per pair; ``ratio``: over the pairs): the head's shape, which none of the 18 points reads. Not the
    template's face-oval points, which lie inside a head's silhouette (bake.face_outline). Where the head is turned,
    each side apart (``outline_sides``; face_signals.outline_sides): the near and the far side's offset outward from
    dlib's contour, in its width, per pair; the head's sides read in front of the ear's root (``contour_sides``: on
    the near side dlib's contour is where the ear meets the face, not a silhouette).
  - the brows with each source's eye distance held at its median over the clip (``r_steady_scale`` of the brow
    signals; face_signals.STEADY_SCALE_SIGNALS).
With --mediapipe, the same metrics for MediaPipe's own landmarks (core.face_models.FaceTracker) as a reference, and
the mesh's mouth against MediaPipe's (``mouth_offsets_vs_mediapipe``, the quarters by MediaPipe's mouth width): the
bake's own input, where the fit lets the landmarks go.
With --brow-pixels, each brow also read from the pixels alone (face_signals.brow_pixels: the brow's dark band above a
nose-bridge patch followed by Lucas-Kanade; for heads that stay frontal, ``patch_error_max`` says where the patch
was lost), and each source's brow signal, its brow point alone and its eye corners' share scored against it
(``brow_pixels`` in --oracle-json): whether a brow signal that barely moves is the brows or the eye corners.

With --obs-cache DIR (for experiments on the clip solve and the fusion, e.g. /tmp/fc_obs): each clip's per-frame
stage (``bake.pipeline.observe``: tracking, network, re-framing, correspondence; what it returns, ``Observed``) and
MediaPipe's reference landmarks are pickled into DIR on the first run and read back on later ones, so a run re-bakes
from them (``bake.pipeline.bake_observations``) and scores against dlib in seconds per clip. The files are keyed by
the clip's name, size and modification time and the model; a re-shot copy's (--small-face, --reshoot) by the copy's
name (the clip's and the re-shoot's) and its clip's size and modification time, the copy itself made anew each run.
Nothing else is checked, so delete the folder after changing anything before the clip solve (tracker, network,
re-framing, correspondence) or how a copy is made. frames/s and the stage times then cover the re-bake only.

With --small-face PX, each close-up (the two shared ones, ``CLOSE_UPS``, and any other clip named on the command line;
not the wide shot, whose face is no close-up's) is also re-shot with its face about PX wide, moving across a 1280x720
frame (``reshoot``, bench_track.small_face_frame; an mp4 in a temporary folder), baked from scratch and measured the
same way against dlib's points on the original frames, carried into the copy (dlib cannot read a face that small
itself); its rows are named "PXpx <clip>". With several sizes, each close-up's copies are also summed up over the sizes
(``over_shots``: each signal's mean and range, the target points' error mean and range; "over_sizes" in --oracle-json),
the figures a change to how small faces bake is judged on. Each such copy's row in --json also says how the bake turns
the head with the face's place in the frame (``turn_against_ray``: the copy's head turned from its ray less the clip's
as shot, against the copy's ray less the clip's; slope 0 = the turn read from the face, 1 = the head kept facing along
the camera's axis wherever it sits), printed as a table. --reshoot mirror and --reshoot roll:DEG do the same with each
clip flipped left to right (rows "mirror <clip>") or turned DEG degrees in the frame ("rollDEG <clip>"): the same face
and the same oracle reading, other pixels for the models, so a figure that holds only on the footage as shot shows up
(docs/MEASUREMENTS.md, "The clips re-shot"); each clip's signals as shot and mirrored, side for side, and their mean are
"mirror_pairs" in --oracle-json (``mirror_pairs``). --reshoot portrait puts each clip in an upright phone's 720x1280
frame ("portrait <clip>"). --reshoot shift:PX moves each frame PX pixels right and down ("shiftPX <clip>"; resampled
with a Lanczos kernel, re-encoded like the others): with PX under a pixel the picture is the same to the eye, so the
spread of a figure over such copies is the noise it is read with ("The figures' noise"). --reshoot sway:PX swings each
frame sideways, PX pixels each way every ``SWAY_PERIOD_S`` (a camera or a subject swaying; "The clip's ends"; its rows
say ``turn_against_ray`` too), --reshoot bob:PX the same up and down (its ``turn_against_ray`` up and down). --reshoot
shake:PX shakes each frame sideways PX pixels each way within ``SHAKE_FRAMES`` frames, for ``SHAKE_BURST_S`` of every
``SHAKE_EVERY_S`` (a head shaken left-right within 2-3 frames, as the issue's fast shake; translation only): each source
is also read over the shaking frames and the steady ones ("shaking", "steady"), and ``shake_follow`` says how much of
the shake it follows ("A camera shake"); --reshoot shaky:PX shakes so from 1 s to the clip's end; --reshoot twist:DEG
turns each frame DEG degrees side to side in the same bursts (a camera rolled; twisty:DEG from 1 s to the end), and
``roll_follow`` says how much of the turn the eye line follows; --reshoot handheld:PX jolts every frame from 1 s on at
random, PX px each way and PX / 6 degrees of roll (a hand holding a phone), and ``place_follow`` says how much of the
face's move sideways and up and down a source follows. --reshoot exposure:F, side:F, noise:S, scale:F, jpeg:Q, blur:S
and motion:L make the footage worse as ordinary cameras do (a dim room, a window's side light, sensor noise, a
low-resolution camera, heavy compression, focus missed, a fast move; ``reshoot``), and --reshoot grey takes its colour
away (an infrared or black-and-white camera): what each costs ("The clips made worse"). --reshoot occlude:F puts a hand
(a skin-coloured patch) over the lower face, mouth to chin as dlib places them, on the middle F of the clip's frames:
each source is then also read over the covered frames and over the rest ("covered", "clear"; the clip as shot too, over
the same frames), so what the hand costs where it is and where it is not shows apart ("A hand over the mouth");
--reshoot shades:F puts dark glasses over the eyes the same way, --reshoot brim:F a hat brim's shadow over the eyes and
brows. --reshoot stride:N keeps every Nth frame at 1/N of the frame rate (a camera that drops frames in a dim room,
footage converted down); dlib's points and every signal are read on the kept frames ("A low frame rate"); --reshoot
fast:N keeps them at the clip's own frame rate (the subject moving N times as fast: a fast talker's syllables; "A
subject moving faster"); --reshoot jump:N leaves N frames out at a third and at two thirds of the clip (two jump cuts:
one camera's take edited, the face where it was, its expression and turn jumping at once; each cut's first frames are
scored apart as a "cut" copy's). A copy the bake cannot take (a face zoomed past the frame) is written as ``{"failed":
"<error>"}`` (and listed under "failed" in the oracle JSON); the other copies go on.

With --png DIR, per clip: an overlay strip (fitted mesh over the footage), a strip of frames with the mesh's points
(cyan; shared points larger, each joined by a white line to dlib's) and dlib's (magenta), and a plot of the signals
over time (mesh cyan, dlib magenta, MediaPipe yellow; shaded where dlib sees the eye closed). These images show
third-party footage and must never be committed.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bake.pipeline as pipeline  # noqa: E402
from bake import fit_report  # noqa: E402
from bake.atomic import atomic_write  # noqa: E402
from bake.calibrate import REGIONS  # noqa: E402
from bake.filter import outside  # noqa: E402
from bake.config import CAMERA_TURNS  # noqa: E402
from bake.correspond import default_vertex_mask, stack  # noqa: E402
from bake.head_size import eye_distance, iris_eye_distance  # noqa: E402
from bake.tracks import posed_vertices  # noqa: E402
from core import head_model  # noqa: E402
from core import landmark_template as lt  # noqa: E402
from core.head_model import HEAD_TO_CV  # noqa: E402
from core.errors import FaceCaptureError  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
import face_signals as fs  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402
from reshoots import COVERS, Reshot, occluders, reshoot, reshoot_kind  # noqa: E402
from shared_clips import CLIPS, FOOTAGE, clip_paths  # noqa: E402

CLOSE_UPS = CLIPS[:2]       # --small-face re-shoots these (bench_track.small_face_frame takes the face as 45 % wide)
TURN_OFF_AXIS_DEG = 10.0    # turn_against_ray: the frames whose ray is this far from the clip's
TURN_SPREAD_DEG = 5.0       # turn_against_ray: the least spread of the rays a slope is read over


def project(v: np.ndarray, K: np.ndarray) -> np.ndarray:
    return v[..., :2] / v[..., 2:3] * [K[0, 0], K[1, 1]] + K[:2, 2]


def follow_metrics(tracks, observations, head) -> dict:
    """Fit residual and jitter (IOD) of baked tracks against the observations they were fitted to."""
    K = tracks.K
    mask = default_vertex_mask(head)
    eyes = head.region_mask("eyes")
    left, right = eyes & (head.vertices[:, 0] > 0), eyes & (head.vertices[:, 0] < 0)
    pv = np.stack([posed_vertices(tracks, i) for i in range(len(tracks.frames))])
    p = project(pv, K)
    iod = np.linalg.norm(p[:, left].mean(1) - p[:, right].mean(1), axis=-1)            # (T,)
    Y, _, C = stack(observations, head.n_vertices)
    seen = (C > 0) & mask[None] & tracks.tracked[:, None]
    resid = np.linalg.norm(project(np.where(seen[..., None], Y, 1.0), K) - p, axis=-1) / iod[:, None]
    d2 = np.linalg.norm(p[2:, mask] - 2 * p[1:-1, mask] + p[:-2, mask], axis=-1) / iod[1:-1, None]
    return dict(fit_residual_iod_median=float(np.median(resid[seen])),
                fit_residual_iod_p90=float(np.quantile(resid[seen], 0.9)),
                jitter_iod=float(np.median(d2)), iod_px_median=float(np.median(iod)))


def weight_beside_score(weight: np.ndarray, score: np.ndarray) -> dict:
    """One shape's weights beside its scores over the same frames: the weight's mean, median, 95th percentile and
    most, the score's mean and 95th percentile (None each where there are no frames)."""
    if not len(weight):
        return dict.fromkeys(("weight_mean", "weight_median", "weight_p95", "weight_max", "score_mean", "score_p95"))
    return dict(weight_mean=float(weight.mean()), weight_median=float(np.median(weight)),
                weight_p95=float(np.percentile(weight, 95)), weight_max=float(weight.max()),
                score_mean=float(score.mean()), score_p95=float(np.percentile(score, 95)))


def score_agreement(tracks, faces) -> dict:
    """The baked ARKit weights against MediaPipe's blendshape scores (a regressor trained on real faces; the tracker's,
    ``faces``, one FaceState or None per baked frame): mean |weight - score| over the frames with scores, for the
    shapes whose score is the solve's prior (``prior_shapes``: agreement there is partly by construction) and for the
    others (``other_shapes``: an outside reading of how the bake splits the expression over the shapes), and the four
    other shapes that disagree most. eyeBlink is left out (rescaled to the clip's own lids, bake.tracks.shut_scales),
    and tongueOut, which the model does not read. ``dimples``, ``stray`` and ``presses``: each of
    bake.fusion.DIMPLE_KEYS, STRAY_KEYS and PRESS_KEYS beside its score on those frames (``weight_beside_score``:
    what the exported fit makes of the shapes it pulls towards the scores), the presses also over the frames whose
    jawOpen score reads the lips apart (``apart``; at or over bake.fusion.JAW_OPEN_RAMP's top, ``frames_apart``)."""
    from bake import fusion
    from core.head_model import ARKIT_NAMES
    if len(faces) != len(tracks.frames):
        raise ValueError(f"{len(faces)} tracker frames for {len(tracks.frames)} baked ones")
    scores = np.stack([f.blendshapes if f is not None else np.full(len(ARKIT_NAMES), np.nan) for f in faces])
    names = list(tracks.key_names)
    w = tracks.weights[:, [names.index(n) for n in ARKIT_NAMES]]
    kept = ~np.isin(ARKIT_NAMES, fusion.BLINK_KEYS + ("tongueOut",))
    seen = np.isfinite(scores[:, kept]).all(1) & tracks.tracked
    if not seen.any():
        return dict(frames=0, prior_shapes=None, other_shapes=None, worst_other={}, dimples={}, presses={}, stray={})
    err = np.abs(w[seen] - scores[seen]).mean(0)
    prior = fusion.prior_shapes()
    other = np.nonzero(kept & ~prior)[0]
    worst = other[np.argsort(-err[other])[:4]]
    apart = seen & (scores[:, ARKIT_NAMES.index("jawOpen")] >= fusion.JAW_OPEN_RAMP[1])

    def beside(keys, on):                     # each shape's weight beside its score over the frames ``on``
        return {n: weight_beside_score(w[on, k], scores[on, k]) for n, k in ((n, ARKIT_NAMES.index(n)) for n in keys)}
    presses_apart = beside(fusion.PRESS_KEYS, apart)
    presses = {n: dict(v, apart=presses_apart[n], frames_apart=int(apart.sum()))
               for n, v in beside(fusion.PRESS_KEYS, seen).items()}
    return dict(frames=int(seen.sum()), prior_shapes=float(err[kept & prior].mean()),
                other_shapes=float(err[other].mean()), worst_other={ARKIT_NAMES[i]: float(err[i]) for i in worst},
                dimples=beside(fusion.DIMPLE_KEYS, seen), presses=presses, stray=beside(fusion.STRAY_KEYS, seen))


def close_over_jaw(tracks, slack: float = 0.01) -> dict:
    """The exported mouthClose against jawOpen on the tracked frames: an ARKit rig's mouthClose closes the lips over an
    open jaw, so beyond jawOpen its lips pass through each other (bake.mouth_follow.mouth_rest): the frames where it
    exceeds jawOpen by more than ``slack``, by how much at most, and the median mouthClose."""
    names = list(tracks.key_names)
    close = tracks.weights[tracks.tracked, names.index("mouthClose")]
    over = close - tracks.weights[tracks.tracked, names.index("jawOpen")]
    return dict(frames=int((over > slack).sum()), of=int(len(over)), most=round(float(over.max(initial=0.0)), 3),
                median_close=round(float(np.median(close)), 3) if len(close) else None)


OPPOSITE_PAIRS = tuple((f"eyeLook{a}{side}", f"eyeLook{b}{side}") for side in ("Right", "Left")
                       for a, b in (("Up", "Down"), ("In", "Out"))) + (("jawLeft", "jawRight"),
                                                                       ("mouthLeft", "mouthRight"))


SPIKE = 0.3             # one_frame_spikes: a weight this far outside both neighbours' range
LOWER_FACE_MM = 40.0     # lower_face_pops: the vertices this near the lips' middle (mm, the neutral head)
POP_MM = 1.0             # and a frame where one of them lies this far from its neighbours' midpoint


def one_frame_spikes(tracks) -> dict:
    """Per group (the eyes' shapes, the others), the (frame, shape) pairs of the exported ARKit weights that lie more
    than ``SPIKE`` outside the range of the two neighbouring frames' on three tracked frames in a row."""
    ok = tracks.tracked[:-2] & tracks.tracked[1:-1] & tracks.tracked[2:]
    out = (np.abs(outside(tracks.weights[:, :head_model.N_ARKIT]))[1:-1] > SPIKE) & ok[:, None]
    eyes = np.isin(head_model.ARKIT_NAMES, REGIONS["eyes"])
    return dict(eyes=int(out[:, eyes].sum()), others=int(out[:, ~eyes].sum()))


def lower_face_pops(tracks) -> dict:
    """The baked head's lower face popping out and back within a frame (head coordinates, mm): the frames where a
    vertex within ``LOWER_FACE_MM`` of the lips' middle lies more than ``POP_MM`` from the midpoint of its places in
    the frames beside, each of which moved less than half that from the frame beyond it; the 99th percentile and the
    most of that distance over the frames."""
    if tracks.region is None or len(tracks.weights) < 5:
        return dict(frames=0, p99_mm=None, most_mm=None)
    lips = np.asarray(tracks.region) == list(tracks.region_names).index("lips")
    near = np.linalg.norm(tracks.basis - tracks.basis[lips].mean(0), axis=1) < LOWER_FACE_MM
    x = tracks.basis[near] + np.tensordot(tracks.weights, tracks.key_deltas[:, near], 1)     # (T, n, 3)
    pop = np.linalg.norm(x[1:-1] - 0.5 * (x[:-2] + x[2:]), axis=2).max(1)        # frames 1 .. T-2
    step = np.linalg.norm(np.diff(x, axis=0), axis=2).max(1)                     # frame t -> t + 1
    steady = np.maximum(step[:-3], step[3:]) < 0.5 * pop[1:-1]                    # frames 2 .. T-3
    run = tracks.tracked[:-4] & tracks.tracked[1:-3] & tracks.tracked[2:-2] & tracks.tracked[3:-1] & tracks.tracked[4:]
    return dict(frames=int(((pop[1:-1] > POP_MM) & steady & run).sum()),
                p99_mm=round(float(np.percentile(pop, 99)), 2), most_mm=round(float(pop.max()), 2))


def opposite_at_once(tracks, slack: float = 0.05) -> dict:
    """The exported shapes that turn one part of the face opposite ways (``OPPOSITE_PAIRS``: each eye up and down,
    in and out; the jaw and the mouth left and right), both over ``slack`` at once on the tracked frames: an ARKit
    capture turns each one way at a time, and a rig driven by both does each half. Per pair: the frames, and the
    larger of the two weights' smaller one at most."""
    names = list(tracks.key_names)
    w = tracks.weights[tracks.tracked]
    out = {}
    for one, other in OPPOSITE_PAIRS:
        both = np.minimum(w[:, names.index(one)], w[:, names.index(other)])
        out[f"{one}/{other}"] = dict(frames=int((both > slack).sum()), most=round(float(both.max(initial=0.0)), 3))
    return out


def mesh_landmarks(tracks, head=None) -> np.ndarray:
    """(T, 478, 2) pixels: the template's MediaPipe-indexed points on each baked frame, posed and projected (the
    points bake.fit_report reads; ``head`` is not needed, the topology is the baked scene's)."""
    return project(fit_report.landmark_points(tracks, lt.load(), np.arange(lt.NUM_LANDMARKS)), tracks.K)


def without_outline() -> None:
    """Bakes from here on leave the head as the solve leaves it, without bake.face_outline's step (its ``MIN_FRAMES``
    out of reach): ``--no-outline``, the before of docs/MEASUREMENTS.md "The face's outline"."""
    from bake import face_outline
    face_outline.MIN_FRAMES = 10 ** 9


# dlib's contour on a turned head's near side is no silhouette: from the eyes' height down it follows where the ear
# meets the face, then the jaw's edge in front of the neck. There the head's sides are read as its skin in front of
# the ear's root (the template's ear stands out from the head behind z 22-24 mm from its top to its lobe), without
# the neck under the ear; bake.face_outline's own sides, which the bake reads where the head faces the camera, stop
# at z 40 mm, 15 mm in front of the ear, and reach back under it (docs/MEASUREMENTS.md, "A turned head's near side is
# the ear's root").
EAR_ROOT_MM = 25.0


def contour_sides(head) -> np.ndarray:
    """Indices of the template's skin vertices in front of the ear's root (``EAR_ROOT_MM``), not under the ears, up
    to the temples' top row (bake.face_outline.outline_vertices): the face's sides where dlib's contour runs on a
    turned head."""
    from bake.face_outline import outline_vertices
    return outline_vertices(head, EAR_ROOT_MM, under_ears=False)


def outline_ends(vertices: np.ndarray, K: np.ndarray, head, turn: np.ndarray, centre: np.ndarray,
                 heights: np.ndarray, sides: np.ndarray | None = None) -> np.ndarray:
    """(T, R, 2) a head's silhouette, ``vertices`` (T, V, 3) camera mm seen through ``K``, at the rows ``heights`` (T,
    R) of the image frame ``turn`` (T, 2, 2) about ``centre`` (T, 2) (face_signals.outline_rows): the outermost
    crossings there of the triangles of its face's sides, ``sides`` (vertex indices; default bake.face_outline's,
    the outline the bake reads); NaN on frames whose vertices or rows are not finite."""
    from bake.face_outline import crossings, outline_edges, outline_vertices
    sides = outline_vertices(head) if sides is None else np.asarray(sides)
    local = np.full(head.n_vertices, -1)
    local[sides] = np.arange(len(sides))
    edges = local[outline_edges(head, sides)]
    out = np.full(heights.shape + (2,), np.nan)
    for j in range(len(heights)):
        v = vertices[j][sides]
        if not (np.isfinite(heights[j]).all() and np.isfinite(v).all()):
            continue
        flat = (project(v, K) - centre[j]) @ turn[j].T
        out[j] = crossings(np.repeat(flat[None], heights.shape[1], 0), edges, heights[j])[0]
    return out


def silhouette_ends(tracks, head, shot: np.ndarray, dlib68: np.ndarray,
                    sides: tuple = (None,)) -> list[np.ndarray]:
    """``outline_ends`` of the baked head on the source frames ``shot`` at dlib's outline rows
    (face_signals.outline_rows), one for each of ``sides`` (vertex indices; None: bake.face_outline's), the frames
    posed once; NaN where the frame was not baked or dlib read no face."""
    from bake.tracks import posed_vertices
    baked = {int(f) - 1: k for k, f in enumerate(tracks.frames)}
    verts = np.full((len(shot), len(tracks.basis), 3), np.nan)
    for j, f in enumerate(shot):
        if int(f) in baked:
            verts[j] = posed_vertices(tracks, baked[int(f)])
    rows = fs.outline_rows(dlib68)
    return [outline_ends(verts, tracks.K, head, *rows, sides=s) for s in sides]


def oval_ends(mp478: np.ndarray, turn: np.ndarray, centre: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """(T, R, 2) MediaPipe's face oval (the closed line through its ``FACE_OVAL`` points) at the rows of
    ``outline_ends``' frame; NaN where it read no face."""
    from bake.face_outline import crossings
    from core.landmark_template import FACE_OVAL
    ring = np.stack([np.arange(len(FACE_OVAL)), np.roll(np.arange(len(FACE_OVAL)), -1)], 1)
    flat = np.einsum("tij,tlj->tli", turn, np.asarray(mp478, np.float64)[:, list(FACE_OVAL), :2] - centre[:, None])
    ok = np.isfinite(flat).all((1, 2)) & np.isfinite(heights).all(1)
    out = np.full(heights.shape + (2,), np.nan)
    for k in range(heights.shape[1]):
        out[ok, k] = crossings(flat[ok], ring, heights[ok, k])[0]
    return out


def on_frames(values: np.ndarray, frames: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Rows of ``values`` (one per source frame in ``frames``) at source frames ``wanted``; NaN where missing."""
    out = np.full((len(wanted),) + values.shape[1:], np.nan)
    pos = {int(f): k for k, f in enumerate(frames)}
    for j, f in enumerate(wanted):
        if int(f) in pos:
            out[j] = values[pos[int(f)]]
    return out


def tracker_points(images) -> np.ndarray:
    """(T, 478, 2) MediaPipe's own landmarks (pixels; a fresh ``core.track.FaceTracker``'s ``states``, a trial's
    frames read as the bake reads them) on the RGB ``images``, NaN where it found no face (reference only)."""
    from core.track import FaceTracker
    return landmark_array(FaceTracker().states(images))


def landmark_array(states: list) -> np.ndarray:
    """(T, 478, 2) the landmarks of ``FaceState``s (pixels), NaN where None."""
    return np.stack([np.full((478, 2), np.nan) if s is None else np.asarray(s.landmarks)[:, :2] for s in states])


def cut_frames(states: list, image_size: tuple) -> dict:
    """How many frames with a face the picture's edge cuts each part of it on, as the bake's warnings name them
    (bake.cut_faces.cut_parts: ``CUT_SHARE`` of the part's landmarks outside the frame), and on how many any part;
    with the frames whose lips have any point outside it (``lips_any``)."""
    from bake.cut_faces import PARTS, cut_parts, outside
    from core.landmark_template import LIPS
    marks = np.array([s.landmarks[:, :2] for s in states if s is not None], np.float64).reshape(-1, 478, 2)
    cut = cut_parts(marks, image_size)
    lips_any = outside(marks[:, list(LIPS)], image_size).any(1)
    return dict(frames=len(marks), **{name: int(cut[:, k].sum()) for k, (name, _) in enumerate(PARTS)},
                any=int(cut.any(1).sum()), lips_any=int(lips_any.sum()))


def forehead_light(states: list) -> dict:
    """The tracker's reading of the light above the eyes over the cheeks' (``FaceState.forehead_light``,
    core.exposure) over the frames with a face: lowest, median, highest, and the fraction of those frames the fusion
    weighs down for a brim's shadow (under bake.fusion.SHADE_FREE)."""
    from bake.fusion import SHADE_FREE
    light = np.array([s.forehead_light for s in states if s is not None], np.float64)
    light = light[np.isfinite(light)]
    if not len(light):
        return dict(frames=0)
    return dict(frames=len(light), min=round(float(light.min()), 3), median=round(float(np.median(light)), 3),
                max=round(float(light.max()), 3), weighed_down=round(float(np.mean(light < SHADE_FREE)), 3))


def mediapipe_points(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe's own 478 landmarks per decodable frame of the clip (``tracker_points``) and the source frame
    numbers."""
    from core.footage import open_footage
    frames = []

    def images():
        with open_footage(str(path)) as footage:
            for frame in footage:
                frames.append(frame.index)
                yield frame.image
    return tracker_points(images()), np.array(frames)


def oracle_metrics(path: Path, tracks, head, mediapipe: bool, mp_cache: Path | None = None,
                   reshot: Reshot | None = None, brows: bool = False,
                   covered: frozenset = frozenset()) -> tuple[dict, dict]:
    """Metrics of the baked mesh (and MediaPipe's landmarks) against dlib's; and the arrays the pictures need.
    ``reshot``: when ``path`` is a re-shot copy of a clip (``reshoot``): dlib reads the original, its points are
    carried into the copy, and gaze is read on the original (its eyes swapped in a mirrored copy). ``brows``: also
    each source's brows against the pixels (``brow_pixel_metrics``). ``covered`` (source frames; a re-shot copy's
    own when it has them): each source's metrics also over those frames and over the others (``"covered"``,
    ``"clear"``), so an occluded copy and its clip as shot are read over the same frames."""
    import oracle_dlib
    source, carry = (reshot.clip, reshot.carry) if reshot else (path, lambda frames, points: points)
    oracle = oracle_dlib.load(source)
    frames, points, valid = oracle.frames, oracle.points, oracle.found.copy()
    shot = frames                                    # the frames' indices in the footage baked
    if reshot is not None and reshot.frames is not None:
        kept = np.isin(frames, list(reshot.frames))
        frames, points, valid = frames[kept], points[kept], valid[kept]
        shot = np.array([reshot.frames[int(f)] for f in frames], np.int64)
    b = fs.named(carry(frames, points), "dlib68")
    mesh478 = on_frames(mesh_landmarks(tracks, head), tracks.frames - 1, shot)
    a = fs.named(mesh478, "mp478")
    names = list(tracks.key_names)
    blink = {side: on_frames(tracks.weights[:, names.index(f"eyeBlink{side.title()}")], tracks.frames - 1, shot)
             for side in ("right", "left")}
    shut = {k: np.nan_to_num(v) > fs.BLINK_WEIGHT for k, v in blink.items()}
    out = dict(frames=len(frames), oracle_found=int(valid.sum()), blink_weight_threshold=fs.BLINK_WEIGHT,
               closed_fraction=fs.CLOSED_FRACTION, open_quantile=fs.OPEN_QUANTILE, mesh=fs.compare(a, b, valid, shut),
               oracle_head_speed=fs.head_speed_ratio(b, b, valid))   # dlib's own centroid against its smoothed one
    out["mesh"]["mouth_offsets"] = fs.mouth_offsets(a, b, valid)
    out["mesh"]["midline_aside"] = fs.midline_aside(a, b, valid)
    silhouette, contour = silhouette_ends(tracks, head, shot, carry(frames, points), (None, contour_sides(head)))
    out["mesh"]["outline_width"] = fs.outline_width(silhouette, carry(frames, points), valid)
    out["mesh"]["outline_sides"] = fs.outline_sides(contour, carry(frames, points), valid)
    arrays = dict(frames=shot, valid=valid, dlib=carry(frames, points), dlib_named=b, mesh=mesh478,
                  mesh_named=a, blink=blink)
    pupils = fs.look_dlib(grey_frames(source, frames), points, valid)
    if reshot is not None and reshot.mirrored:
        pupils = {k: dict(right=v["left"], left=v["right"]) for k, v in pupils.items()}
    closed = fs.eyes_closed(b, valid)
    out["mesh"]["blink_weight_when_shut"] = {side: float(np.nanmedian(blink[side][closed[side]]))
                                             if closed[side].any() else None for side in closed}
    open_eyes = {side: valid & ~closed[side] for side in closed}
    out["mesh"]["blink_weight_when_open"] = {side: float(np.nanmedian(blink[side][open_eyes[side]]))
                                             if open_eyes[side].any() else None for side in closed}
    look = fs.look_mp478(mesh478)
    out["mesh"]["gaze"] = fs.compare_gaze(look["along"], pupils["along"], open_eyes)
    out["mesh"]["gaze_up"] = fs.compare_gaze(look["up"], pupils["up"], open_eyes)
    def turn(first: str, second: str) -> dict:      # per eye, the exported weight ``first`` less ``second``
        return {side: on_frames(tracks.weights[:, names.index(f"{first}{side.title()}")]
                                - tracks.weights[:, names.index(f"{second}{side.title()}")], tracks.frames - 1, shot)
                for side in ("right", "left")}
    both_open = open_eyes["right"] & open_eyes["left"]
    out["mesh"]["looks_apart"] = fs.looks_apart(turn("eyeLookUp", "eyeLookDown"), turn("eyeLookIn", "eyeLookOut"),
                                                both_open)
    out["mesh"]["gaze_up_both"] = fs.compare_both_eyes(look["up"], pupils["up"], both_open)
    if mediapipe:
        mp, mp_frames = cached(mp_cache, lambda: mediapipe_points(path))
        mp = on_frames(mp, mp_frames, shot)
        out["mediapipe"] = fs.compare(fs.named(mp, "mp478"), b, valid)
        out["mediapipe"]["mouth_offsets"] = fs.mouth_offsets(fs.named(mp, "mp478"), b, valid)
        out["mediapipe"]["midline_aside"] = fs.midline_aside(fs.named(mp, "mp478"), b, valid)
        oval = oval_ends(mp, *fs.outline_rows(carry(frames, points)))
        out["mediapipe"]["outline_width"] = fs.outline_width(oval, carry(frames, points), valid)
        out["mediapipe"]["outline_sides"] = fs.outline_sides(oval, carry(frames, points), valid)
        out["mesh"]["mouth_offsets_vs_mediapipe"] = fs.mouth_offsets(a, fs.named(mp, "mp478"), valid)
        look = fs.look_mp478(mp)
        out["mediapipe"]["gaze"] = fs.compare_gaze(look["along"], pupils["along"], open_eyes)
        out["mediapipe"]["gaze_up"] = fs.compare_gaze(look["up"], pupils["up"], open_eyes)
        out["mediapipe"]["gaze_up_both"] = fs.compare_both_eyes(look["up"], pupils["up"], both_open)
        arrays["mediapipe_named"] = fs.named(mp, "mp478")
    covered = reshot.covered if reshot is not None and reshot.covered else covered
    if covered:
        hidden = np.isin(frames, list(covered))
        for source, named, closed_a in (("mesh", a, shut), ("mediapipe", arrays.get("mediapipe_named"), None)):
            if named is not None:
                out[source].update(covered=fs.compare(named, b, valid & hidden, closed_a),
                                   clear=fs.compare(named, b, valid & ~hidden, closed_a))
    if reshot is not None and (reshot.shaken or reshot.twisted):
        swings = reshot.shaken or reshot.twisted
        moving = np.isin(frames, list(swings))
        swing = np.array([swings.get(int(f), 0.0) for f in frames])
        key, follow = ("shake_follow", fs.shake_follow) if reshot.shaken else ("roll_follow", fs.roll_follow)
        b0 = fs.named(points, "dlib68")              # the oracle before the move: its move at the face is b - b0
        for source, named, closed_a in (("mesh", a, shut), ("mediapipe", arrays.get("mediapipe_named"), None)):
            if named is not None:
                out[source].update(shaking=fs.compare(named, b, valid & moving, closed_a),
                                   steady=fs.compare(named, b, valid & ~moving, closed_a),
                                   **{key: follow(named, b, valid & moving, swing)},
                                   place_follow=fs.place_follow(named, b, b0, valid & moving))
    if reshot is not None and reshot.cuts:
        for source, named in (("mesh", a), ("mediapipe", arrays.get("mediapipe_named"))):
            if named is not None:
                out[source]["cuts"] = fs.cut_errors(named, b, valid, frames, reshot.cuts)
    if brows and reshot is None:
        out["brow_pixels"] = brow_pixel_metrics(path, arrays)
    return out, arrays


def brow_pixel_metrics(path: Path, arrays: dict) -> dict:
    """The brows read from the pixels (face_signals.brow_pixels, placed by dlib's first face) against the mesh's,
    dlib's and, when measured, MediaPipe's brow readings (face_signals.brows_against_pixels)."""
    valid = arrays["valid"]
    first = int(np.argmax(valid))
    frames = grey_frames(path, arrays["frames"])
    pix = fs.brow_pixels(((t, g) for t, g in frames if t >= first), arrays["dlib_named"][first], len(valid))
    sources = dict(mesh=arrays["mesh_named"], dlib=arrays["dlib_named"])
    if "mediapipe_named" in arrays:
        sources["mediapipe"] = arrays["mediapipe_named"]
    return fs.brows_against_pixels(sources, pix, valid)


def grey_frames(path: Path, frames: np.ndarray):
    """(row, grey image) for each decodable frame of the clip whose source index is in ``frames`` (row: its place
    there), read as the product and the oracle read the clip."""
    import cv2
    from core.footage import open_footage
    row = {int(f): k for k, f in enumerate(frames)}
    with open_footage(str(path)) as footage:
        for frame in footage:
            if frame.index in row:
                img = frame.image
                yield row[frame.index], cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img


def cache_file(cache: Path, path: Path, model: str, kind: str, reshot: Reshot | None = None) -> Path:
    """Where --obs-cache keeps one clip's ``kind`` (observations, mediapipe) for this clip file and model; for a
    ``reshot`` copy (``path``, made anew each run), keyed by its clip file's size and time and the copy's name."""
    st = (reshot.clip if reshot is not None else path).stat()
    tag = f"{path.stem}_{st.st_size}_{int(st.st_mtime)}_{Path(model).stem}"
    return cache / f"{kind}_{tag}.pkl"


def cached(file: Path | None, make):
    """``make()``, pickled to ``file`` on first use and read back afterwards (no cache when ``file`` is None)."""
    import pickle
    if file is not None and file.is_file():
        with open(file, "rb") as fh:
            return pickle.load(fh)
    value = make()
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(file, "the observation cache") as tmp, open(tmp, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return value


def _rounded(mm: float | None) -> float | None:
    return None if mm is None else round(mm, 1)


def arkit_keys_only(tracks):
    """The baked scene with every key but the 52 ARKit ones at 0: the clip's neutral posed by the exported weights,
    as a character driven by them shows the performance (the corrective and residual keys are the baked head's own)."""
    weights = np.array(tracks.weights)
    weights[:, [n not in head_model.ARKIT_NAMES for n in tracks.key_names]] = 0.0
    return replace(tracks, weights=weights)


def scores_as_weights(tracks, faces):
    """The baked scene with its 52 ARKit keys set to MediaPipe's blendshape scores as they come (the tracker's,
    ``faces``, one FaceState or None per baked frame; tongueOut, which the model does not read, and frames without a
    face at 0) and every other key at 0: the clip's neutral, with the bake's pose, posed as a character driven by those
    scores shows the performance (what an add-on that passes them on exports; its head pose would be MediaPipe's own,
    so only the weights are compared with ``arkit_keys_only``'s)."""
    if len(faces) != len(tracks.frames):
        raise ValueError(f"{len(faces)} tracker frames for {len(tracks.frames)} baked ones")
    scores = np.stack([f.blendshapes if f is not None else np.zeros(len(head_model.ARKIT_NAMES)) for f in faces])
    names = list(tracks.key_names)
    weights = np.zeros_like(tracks.weights)
    weights[:, [names.index(n) for n in head_model.ARKIT_NAMES]] = np.clip(np.nan_to_num(scores), 0.0, 1.0)
    return replace(tracks, weights=weights)


def run_clip(path: Path, model: str, png: Path | None, head, oracle: bool = True,
             mediapipe: bool = False, fusion: str = "fused",
             obs_cache: Path | None = None, eye_distance_mm: float | None = None, head_size: str = "network",
             reshot: Reshot | None = None,
             corrective_keys: int = pipeline.ReconConfig.corrective_keys,
             brows: bool = False, covered: frozenset = frozenset(),
             arkit_only: bool = False, camera_turn: str = "still",
             scores_as_keys: bool = False, mirror: bool = False) -> tuple[dict, dict | None, np.ndarray]:
    """The bake's own figures (--json's row), the oracle's (None without it) and the head's ``turn_from_ray``."""
    config = pipeline.ReconConfig(source=str(path), fusion=fusion, model_path=None if model == "default" else model,
                                  eye_distance_mm=eye_distance_mm, head_size=head_size,
                                  corrective_keys=corrective_keys, camera_turn=camera_turn, mirror=mirror)
    t, c = time.perf_counter(), time.process_time()
    observed = cached(obs_cache and cache_file(obs_cache, path, model, "observed_mirror" if mirror else "observed",
                                               reshot),
                      lambda: pipeline.observe(config))
    observed = replace(observed, footage_path=str(path))    # a cached copy's was a temporary file, gone since
    t_bake, c_bake = time.perf_counter(), time.process_time()
    stage = dict(observed.stage_seconds) if obs_cache is None else {}
    tracks, stats = pipeline.bake_observed(config, observed, head, stage)
    seconds = time.perf_counter() - (t if obs_cache is None else t_bake)
    cpu_seconds = time.process_time() - (c if obs_cache is None else c_bake)
    if arkit_only:
        tracks = arkit_keys_only(tracks)
    if scores_as_keys:
        tracks = scores_as_weights(tracks, observed.faces)
    out = dict(frames=stats.frames_total, tracked=stats.frames_tracked, bridged=stats.frames_bridged,
               seconds=round(seconds, 2), fps=round(stats.frames_total / seconds, 1),
               cpu_seconds=round(cpu_seconds, 2), cores_busy=round(cpu_seconds / seconds, 2),
               stage_ms_per_frame={k: round(1000 * v / max(1, stats.frames_total), 1)
                                   for k, v in stats.stage_seconds.items()},
               eye_distance_mm=round(float(eye_distance(tracks.basis, head)), 1),
               iris_eye_distance_mm=_rounded(iris_eye_distance(observed.faces, tracks.head_rotation, tracks.K)),
               background_read=round(float(np.isfinite(observed.background_turns).mean()), 3)
               if observed.background_turns else None,
               head_distance_mm=round(float(np.median(tracks.head_translation[tracks.tracked, 2])), 1),
               landmark_fit=fit_report.report(stats),     # the bake's own reading (the panel's, the manifest's)
               **follow_metrics(tracks, observed.observations, head),
               weights_vs_scores=score_agreement(tracks, observed.faces),
               mouth_close_over_jaw=close_over_jaw(tracks),
               opposite_at_once=opposite_at_once(tracks),
               one_frame_spikes=one_frame_spikes(tracks), lower_face_pops=lower_face_pops(tracks),
               forehead_light=forehead_light(observed.faces),
               cut_frames=cut_frames(observed.faces, observed.image_size),
               pitch_with_jaw=pitch_with_jaw(tracks, observed.faces, head))
    if obs_cache is not None:
        out["from_cached_observations"] = True
    if camera_turn != "still":                             # how far the exported camera turns (None: still)
        out["camera_degrees"] = _rounded(stats.camera_degrees)
    mp_file = obs_cache and cache_file(obs_cache, path, model, "mediapipe", reshot)
    versus, arrays = (oracle_metrics(path, tracks, head, mediapipe, mp_file, reshot, brows, covered) if oracle
                      else (None, None))
    if png is not None:
        from bake.overlay import write_overlays
        write_overlays(tracks, png / path.stem, n_strip=6)
        if arrays is not None:
            write_oracle_pictures(path, arrays, png / path.stem)
    return out, versus, turn_from_ray(tracks)


# --------------------------------------------------------------------------------------------- pictures
MESH_RGB, DLIB_RGB, MP_RGB = (0, 220, 255), (255, 0, 200), (255, 220, 0)


def write_oracle_pictures(path: Path, arrays: dict, folder: Path, n_strip: int = 6, tile: int = 300) -> None:
    """``oracle_strip.png``: face crops with mesh points and dlib's (evenly spaced frames plus dlib's most closed eye
    and widest mouth); ``signals.png``: the signals over time."""
    import cv2
    from core.footage import open_footage
    folder.mkdir(parents=True, exist_ok=True)
    valid, frames = arrays["valid"], arrays["frames"]
    sd = fs.signals(arrays["dlib_named"])
    # frames to show: evenly spaced, plus dlib's most closed eye and widest mouth
    ok = np.where(valid)[0]
    ear = np.fmin(*fs.eye_aspect_ratio(arrays["dlib_named"]).values())
    picks = set(ok[np.linspace(0, len(ok) - 1, n_strip - 2).astype(int)].tolist())
    picks |= {int(ok[np.nanargmin(ear[ok])]), int(ok[np.nanargmax(sd["mouth_open"][ok])])}
    wanted = {int(frames[k]): k for k in picks}
    tiles = {}
    with open_footage(str(path)) as footage:
        for frame in footage:
            k = wanted.get(frame.index)
            if k is None:
                continue
            d, m = arrays["dlib"][k], arrays["mesh"][k]
            lo, hi = np.nanmin(d, 0), np.nanmax(d, 0)
            c, half = (lo + hi) / 2, 0.75 * max(hi - lo)
            s = tile / (2 * half)
            A = np.array([[s, 0, tile / 2 - s * c[0]], [0, s, tile / 2 - s * c[1]]])
            img = cv2.warpAffine(frame.image, A, (tile, tile), flags=cv2.INTER_LINEAR)
            def px(q):
                q = A[:, :2] @ q + A[:, 2] - 0.5
                return tuple(int(round(x)) for x in q)
            for q in m[np.isfinite(m).all(1)]:
                cv2.circle(img, px(q), 1, MESH_RGB, -1, cv2.LINE_AA)
            for q in d:
                cv2.circle(img, px(q), 2, DLIB_RGB, -1, cv2.LINE_AA)
            for qm, qd in zip(arrays["mesh_named"][k], arrays["dlib_named"][k]):   # shared points: mesh -> dlib
                if np.isfinite(qm).all():
                    cv2.line(img, px(qm), px(qd), (255, 255, 255), 1, cv2.LINE_AA)
                    cv2.circle(img, px(qm), 3, MESH_RGB, -1, cv2.LINE_AA)
            cv2.putText(img, f"frame {frame.index}", (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                        cv2.LINE_AA)
            tiles[k] = img
    strip = np.concatenate([tiles[k] for k in sorted(tiles)], 1)
    cv2.imwrite(str(folder / "oracle_strip.png"), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(folder / "signals.png"), cv2.cvtColor(signal_plot(arrays), cv2.COLOR_RGB2BGR))


def signal_plot(arrays: dict, width: int = 1200, row: int = 120) -> np.ndarray:
    """One panel per signal (and the baked eyeBlink weights): mesh, dlib and MediaPipe over time."""
    import cv2
    valid = arrays["valid"]
    series = {"mesh": (fs.signals(arrays["mesh_named"]), MESH_RGB), "dlib": (fs.signals(arrays["dlib_named"]),
                                                                           DLIB_RGB)}
    if "mediapipe_named" in arrays:
        series["mediapipe"] = (fs.signals(arrays["mediapipe_named"]), MP_RGB)
    closed = fs.eyes_closed(arrays["dlib_named"], valid)
    panels = [(k, {n: (v[0][k], v[1]) for n, v in series.items()}) for k in fs.SIGNALS]
    panels += [(f"eyeBlink{side.title()} weight (mesh) / dlib closed", {"mesh": (arrays["blink"][side], MESH_RGB)})
               for side in ("right", "left")]
    T, left = len(valid), 60
    img = np.full((row * len(panels), width, 3), 255, np.uint8)
    xs = left + np.arange(T) * (width - left - 10) / max(1, T - 1)
    for p, (title, lines) in enumerate(panels):
        y0 = p * row
        side = "right" if "right" in title.lower() else "left" if "left" in title.lower() else None
        if side and title.startswith(("eye", "eyeBlink")):
            for t in np.where(closed[side])[0]:
                cv2.rectangle(img, (int(xs[t]) - 1, y0 + 5), (int(xs[t]) + 1, y0 + row - 5), (225, 225, 225), -1)
        vals = np.concatenate([v[valid] for v, _ in lines.values()])
        vals = vals[np.isfinite(vals)]
        lo, hi = (np.quantile(vals, [0.0, 1.0]) if len(vals) else (0, 1))
        hi = hi if hi > lo else lo + 1
        if lo < 0 < hi:                                        # zero: lids or lips passing through each other
            y = int(y0 + row - 8 - (0 - lo) / (hi - lo) * (row - 24))
            cv2.line(img, (left, y), (width - 10, y), (200, 200, 200), 1)
        for name, (v, rgb) in lines.items():
            y = y0 + row - 8 - (v - lo) / (hi - lo) * (row - 24)
            ok = valid & np.isfinite(y)
            for t in range(1, T):
                if ok[t] and ok[t - 1]:
                    cv2.line(img, (int(xs[t - 1]), int(y[t - 1])), (int(xs[t]), int(y[t])), rgb, 1, cv2.LINE_AA)
        cv2.putText(img, f"{title}  [{lo:.2f}, {hi:.2f}]", (left, y0 + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)
        cv2.line(img, (0, y0 + row - 1), (width, y0 + row - 1), (180, 180, 180), 1)
    for t in range(0, T, 50):                                  # frame ticks (index into the decoded frames)
        cv2.putText(img, str(int(arrays["frames"][t])), (int(xs[t]) - 8, img.shape[0] - 2), cv2.FONT_HERSHEY_SIMPLEX,
                    0.35, (90, 90, 90), 1, cv2.LINE_AA)
    x = width - 330
    for name, rgb in (("mesh", MESH_RGB), ("dlib", DLIB_RGB), ("mediapipe", MP_RGB)):
        if name in series:
            cv2.putText(img, name, (x, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, rgb, 1, cv2.LINE_AA)
            x += 90
    return img


def finite(x):
    """JSON-safe copy: NaN / inf -> None, numpy scalars -> Python numbers."""
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


# ------------------------------------------------------------------------------------------------ table
def table(results: dict) -> str:
    cols = ("mouth_open", "eye_open_right", "eye_open_left", "mouth_width", "brow_right", "brow_left")
    head = ("clip", "source", "mouth r (gain)", "eyeR", "eyeL", "width", "browR", "browL", "blink F1 R/L",
            "dlib blinks R/L", "err IOD (target pts)", "ends", "jitter", "dlib jitter", "speed (frames)", "gaze R/L",
            "up R/L", "looks apart")
    rows = [head]

    def f(x, d=2):
        return "-" if x is None or not np.isfinite(x) else f"{x:.{d}f}"
    for clip, v in results.items():
        parts = [(src, v.get(src)) for src in ("mesh", "mediapipe")]
        parts += [(f"{src} {span}", v[src][span]) for span in ("covered", "clear", "shaking", "steady")
                  for src in ("mesh", "mediapipe") if span in v.get(src, {})]
        for src, m in parts:
            if m is None:
                continue
            rows.append((clip.removesuffix(".mp4")[:22], src,
                         *(f"{f(m['signals'][c]['r'])} ({f(m['signals'][c]['gain'])})" for c in cols),
                         f"{f(m['blink']['right']['f1'])}/{f(m['blink']['left']['f1'])}",
                         f"{m['blink']['right']['events_truth']}/{m['blink']['left']['events_truth']}",
                         f"{f(m['landmark_error_iod']['median'], 3)} "
                         f"({f(m['landmark_error_iod'].get('median_target_points'), 3)})",
                         f(m["landmark_error_iod"].get("ends"), 3), f(m["jitter_iod"], 4),
                         f(m["oracle_jitter_iod"], 4), f"{f(m['head_speed']['ratio'])} ({m['head_speed']['frames']})",
                         *(f"{f(m[g]['right']['r'])}/{f(m[g]['left']['r'])}" if g in m else "-"
                           for g in ("gaze", "gaze_up")),
                         f(m["looks_apart"]["median"]) if "looks_apart" in m else "-"))
    return aligned(rows)


def interval_table(results: dict) -> str:
    """One line per clip and source: each signal's r, the landmark error at the target's points and the head speed
    ratio, each with its bootstrap interval (``face_signals.r_interval``, ``landmark_error``, ``head_speed_ratio``)."""
    rows = [("clip", "source", *(f"{k} r [5-95 %]" for k in fs.SIGNALS), "err target pts [5-95 %]",
             "speed [5-95 %]")]
    for clip, v in results.items():
        for src in ("mesh", "mediapipe"):
            m = v.get(src)
            if m is not None:
                rows.append((clip.removesuffix(".mp4")[:22], src,
                             *(f"{m['signals'][k]['r']:.2f} [{m['signals'][k]['r_interval'][0]:.2f}-"
                               f"{m['signals'][k]['r_interval'][1]:.2f}]" for k in fs.SIGNALS),
                             "{:.3f} [{:.3f}-{:.3f}]".format(m["landmark_error_iod"]["median_target_points"],
                                                             *m["landmark_error_iod"]["target_points_interval"]),
                             "{:.2f} [{:.2f}-{:.2f}]".format(m["head_speed"]["ratio"],
                                                             *m["head_speed"]["ratio_interval"])))
    return aligned(rows)


def mouth_table(results: dict) -> str:
    """One line per clip and comparison of ``face_signals.mouth_offsets``: each mouth corner's offset outwards
    (+ = wider) and the lower lip's and chin's upwards, in IOD, where the reference's mouth is narrowest / widest."""
    rows = [("clip", "measured vs reference", "corner R narrow / wide", "corner L narrow / wide",
             "lower lip narrow / wide", "chin narrow / wide")]
    for clip, v in results.items():
        for src, key, ref in (("mesh", "mouth_offsets", "dlib"), ("mediapipe", "mouth_offsets", "dlib"),
                              ("mesh", "mouth_offsets_vs_mediapipe", "mediapipe")):
            p = v.get(src, {}).get(key, {}).get("points")
            if p:
                rows.append((clip.removesuffix(".mp4")[:22], f"{src} vs {ref}",
                             *(f"{p[n]['narrow']:+.3f} / {p[n]['wide']:+.3f}"
                               for n in ("mouth_right", "mouth_left", "lip_lower_outer", "chin"))))
    return aligned(rows)


def aside_table(results: dict) -> str:
    """One line per clip and source of ``face_signals.midline_aside`` against dlib: the chin's and the mouth middle's
    sideways excursions (IOD; 95th percentile, most, frames over ``ASIDE_IOD``)."""
    rows = [("clip", "source", "chin p95 / most / frames", "mouth middle p95 / most / frames")]
    for clip, v in results.items():
        for src in ("mesh", "mediapipe"):
            p = v.get(src, {}).get("midline_aside", {}).get("points")
            if p:
                rows.append((clip.removesuffix(".mp4")[:22], src,
                             *(f"{p[n]['p95']:.3f} / {p[n]['most']:.3f} / {p[n]['frames_over']}"
                               for n in fs.ASIDE_POINTS)))
    return aligned(rows)


# pitch_with_jaw: frames whose exported jawOpen is over JAW_OPEN count as open, under JAW_REST at rest; MediaPipe's
# points that no expression moves, the nose's and the eye corners' (the brows' and lids' move), read the head's pitch
# from its own 3-D landmarks (docs/MEASUREMENTS.md, "The nose's larger say in the head's pose and shape")
JAW_OPEN, JAW_REST = 0.2, 0.1


def pitch_degrees(rotations: np.ndarray) -> np.ndarray:
    """(T,) each head -> camera rotation's turn about the head's own x axis (its pitch) from the clip's mean rotation,
    degrees; NaN where a rotation is NaN."""
    from scipy.spatial.transform import Rotation
    R = np.asarray(rotations, np.float64)
    ok = np.isfinite(R).all((1, 2))
    out = np.full(len(R), np.nan)
    if ok.any():
        rel = Rotation.from_matrix(R[ok]).mean().inv() * Rotation.from_matrix(R[ok])
        out[ok] = np.degrees(rel.as_rotvec()[:, 0])
    return out


def skull_rotations(faces, K, head) -> np.ndarray:
    """(T, 3, 3) head -> camera rotations read from MediaPipe's own 3-D landmarks alone (the tracker's FaceStates,
    ``faces``; NaN where None), as the fused bake's skull pull reads them (``bake.fusion.skull_rotations``): an
    outside reading of the head's pose that shares the landmarks with the bake but not the fit, the network or the
    expression shapes."""
    from bake.fusion import skull_rotations as read
    return read(pipeline.face_points(faces), K, head)


def pitch_with_jaw(tracks, faces, head, least: int = 5) -> dict | None:
    """How the baked head pitches with the mouth: its pitch (``pitch_degrees``) over the frames whose exported jawOpen
    is over ``JAW_OPEN`` less over those under ``JAW_REST`` (medians, ``open_less_rest_deg``) and its correlation with
    jawOpen over the tracked frames (``r``), beside the same read from MediaPipe's own 3-D landmarks of the points no
    expression moves (``skull_rotations``: ``skull_open_less_rest_deg``, ``skull_r``). A bake that turns the head to
    lay a mouth its shapes cannot make on the landmarks pitches where the skull's points do not. None where fewer than
    ``least`` frames are open or at rest."""
    names = list(tracks.key_names)
    if "jawOpen" not in names:
        return None
    jaw = np.asarray(tracks.weights, np.float64)[:, names.index("jawOpen")]
    R = np.array(tracks.head_rotation, np.float64)
    R[~np.asarray(tracks.tracked, bool)] = np.nan
    baked, skull = pitch_degrees(R), pitch_degrees(skull_rotations(faces, tracks.K, head))
    ok = np.isfinite(baked) & np.isfinite(skull)
    opened, rest = ok & (jaw > JAW_OPEN), ok & (jaw < JAW_REST)
    if opened.sum() < least or rest.sum() < least:
        return None

    def reading(p):
        return (round(float(np.median(p[opened]) - np.median(p[rest])), 2), round(float(fs.correlation(p, jaw, ok)), 2))
    (d, r), (ds, rs) = reading(baked), reading(skull)
    return dict(frames_open=int(opened.sum()), frames_rest=int(rest.sum()), open_less_rest_deg=d, r=r,
                skull_open_less_rest_deg=ds, skull_r=rs)


def turn_from_ray(tracks) -> np.ndarray:
    """(2, T, 2) per frame of ``tracks``, sideways ([0]; + towards the image's right) and up and down ([1]; + towards
    its bottom): the baked head's turn away from facing the camera's centre (0 where its face looks along the ray from
    its origin to the camera) and that ray's angle from the optical axis, in degrees; NaN on frames not tracked."""
    R = np.asarray(tracks.head_rotation, np.float64)
    t = np.asarray(tracks.head_translation, np.float64)
    forward = R @ (HEAD_TO_CV.T @ np.array([0.0, 0.0, -1.0]))     # the face's way in camera coordinates
    out = []
    for axis in (0, 1):
        ray = np.degrees(np.arctan2(t[:, axis], t[:, 2]))
        out.append(np.stack([np.degrees(np.arctan2(forward[:, axis], -forward[:, 2])) + ray, ray], 1))
    out = np.stack(out)
    out[:, ~np.asarray(tracks.tracked, bool)] = np.nan
    return out


def turn_against_ray(shot: np.ndarray, copy: np.ndarray, off_axis: float = TURN_OFF_AXIS_DEG,
                     spread: float = TURN_SPREAD_DEG) -> dict | None:
    """How a copy that moves the face in the frame (``--small-face``, ``--reshoot sway``, ``bob``) turns the head with
    its place, along one of ``turn_from_ray``'s axes (``shot``, ``copy``: (T, 2) each): the copy's turn less the clip's
    as shot, frame by frame, against the copy's ray less the clip's. A face moved in the frame is the same face seen by
    a camera turned, so it keeps its turn from the ray: the ``slope`` of a straight line through those points is 0 for a
    bake that reads the turn from the face, 1 for one that keeps the head facing along the optical axis wherever it sits
    (section "The network's depth along the crop's axis"); ``offset_deg`` its value on the clip's own ray,
    ``off_axis_error_deg`` the median |turn less the clip's| over the frames whose ray is over ``off_axis`` degrees from
    the clip's (None without such frames). None where the rays spread over less than ``spread`` degrees or under 10
    frames are tracked in both."""
    n = min(len(shot), len(copy))
    d, x = copy[:n, 0] - shot[:n, 0], copy[:n, 1] - shot[:n, 1]
    ok = np.isfinite(d) & np.isfinite(x)
    if ok.sum() < 10 or np.ptp(x[ok]) < spread:
        return None
    slope, offset = np.polyfit(x[ok], d[ok], 1)
    side = ok & (np.abs(x) > off_axis)
    return dict(slope=round(float(slope), 3), offset_deg=round(float(offset), 2), frames=int(ok.sum()),
                ray_range_deg=[round(float(x[ok].min()), 1), round(float(x[ok].max()), 1)],
                off_axis_error_deg=round(float(np.median(np.abs(d[side]))), 2) if side.any() else None)


def turn_table(results: dict) -> str:
    """One line per copy with ``turn_against_ray`` (in --json's rows)."""
    rows = [("clip", "axis", "slope of turn on ray", "offset deg", "error deg off axis", "ray range deg", "frames")]
    for clip, v in results.items():
        m = v.get("turn_against_ray")
        if m:
            rows.append((clip, m["axis"], f"{m['slope']:+.2f}", f"{m['offset_deg']:+.1f}",
                         "-" if m["off_axis_error_deg"] is None else f"{m['off_axis_error_deg']:.1f}",
                         "{:+.0f} to {:+.0f}".format(*m["ray_range_deg"]), str(m["frames"])))
    return aligned(rows) if len(rows) > 1 else ""


def shake_table(results: dict) -> str:
    """One line per shaken, twisted or handheld copy and source: how much of the shake (``face_signals.shake_follow``)
    or the turn (``roll_follow``) it follows, of the face's move sideways and up and down (``place_follow``), and its
    landmark error over the shaking and the steady frames."""
    rows = [("clip", "source", "swing followed", "residual", "x / y followed", "frames", "err IOD shaking",
             "err IOD steady")]
    for clip, v in results.items():
        for src in ("mesh", "mediapipe"):
            m = v.get(src, {})
            for key, unit in (("shake_follow", "iod"), ("roll_follow", "deg")):
                if key not in m:
                    continue
                s = m[key]
                p = m.get("place_follow", {})
                xy = " / ".join(f"{p[k]['follow']:.2f}" for k in ("x", "y") if k in p)
                rows.append((clip, src, f"{s['follow']:.2f}", f"{s['residual_' + unit]:.4f} {unit.upper()}", xy,
                             str(s["frames"]),
                             f"{m['shaking']['landmark_error_iod']['median']:.3f}",
                             f"{m['steady']['landmark_error_iod']['median']:.3f}"))
    return aligned(rows)


def cut_table(results: dict) -> str:
    """One line per "cut" copy and source: the landmark error on each cut's first frames (``face_signals.cut_errors``),
    their worst, the median over the other frames and the head's speed ratio within the shots."""
    rows = [("clip", "source", "err IOD from each cut on", "worst", "elsewhere", "speed in shots (frames)")]
    for clip, v in results.items():
        for src in ("mesh", "mediapipe"):
            c = v.get(src, {}).get("cuts")
            if c:
                at = "  ".join(f"{k}: " + " ".join(f"{x:.3f}" for x in xs) for k, xs in c["at_cuts"].items())
                speed = c["head_speed_in_shots"]
                rows.append((clip, src, at, f"{c['worst']:.3f}", f"{c['between']:.3f}",
                             f"{speed['ratio']:.2f} ({speed['frames']})"))
    return aligned(rows)


def over_shots(results: dict, shots: dict[str, list[str]]) -> dict:
    """Each clip's readings over its shots (``shots``: clip -> the rows of ``results`` that are that clip as shot
    and re-shot, ``--reshoot``, or its copies at several sizes, ``--small-face``), per source: each signal's mean,
    lowest and highest r, gaze r averaged, and the error at the target points, averaged and its range. A figure that
    holds only on the footage as shot shows in the gap between its row and these; over sub-pixel shifts, the range is
    the noise a figure is read with."""
    out = {}
    for clip, names in shots.items():
        rows = [results[n] for n in names if n in results]
        if len(rows) < 2:
            continue
        out[clip] = {}
        for src in ("mesh", "mediapipe"):
            ms = [r[src] for r in rows if src in r]
            if len(ms) != len(rows):
                continue
            r = {k: np.array([m["signals"][k]["r"] for m in ms], float) for k in fs.SIGNALS}
            gaze = [m["gaze"][side]["r"] for m in ms if "gaze" in m for side in ("right", "left")]
            err = [m["landmark_error_iod"]["median_target_points"] for m in ms]
            out[clip][src] = dict(shots=len(ms), r_mean={k: float(np.nanmean(v)) for k, v in r.items()},
                                  r_min={k: float(np.nanmin(v)) for k, v in r.items()},
                                  r_max={k: float(np.nanmax(v)) for k, v in r.items()},
                                  gaze_r_mean=float(np.nanmean(gaze)) if gaze else None,
                                  error_target_points_mean=float(np.mean(err)),
                                  error_target_points_range=[float(np.min(err)), float(np.max(err))])
    return out


def mirror_pairs(results: dict, clips: list[str]) -> dict:
    """Each clip's signals as shot beside its mirrored copy's (``--reshoot mirror``, rows "mirror <stem>"), side for
    side: the mirrored copy's right eye and brow are the subject's left as shot, so each sided signal is paired with
    the copy's other side; per source, each signal's r as shot, mirrored and their mean. The models do not read a face
    and its mirror image alike (``results/real_oracle_scores_as_weights_mirror.json``), so a change that moves a
    figure one way as shot and the other way mirrored has moved how a model reads one picture, not the face
    (docs/MEASUREMENTS.md, "Not kept: the head's brows halfway between its fit's and the exported weights'")."""
    other = {k: k.replace("right", "left") if "right" in k else k.replace("left", "right") for k in fs.SIGNALS}
    out = {}
    for name in clips:
        shot, mirrored = results.get(name), results.get(f"mirror {Path(name).stem}")
        if shot is None or mirrored is None:
            continue
        out[name] = {}
        for src in ("mesh", "mediapipe"):
            if src not in shot or src not in mirrored:
                continue
            pair = {}
            for k in fs.SIGNALS:
                a, b = shot[src]["signals"][k]["r"], mirrored[src]["signals"][other[k]]["r"]
                pair[k] = dict(as_shot=a, mirrored=b, mean=None if a is None or b is None else (a + b) / 2)
            out[name][src] = pair
    return out


def mirror_pairs_table(pairs: dict) -> str:
    def cell(p: dict) -> str:
        return "-" if p["mean"] is None else f"{p['as_shot']:.2f} / {p['mirrored']:.2f} ({p['mean']:.2f})"
    rows = [("clip", "source", *(f"{k} shot / mirrored (mean)" for k in fs.SIGNALS))]
    for clip, by_src in pairs.items():
        for src, pair in by_src.items():
            rows.append((clip, src, *(cell(pair[k]) for k in fs.SIGNALS)))
    return aligned(rows)


def over_shots_table(summary: dict) -> str:
    rows = [("clip", "source", "shots", *(f"{k} mean (min-max)" for k in fs.SIGNALS), "gaze",
             "err (target pts) mean (min-max)")]
    for clip, by_src in summary.items():
        for src, m in by_src.items():
            lo, hi = m["error_target_points_range"]
            rows.append((clip, src, str(m["shots"]),
                         *(f"{m['r_mean'][k]:.2f} ({m['r_min'][k]:.2f}-{m['r_max'][k]:.2f})" for k in fs.SIGNALS),
                         "-" if m["gaze_r_mean"] is None else f"{m['gaze_r_mean']:.2f}",
                         f"{m['error_target_points_mean']:.3f} ({lo:.3f}-{hi:.3f})"))
    return aligned(rows)


def aligned(rows: list) -> str:
    """Rows of strings as left-aligned columns."""
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w[i]) for i, c in enumerate(r)) for r in rows)


def brow_table(results: dict) -> str:
    """One line per clip, side and source of ``brow_pixel_metrics``: r of the brow signal, of the brow point alone
    and of the eye corners' share against the brow read from the pixels."""
    rows = [("clip", "patch err max", "brow", "band sd px", "source", "r signal", "r brow point", "r signal-eye")]
    for clip, v in results.items():
        b = v.get("brow_pixels", {})
        for side in ("right", "left"):
            row = b.get(side, {})
            for src in ("mesh", "dlib", "mediapipe"):
                if src in row:
                    m = row[src]
                    rows.append((clip.removesuffix(".mp4")[:22], f"{b['patch_error_max']:.1f}", side,
                                 f"{row['band_sd_px']:.2f}", src,
                                 *(f"{m[k]:.2f}" for k in ("r_signal", "r_point", "r_signal_eye"))))
    return aligned(rows) if len(rows) > 1 else ""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clips", nargs="*")
    ap.add_argument("--footage", default=str(FOOTAGE))
    ap.add_argument("--model", default="default")
    ap.add_argument("--png", default=None, help="folder for overlay strips (never commit them)")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "real.json"))
    ap.add_argument("--oracle-json", default=str(ROOT / "benchmarks" / "results" / "real_oracle.json"))
    ap.add_argument("--no-oracle", action="store_true", help="skip the dlib comparison (no requirements/oracle.txt)")
    ap.add_argument("--mediapipe", action="store_true", help="also measure MediaPipe's own landmarks (reference)")
    ap.add_argument("--fusion", default="fused", choices=pipeline.FUSION_MODES,
                    help="which observations the solve uses (the others are ablations; bake.fusion)")
    ap.add_argument("--obs-cache", default=None, metavar="DIR",
                    help="keep each clip's per-frame observations (and MediaPipe's reference) in DIR and re-bake "
                         "from them on later runs (experiments on the solve; delete DIR after changing the "
                         "per-frame stage)")
    ap.add_argument("--eye-distance", type=float, default=None, metavar="MM",
                    help="bake with the subject's eye distance known (ReconConfig.eye_distance_mm)")
    ap.add_argument("--head-size", default="network", choices=pipeline.HEAD_SIZES,
                    help="where the head's size comes from without --eye-distance (ReconConfig.head_size)")
    ap.add_argument("--corrective-keys", type=int, default=pipeline.ReconConfig.corrective_keys, metavar="N",
                    help="the baked head's corrective keys (ReconConfig.corrective_keys; 0: the head on the exported "
                         "weights, as before bake.corrective)")
    ap.add_argument("--camera-turn", default="still", choices=CAMERA_TURNS,
                    help="bake with the camera turning as the background shows (ReconConfig.camera_turn; the head's "
                         "pose against each frame's camera is what the figures measure)")
    ap.add_argument("--arkit-only", action="store_true",
                    help="measure the head posed by its 52 ARKit keys alone (the exported weights on the clip's "
                         "neutral: what a character driven by them shows), not by its corrective keys as well")
    ap.add_argument("--scores-as-weights", action="store_true",
                    help="measure the clip's neutral posed by MediaPipe's 52 blendshape scores as they come, with the "
                         "bake's pose (what a character driven by an add-on that passes them on shows: the "
                         "baseline for --arkit-only)")
    ap.add_argument("--small-face", type=int, nargs="+", default=[], metavar="PX",
                    help="also measure each close-up (the named clips, else the two close-ups) re-shot with its "
                         "face about PX wide in a 1280x720 frame (the issue's small face in a wide shot), against "
                         "dlib's points on the original carried over; several sizes are also summed up over them")
    ap.add_argument("--no-outline", action="store_true",
                    help="bake without bake.face_outline's step (the face's width as the solve leaves it)")
    ap.add_argument("--reshoot", action="append", type=reshoot_kind, default=[],
                    metavar="mirror|grey|portrait|roll:DEG|zoom:F|shift:PX|sway:PX|bob:PX|shake:PX|shaky:PX|twist:DEG"
                            "|twisty:DEG|handheld:PX|exposure:F|side:F|noise:S|scale:F|jpeg:Q"
                            "|blur:S|motion:L|occlude:F|shades:F|brim:F|stride:N|fast:N|jump:N",
                    help="also measure each clip re-shot mirrored, in an upright phone's frame, turned DEG degrees "
                         "in the image (a slanted "
                         "camera), its centre enlarged F times, moved PX pixels right and down (under a pixel: "
                         "the figures' noise), swayed sideways (or bobbed up and down, bob) PX pixels each way "
                         "every 2 s or shaken sideways within 4 "
                         "frames for 1 s of every 3 (shake) or from 1 s on (shaky), turned DEG degrees side to "
                         "side so (twist, twisty), jolted PX px at random on every frame (handheld), its "
                         "brightness "
                         "times F, with noise of S grey levels, scaled by F, JPEG-compressed at quality Q, "
                         "blurred by S px or smeared L px sideways, in grey, with a hand over the lower face, "
                         "dark glasses or a hat brim's shadow on the middle F of its frames, or every Nth frame "
                         "at 1/N of the frame rate (stride) or at its own (fast: the subject N times as fast), "
                         "or with N frames left out at a third and two thirds of it (jump: two jump cuts), against "
                         "dlib's points on the original carried over (repeatable)")
    ap.add_argument("--mirror", action="store_true",
                    help="bake with the network's mirror averaging (ReconConfig.mirror, bake.cli's --mirror; not "
                         "--reshoot mirror, a mirrored copy of the clip); its observations are cached apart")
    ap.add_argument("--brow-pixels", action="store_true",
                    help="also read each brow from the pixels against a followed nose-bridge patch and score the "
                         "mesh's, dlib's (and MediaPipe's) brows against it (face_signals.brow_pixels; for clips "
                         "whose head stays near frontal)")
    a = ap.parse_args(argv)
    footage = Path(a.footage)
    clips = clip_paths(a.clips, footage)
    if not clips:
        print(f"no clips found in {footage}; nothing to measure", file=sys.stderr)
        return 0
    if a.no_outline:
        without_outline()
    head = head_model.load()
    machine = describe_machine()
    res = dict(machine=machine, model=a.model, fusion=a.fusion, corrective_keys=a.corrective_keys,
               arkit_only=a.arkit_only, scores_as_weights=a.scores_as_weights, camera_turn=a.camera_turn,
               mirror=a.mirror, clips={})
    versus = dict(machine=machine, model=a.model, fusion=a.fusion, corrective_keys=a.corrective_keys,
                  arkit_only=a.arkit_only, scores_as_weights=a.scores_as_weights, camera_turn=a.camera_turn,
                  mirror=a.mirror, outline_step=not a.no_outline, oracle="dlib 68-point (benchmarks/oracle_dlib.py)",
                  clips={})
    common = dict(oracle=not a.no_oracle, mediapipe=a.mediapipe, fusion=a.fusion,      # every clip's and copy's bake
                  obs_cache=Path(a.obs_cache) if a.obs_cache else None, eye_distance_mm=a.eye_distance,
                  head_size=a.head_size, corrective_keys=a.corrective_keys, arkit_only=a.arkit_only,
                  camera_turn=a.camera_turn, scores_as_keys=a.scores_as_weights, mirror=a.mirror)
    shots, sizes = {}, {}
    for c in clips:
        shots[c.stem] = [c.name] + [f"{kind} {c.stem}" for kind in a.reshoot]
        covers = {}                      # per occlude re-shoot, the hand's place; the clip as shot is read over the
        if not a.no_oracle:              # first one's frames too
            import oracle_dlib
            names = {kind: kind.rstrip("0123456789.") for kind in a.reshoot if kind.startswith(COVERS)}
            covers = {kind: occluders(oracle_dlib.load(c), float(kind[len(name):]), name)
                      for kind, name in names.items()}
        res["clips"][c.name], v, turn = run_clip(c, a.model, Path(a.png) if a.png else None, head, **common,
                                                 brows=a.brow_pixels,
                                                 covered=frozenset(next(iter(covers.values()), ())))
        print(c.name, json.dumps(res["clips"][c.name]), flush=True)
        if v is not None:
            versus["clips"][c.name] = v
        close_up = c.name in CLOSE_UPS or (a.clips and c.name not in CLIPS)     # one's own clip: taken for one
        kinds = [f"{px}px" for px in a.small_face] if close_up else []
        if len(kinds) > 1:
            sizes[f"{c.stem} at {min(a.small_face)}-{max(a.small_face)} px"] = [f"{k} {c.stem}" for k in kinds]
        for kind in kinds + a.reshoot:
            with tempfile.TemporaryDirectory() as tmp:
                if kind.startswith(COVERS) and kind not in covers:
                    raise SystemExit(f"--reshoot {kind} needs the oracle (dlib's points place what covers the face)")
                copy = reshoot(c, kind, Path(tmp), covers.get(kind))
                name = f"{kind} {c.stem}"
                try:
                    res["clips"][name], v, copy_turn = run_clip(copy.path, a.model, Path(a.png) if a.png else None,
                                                                head, **common, reshot=copy)
                    if kind in kinds or kind.startswith(("sway", "bob")):       # the face moved, every frame kept
                        axis = int(kind.startswith("bob"))                        # up and down, else sideways
                        read = turn_against_ray(turn[axis], copy_turn[axis])
                        res["clips"][name]["turn_against_ray"] = read and dict(
                            axis=("sideways", "up and down")[axis], **read)
                except FaceCaptureError as e:       # a copy the bake cannot take (a face zoomed past the frame):
                    res["clips"][name] = {"failed": f"{type(e).__name__}: {e}"}    # said, and the others go on
                    versus.setdefault("failed", {})[name] = res["clips"][name]["failed"]
                    v = None
            print(name, json.dumps(res["clips"][name]), flush=True)
            if v is not None:
                versus["clips"][name] = v
    write_result(a.json, res)
    if turn_table(res["clips"]):
        print(turn_table(res["clips"]))
    if versus["clips"]:
        print(table(versus["clips"]))
        print(interval_table(versus["clips"]))
        print(mouth_table(versus["clips"]))
        print(aside_table(versus["clips"]))
        if a.brow_pixels:
            print(brow_table(versus["clips"]))
        if any(k.startswith(("shake", "shaky", "twist", "handheld")) for k in a.reshoot):
            print(shake_table(versus["clips"]))
        if any(k.startswith(("cut", "jump")) for k in a.reshoot):
            print(cut_table(versus["clips"]))
        if a.reshoot:
            versus["over_shots"] = over_shots(versus["clips"], shots)
            print(over_shots_table(versus["over_shots"]))
        if "mirror" in a.reshoot:
            versus["mirror_pairs"] = mirror_pairs(versus["clips"], [c.name for c in clips])
            print(mirror_pairs_table(versus["mirror_pairs"]))
        if sizes:
            versus["over_sizes"] = over_shots(versus["clips"], sizes)
            print(over_shots_table(versus["over_sizes"]))
        write_result(a.oracle_json, finite(versus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
