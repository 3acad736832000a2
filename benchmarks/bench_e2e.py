"""End to end on a synthetic 4D sequence with ground truth: footage -> tracking -> network -> bake, measured against
the true vertices, plus per-stage throughput. Prints JSON and writes benchmarks/results/e2e.json.

    python benchmarks/bench_e2e.py [--frames 60] [--size 512] [--seeds 5 2 7] [--model default] [--png DIR]
        [--fusion fused|dense|landmarks] [--gaze] [--brim F] [--cut F] [--no-outline]

Two rows: "model" runs the real path (the ONNX network on the tracked crops); "ground truth maps" replaces only the
network with the renderer's exact depth/canonical maps (same crops, same bake), so bake error and model error are
separated. Errors: camera-space vertex distance (mm) over the observed face regions, the same after a per-frame rigid
alignment (shape only), the head's rotation from the true one (degrees, median and 90th percentile over the frames;
``rotation_motion_deg_median`` once the clip's mean offset is taken away: how its motion is followed), the
image-space reprojection error / inter-ocular distance, ARKit weight MAE (eyeBlink as the bake exports it, 1 where
the lids meet: ``true_weights``; ``arkit_mae_gaze`` over the eight eyeLook* shapes and
``arkit_mae_without_gaze`` over the others: the held-out sequences turn the eyes only with ``--gaze``,
training/synth/sequences.py, so without it every gaze read off their renders counts as error; with it ``gaze_r`` and
``gaze_gain``, each eye's sideways and vertical look (eyeLookOut - eyeLookIn, eyeLookUp - eyeLookDown) against the
truth's, the mean over the four of the correlation over time and of the ratio of standard deviations;
``arkit_mae_worst``, the ``WORST_SHAPES`` shapes with the largest error, each with its true and baked mean;
``arkit_mae_shapes``, each shape's error, and in the summary ``arkit_mae_shapes_mean``, its mean over the seeds;
``arkit_mae_at_rest``, the part of the MAE that is weight on the shapes the truth leaves at rest all clip long, which
all-zero weights would get right: the held-out sequences leave most of the 52 at rest) and the
expression error (mm of skin displacement from the ARKit weights where the truth moves the skin > 1 mm), each next to
its "neutral" baseline (predicting no expression; ``expression_mm_head`` the same for the baked head, whose corrective
keys carry what the fused fit does beyond the exported weights: bake.corrective; ``expression_mm_by_shape``, how much
of it each shape's weights set to the truth's take away, and in the summary ``expression_mm_by_shape_mean``;
``expression_mm_steady_off``, what is left with each shape's steady offset from the truth taken off), how far
the head opens the inner lips against the truth (``mouth_open_gain``, 1 as far, and ``mouth_open_r``; the "mediapipe"
row MediaPipe's own points: ``opening_gain``), the landmark error (``landmark_iod``:
the template's points on the baked mesh against those on the true head, at face_signals.TARGET_POINTS, in the truth's
IOD; the "mediapipe" row gives MediaPipe's own landmarks on the renders the same way, which bounds what the real-face
terms can bring: the renders lie outside its training; its blendshape scores taken as the weights, as an add-on that
passes them on exports them, get the ARKit MAE and expression error too, against the truth; and the tracker's reading of
the light above the eyes, ``forehead_light``, which leaves the renders' frames as they are where it stays over
bake.fusion.SHADE_FREE), the baked head's size (``eye_distance_mm``, bake.head_size) next to the true identity's and to
what the irises read (``iris_eye_distance_mm``, NaN where unread: the renders' eyes have no irises, so MediaPipe's iris
model reads an iris of its own), and jitter = median over vertices and frames of |second difference| of the projected
vertices divided by the inter-ocular distance (the ground truth's own value is reported for reference: real motion is
not zero). ``outline_width``: the baked head's silhouette over the true head's at the height of bake.face_outline's
rows (``true_outline``; MediaPipe's face oval in its row, and there ``template_points_width``, the template's oval
points on the true head), over the frames where the truth faces the camera; NaN under 4 such frames.
Each number is reported per held-out sequence (seed) and as the median over those that read it; --png writes per
seed a strip of six frames with the fitted mesh drawn over the footage (top: the network, bottom: ground-truth maps).
Needs the training extras (torch) to render the sequence.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bake.correspond import default_vertex_mask  # noqa: E402
from bake.fusion import BLINK_KEYS, GAZE_KEYS  # noqa: E402
from bake.head_size import eye_distance  # noqa: E402
from bake.pipeline import ReconConfig, reconstruct  # noqa: E402
from bake.tracks import posed_vertices, shut_scales, shut_weights  # noqa: E402
from core import head_model  # noqa: E402
from core.head_model import ARKIT_NAMES  # noqa: E402
from core.track import FaceTracker  # noqa: E402
from core.types import FramePrediction  # noqa: E402

import bench_real  # noqa: E402  (benchmarks/, the script's folder)
import face_signals as fs  # noqa: E402
from machine import describe as describe_machine, write_result  # noqa: E402
import reshoots  # noqa: E402

GAZE = [ARKIT_NAMES.index(n) for eye in GAZE_KEYS for n in eye]       # the eyeLook* columns
WORST_SHAPES = 8          # ``arkit_mae_worst``: the shapes with the largest weight error, their true and baked means
AT_REST = 0.02            # ``arkit_mae_at_rest``: a shape whose true weight never passes this is at rest all clip long
LIPS_INNER = (13, 14)     # ``opening_gain``: MediaPipe's inner-lip midpoints, upper and lower


def cut_map(a: np.ndarray, box, size: int) -> np.ndarray:
    """A per-pixel map of the frame (H, W[, C]) cut as the pipeline cuts the frame's crop ``box`` (nearest pixel;
    core.preprocess.crop_affine: the project's pixel centres, a turned box turned), so that each crop pixel holds
    the value core.points.to_point_cloud places it at."""
    import cv2
    from core.preprocess import crop_affine
    return cv2.warpAffine(np.asarray(a, np.float32), crop_affine(box, size), (size, size), flags=cv2.INTER_NEAREST)


def ground_truth_prediction(seq, head, i: int, box, size: int = 128) -> FramePrediction:
    """What a perfect network would answer for the crop ``box`` of frame i: the renderer's exact maps, cut as the
    frame's crop is (``cut_map``)."""
    from training.synth.batch import axis_scale
    warp = lambda a: cut_map(a, box, size)  # noqa: E731
    K, z = np.asarray(seq["K"], np.float64), seq["depth"][i]
    axis = box.view_axis(K)                          # the depth along the crop's axis (core.types)
    z = warp(z * axis_scale(K[None], axis[None], z.shape[1], z.shape[0])[0])
    m = warp(seq["mask"][i].astype(np.float32)) > 0.5
    c = warp(seq["canon"][i])
    d = np.where(m, (z - np.asarray(seq["t"][i], np.float64) @ axis) / head.canon_scale, 0)
    one = np.ones_like(d, np.float32)
    return FramePrediction(depth=d.astype(np.float32), depth_conf=one, canon=head.to_norm(c).astype(np.float32),
                           canon_conf=one, mask=m.astype(np.float32))


def true_weights(seq, head) -> np.ndarray:
    """(T, 52) the sequence's ARKit weights as the bake exports them: eyeBlink 1 where the true head's lids meet
    (bake.tracks.shut_scales on the true identity), the others as rendered."""
    return shut_weights(np.asarray(seq["arkit"], np.float64),
                        shut_scales(head, head.shape(identity=seq["identity"]), head.arkit_deltas))


def gaze_signals(weights: np.ndarray) -> np.ndarray:
    """(T, 4) each eye's sideways (towards its outer corner) and vertical (up) look from ARKit weights (T, >= 52)."""
    col = lambda eye, d: weights[:, ARKIT_NAMES.index(f"eyeLook{d}{eye}")]     # noqa: E731
    return np.stack([s for eye in ("Right", "Left") for s in (col(eye, "Out") - col(eye, "In"),
                                                                col(eye, "Up") - col(eye, "Down"))], 1)


def gaze_agreement(weights: np.ndarray, truth: np.ndarray) -> dict:
    """``gaze_r`` and ``gaze_gain`` (means over ``gaze_signals``' four) of the exported weights against the truth's;
    empty where the truth never turns the eyes. A signal the bake holds still has r 0 and gain 0."""
    got, want = gaze_signals(weights), gaze_signals(truth)
    if want.std(0).min() < 1e-6:
        return {}
    r = [np.corrcoef(g, w)[0, 1] if g.std() > 1e-9 else 0.0 for g, w in zip(got.T, want.T)]
    return dict(gaze_r=float(np.mean(r)), gaze_gain=float(np.mean(got.std(0) / want.std(0))))


def weight_errors(weights: np.ndarray, truth: np.ndarray) -> dict:
    """ARKit weight MAE of ``weights`` (T, >= 52) against ``truth`` (T, 52): over the 52, the eight eyeLook* shapes and
    the others, and each shape's own (``arkit_mae_shapes``, by ARKit name)."""
    d = np.abs(weights[:, :52] - truth)
    return dict(arkit_mae=float(d.mean()), arkit_mae_gaze=float(d[:, GAZE].mean()),
                arkit_mae_without_gaze=float(np.delete(d, GAZE, 1).mean()),
                arkit_mae_shapes={n: float(e) for n, e in zip(ARKIT_NAMES, d.mean(0))})


def skin_error(fitted: np.ndarray, moved: np.ndarray) -> float:
    """Mean distance (mm) of the skin displacement ``fitted`` (T, V, 3) from the true ``moved`` where the truth moves
    the skin by more than 1 mm (``expression_mm``)."""
    return float(np.linalg.norm(fitted - moved, axis=-1)[np.linalg.norm(moved, axis=-1) > 1.0].mean())


def at_rest_error(weights: np.ndarray, truth: np.ndarray) -> float:
    """The part of the ARKit MAE of ``weights`` (T, >= 52) against ``truth`` (T, 52) that lies on the shapes the truth
    leaves at rest (under ``AT_REST`` on every frame): their errors summed per frame, over the 52, averaged over the
    frames."""
    rest = (np.asarray(truth) < AT_REST).all(0)
    return float(np.abs(np.asarray(weights)[:, :52] - truth)[:, rest].sum(1).mean() / 52)


def shape_shares(fitted: np.ndarray, weights: np.ndarray, truth: np.ndarray, deltas: np.ndarray,
                 moved: np.ndarray) -> np.ndarray:
    """(52,) mm: how much of the expression error (``skin_error`` of ``fitted`` (T, V, 3), the skin displacement of
    ``weights`` (T, >= 52) on ``deltas`` (52, V, 3), against the true one ``moved`` (T, V, 3)) each shape's weights
    set to ``truth``'s (T, 52) take away."""
    w = np.asarray(weights, np.float64)[:, :52]
    base = skin_error(fitted, moved)
    return np.array([base - skin_error(fitted + (truth[:, k] - w[:, k])[:, None, None] * deltas[k], moved)
                     for k in range(52)])


def steady_off_error(fitted: np.ndarray, weights: np.ndarray, truth: np.ndarray, deltas: np.ndarray,
                     moved: np.ndarray) -> float:
    """mm: the expression error (``skin_error`` of ``fitted`` (T, V, 3), the skin displacement of ``weights``
    (T, >= 52) on ``deltas`` (52, V, 3), against ``moved``) with each shape's steady offset from ``truth`` (T, 52)
    taken off, its median over the clip: the part of the error that is not the same on every frame. Read from the
    truth, so a bound on what a rest could take off, not a method (docs/MEASUREMENTS.md, "The renders' expression
    error: a third of it steady")."""
    steady = np.median(np.asarray(weights, np.float64)[:, :52] - truth, axis=0)
    return skin_error(fitted - np.einsum("k,kvc->vc", steady, deltas)[None], moved)


def opening_gain(points: np.ndarray, truth: np.ndarray) -> dict:
    """How far ``points`` (T, 478, 2; NaN rows where none) open the inner lips against ``truth``'s (T, 478, 2): the
    distance of ``LIPS_INNER``, its least-squares line's slope on the truth's (``mouth_open_gain``: 1 opens as far,
    0.5 half as far) and their correlation over the frames read."""
    a, b = (np.linalg.norm(np.diff(np.asarray(p, np.float64)[:, list(LIPS_INNER)], axis=1)[:, 0], axis=-1)
            for p in (points, truth))
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or b[ok].std() < 1e-9:
        return dict(mouth_open_gain=float("nan"), mouth_open_r=float("nan"))
    return dict(mouth_open_gain=float(np.polyfit(b[ok], a[ok], 1)[0]), mouth_open_r=fs.correlation(a, b))


def score_metrics(states: list, seq, head) -> dict:
    """MediaPipe's blendshape scores taken as the ARKit weights (what an add-on that passes them on exports; frames
    without a face and tongueOut at 0) against the truth: ``weight_errors`` and the expression error, with eyeBlink
    1 shutting the true head's lids as the bake's export does (``true_weights``)."""
    scores = np.stack([s.blendshapes if s is not None else np.zeros(52) for s in states])
    weights = np.clip(np.nan_to_num(scores.astype(np.float64)), 0.0, 1.0)
    scales = shut_scales(head, head.shape(identity=seq["identity"]), head.arkit_deltas)
    raw = weights.copy()                        # the head model's own weights: eyeBlink 1 / scale shuts its lids
    for name, f in zip(BLINK_KEYS, scales):
        raw[:, ARKIT_NAMES.index(name)] *= f
    mask = default_vertex_mask(head)
    deltas = head.arkit_deltas[:, mask].reshape(52, -1)
    moved = (np.asarray(seq["arkit"], np.float64) @ deltas).reshape(len(weights), -1, 3)
    return dict(**weight_errors(weights, true_weights(seq, head)),
                expression_mm=skin_error((raw @ deltas).reshape(len(weights), -1, 3), moved))


def rotation_error(rotations: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T,), (T,) degrees: the angle of each baked head rotation (T, 3, 3, head -> camera) from the true one, and the
    same once the clip's mean offset (in the head's frame) is taken away: how the head's motion is followed, whatever
    way a head shaped otherwise than the truth is held."""
    from scipy.spatial.transform import Rotation
    off = Rotation.from_matrix(np.einsum("tji,tjk->tik", truth, np.asarray(rotations, np.float64)))   # R_true^T R
    return np.degrees(off.magnitude()), np.degrees((off.mean().inv() * off).magnitude())


def metrics(tracks, seq, head, K):
    mask = default_vertex_mask(head)
    idx = [int(f) - 1 for f in tracks.frames]
    pv = np.stack([posed_vertices(tracks, k) for k in range(len(idx))])
    gt = seq["verts_cam"][idx]
    err = np.linalg.norm(pv - gt, axis=-1)[:, mask]
    proj = lambda v: v[..., :2] / v[..., 2:3] * [K[0, 0], K[1, 1]] + K[:2, 2]   # noqa: E731
    eyes = head.region_mask("eyes")
    left, right = eyes & (head.vertices[:, 0] > 0), eyes & (head.vertices[:, 0] < 0)
    iod = np.linalg.norm(proj(gt[:, left].mean(1)) - proj(gt[:, right].mean(1)), axis=-1).mean()

    def jitter(v):
        p = proj(v[:, mask])
        return float(np.median(np.linalg.norm(p[2:] - 2 * p[1:-1] + p[:-2], axis=-1)) / iod)
    # shape only: each frame rigidly aligned (Kabsch) to the truth; image: reprojection error / inter-ocular
    aligned = []
    for p, g in zip(pv[:, mask], gt[:, mask]):
        pc, gc = p - p.mean(0), g - g.mean(0)
        u, _, vt = np.linalg.svd(pc.T @ gc)
        r = u @ np.diag([1, 1, np.sign(np.linalg.det(u @ vt))]) @ vt
        aligned.append(np.linalg.norm(pc @ r - gc, axis=-1))
    reproj = np.linalg.norm(proj(pv[:, mask]) - proj(gt[:, mask]), axis=-1) / iod
    # expression: the skin displacement of the fitted ARKit weights vs the true ones (mm), where the true expression
    # moves the skin by more than 1 mm; "neutral" is the same for predicting no expression at all (the baseline)
    moved = (seq["arkit"][idx] @ head.arkit_deltas[:, mask].reshape(52, -1)).reshape(len(idx), -1, 3)
    fitted = (tracks.weights[:, :52] @ tracks.key_deltas[:52, mask].reshape(52, -1)).reshape(len(idx), -1, 3)
    cor = [k for k, n in enumerate(tracks.key_names) if n.startswith("corrective_")]    # the head's, bake.corrective
    on_head = fitted + np.einsum("tk,kvc->tvc", tracks.weights[:, cor], tracks.key_deltas[cor][:, mask])
    truth = true_weights(seq, head)[idx]
    errors = weight_errors(tracks.weights, truth)
    shape_mae = np.array(list(errors["arkit_mae_shapes"].values()))
    worst = np.argsort(-shape_mae)[:WORST_SHAPES]
    turn, motion = rotation_error(tracks.head_rotation, np.asarray(seq["R"], np.float64)[idx])
    return dict(vertex_mm_median=float(np.median(err)), vertex_mm_p90=float(np.quantile(err, 0.9)),
                aligned_mm_median=float(np.median(aligned)), reprojection_iod_median=float(np.median(reproj)),
                rotation_deg_median=float(np.median(turn)), rotation_deg_p90=float(np.quantile(turn, 0.9)),
                rotation_motion_deg_median=float(np.median(motion)),
                **errors, arkit_mae_neutral=float(np.abs(truth).mean()),
                arkit_mae_worst={ARKIT_NAMES[k]: dict(mae=float(shape_mae[k]), true=float(truth[:, k].mean()),
                                                      baked=float(tracks.weights[:, k].mean())) for k in worst},
                arkit_mae_at_rest=at_rest_error(tracks.weights, truth),
                expression_mm=skin_error(fitted, moved), expression_mm_neutral=skin_error(np.zeros_like(moved), moved),
                expression_mm_head=skin_error(on_head, moved),
                expression_mm_steady_off=steady_off_error(fitted, tracks.weights, truth, tracks.key_deltas[:52, mask],
                                                          moved),
                expression_mm_by_shape=dict(zip(ARKIT_NAMES, np.round(shape_shares(
                    fitted, tracks.weights, truth, tracks.key_deltas[:52, mask], moved), 4).tolist())),
                **gaze_agreement(tracks.weights[:, :52], truth),
                jitter_iod=jitter(pv), jitter_iod_ground_truth=jitter(gt), frames=len(idx),
                eye_distance_mm=float(eye_distance(tracks.basis, head)),
                eye_distance_mm_true=float(eye_distance(head.shape(identity=seq["identity"]), head)))


def true_points(seq, head, idx) -> np.ndarray:
    """(T, 478, 2) pixels: the template's MediaPipe-indexed points on the true head of frames ``idx``, projected."""
    from core import landmark_template
    p = landmark_template.load().points(np.asarray(seq["verts_cam"])[idx].astype(np.float64), head)
    q = p @ np.asarray(seq["K"], np.float64).T
    return q[..., :2] / q[..., 2:3]


def cut_frame(seq, fraction: float) -> dict:
    """The sequence framed tighter: ``fraction`` of its rows cut away, half above and half below, so that the
    principal point stays in the middle (``ReconConfig.intrinsics``) and the head's crop reaches past the frame's top
    and bottom, as a close-up's does (the expressions clip's chin); the truth's maps and intrinsics cut alike."""
    rows = int(round(len(seq["image"][0]) * fraction / 2))
    if rows == 0:
        return seq
    out = dict(seq, K=np.array(seq["K"], copy=True))
    for k in ("image", "depth", "canon", "mask"):
        out[k] = np.ascontiguousarray(seq[k][:, rows:-rows])
    out["K"][1, 2] -= rows
    return out


def brimmed(seq, head, fraction: float) -> np.ndarray:
    """The sequence's images with a hat brim's shadow (reshoots.brim_polygon at reshoots.BRIM_LIGHT, placed on
    the true head's iris centres and nose tip) on the middle ``fraction`` of its frames, as bench_real's
    ``--reshoot brim:F`` shades footage."""
    from core import landmark_template as lt
    images = np.array(seq["image"], copy=True)
    n = len(images)
    first = int(round(n * (1.0 - fraction) / 2))
    span = np.arange(first, min(n, first + max(1, int(round(n * fraction)))))
    p = true_points(seq, head, span)
    for k, i in enumerate(span):
        polygon = reshoots.brim_polygon(p[k, lt.IRIS_CENTRES[0]], p[k, lt.IRIS_CENTRES[1]], p[k, lt.NOSE_TIP])
        images[i] = reshoots.shade(images[i], [polygon], reshoots.BRIM_LIGHT)
    return images


def true_outline(seq, head, idx) -> tuple:
    """The true head's frame for reading outlines (bench_real.outline_ends): the image turned by its eye line about
    its nose tip, the height there of each of bake.face_outline.ROWS' pairs of its template points, its own silhouette
    at those rows (T, R, 2), and where it faces the camera (its nose tip within face_signals.FRONTAL_WIDTH of the
    middle of its silhouette's first row)."""
    import face_signals as fs
    from bake.face_outline import ROWS, levelling
    pts = true_points(seq, head, idx)
    across = pts[:, [362, 263]].mean(1) - pts[:, [33, 133]].mean(1)
    turn = levelling(np.arctan2(across[:, 1], across[:, 0]))
    centre = pts[:, 1]
    flat = np.einsum("tij,tlj->tli", turn, pts - centre[:, None])
    pairs = np.array(ROWS)
    heights = 0.5 * (flat[:, pairs[:, 0], 1] + flat[:, pairs[:, 1], 1])
    ends = bench_real.outline_ends(np.asarray(seq["verts_cam"], np.float64)[idx], seq["K"], head, turn, centre,
                                   heights)
    facing = np.abs(-ends[:, 0, 0] / (ends[:, 0, 1] - ends[:, 0, 0]) - 0.5) < fs.FRONTAL_WIDTH
    return turn, centre, heights, ends, facing


def outline_width(ends: np.ndarray, truth: tuple) -> float:
    """An outline's width over the true head's silhouette (``true_outline``) at its rows: the median over the rows
    and the frames where the truth faces the camera and both are read; NaN under 4 such frames."""
    *_, true_ends, facing = truth
    ratio = (ends[..., 1] - ends[..., 0]) / (true_ends[..., 1] - true_ends[..., 0])
    ok = facing[:, None] & np.isfinite(ratio)
    return float(np.median(ratio[ok])) if ok.any(1).sum() >= 4 else float("nan")


def template_points_width(seq, head, truth: tuple) -> float:
    """The template's oval points of bake.face_outline.ROWS on the true head, their distance along each row over the
    true head's silhouette there (``outline_width``'s frames): where the template puts points that MediaPipe reads on
    the outline."""
    from bake.face_outline import ROWS
    turn, centre, _, true_ends, facing = truth
    pts = true_points(seq, head, np.arange(len(turn)))
    flat = np.einsum("tij,tlj->tli", turn, pts - centre[:, None])
    pairs = np.array(ROWS)
    ends = np.stack([flat[:, pairs[:, 0], 0], flat[:, pairs[:, 1], 0]], -1)
    return outline_width(ends, truth)


def fit_against_truth(tracks, stats, mesh: np.ndarray, truth: np.ndarray) -> dict:
    """The bake's own landmark fit (bake.fit_report: the head against MediaPipe's landmarks) beside the same figure
    against the true points (``mesh``, ``truth``: (T, 478, 2) pixels), and their correlation over the frames: how
    far the fit an artist reads tells the head's real error."""
    from bake.fit_report import FIT_LANDMARKS, eyes_apart
    apart = eyes_apart(truth)
    true_fit = np.median(np.linalg.norm(mesh[:, FIT_LANDMARKS] - truth[:, FIT_LANDMARKS], axis=-1), axis=1) / apart
    fit = np.full(len(true_fit), np.nan) if tracks.landmark_fit is None else np.asarray(tracks.landmark_fit)
    ok = np.isfinite(fit) & np.isfinite(true_fit)
    r = float(np.corrcoef(fit[ok], true_fit[ok])[0, 1]) if ok.sum() > 2 else float("nan")
    return dict(landmark_fit=np.nan if stats.landmark_fit is None else stats.landmark_fit,
                landmark_fit_true=float(np.median(true_fit[ok])) if ok.any() else float("nan"), landmark_fit_r=r)


def landmark_iod(points: np.ndarray, truth: np.ndarray) -> float:
    """Median landmark error (the truth's IOD) at face_signals.TARGET_POINTS of (T, 478, 2) ``points`` (NaN rows
    where none) against ``truth``."""
    import face_signals as fs
    a, b = fs.named(points, "mp478"), fs.named(truth, "mp478")
    return fs.landmark_error(a, b, np.isfinite(a).all((1, 2)))["median_target_points"]


def run(seq, head, folder, focal, model, gt_maps, mirror=False, reframe=ReconConfig.reframe,
        fusion=ReconConfig.fusion, network_gap=ReconConfig.network_gap):
    import bake.pipeline as pl
    cfg = ReconConfig(source=str(folder), focal_px=focal, model_path=None if model == "default" else model,
                      mirror=mirror, reframe=reframe, fusion=fusion, network_gap=network_gap)
    if not gt_maps:
        t = time.perf_counter()
        tracks, stats = reconstruct(cfg)
        return tracks, stats, time.perf_counter() - t
    import core.runtime
    orig_pred, orig_points = core.runtime.Predictor, pl.to_point_cloud

    class Placeholder:                      # the network is not run; its answer is replaced below
        size = 128
        depth_tilt = 0.0                    # the exact maps' depths run along the crop's axis (core.types)

        def __init__(self, *a, **k):
            pass

        def predict(self, crops):
            return [None] * len(crops)

    def points(pred, box, K, head_, frame, **kw):   # the exact maps of this frame, cut with the pipeline's box
        return orig_points(ground_truth_prediction(seq, head, int(frame), box), box, K, head_, frame, **kw)
    core.runtime.Predictor, pl.to_point_cloud = Placeholder, points
    try:
        t = time.perf_counter()
        tracks, stats = pl.reconstruct(cfg)
        return tracks, stats, time.perf_counter() - t
    finally:
        core.runtime.Predictor, pl.to_point_cloud = orig_pred, orig_points


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--seeds", type=int, nargs="+", default=[5, 2, 7], help="one held-out sequence per seed")
    ap.add_argument("--model", default="default")
    ap.add_argument("--mirror", action="store_true", help="ReconConfig(mirror=True): mirror-averaged network")
    ap.add_argument("--reframe", type=int, default=ReconConfig.reframe,
                    help="ReconConfig.reframe: network passes on the crop of the previous pass's pose (0 = off)")
    ap.add_argument("--fusion", default=ReconConfig.fusion, choices=("fused", "dense", "landmarks"),
                    help="which observations the solve uses (bake.fusion; the others are ablations)")
    ap.add_argument("--gaze", action="store_true", help="the held-out sequences' eyes look about (sequences.py)")
    ap.add_argument("--turn", type=float, default=None, metavar="DEG",
                    help="each sequence's head turns to DEG degrees of yaw and back instead of its own yaw "
                         "(sequences.py): a turn to a profile, where the landmarks lose the face")
    ap.add_argument("--turn-path", default="back", choices=("back", "away", "toward"),
                    help="with --turn: there and back, or one way (the clip ends, or starts, turned away)")
    ap.add_argument("--network-gap", type=int, default=ReconConfig.network_gap, metavar="N",
                    help="ReconConfig.network_gap: the longest run of frames in which the network alone follows a "
                         "face the landmarks lost (0 = such frames bridged)")
    ap.add_argument("--no-outline", action="store_true",
                    help="bake without bake.face_outline's step (bench_real.without_outline)")
    ap.add_argument("--brim", type=float, default=0.0, metavar="F",
                    help="a hat brim's shadow over the brows and eyes on the middle F of each sequence's frames "
                         "(bench_real's --reshoot brim:F, placed on the true head's eyes and nose tip)")
    ap.add_argument("--cut", type=float, default=0.0, metavar="F",
                    help="cut F of each frame's rows away, half above and half below (cut_frame): a tight framing")
    ap.add_argument("--json", default=str(Path(__file__).resolve().parent / "results" / "e2e.json"))
    ap.add_argument("--png", default=None, help="overlay strip (network row, ground-truth-maps row) per seed here")
    a = ap.parse_args()
    head = head_model.load()
    if not 0.0 <= a.brim <= 1.0:
        ap.error(f"--brim takes the fraction of frames shaded, 0-1; got {a.brim}")
    if not 0.0 <= a.cut < 0.9:
        ap.error(f"--cut takes the fraction of each frame's rows cut away, 0 to under 0.9; got {a.cut}")
    if a.no_outline:
        bench_real.without_outline()
    res = dict(machine=describe_machine(), frames=a.frames, size=a.size, seeds=a.seeds, mirror=a.mirror,
               reframe=a.reframe, fusion=a.fusion, gaze=a.gaze, turn=a.turn, turn_path=a.turn_path,
               network_gap=a.network_gap, brim=a.brim, cut=a.cut, outline_step=not a.no_outline, runs={})
    from core.errors import FaceCaptureError
    for seed in a.seeds:
        try:
            res["runs"][str(seed)] = run_seed(seed, a, head)
        except FaceCaptureError as e:             # e.g. no face found in any frame: a result, not a crash
            res["runs"][str(seed)] = dict(failed=str(e))
    res["failed_seeds"] = [s for s, r in res["runs"].items() if "failed" in r]
    for name in ("model", "ground_truth_maps", "mediapipe"):   # median over the sequences of each number read
        rows = [r[name] for r in res["runs"].values() if "failed" not in r]
        res[name] = {k: float(np.nanmedian([r[k] for r in rows])) for k in rows[0] if not isinstance(rows[0][k], dict)}
        for key in ("arkit_mae_shapes", "expression_mm_by_shape"):
            if key in rows[0]:
                res[name][f"{key}_mean"] = shapes_mean(rows, key)
    print(json.dumps(res, indent=1))
    write_result(a.json, res)


def shapes_mean(rows: list, key: str = "arkit_mae_shapes") -> dict:
    """A per-shape figure of each sequence (``key``: ``arkit_mae_shapes``, each shape's weight error, or
    ``expression_mm_by_shape``) as the mean over the sequences ``rows``, largest first: which shapes the clips' ARKit
    MAE or expression error is made of."""
    mean = {n: round(float(np.mean([r[key][n] for r in rows])), 5) for n in ARKIT_NAMES}
    return dict(sorted(mean.items(), key=lambda kv: -kv[1]))


def run_seed(seed, a, head) -> dict:
    import cv2
    from bake.overlay import overlay_frame
    from training.synth import SynthConfig, make_sequence
    seq = cut_frame(make_sequence(SynthConfig(), a.frames, seed, a.size, a.size, gaze=a.gaze, turn=a.turn,
                                   turn_path=a.turn_path), a.cut)
    if a.brim:
        seq["image"] = brimmed(seq, head, a.brim)
    folder = Path(tempfile.mkdtemp(prefix="e2e_"))
    for i, img in enumerate(seq["image"]):
        cv2.imwrite(str(folder / f"frame_{i:04d}.png"), img[..., ::-1])
    K = seq["K"]
    out, rows = {}, []
    for name, gt_maps in (("model", False), ("ground_truth_maps", True)):
        tracks, stats, secs = run(seq, head, folder, float(K[0, 0]), a.model, gt_maps, a.mirror, a.reframe, a.fusion,
                                  a.network_gap)
        idx = [int(f) - 1 for f in tracks.frames]
        mesh = bench_real.mesh_landmarks(tracks, head)
        truth = true_outline(seq, head, idx)
        baked = np.stack([posed_vertices(tracks, k) for k in range(len(idx))])
        points = true_points(seq, head, idx)
        out[name] = dict(**metrics(tracks, seq, head, K), landmark_iod=landmark_iod(mesh, points),
                         **opening_gain(mesh, points),
                         outline_width=outline_width(bench_real.outline_ends(baked, K, head, *truth[:3]), truth),
                         **fit_against_truth(tracks, stats, mesh, points),
                         iris_eye_distance_mm=np.nan if stats.iris_eye_distance_mm is None
                         else stats.iris_eye_distance_mm,
                         frames_tracked=stats.frames_tracked,
                         frames_bridged=stats.frames_bridged, seconds=secs, fps=a.frames / secs,
                         stage_seconds={k: round(v, 3) for k, v in stats.stage_seconds.items()})
        pick = np.linspace(0, len(tracks.frames) - 1, 6).round().astype(int)
        rows.append(np.concatenate([cv2.resize(overlay_frame(tracks, i, seq["image"][int(tracks.frames[i]) - 1]),
                                               (256, 256), interpolation=cv2.INTER_AREA) for i in pick], 1))
    # what the landmarks can give: MediaPipe reads these renders, which lie outside its training, this far off
    states = FaceTracker().states(seq["image"])
    every = np.arange(len(seq["image"]))
    truth = true_outline(seq, head, every)
    read, points = bench_real.landmark_array(states), true_points(seq, head, every)
    out["mediapipe"] = dict(landmark_iod=landmark_iod(read, points), **opening_gain(read, points),
                            outline_width=outline_width(bench_real.oval_ends(read, *truth[:3]), truth),
                            template_points_width=template_points_width(seq, head, truth),
                            forehead_light=bench_real.forehead_light(states), **score_metrics(states, seq, head))
    if a.png:
        Path(a.png).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(Path(a.png) / f"e2e_seed{seed}.jpg"), np.concatenate(rows, 0)[..., ::-1],
                    [cv2.IMWRITE_JPEG_QUALITY, 85])
    return out


if __name__ == "__main__":
    main()
