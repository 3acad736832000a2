"""The real-face models' share of the solve: landmark reprojection terms and a prior on the ARKit weights.

Which term decides what (bake.solve fuses them in one robust Gauss-Newton, in two stages: bake.observations solves
the clip's identity first, then every frame with it fixed and the dense term weighed down, ``EXPRESSION_DENSE``):
  * landmarks (MediaPipe's 478, as fixed template points, core.landmark_template): head pose in the image, and the
    expressions they outline -- lids (blinks), lips (mouth opening, width, smile), brows. They are 2-D, so they say
    little about distance and head size. The nose, fixed to the skull, has the larger say in the head's pose and
    shape where it spans enough pixels and is lit (``rigid_share``): a mouth the ARKit shapes cannot make (a grin)
    must not turn the head to lay its lips on the landmarks. The landmark model's own depth of the nose and eye
    corners reads the skull's turn (``skull_rotations``): in the second stage each frame's pitch is pulled towards
    its changes over the clip, the level left to the first stage (``SKULL_SHARE``): a nod is not read as the brows.
  * the blendshape model's 52 scores: a per-shape prior, calibrated against our shapes and trusted by how well each
    score reads our weight (``PRIOR_MAX``): blinks (lid motion of a few pixels), jawOpen, smiles; none for tongueOut,
    which the model lacks, nor for the shapes it does not read on our heads. The blink targets rise to the lids'
    own closure where that says more (``lid_closure``). The frown's scores, less the subject's resting reading,
    are a prior of the exported weights only (``BROW_PRIOR``), as are the jaw's and mouth's sideways shapes', weakly
    (``SIDEWAYS_KEYS``), which on a face smaller than the network's input the head's fit takes too, the dimples'
    (``DIMPLE_KEYS``), a few shapes' the exported fit strayed into (``STRAY_KEYS``) and, with the lips apart, the
    presses' (``PRESS_KEYS``).
  * the dense network (depth + canonical coordinates per pixel): distance, head size, identity shape (the first
    stage), and the regions landmarks do not cover (cheeks, forehead, ears, the jaw in profile); where it and the
    landmarks disagree on the tilt a head holds through the clip, the head mostly takes the network's (renders against
    the truth: docs/MEASUREMENTS.md, "The head's turn against the truth on the renders"). The head's size
    and distance together may instead come from the subject's known eye distance or from the irises, the eye
    distance in iris widths (bake.head_size; after the solve, one factor that moves no pixel). Where a frame's
    forehead reads in shadow (a hat brim; ``shaded_dense``), the second stage weighs its dense term down further
    and the first stage the frame as a whole.
  * the ARKit weights twice, in the second stage: the head's own shape and pose from the frames' fit before bake.solve
    boosts its L1 prior (that boost guards the dense fit against the network's correlated errors; with the landmarks
    leading, the head then follows the lids and the mouth), the exported weights from the boosted fit, sparse for a
    character; corrective keys carry the difference on the baked head (``bake.solve.solve``'s ``shape_unboosted``,
    bake.corrective). Where the lids are closing, the exported eyeBlink keeps up with the head's (``closing_blinks``);
    it reads 0 at the clip's lids at rest (``lids_at_rest``, bake.tracks.blink_rest). Where an open eye narrows (a
    smile), its exported eyeSquint keeps up with the head's lids (``narrowed_squints``). The exported gaze is the
    fit's, which the irises lead, where the eye is open (``fit_gaze``): the boost shrank it; the look is read from
    the iris's place against the eye's corners, the lids kept as open, and the head looks likewise
    (bake.iris_gaze); each eye's exported look turns one way per axis (``fit_gaze``, ``one_way_looks``).
  * the landmarks again, between the stages: where they keep landing off the first stage's fit over the clip, the
    neutral's skin moves to them in the face's plane (lips, lids, nose, chin: ``CORRECTED``;
    bake.shape_correction), for the shape the identity basis cannot make (a real chin).
  * the lip and chin landmarks once more, after the solve: how far up or down the head's lips and chin must still
    move to land on them rides on corrective keys of the baked head (bake.mouth_follow), for the mouths the ARKit
    shapes cannot make (an open smile); up and down only, where the landmarks read the mouth best.
Landmark groups get trust by how firmly they are material points (``GROUP_WEIGHT``): the face oval slides over the
cheek on a turned head and gets a low weight. Whatever the terms say, the lids and the inner lips never pass through
each other (``gap_constraint``, in every fusion mode): where eyeBlink and eyeSquint each read high, their sum would.
The iris centres place the eyeballs (eyeLook*, with the scores where they read it) while the eye is open
(``IRIS_SHUT``): under a shut lid MediaPipe still gives an iris, its guess. They pull the head's pose and identity only
as far as the real-face terms are trusted (``LandmarkTerm.gaze``): with a tight dense fit an eyeball that turns on its
own must not move the head.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from core import landmark_template as lt
from core.eyelids import GAPS, lid_aspects
from core.errors import AssetError
from core.face_models import EYE_CORNERS
from core.head_model import ARKIT_NAMES, HeadModel
from core.types import axis_through

from .filter import noise_scale, runs, stretch_lines
from .numerics import nearest
from .solve import ArkitPrior, GapConstraint, LandmarkTerm, real_face_trust

GROUP_WEIGHT = {"lips": 1.0, "eyes": 1.0, "irises": 10.0, "brows": 0.7, "nose": 0.7, "oval": 0.15}
GROUPS = {"lips": lt.LIPS, "eyes": lt.RIGHT_EYE + lt.LEFT_EYE, "irises": lt.IRIS_CENTRES,
          "brows": lt.RIGHT_BROW + lt.LEFT_BROW, "nose": lt.NOSE, "oval": lt.FACE_OVAL}
SOLVE_LANDMARKS = np.array(sorted({i for g in GROUPS.values() for i in g}))
_WEIGHT = np.array([max(GROUP_WEIGHT[g] for g, idx in GROUPS.items() if i in idx) for i in SOLVE_LANDMARKS])
_COLUMN = {int(i): k for k, i in enumerate(SOLVE_LANDMARKS)}
_SHARED = _WEIGHT[~np.isin(SOLVE_LANDMARKS, lt.IRIS_CENTRES)].sum()     # the irises weigh on top of LANDMARK_SHARE
# Per eye (subject's right, left): iris centre, (upper, lower) lid midpoint, (outer, inner) corner (core.eyelids.GAPS'
# points, which read how shut the eye is).
EYES = tuple((centre, (upper, lower), (outer, inner))
             for centre, (upper, lower, outer, inner) in zip(lt.IRIS_CENTRES, GAPS))
BLINK_KEYS = ("eyeBlinkRight", "eyeBlinkLeft")          # each eye's blink shape, in EYES' order
GAZE_KEYS = tuple(tuple(f"eyeLook{d}{side}" for d in ("Down", "In", "Out", "Up"))   # each eye's gaze shapes,
                  for side in ("Right", "Left"))                                  # in EYES' order
# each eye's two axes of look (EYES' order) as the columns of their opposite shapes: (up, down), (in, out)
_GAZE_AXES = tuple(tuple((ARKIT_NAMES.index(one), ARKIT_NAMES.index(other)) for one, other in ((up, down), (i, o)))
                   for down, i, o, up in GAZE_KEYS)
# The iris centres place the eyeballs (eyeLook*) while the eye is open: each weighs nothing at a lid gap of IRIS_SHUT
# eye widths (``core.eyelids.lid_aspects``; on the real clips open eyes read 0.2-0.4, shut ones under 0.1) and
# fully from IRIS_SHUT + IRIS_OPEN_RAMP up.
IRIS_SHUT = 0.10
IRIS_OPEN_RAMP = 0.08
# MediaPipe's blink scores stay near 0.5-0.6 on real shut eyes (the expressions clip: median 0.53 / 0.62 over the
# frames dlib sees shut), so the prior alone held eyeBlink about there. Its lid points say more: each eye's closure
# is 1 - its lid gap over the clip's open value (the OPEN_QUANTILE quantile over the clip), less CLOSURE_SLACK and
# rescaled, so a downward look, which lowers the upper lid to 0.5-0.7 of its open gap, raises nothing much
# (``lid_closure``; the blink targets become the larger of score and closure; docs/MEASUREMENTS.md).
OPEN_QUANTILE = 0.9
CLOSURE_SLACK = 0.4
# The lids are at rest where their gap is at least REST_FRACTION of the clip's open value (``lids_at_rest``): the
# exported eyeBlink reads 0 there (bake.tracks.blink_rest).
REST_FRACTION = 0.9

# The landmarks whose steady offset from the fitted head reshapes its neutral (bake.shape_correction): those that mark
# skin (lips, lids, nose) and the chin's stretch of the face oval (its bottom five points; the mesh's chin sat 0.11-0.13
# IOD below MediaPipe's on the real clips). Not the brows, which outline hair whose shape is the person's and not the
# skin's, nor the rest of the oval: on the cheeks a silhouette that slides with the head's turn, at the top (point 10)
# the hairline, which MediaPipe puts 0.18-0.22 IOD above the template's on every real clip. With the whole oval the
# field creased the temples and stretched the forehead; with the brows, the landmark error on the real clips and the
# held-out synthetic vertex error were both a little worse (docs/MEASUREMENTS.md).
CHIN_CONTOUR = (400, 377, 152, 148, 176)
CORRECTED = np.isin(SOLVE_LANDMARKS, lt.LIPS + lt.RIGHT_EYE + lt.LEFT_EYE + lt.NOSE + CHIN_CONTOUR)

# Landmarks as a whole weigh LANDMARK_SHARE x the frame's dense vertices (their summed confidences), so the balance
# does not depend on the network's confidence scale or on how many vertices it saw.
LANDMARK_SHARE = 0.2
# The blendshape scores as targets for our weights: the score itself is the target, weighing PRIOR_MAX x r^2
# (bake.solve.ArkitPrior units), r the score's correlation with our weight on synthetic renders
# (tools/calibrate_blendshapes.py, core/assets/blendshape_calibration.json); shapes with r < PRIOR_MIN_R get no prior
# (on those renders: the brows, cheeks, nose, most mouth shapes; blinks, jawOpen, smiles, funnel and lowerDown are
# read at r 0.5-0.8, two eyeLook shapes at 0.33-0.39; mouthPucker's 0.30, let in at a threshold of 0.3, made the lips
# cross on 116 instead of 30 of the expressions clip's frames). The calibration's fitted lines are not applied: on the real clips they made every measure worse
# (their offsets are the model's bias on renders, e.g. +0.13 smile on every neutral render; docs/MEASUREMENTS.md).
CALIBRATION_PATH = Path(__file__).resolve().parents[1] / "core" / "assets" / "blendshape_calibration.json"
PRIOR_MAX = 4.0
PRIOR_MIN_R = 0.32
# The jaw's and mouth's sideways shapes get no prior above (MediaPipe's scores read our renders at |r| under 0.03).
# On a face smaller than the network's input (its crop magnified, core.points.source_share) the noise of both data
# terms set them frame by frame: jawLeft / jawRight over 0.5 on up to 51 of 354 frames of the close-ups re-shot 32-60
# px wide, single-frame spikes a character shows. There they get a prior towards the scores at the weakest calibrated
# prior's strength (PRIOR_MAX * PRIOR_MIN_R^2) times 1 - the frame's source share, so a crop cut from as many frame
# pixels as the network reads has none (docs/MEASUREMENTS.md, "A face smaller than the network's input"). On every
# frame the exported weights' own fit (``ArkitPrior.exported``, which the head's fit does not take) gets that weakest
# prior's strength towards the scores for them: a smirk, the lips pulled sideways with the chin still (MediaPipe:
# mouthLeft 0.5-0.6, jawLeft 0), was exported as jawLeft 0.3-0.5, and a character's chin swung 0.08 IOD aside
# (docs/MEASUREMENTS.md, "The exported sideways shapes follow the scores").
SIDEWAYS_KEYS = ("jawLeft", "jawRight", "mouthLeft", "mouthRight")
WEAK_PRIOR = PRIOR_MAX * PRIOR_MIN_R ** 2      # the weakest calibrated prior's strength, the sideways shapes'
_SIDEWAYS_COLUMNS = [ARKIT_NAMES.index(n) for n in SIDEWAYS_KEYS]
# The dimples get the same prior in the exported weights' own fit: anny's mouthDimple widens the mouth, and the fit
# takes it where a real mouth is wider than anny's smile makes it, so the exported weights carried dimples of 0.07-0.11
# at the median (up to 0.52) on the real clips where MediaPipe scores them under 0.02, a character's mouth stretched
# wide, and 0.12-0.15 error each on the held-out renders, the largest of the 52 (MediaPipe's scores there: 0.01-0.02).
# The head keeps what its fit needs on its corrective keys (bake.corrective; docs/MEASUREMENTS.md, "The exported
# dimples follow the scores").
DIMPLE_KEYS = ("mouthDimpleLeft", "mouthDimpleRight")
# And the shapes the exported fit put where neither the held-out renders' truth nor MediaPipe has them (per shape, 9
# seeds: jawForward 0.038 error where MediaPipe's scores are 0.000 off, the nose sneers 0.026 / 0.018 against 0.000,
# mouthRollUpper 0.031 against 0.017; the expressions clip exported jawForward 0.11 on average, 0.62 at the 95th
# percentile, where MediaPipe scores 0.00): the same prior in that fit (docs/MEASUREMENTS.md, "The exported fit's stray
# shapes follow the scores").
STRAY_KEYS = ("jawForward", "noseSneerLeft", "noseSneerRight", "mouthRollUpper")
_EXPORTED_COLUMNS = _SIDEWAYS_COLUMNS + [ARKIT_NAMES.index(n) for n in DIMPLE_KEYS + STRAY_KEYS]
# With the dimples held the exported fit widened the mouth with the presses instead (the talking clip's grin, its
# mouth open 0.28 IOD: mouthPressRight 0.15 on average where MediaPipe scores 0.03). A press shuts the lips on each
# other, so with the lips apart it is not what widens the mouth: the presses get the same prior in that fit as far as
# MediaPipe's jawOpen score reads the mouth open, none under JAW_OPEN_RAMP[0], in full from JAW_OPEN_RAMP[1] (closed
# mouths score 0.002-0.03 on the real clips, the talking clip's open grin 0.19-0.24). Held on every frame, the presses
# gave the width to the stretches, and the expressions clip's closed frown and pout lost the width it has
# (docs/MEASUREMENTS.md, "The exported presses follow the scores with the lips apart").
PRESS_KEYS = ("mouthPressLeft", "mouthPressRight")
JAW_OPEN_RAMP = (0.05, 0.15)
_PRESS_COLUMNS = [ARKIT_NAMES.index(n) for n in PRESS_KEYS]
_JAW_OPEN = ARKIT_NAMES.index("jawOpen")
MIN_PRESENCE = 0.5
# The frown: MediaPipe's browDown scores follow the real clips' (the expressions clip's frowns: r 0.84-0.93 with the
# exported weights) but read each subject's resting brows at an offset of its own (the press subject's at 0.65, the
# others' near 0) and our renders' at r 0.27-0.29, so they get no prior above. The exported weights, kept sparse by the
# L1 boost, frowned a third less than dlib sees (a character driven by them: brow amplitude 0.67 / 0.71 of dlib's on
# the expressions clip, the head 0.91 / 0.85). So the scores less their BROW_REST_QUANTILE quantile over the clip
# (the subject's brows at rest, ``brow_rest``) are targets of the exported weights' own fit only, at BROW_PRIOR
# (bake.solve.ArkitPrior.exported). On the head's fit, which the landmarks lead, the same prior had the talking
# clip's smiling eyes narrowed by browDown instead of the lids' shapes (its eye opening r 0.88 / 0.85 -> 0.78 / 0.76);
# browInnerUp and browOuterUp read our renders' still brows as raised (docs/MEASUREMENTS.md, "The exported frown").
BROW_KEYS = ("browDownLeft", "browDownRight")
BROW_PRIOR = 1.0
BROW_REST_QUANTILE = 0.1
_BROW_COLUMNS = [ARKIT_NAMES.index(n) for n in BROW_KEYS]


# Where landmarks outline the face (lids, lips, brows) they decide the expression: the dense vertices around them
# yield (weight x (1 - DENSE_YIELD) at a landmark, fading over YIELD_MM), since the network under-reads expressions
# there and a compromise between the two is a wrong shape for both.
DENSE_YIELD = 0.9
YIELD_MM = 12.0
_YIELDING = lt.LIPS + lt.RIGHT_EYE + lt.LEFT_EYE + lt.RIGHT_BROW + lt.LEFT_BROW


# Landmarks lead the expression, the dense term the identity: the clip's identity is solved first with the terms as
# above (on spread frames, bake.observations), then every frame again with that identity fixed and the dense
# confidences times EXPRESSION_DENSE (the landmarks and the prior keeping their weight), so pose and expression follow
# the landmarks more closely while distance, head size and shape stay the dense fit's (on the real clips: landmark
# error, mouth opening and brows against the oracle; 0.3 against 0.5 and a single solve in docs/MEASUREMENTS.md). As
# the landmarks' own trust in bake.solve, the factor goes back towards 1 where the dense fit is tight (exact maps),
# where the landmarks would only cost accuracy.
EXPRESSION_DENSE = 0.3


def expression_dense(dense_residual_mm: float) -> float:
    """The factor on the dense confidences when the frames are solved with the identity fixed, from the first
    stage's dense residual fitted alone (mm; bake.solve.dense_residual): EXPRESSION_DENSE at and above
    bake.solve.LANDMARK_REF_MM, towards 1 below."""
    return 1.0 - (1.0 - EXPRESSION_DENSE) * real_face_trust(dense_residual_mm)


# A hat brim's shadow: the network misreads the shaded forehead and brows, and with the second stage's dense term
# the head's brows stopped following the frowns (the expressions clip's brim copy: brows r 0.94 / 0.96 -> 0.22 /
# 0.38) where MediaPipe's landmarks still read them (0.94 / 0.95). A frame whose forehead reads under SHADE_FREE of
# its cheeks' light (core.exposure.forehead_light: the real clips as shot 1.0-2.4, their brim copies 0.07-0.27, the
# held-out renders 0.59 and up, a dark fringe over the forehead included) has its dense term weighed down further in
# that stage, to SHADED_DENSE of it at SHADE_FULL and under (EXPRESSION_DENSE 0.3 -> 0.05), so the landmarks lead its
# pose and expression; in the first stage the frame as a whole weighs that much less, so the clip's identity comes
# from its lit frames (bake.observations.solve_observations; docs/MEASUREMENTS.md, "A hat brim's shadow"). The bake's
# warnings name those frames (``shade_warnings``).
SHADE_FREE = 0.5
SHADE_FULL = 0.25
SHADED_DENSE = 1.0 / 6.0


def shaded_dense(forehead_light: np.ndarray) -> np.ndarray:
    """(T,) factor on each frame in the staged solve (bake.observations.solve_observations' ``frame_dense``: the
    frame as a whole in the first stage, its dense confidences in the second) from its forehead's light over its
    cheeks' (T,) (``FaceState.forehead_light``; NaN, a frame without a reading, is 1): 1 from ``SHADE_FREE`` up,
    ``SHADED_DENSE`` from ``SHADE_FULL`` down, linear between."""
    return 1.0 - (1.0 - SHADED_DENSE) * shade(forehead_light)


def shade(forehead_light: np.ndarray) -> np.ndarray:
    """(T,) how far each frame's forehead is in shadow: 0 from ``SHADE_FREE`` up, 1 from ``SHADE_FULL`` down, NaN 0."""
    light = np.nan_to_num(np.asarray(forehead_light, np.float64), nan=SHADE_FREE)
    return np.clip((SHADE_FREE - light) / (SHADE_FREE - SHADE_FULL), 0.0, 1.0)


# A clip with no frame lit above the eyes takes the head's shape from frames in the shadow as well, and its brows
# then move too little (the expressions clip's brim copy: brows r 0.68 / 0.74 against MediaPipe's own 0.94 / 0.95;
# with the identity of the clip as shot 0.88 / 0.92); no source the clip offers reads that shape better
# (docs/MEASUREMENTS.md, "Found: the head's shape read in the shade"), so the artist is told what to choose.
UNLIT_CLIP = ("no frame of the clip is lit above the eyes, so the head's shape too is read in the shadow, which holds "
              "its brows back; where a close-up's brows matter most, the landmarks-only fusion (Fusion: Landmarks, "
              "--fusion landmarks) reads them better, at some cost to blinks and landmark error")


def shade_warnings(forehead_light: np.ndarray, frames: np.ndarray, most: int = 3) -> list[str]:
    """The bake's warning lines for the frames ``shaded_dense`` weighs down (``forehead_light`` (T,), ``frames`` the
    footage frame of each): one per stretch of such frames, or, past ``most`` stretches, one for them all; and
    ``UNLIT_CLIP`` where every frame with a reading is weighed down."""
    down = shaded_dense(forehead_light) < 1.0
    stretches = runs(down)
    what = ("read with the brows and eyes in shadow (a hat brim?): their pose and expression follow the landmarks more "
            "than the depth network (check the brows and blinks in the overlay)")
    read = np.isfinite(np.asarray(forehead_light, np.float64))
    unlit = [UNLIT_CLIP] if read.any() and down[read].all() else []
    return stretch_lines(stretches, frames, lambda a, b: f" {what}", most) + unlit


def dense_weight_map(head: HeadModel, template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """(V,) factor on the dense vertices' confidences when landmarks are fused."""
    template = template or lt.load()
    anchors = template.points(head.vertices.astype(np.float64), head)[list(_YIELDING)]
    d, _ = nearest(anchors, head.vertices)
    return (1.0 - DENSE_YIELD * np.exp(-(d / YIELD_MM) ** 2)).astype(np.float32)


# The head's pose and shape lean on the landmarks fixed to the skull: the nose's (bone and cartilage) have up to
# NOSE_RIGID_SHARE times their say in the pose and the identity (bake.solve.LandmarkTerm.rigid_share), their say in
# the expression as their weight gives. Lips, lids and brows move with the expression, and where the ARKit shapes
# cannot make a real mouth (a wide grin), their misfit turned the head instead: the talking clip's head pitched down
# with every grin, where the footage's ears and MediaPipe's own 3-D nose and eye corners held still. On a small face
# the nose is a few pixels and its landmarks as noisy as the rest: the share ramps from 1 at RIGID_FROM_PX between the
# eye centres to NOSE_RIGID_SHARE at RIGID_FULL_PX, per frame; and it falls back to 1 as the forehead goes into shadow
# (``shade``), where the dense term is weighed down and the landmarks lead the head's shape: there the nose's larger
# say took the head's lower nose and upper lip off the footage's (docs/MEASUREMENTS.md, "The nose's larger say in the
# head's pose and shape").
NOSE_RIGID_SHARE = 2.0
RIGID_FROM_PX, RIGID_FULL_PX = 30.0, 60.0
_NOSE = np.isin(SOLVE_LANDMARKS, lt.NOSE)


def size_ramp(landmarks: np.ndarray) -> np.ndarray:
    """(T,) 0 to 1 as the eye centres of landmarks (T, 478, >=2) frame pixels lie ``RIGID_FROM_PX`` to
    ``RIGID_FULL_PX`` apart (0 where none): how far a face is large enough for its skull landmarks to lead."""
    p = np.asarray(landmarks, np.float64)[..., :2]
    centres = [0.5 * (p[:, a] + p[:, b]) for a, b in EYE_CORNERS]
    apart = np.nan_to_num(np.linalg.norm(centres[0] - centres[1], axis=-1))
    return np.clip((apart - RIGID_FROM_PX) / (RIGID_FULL_PX - RIGID_FROM_PX), 0.0, 1.0)


def rigid_share(landmarks: np.ndarray, forehead_light: np.ndarray | None = None) -> np.ndarray:
    """(T, L) each solve landmark's say in the head's pose and identity on each frame of landmarks (T, 478, >=2)
    frame pixels: the nose's as the eyes' distance apart in pixels (``size_ramp``) and the forehead's light over
    the cheeks' (T,) (``FaceState.forehead_light``; None: lit) give (above), every other landmark's 1."""
    ramp = size_ramp(landmarks)
    if forehead_light is not None:
        ramp = ramp * (1.0 - shade(forehead_light))
    return 1.0 + (NOSE_RIGID_SHARE - 1.0) * ramp[:, None] * _NOSE[None, :]


# The head's pitch also leans on MediaPipe's own 3-D reading of the skull: its nose and eye corners (SKULL_POINTS),
# with the relative depth the landmark model gives them, fitted by the template's same points turned rigidly
# (``skull_rotations``). In the fused solve's second stage each frame's pitch is pulled towards that turn's as
# SKULL_SHARE of the frame's landmarks would pull it from SKULL_RADIUS_MM off the axis, ramped in with the face's size
# as the nose's say is (``size_ramp``: on a face under 30 px between the eyes the model's depth is too coarse), less
# the median gap between them over the first stage's frames (bake.solve.skull_pitch_gap): the pull follows the
# skull's changes over the clip, not its level (the template's points are the mean head's; on another identity they
# read a few degrees off). The head's pitch is what the network and the brows' and lids' landmarks confuse with the
# expression (docs/MEASUREMENTS.md, "The head's pitch pulled towards the landmark model's own 3-D skull").
SKULL_POINTS = lt.NOSE + (lt.RIGHT_EYE_OUTER, lt.RIGHT_EYE_INNER, lt.LEFT_EYE_INNER, lt.LEFT_EYE_OUTER)
SKULL_SHARE = 0.2
SKULL_RADIUS_MM = 40.0


def skull_rotations(landmarks: np.ndarray, K: np.ndarray, head: HeadModel,
                    template: lt.LandmarkTemplate | None = None) -> np.ndarray:
    """(T, 3, 3) head -> camera rotations read from landmarks (T, 478, 3) alone (frame pixels and the model's
    relative depth, smaller nearer at the pixels' scale; NaN rows: none): each point back on its pixel's ray in the
    camera's space, its relative depth taken along the ray through the points' centre (the landmark model reads its
    crop as seen from the camera, as the network does: ``core.types.axis_through``) from the face's distance (f along
    the camera's axis), and ``SKULL_POINTS`` of ``head``'s neutral fitted to them by a rigid turn (of the best
    similarity)."""
    from .solve import kabsch
    template = template or lt.load()
    idx = list(SKULL_POINTS)
    model = template.points(head.vertices.astype(np.float64), head)[idx]
    K = np.asarray(K, np.float64)
    uvz = np.asarray(landmarks, np.float64)[:, idx, :3]
    out = np.full((len(uvz), 3, 3), np.nan)
    seen = np.isfinite(uvz).all((1, 2))
    if seen.any():
        uvz = uvz[seen]
        rays = np.stack([(uvz[..., 0] - K[0, 2]) / K[0, 0], (uvz[..., 1] - K[1, 2]) / K[1, 1],
                         np.ones(uvz.shape[:2])], -1)                                    # (T', P, 3), z = 1
        axis = np.stack([axis_through(K, c) for c in uvz[..., :2].mean(1)])            # (T', 3)
        along = K[0, 0] / axis[:, 2:3] + uvz[..., 2]                       # each point's distance along the axis
        pts = rays * (along / np.einsum("tpk,tk->tp", rays, axis))[..., None]
        out[seen] = kabsch(model, pts, np.ones(pts.shape[:2]))[0]
    return out


def landmark_term(landmarks: np.ndarray, presence: np.ndarray, dense_weight: np.ndarray, K: np.ndarray,
                  head: HeadModel, template: lt.LandmarkTemplate | None = None,
                  aspects: np.ndarray | None = None, forehead_light: np.ndarray | None = None,
                  nose_share: bool = True, skull: np.ndarray | None = None) -> LandmarkTerm:
    """The solve's landmark term from per-frame landmarks (T, 478, >=2) frame pixels (NaN where none), presence
    (T,), and the frames' summed dense confidences (T,) (0 where the network saw nothing); ``aspects`` (T, 2), how
    open each eye is (``FaceState.lid_aspects``; None: read on ``landmarks``), weighs the irises; ``forehead_light``
    (T,) (``FaceState.forehead_light``; None: lit) the nose's larger say in the head's pose and shape
    (``rigid_share``), which ``nose_share`` False leaves out: the fused solve takes it, the landmarks alone
    (``--fusion landmarks``, no network depth to hold the head's shape) do not; ``skull`` (T, 3, 3), the frames'
    ``skull_rotations``, pulls their pitch (``SKULL_SHARE``; None: no pull)."""
    template = template or lt.load()
    uv = np.asarray(landmarks, np.float64)[:, SOLVE_LANDMARKS, :2]
    ok = np.isfinite(uv).all(-1) & (np.asarray(presence)[:, None] >= MIN_PRESENCE)
    dense = np.asarray(dense_weight, np.float64)
    scale = np.where(dense > 0, dense, np.median(dense[dense > 0]) if (dense > 0).any() else 1.0)
    weight = np.where(ok, _WEIGHT * (LANDMARK_SHARE * scale / _SHARED)[:, None], 0.0)
    aspect = lid_aspects(landmarks) if aspects is None else aspects   # an iris under a shut lid is the model's guess
    for e, (centre, _, _) in enumerate(EYES):
        weight[:, _COLUMN[centre]] *= np.clip(np.nan_to_num((aspect[:, e] - IRIS_SHUT) / IRIS_OPEN_RAMP), 0.0, 1.0)
    mu, B, A = template.basis(head, SOLVE_LANDMARKS)
    share = rigid_share(landmarks, forehead_light) if nose_share else None
    skull_share = None if skull is None else SKULL_SHARE * SKULL_RADIUS_MM ** 2 * size_ramp(landmarks)
    return LandmarkTerm(np.nan_to_num(uv), weight, np.asarray(K, np.float64), mu, B, A,
                        gaze=np.isin(SOLVE_LANDMARKS, lt.IRIS_CENTRES), rigid_share=share,
                        skull=None if skull is None else np.asarray(skull, np.float64), skull_share=skull_share)


# Upper/lower landmark pairs that must not pass through each other: three across each eye's lids (middle, and a third
# of the way to either corner) and three across the inner lips. Where eyeBlink and eyeSquint (or eyeLookDown, or
# mouthClose with the lips together) add up, the ARKit shapes on their own carry one lid through the other (the
# expressions clip's crossed frames before and after: docs/MEASUREMENTS.md). Each pair may close as far as the head
# model's own closing shapes take it (``CLOSING``: a full blink, the lips closed over an open jaw), which at the lids'
# inner third is past zero.
GAP_PAIRS = ((159, 145), (158, 153), (160, 144), (386, 374), (385, 380), (387, 373), (13, 14), (82, 87), (312, 317))
CLOSING = ({"eyeBlinkRight": 1.0}, {"eyeBlinkLeft": 1.0}, {"jawOpen": 1.0, "mouthClose": 1.0})


def gap_constraint(head: HeadModel, template: lt.LandmarkTemplate | None = None) -> GapConstraint:
    """``GAP_PAIRS`` as the solve's constraint: each upper point stays above its lower one along the head's up axis
    (+Y of the head frame), or no further below it than ``CLOSING`` puts it."""
    template = template or lt.load()
    up, lo = (np.array(i) for i in zip(*GAP_PAIRS))
    mu, B, A = template.basis(head, np.concatenate([up, lo]))
    k = len(up)
    base, dB, dA = mu[:k, 1] - mu[k:, 1], B[:, :k, 1] - B[:, k:, 1], A[:, :k, 1] - A[:, k:, 1]
    closed = np.zeros((len(CLOSING), len(ARKIT_NAMES)))
    for row, pose in zip(closed, CLOSING):
        row[[ARKIT_NAMES.index(n) for n in pose]] = list(pose.values())
    allowed = np.minimum(0.0, (base + closed @ dA).min(0))
    return GapConstraint(base - allowed, dB, dA)


@lru_cache(maxsize=1)
def calibration() -> np.ndarray:
    """(52,) correlation r of each score with our weight, from the calibration asset."""
    try:
        shapes = json.loads(CALIBRATION_PATH.read_text())["shapes"]
        r = np.array([shapes[n]["r"] for n in ARKIT_NAMES], np.float64)
    except (OSError, KeyError, ValueError) as exc:
        raise AssetError(f"blendshape calibration {CALIBRATION_PATH} is missing or unreadable ({exc}); regenerate "
                         "it with: python -m tools.calibrate_blendshapes (needs the dev requirements)") from exc
    return r


def prior_shapes() -> np.ndarray:
    """(52,) bool: the shapes whose blendshape score is a prior of the solve (calibrated r >= PRIOR_MIN_R)."""
    return calibration() >= PRIOR_MIN_R


def lid_closure(aspects: np.ndarray, open_aspect: np.ndarray) -> np.ndarray:
    """(T, 2) how far each eye is shut by MediaPipe's lids, from their gap over the eye's width (T, 2)
    (``FaceState.lid_aspects``, core.eyelids.lid_aspects): 1 - aspect / ``open_aspect`` (2,) (``open_aspects``),
    past ``CLOSURE_SLACK`` and rescaled to [0, 1]; 0 where a frame has none (NaN)."""
    shut = 1.0 - np.asarray(aspects, np.float64) / open_aspect
    return np.clip(np.nan_to_num((shut - CLOSURE_SLACK) / (1.0 - CLOSURE_SLACK), nan=0.0), 0.0, 1.0)


def lids_at_rest(aspects: np.ndarray, open_aspect: np.ndarray) -> np.ndarray:
    """(T, 2) bool: the frames where each eye's lids are at rest, open (their gap ``aspects`` (T, 2) at least
    ``REST_FRACTION`` of the clip's ``open_aspect`` (2,), an eye whose open gap reads as open, ``IRIS_SHUT +
    IRIS_OPEN_RAMP``); bake.tracks.blink_rest reads the exported eyeBlink there as the clip's 0."""
    open_aspect = np.asarray(open_aspect, np.float64)
    with np.errstate(invalid="ignore"):
        return ((np.asarray(aspects, np.float64) >= REST_FRACTION * open_aspect)
                & (open_aspect >= IRIS_SHUT + IRIS_OPEN_RAMP))


def rested_blinks(weights: np.ndarray, aspects: np.ndarray, open_aspect: np.ndarray, rest: np.ndarray,
                  shut: np.ndarray) -> np.ndarray:
    """A copy of the exported ``weights`` (T, 52) whose eyeBlink is at most each eye's ``rest`` (2,) where MediaPipe's
    own lids (their gaps ``aspects`` (T, 2), ``FaceState.lid_aspects``) read at rest (at least ``REST_FRACTION`` of
    the clip's ``open_aspect`` (2,) of an eye that opens, as ``lids_at_rest``), the limit rising linearly to ``shut``
    (2,) where they close past ``CLOSURE_SLACK`` (``lid_closure`` > 0) and on frames without a reading. ``rest`` and
    ``shut`` in the weights' units (bake.tracks.blink_rest and 1, each times the eye's shut_scales). A blink put on
    lids MediaPipe sees open, its blink score's tail after a blink or lids the fit narrows to meet a head misplaced on
    a turned profile (iris_gaze.keep_lid_gaps keeps them as blink), would show on a character as eyes a third shut;
    bake.pipeline keeps the head's lids as fitted. docs/MEASUREMENTS.md, "An eye at rest is exported at rest"."""
    out = np.array(weights)
    open_aspect = np.asarray(open_aspect, np.float64)
    closing = 1.0 - CLOSURE_SLACK
    with np.errstate(invalid="ignore"):
        at_rest = np.clip((np.asarray(aspects, np.float64) / open_aspect - closing) / (REST_FRACTION - closing), 0, 1)
    at_rest = np.where(np.isfinite(at_rest) & (open_aspect >= IRIS_SHUT + IRIS_OPEN_RAMP), at_rest, 0.0)
    for e, name in enumerate(BLINK_KEYS):
        k = ARKIT_NAMES.index(name)
        out[:, k] = np.minimum(out[:, k], rest[e] + (1.0 - at_rest[:, e]) * (shut[e] - rest[e]))
    return out


def eyes_open(aspects: np.ndarray, open_aspect: np.ndarray) -> np.ndarray:
    """(T, 2) how open each eye is, 1 - ``lid_closure``: 1 until the lids close past ``CLOSURE_SLACK`` of the clip's
    ``open_aspect``, 0 shut, and 0 where a frame has no reading (NaN ``aspects``)."""
    return np.where(np.isfinite(aspects), 1.0 - lid_closure(aspects, open_aspect), 0.0)


def fit_gaze(weights: np.ndarray, fit_weights: np.ndarray, open_eyes: np.ndarray) -> np.ndarray:
    """A copy of the exported ``weights`` (T, 52) whose eyeLook* weights (``GAZE_KEYS``) are the head's own
    ``fit_weights``' (T, 52) as far as each eye is open (``open_eyes`` (T, 2), ``eyes_open``): the irises read the
    gaze, and the L1 boost that keeps the exported weights sparse shrank it (a downward look to 0 on the real clips;
    the boost is there for the dense network's correlated errors, which the eyeballs' turn is not). Under closing
    lids the fit's gaze is the lids' guess, not the eye's (a blink read as crossed eyes), so there each eye keeps its
    gaze from the open frames around it (linear between them; held at the clip's ends); an eye never open keeps the
    exported gaze. Held and blended, each axis's look is one signed value (up less down, in less out), so it turns
    one way at a time, as an eye does: kept apart, a shut eye between a look up and a look down read both at
    once (docs/MEASUREMENTS.md, "The exported gaze is the irises'", "A held look turns one way at a time")."""
    out = np.array(weights)
    fit = np.asarray(fit_weights, np.float64)
    t = np.arange(len(out))
    for e, axes in enumerate(_GAZE_AXES):
        s = np.asarray(open_eyes[:, e], np.float64)
        anchor = s >= 1.0
        if not anchor.any():
            continue
        for a, b in axes:                                           # each axis's look, signed: one way or the other
            look = fit[:, a] - fit[:, b]
            held = s * look + (1.0 - s) * np.interp(t, t[anchor], look[anchor])
            out[:, a] = np.where(anchor, fit[:, a], np.maximum(held, 0.0))
            out[:, b] = np.where(anchor, fit[:, b], np.maximum(-held, 0.0))
    return out


def one_way_looks(weights: np.ndarray) -> np.ndarray:
    """A copy of ``weights`` (T, >=52) in which each eye looks one way per axis: of eyeLookUp and eyeLookDown, and of
    eyeLookIn and eyeLookOut (``GAZE_KEYS``), the smaller is taken off both. The temporal filter smooths each shape on
    its own, so where a small eye's look changes way from one frame to the next both ways are left at once
    (bake.pipeline gives the head what this takes off, on its corrective difference; docs/MEASUREMENTS.md, "A held
    look turns one way at a time")."""
    out = np.array(weights)
    for axes in _GAZE_AXES:
        for a, b in axes:
            both = np.minimum(out[:, a], out[:, b])
            out[:, a] -= both
            out[:, b] -= both
    return out


def lid_gap_rates(head: HeadModel) -> np.ndarray:
    """(2, 52) per eye (``EYES``' order) how far each ARKit shape at weight 1 opens (+) or shuts (-) the gap between
    the lid midpoints along the head's up axis, mm; the gap is linear in the weights."""
    moved = lt.load().points(np.asarray(head.arkit_deltas, np.float64), head)               # (52, 478, 3)
    return np.stack([moved[:, upper, 1] - moved[:, lower, 1] for _, (upper, lower), _ in EYES])


def closing_blinks(weights: np.ndarray, fit_weights: np.ndarray, head: HeadModel, closing: np.ndarray) -> np.ndarray:
    """A copy of the exported ``weights`` (T, 52) whose eyeBlink, on the frames where an eye's lids are ``closing``
    (T, 2) bool (MediaPipe's, ``lid_closure`` > 0), is at least the blink that shuts the head's lids as far as its
    ``fit_weights`` (T, 52) do, the other exported weights kept: the boosted, sparser fit lags the head's lids at a
    blink's edges (docs/MEASUREMENTS.md, "eyeBlink 0 is the lids at rest"). Elsewhere (a smile's narrowed eyes, which
    are no blink: ``narrowed_squints``) it is left as it is."""
    rates = lid_gap_rates(head)
    out = np.array(weights)
    for e, name in enumerate(BLINK_KEYS):
        k = ARKIT_NAMES.index(name)
        others = np.array(weights, np.float64)
        others[:, k] = 0.0
        blink = np.clip((np.asarray(fit_weights, np.float64) - others) @ rates[e] / rates[e, k], 0.0, 1.0)
        out[:, k] = np.where(closing[:, e], np.maximum(out[:, k], blink), out[:, k])
    return out


SQUINT_KEYS = ("eyeSquintRight", "eyeSquintLeft")        # in EYES' order: what narrows an open eye from below


def narrowed_squints(weights: np.ndarray, fit_weights: np.ndarray, head: HeadModel,
                     open_eyes: np.ndarray) -> np.ndarray:
    """A copy of the exported ``weights`` (T, 52) whose eyeSquint, as far as each eye is open (``open_eyes`` (T, 2)
    in [0, 1], ``eyes_open``), narrows its lids to the gap the head's ``fit_weights`` (T, 52) leave where the
    exported lids are wider: the L1 boost drops a smile's narrowed eyes, which the landmarks show and the head keeps
    (docs/MEASUREMENTS.md, "A smile's narrowed eyes are exported as eyeSquint"). The narrowing is no blink (a
    closing eye's is ``closing_blinks``'), so it goes on the shape that raises the lower lid; eyeSquint at most 1."""
    rates = lid_gap_rates(head)
    out = np.array(weights)
    wider = (np.asarray(weights, np.float64) - np.asarray(fit_weights, np.float64)) @ rates.T      # (T, 2) mm
    for e, name in enumerate(SQUINT_KEYS):
        k = ARKIT_NAMES.index(name)
        more = np.clip(open_eyes[:, e], 0.0, 1.0) * np.maximum(wider[:, e], 0.0) / -rates[e, k]
        out[:, k] = np.clip(out[:, k] + more, 0.0, 1.0)
    return out


BROW_UP_KEYS = ("browInnerUp", "browOuterUpLeft", "browOuterUpRight")    # what raises the brows
_BROW_UP_COLUMNS = [ARKIT_NAMES.index(n) for n in BROW_UP_KEYS]
_BROW_POINTS = list(lt.RIGHT_BROW + lt.LEFT_BROW)
BROW_NOISE = 3.0        # raised_brows leaves a brow point's rise within this many of its frame-to-frame noise scales


def _nonneg_fit(A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """(T, n) the least-squares x >= 0 of A x = y (A (P, n), n small) for each row y of ``Y`` (T, P): every set of
    free columns is solved and the best solution without a negative entry kept (the empty set, x = 0, always is)."""
    T, n = len(Y), A.shape[1]
    best, cost = np.zeros((T, n)), (Y ** 2).sum(1)
    for mask in range(1, 2 ** n):
        cols = [j for j in range(n) if mask >> j & 1]
        a = A[:, cols]
        x = np.linalg.solve(a.T @ a, a.T @ Y.T).T                        # (T, len(cols))
        c = ((Y - x @ a.T) ** 2).sum(1)
        better = (x >= 0).all(1) & (c < cost)
        best[better] = 0.0
        best[np.ix_(better, cols)] = x[better]
        cost = np.where(better, c, cost)
    return best


def raised_brows(weights: np.ndarray, fit_weights: np.ndarray, head: HeadModel, seen: np.ndarray) -> np.ndarray:
    """A copy of the exported ``weights`` (T, 52) whose brows rise above their rest as far as the head's
    ``fit_weights`` (T, 52) raise its own: the L1 boost drops a raise of a few millimetres (a surprise on the
    expressions clip: the landmarks' brows 2 mm up, the exported browInnerUp and browOuterUp 0). Each brow point's
    height (``lt.RIGHT_BROW``, ``lt.LEFT_BROW``, along the head's up axis) above its median over the frames ``seen``
    (T,) bool is read for both weight sets; where the head's rises further than ``BROW_NOISE`` times its frame-to-frame
    noise (``bake.filter.noise_scale``: brows the landmarks cannot see, as behind a render's sunglasses, jump) and
    than the exported weights' rise, the three raising shapes (``BROW_UP_KEYS``) add what makes up the difference
    (least squares, none negative), each at most 1. A frown is left as it is (the exported frown is
    ``BROW_PRIOR``'s). docs/MEASUREMENTS.md, "The exported brow raise"."""
    out = np.array(weights)
    seen = np.asarray(seen, bool)
    if not seen.any():
        return out
    rates = lt.load().points(np.asarray(head.arkit_deltas, np.float64), head)[:, _BROW_POINTS, 1]     # (52, P) mm

    def heights(w):                     # (T, P) each brow point's height above its rest
        h = np.asarray(w, np.float64) @ rates
        return h - np.median(h[seen], axis=0)
    fit_up = heights(fit_weights)
    noise = np.array([noise_scale(fit_up[:, [p]], seen) or 0.0 for p in range(fit_up.shape[1])])
    short = np.maximum(fit_up - BROW_NOISE * noise, 0.0) - np.maximum(heights(weights), 0.0)
    more = _nonneg_fit(rates[_BROW_UP_COLUMNS].T, np.maximum(short, 0.0))
    out[:, _BROW_UP_COLUMNS] = np.clip(out[:, _BROW_UP_COLUMNS] + np.where(seen[:, None], more, 0.0), 0.0, 1.0)
    return out


def open_aspects(aspects: np.ndarray) -> np.ndarray:
    """(2,) each eye's open aspect over a clip's lid gaps (T, 2) (``lid_closure``'s): their OPEN_QUANTILE quantile."""
    a = np.asarray(aspects, np.float64)
    return np.array([np.nanquantile(a[:, e], OPEN_QUANTILE) if np.isfinite(a[:, e]).any() else np.nan
                     for e in range(2)])


def brow_rest(scores: np.ndarray, presence: np.ndarray) -> np.ndarray:
    """(len(BROW_KEYS),) the subject's browDown scores at rest: their BROW_REST_QUANTILE quantile over a clip's
    frames (``scores`` (T, 52) in ARKIT_NAMES order, NaN where absent) whose face ``presence`` (T,) is at least
    MIN_PRESENCE; 0 where none is."""
    s = np.asarray(scores, np.float64)[:, _BROW_COLUMNS]
    s = s[np.asarray(presence) >= MIN_PRESENCE]
    seen = np.isfinite(s)
    return np.array([np.quantile(s[seen[:, j], j], BROW_REST_QUANTILE) if seen[:, j].any() else 0.0
                     for j in range(len(BROW_KEYS))])


def arkit_prior(scores: np.ndarray, presence: np.ndarray, closure: np.ndarray | None = None,
                brows_at_rest: np.ndarray | None = None, source_share: np.ndarray | None = None) -> ArkitPrior:
    """The blendshape model's scores (T, 52) in ARKIT_NAMES order (NaN where absent) as targets of the weights;
    ``closure`` (T, 2) (``lid_closure``) raises the eyeBlink targets to it where the lids say more;
    ``brows_at_rest`` (``brow_rest``) makes the browDown scores less it targets of the exported weights only
    (``BROW_PRIOR``; None: no such prior); ``source_share`` (T,) (core.points.source_share of each frame's crop;
    None: 1) gives the sideways shapes (``SIDEWAYS_KEYS``) their prior on frames whose crop was magnified; they, the
    dimples (``DIMPLE_KEYS``) and ``STRAY_KEYS`` have ``WEAK_PRIOR`` towards the scores in the exported weights' own fit
    on every frame, the presses (``PRESS_KEYS``) as far as the jawOpen score reads the lips apart (``JAW_OPEN_RAMP``)."""
    r = calibration()
    scores = np.asarray(scores, np.float64)
    if closure is not None:
        scores = scores.copy()
        for e, name in enumerate(BLINK_KEYS):
            k = ARKIT_NAMES.index(name)
            scores[:, k] = np.fmax(scores[:, k], closure[:, e])
    strength = np.where(prior_shapes(), PRIOR_MAX * r ** 2, 0.0)
    if source_share is not None:
        strength = np.repeat(strength[None], len(scores), 0)
        magnified = 1.0 - np.clip(np.asarray(source_share, np.float64), 0.0, 1.0)
        strength[:, _SIDEWAYS_COLUMNS] = np.maximum(strength[:, _SIDEWAYS_COLUMNS], WEAK_PRIOR * magnified[:, None])
    ok = np.isfinite(scores) & (np.asarray(presence)[:, None] >= MIN_PRESENCE)
    target = np.clip(np.nan_to_num(scores), 0.0, 1.0)
    exported = np.zeros_like(target)      # the exported weights' own fit only (ArkitPrior.exported)
    exported[:, _EXPORTED_COLUMNS] = np.where(ok[:, _EXPORTED_COLUMNS], WEAK_PRIOR, 0.0)
    lo, hi = JAW_OPEN_RAMP
    lips_apart = np.clip((target[:, _JAW_OPEN] - lo) / (hi - lo), 0.0, 1.0) * ok[:, _JAW_OPEN]
    exported[:, _PRESS_COLUMNS] = np.where(ok[:, _PRESS_COLUMNS], WEAK_PRIOR * lips_apart[:, None], 0.0)
    if brows_at_rest is not None:
        cols = _BROW_COLUMNS
        target[:, cols] = np.clip(np.nan_to_num(scores[:, cols] - np.asarray(brows_at_rest)), 0.0, 1.0)
        strength[..., cols] = 0.0        # the frown's scores read the renders too poorly for the head's own fit
        exported[:, cols] = np.where(ok[:, cols], BROW_PRIOR, 0.0)
    return ArkitPrior(target, np.where(ok, strength, 0.0), exported)
