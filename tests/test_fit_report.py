"""bake.fit_report: the baked head's landmarks against the tracker's, as a share of the eye distance."""
import numpy as np
import pytest

from bake import fit_report
from bake.tracks import build_tracks
from core import landmark_template as lt
from core.mesh_render import HEAD_TO_CV, rotation_y


def _tracks(head, T=6):
    """A head turning in front of a camera with some expression, frame 2 bridged."""
    rng = np.random.default_rng(3)
    weights = rng.uniform(0, 0.4, (T, 52)).astype(np.float32)
    R = np.stack([HEAD_TO_CV @ rotation_y(a) for a in np.linspace(-20, 20, T)])
    t = np.stack([np.linspace(-30, 30, T), np.full(T, -10.0), np.full(T, 650.0)], 1)
    K = np.array([[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]])
    tracked = np.ones(T, bool)
    tracked[2] = False
    return build_tracks(head, np.zeros(len(head.identity_basis)), weights, R, t, np.arange(T), 25.0, K, (1280, 720),
                        tracked)


def _projected(tracks):
    """(T, 478, 2): every landmark of the head as baked, projected: a tracker that reads it exactly."""
    cam = fit_report.landmark_points(tracks, lt.load(), np.arange(lt.NUM_LANDMARKS))
    pix = cam @ tracks.K.T
    return pix[..., :2] / pix[..., 2:]


def test_exact_landmarks_fit_and_an_offset_is_read_in_eye_distances(head):
    tracks = _tracks(head)
    marks, presence = _projected(tracks), np.ones(len(tracks.frames))
    fit = fit_report.landmark_fit(tracks, marks, presence)
    assert np.isnan(fit[2]) and np.nanmax(fit) < 1e-6          # the bridged frame is not scored
    apart = np.linalg.norm(marks[4, list(lt.LEFT_EYE)].mean(0) - marks[4, list(lt.RIGHT_EYE)].mean(0))
    marks[4] += [0.06 * apart, 0.0]                            # the tracker's face 6 % of the eye distance aside
    presence[3] = 0.2                                          # nor a frame whose face MediaPipe doubts
    fit = fit_report.landmark_fit(tracks, marks, presence)
    assert fit[4] == pytest.approx(0.06, rel=1e-6) and np.isnan(fit[3])
    marks[1, lt.MOUTH_LEFT] = np.nan                           # a frame with a landmark missing
    assert np.isnan(fit_report.landmark_fit(tracks, marks, presence)[1])


def test_scored_points_are_fixed_skin_points():
    scored = set(fit_report.FIT_LANDMARKS.tolist())
    assert not scored & set(lt.FACE_OVAL + lt.IRISES)          # the outline slides, the irises turn with the look
    assert {lt.MOUTH_LEFT, lt.RIGHT_EYE_OUTER, lt.NOSE_TIP, lt.UPPER_LIP_OUTER} <= scored


def test_summary_names_the_frames_far_off():
    frames = np.arange(100, 110)
    fit = np.full(10, 0.02)
    fit[[3, 4, 7]] = [0.12, 0.2, 0.11]
    fit[0] = np.nan
    median, worst_frame, worst, warnings = fit_report.summary(fit, frames)
    assert median == pytest.approx(0.02) and worst_frame == 104 and worst == pytest.approx(0.2)
    assert len(warnings) == 1 and "on 3 frame(s) (103-104, 107)" in warnings[0]
    assert fit_report.summary(np.full(4, 0.03), frames[:4])[3] == ()
    assert fit_report.summary(np.full(4, np.nan), frames[:4]) == (None, None, None, ())


def test_report_and_text():
    from bake.types import BakeStats
    stats = BakeStats(frames_total=5, frames_tracked=5, frames_bridged=0, seconds=1.0, landmark_fit=0.02149,
                      worst_fit_frame=3, worst_fit=0.04321)
    assert fit_report.report(stats) == {"median": 0.0215, "worst": 0.0432, "worst_frame": 3}
    assert fit_report.fit_text(stats) == "2.1 % of the eye distance (worst 4.3 %, frame 3)"
    unread = BakeStats(frames_total=5, frames_tracked=5, frames_bridged=0, seconds=1.0)
    assert fit_report.report(unread) is None and fit_report.fit_text(unread).startswith("not read")
