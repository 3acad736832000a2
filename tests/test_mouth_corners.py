"""bake.mouth_corners: the exported weights' mouth corners put where the head's are."""
import numpy as np

from core.head_model import ARKIT_NAMES


def _corners(weights, head):
    from bake.mouth_corners import CORNERS
    from core import landmark_template as lt
    moved = lt.load().points(np.asarray(head.arkit_deltas, np.float64), head)[:, list(CORNERS)]      # (52, 2, 3)
    return np.einsum("tk,kcd->tcd", np.asarray(weights, np.float64), moved)


def test_the_exported_corners_go_where_the_heads_do_and_nothing_else_moves(head):
    """A smile exported without the head's wider left corner, its frown and its pucker: the corners' miss in the
    picture's plane falls under a tenth of a millimetre from 1-2 mm, only ``KEYS`` move, every weight stays in [0, 1]
    (a smile at 1 among them), and a frame whose head is the exported weights is left bit for bit."""
    from bake.mouth_corners import KEYS, followed_corners
    idx = {n: ARKIT_NAMES.index(n) for n in ("mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft",
                                             "mouthFrownRight", "mouthPucker", "eyeBlinkLeft", "jawOpen")}
    exported = np.zeros((4, 52))
    exported[:, [idx["mouthSmileLeft"], idx["mouthSmileRight"]]] = 0.4
    exported[:, idx["jawOpen"]] = 0.3
    exported[2, [idx["mouthSmileLeft"], idx["mouthSmileRight"]]] = 1.0
    fit = exported.copy()
    fit[:3, idx["mouthStretchLeft"]] += 0.3
    fit[:3, idx["mouthFrownRight"]] += 0.2
    fit[:3, idx["mouthPucker"]] += 0.1
    fit[:3, idx["eyeBlinkLeft"]] += 0.5                      # not a corner's shape: never copied
    fit[3] = exported[3]                                    # the head is the exported weights
    out = followed_corners(exported, fit, head)
    before = np.abs(_corners(fit - exported, head))[:3, :, :2]
    after = np.abs(_corners(fit - out, head))[:3, :, :2]
    assert before.max() > 1.0 and after.max() < 0.1, (before.max(), after.max())
    keys = [ARKIT_NAMES.index(n) for n in KEYS]
    others = np.setdiff1d(np.arange(52), keys)
    np.testing.assert_array_equal(out[:, others], exported[:, others])
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out[3], exported[3])


def test_a_wider_or_narrower_mouth_is_read_on_the_shapes_that_make_it(head):
    """The head's corners apart by a stretch on both sides, then drawn together by a pucker, from a neutral export:
    the exported weights widen the mouth with the stretches (and no pucker) and narrow it with the pucker (and no
    stretch), so a character's mouth is as wide as the head's."""
    from bake.mouth_corners import followed_corners
    stretch = [ARKIT_NAMES.index(n) for n in ("mouthStretchRight", "mouthStretchLeft")]
    pucker = ARKIT_NAMES.index("mouthPucker")
    exported, fit = np.zeros((2, 52)), np.zeros((2, 52))
    fit[0, stretch] = 0.5
    fit[1, pucker] = 0.5
    out = followed_corners(exported, fit, head)

    def width(w):
        c = _corners(w, head)
        return c[:, 1, 0] - c[:, 0, 0]
    np.testing.assert_allclose(width(out), width(fit), atol=0.1)
    assert width(fit)[0] > 4.0 and width(fit)[1] < -3.0
    assert (out[0, stretch] > 0.3).all() and out[0, pucker] == 0.0
    assert out[1, pucker] > 0.3 and (out[1, stretch] == 0.0).all()


def test_the_bounded_ridge_is_scipys_bounded_least_squares():
    """bounded_ridge, every row at once, gives what scipy's bounded least squares (BVLS) gives row by row on the same
    ridge problem, with many unknowns on their bounds and many free."""
    from scipy.optimize import lsq_linear
    from bake.mouth_corners import bounded_ridge
    rng = np.random.default_rng(4)
    A = rng.normal(0.0, 3.0, (9, 6))
    A[1] = A[0] + rng.normal(0.0, 0.1, 6)                   # two nearly alike shapes, as the corners' shapes are
    ridge = 0.5
    gram = A @ A.T + ridge * np.eye(9)
    miss = rng.normal(0.0, 4.0, (200, 6))
    w = np.clip(rng.normal(0.2, 0.3, (200, 9)), 0.0, 1.0)
    lo, hi = -w, 1.0 - w
    x = bounded_ridge(gram, miss @ A.T, lo, hi)
    M = np.vstack([A.T, np.sqrt(ridge) * np.eye(9)])
    want = np.stack([lsq_linear(M, np.r_[m, np.zeros(9)], bounds=(lo[t], hi[t]), method="bvls").x
                     for t, m in enumerate(miss)])
    np.testing.assert_allclose(x, want, atol=1e-9)
    on_bound = np.isclose(x, lo) | np.isclose(x, hi)
    assert 0.1 < on_bound.mean() < 0.9, on_bound.mean()
