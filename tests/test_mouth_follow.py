"""bake.mouth_follow: the lips and chin follow the landmarks' heights beyond the ARKit shapes."""
import numpy as np
import pytest

from bake import mouth_follow as mf
from core import landmark_template as lt

UPPER_LIP, LOWER_LIP, CHIN = lt.UPPER_LIP_INNER, lt.LOWER_LIP_INNER, lt.CHIN


def _col(landmark):
    return int(np.nonzero(mf.LANDMARKS == landmark)[0][0])


@pytest.fixture(scope="module")
def fields(head):
    return mf.fields(head)


def test_the_landmarks_points_take_their_heights_along_the_head_up(head, fields):
    """A landmark's own point moves by about its height, unless another landmark lies within a millimetre of it on
    the template (the inner and outer mouth corners, 61 and 78: they share theirs); a mouth that opens (the lower
    lip's landmarks down, the upper lip's up, the chin down less) is reproduced at every landmark."""
    template = lt.load()
    assert fields.shape == (len(mf.LANDMARKS), head.n_vertices, 3)
    assert not fields[..., [0, 2]].any()                                  # up and down only
    at = template.points(fields.astype(np.float64), head)[:, mf.LANDMARKS, 1]   # (L field, L point)
    p = template.points(head.vertices.astype(np.float64), head)[mf.LANDMARKS]
    gap = np.linalg.norm(p[:, None] - p[None], axis=-1) + 1e3 * np.eye(len(p))
    alone = gap.min(1) > 1.0
    assert (~alone).sum() == 2 and set(mf.LANDMARKS[~alone]) == {61, 78}
    assert np.diag(at)[alone].min() > 0.8
    jaw = template.points(head.arkit_deltas[list(head.arkit_names).index("jawOpen")].astype(np.float64),
                          head)[mf.LANDMARKS, 1]
    share = np.clip(-jaw / 34.0, 0, 1)
    opening = np.where(share > 0.5, -2.0, 1.0)                            # lower lip (and chin) down, upper lip up
    opening[mf.LANDMARKS == CHIN] = -1.0
    got = opening @ at
    assert np.abs(got - opening)[alone].max() < 0.3, np.abs(got - opening).max()


def test_the_lower_lips_heights_leave_the_upper_lip_and_the_forehead_alone(head, fields):
    template = lt.load()
    lower = fields[_col(LOWER_LIP)]
    pts = template.points(lower[None].astype(np.float64), head)[0, :, 1]
    assert pts[LOWER_LIP] > 0.8
    assert abs(pts[UPPER_LIP]) < 0.05                 # 3 mm away on the other jaw
    assert abs(pts[lt.NOSE_TIP]) < 0.01 and abs(pts[lt.RIGHT_UPPER_LID]) < 0.01
    chin = template.points(fields[_col(CHIN)][None].astype(np.float64), head)[0, :, 1]
    assert chin[CHIN] > 0.8 and abs(chin[UPPER_LIP]) < 0.01


def _posed(head, T=6):
    """A head turned and tilted a little, 450 mm away, seen through an 800 px lens."""
    from scipy.spatial.transform import Rotation
    K = np.array([[800.0, 0, 320], [0, 800.0, 240], [0, 0, 1]])
    R = Rotation.from_euler("xyz", np.stack([np.linspace(-0.15, 0.15, T), np.linspace(0.3, -0.2, T),
                                             np.full(T, 0.05)], 1)).as_matrix()
    R = R @ np.diag([1.0, -1.0, -1.0])               # head +Y up, +Z forward -> camera y down, z away
    t = np.tile([0.0, 0.0, 450.0], (T, 1))
    return K, R, t


def _seen(head, R, t, offsets, axis, index=mf.LANDMARKS):
    """Frame pixels (T, 478, 2) of the template's landmarks with ``index`` (default ``LANDMARKS``) moved by
    ``offsets`` (T, L) mm along the head's ``axis`` (or (T, L, 2) along a slice of two axes), posed by ``R``, ``t`` and
    seen through ``_posed``'s lens."""
    moved = np.repeat(lt.load().points(head.vertices.astype(np.float64), head)[None], len(R), 0)
    moved[:, index, axis] += offsets
    cam = np.einsum("tij,tlj->tli", R, moved) + t[:, None]
    return cam[..., :2] / cam[..., 2:] * [800.0, 800.0] + [320, 240]


def test_heights_are_how_far_each_point_must_move_along_the_head_up(head):
    K, R, t = _posed(head)
    T = len(R)
    basis = head.vertices.astype(np.float64)
    weights = np.zeros((T, 52))
    lift = np.zeros((T, len(mf.LANDMARKS)))
    lift[:, _col(LOWER_LIP)] = -2.0                  # the lower lip 2 mm further down than the head's
    lift[:, _col(CHIN)] = 1.5
    uv = _seen(head, R, t, lift, mf.UP)
    use = np.ones(T, bool)
    use[2] = False
    h = mf.heights(head, basis, head.arkit_deltas, weights, R, t, K, uv, use)
    assert h.shape == (T, len(mf.LANDMARKS))
    assert not h[2].any()
    ok = np.delete(np.arange(T), 2)
    np.testing.assert_allclose(h[ok], lift[ok], atol=0.05)
    far = uv.copy()
    far[:, LOWER_LIP, 1] += 500.0                    # a landmark model gone astray: clipped, not followed
    assert np.abs(mf.heights(head, basis, head.arkit_deltas, weights, R, t, K, far, use)).max() == mf.MAX_MM
    from scipy.spatial.transform import Rotation
    down = R @ Rotation.from_euler("x", 75, degrees=True).as_matrix()    # the head pitched far down: not read
    assert not mf.heights(head, basis, head.arkit_deltas, weights, down, t, K, uv, use).any()


def test_steady_sideways_is_the_lips_mean_offset_across_the_head(head):
    """A subject whose left mouth corner sits 2 mm further in than the head's on every frame (1-3 mm, varying) and
    whose chin sits 3 mm aside: the corner's steady offset is read, the chin's is not (the oval slides); the field
    along the head's x moves that corner's point by about it and nothing along the head's up axis."""
    template = lt.load()
    K, R, t = _posed(head)
    T = len(R)
    basis = head.vertices.astype(np.float64)
    weights = np.zeros((T, 52))
    aside = np.zeros((T, len(mf.LANDMARKS)))
    aside[:, _col(291)] = -np.linspace(1.0, 3.0, T)
    aside[:, _col(CHIN)] = 3.0
    uv = _seen(head, R, t, aside, mf.SIDEWAYS)
    use = np.ones(T, bool)
    use[0] = False                                      # a frame not used: left out of the mean
    side = mf.steady_sideways(head, basis, head.arkit_deltas, weights, R, t, K, uv, use)
    assert side.shape == (len(mf.LANDMARKS),)
    assert side[_col(291)] == pytest.approx(aside[1:, _col(291)].mean(), abs=0.05)
    assert side[_col(CHIN)] == 0.0 and np.abs(np.delete(side, _col(291))).max() < 0.05
    field = np.tensordot(side, mf.fields(head, axis=mf.SIDEWAYS), 1)
    assert not field[:, [1, 2]].any()
    assert template.points(field[None], head)[0, 291, 0] == pytest.approx(side[_col(291)], abs=0.3)


def test_heights_never_close_the_inner_lips_past_the_gap_they_may_close_to(head, fields):
    """Heights that would shut the inner lips (MediaPipe's shut lips meet) are eased apart to ``LIP_GAP_MM``, or to
    the gap the head already has where that is smaller; where the head's own shapes carry its lips through each other,
    the heights open them until they meet; heights that open the mouth are kept."""
    template = lt.load()
    basis = head.vertices.astype(np.float64)
    deltas = np.concatenate([head.arkit_deltas, fields[_col(LOWER_LIP)][None]])      # the last: the lower lip up
    weights = np.zeros((4, len(deltas)))
    weights[2, list(head.arkit_names).index("jawOpen")] = 0.3               # frame 2: the mouth open
    neutral = template.points(basis, head)
    weights[3, -1] = neutral[UPPER_LIP, 1] - neutral[LOWER_LIP, 1] + 1.0     # frame 3: lips 0.9 mm through each other
    p = template.points(basis[None] + np.einsum("tk,kvc->tvc", weights, deltas), head)
    h = np.zeros((4, len(mf.LANDMARKS)))
    for up, lo in mf.LIP_PAIRS:
        gap = p[:, mf.LANDMARKS[up], 1] - p[:, mf.LANDMARKS[lo], 1]
        h[0, up], h[0, lo] = -gap[0] / 2 - 1.0, gap[0] / 2 + 1.0               # frame 0: 2 mm through each other
        h[1, up], h[1, lo] = 0.5, -0.5                                         # frame 1: opens 1 mm
        h[2, up], h[2, lo] = -gap[2] / 2, gap[2] / 2                           # frame 2: shut to zero
    out = mf.keep_lips_apart(head, basis, deltas, weights, h)
    pair = list(mf.LIP_PAIRS).index((_col(UPPER_LIP), _col(LOWER_LIP)))
    for i, (up, lo) in enumerate(mf.LIP_PAIRS):
        gap = p[:, mf.LANDMARKS[up], 1] - p[:, mf.LANDMARKS[lo], 1]
        new = gap + out[:, up] - out[:, lo]
        np.testing.assert_allclose(new[[0, 2]], np.minimum(mf.LIP_GAP_MM, gap[[0, 2]]), atol=1e-9)
        assert out[1, up] == h[1, up] and out[1, lo] == h[1, lo]
        if i == pair:
            assert gap[3] < -0.5 and new[3] == pytest.approx(0.0, abs=1e-9)
        else:
            assert new[3] >= min(mf.LIP_GAP_MM, max(gap[3], 0.0)) - 1e-9
    others = np.setdiff1d(np.arange(len(mf.LANDMARKS)), np.array(mf.LIP_PAIRS).ravel())
    np.testing.assert_array_equal(out[:, others], h[:, others])


def test_the_keys_never_carry_the_inner_lips_past_their_floor(head):
    """Heights two keys can only approximate (a closing of the inner lips, to zero on even frames and to 0.7 of the gap
    on odd ones, plus a random pattern at every landmark): made plainly, the keys close some pair past its floor;
    ``lip_keys`` keeps every pair at its floor or above on every frame and still shuts the even frames' lips to within
    half a millimetre of it."""
    from bake.corrective import corrective_keys
    template = lt.load()
    basis = head.vertices.astype(np.float64)
    T = 12
    weights = np.zeros((T, 52))
    weights[:, list(head.arkit_names).index("jawOpen")] = np.linspace(0.0, 0.2, T)
    gap0 = mf._lip_gaps(head, basis, head.arkit_deltas, weights, template)
    floor = np.minimum(mf.LIP_GAP_MM, gap0)
    rng = np.random.default_rng(3)
    noise = rng.normal(0.0, 1.0, len(mf.LANDMARKS))
    shut = np.zeros(len(mf.LANDMARKS))
    for up, lo in mf.LIP_PAIRS:
        shut[up], shut[lo] = -0.5, 0.5
    closing = np.where(np.arange(T) % 2 == 0, 1.0, 0.3) * gap0.mean(1)
    h = closing[:, None] * shut + rng.normal(0.0, 1.0, T)[:, None] * noise

    def gaps(keys, w):
        made = w.astype(np.float64) @ template.points(keys.astype(np.float64), head)[:, mf.LANDMARKS, 1]
        return gap0 + np.stack([made[:, u] - made[:, d] for u, d in mf.LIP_PAIRS], 1)

    plain = gaps(*corrective_keys(mf.fields(head), mf.keep_lips_apart(head, basis, head.arkit_deltas, weights, h), 2))
    assert (plain < floor - 0.2).any()                                   # -0.38 mm when written
    kept = gaps(*mf.lip_keys(head, basis, head.arkit_deltas, weights, h, 2))
    assert (kept >= floor - 1e-3).all(), (kept - floor).min()
    assert np.median(kept[::2] - floor[::2]) < 0.5                      # 0.33 mm when written


def test_the_exported_opening_opens_a_characters_lips_as_far_as_the_head(head):
    """A head whose lips a key of its own opens further than its ARKit weights (the jaw's delta at 0.15 on an extra
    key): the exported mouthClose goes to 0 first, jawOpen takes the rest, and the ARKit weights alone then open the
    inner lips as far as the head; where the extra key closes them (mouthClose's delta at 0.2), mouthClose rises by
    that and jawOpen stays; an extra key under ``OPEN_MIN`` leaves the weights as they were."""
    template = lt.load()
    names = list(head.arkit_names)
    jaw, close = names.index("jawOpen"), names.index("mouthClose")
    basis = head.vertices.astype(np.float64)
    w = np.zeros((3, 52))
    w[:, jaw], w[:, close] = 0.3, [0.1, 0.0, 0.05]

    def gap(deltas, weights):
        return mf._lip_gaps(head, basis, deltas, weights, template).mean(1)
    for extra, amount in ((jaw, 0.15), (close, 0.2)):
        deltas = np.concatenate([head.arkit_deltas, head.arkit_deltas[[extra]]])
        weights = np.concatenate([w, np.full((3, 1), amount)], 1)
        d = mf.exported_opening(head, basis, deltas, weights, template)
        moved = w.copy()
        moved[:, [close, jaw]] += d
        np.testing.assert_allclose(gap(head.arkit_deltas, moved), gap(deltas, weights), atol=0.05)
        if extra == jaw:
            assert (moved[:, close] == 0).all() and (d[:, 1] > 0).all()
        else:
            np.testing.assert_allclose(d[:, 0], amount, atol=0.02)
            assert not d[:, 1].any()
    weights = np.concatenate([w, np.full((3, 1), 0.5 * mf.OPEN_MIN)], 1)
    assert not mf.exported_opening(head, basis, np.concatenate([head.arkit_deltas, head.arkit_deltas[[jaw]]]),
                                   weights, template).any()


def test_the_exported_opening_lifts_a_weight_below_zero(head):
    """mouthClose below 0 (the pipeline's after the clip's lips at rest go into the neutral, ``mouth_rest``) is lifted
    to 0 however little, and jawOpen opens the lips by what that takes from them."""
    template = lt.load()
    names = list(head.arkit_names)
    jaw, close = names.index("jawOpen"), names.index("mouthClose")
    basis = head.vertices.astype(np.float64)
    w = np.zeros((2, 52))
    w[:, jaw], w[:, close] = 0.2, [-0.5 * mf.OPEN_MIN, -0.08]
    d = mf.exported_opening(head, basis, head.arkit_deltas, w, template)
    np.testing.assert_allclose(w[:, close] + d[:, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(d[:, 1], -w[:, close], rtol=0.05)          # anny's jawOpen undoes mouthClose alike


def test_the_mouth_rest_closes_the_neutrals_lips_as_far_as_the_clips_at_rest(head):
    """A clip whose lips are shut (mouthClose at the weight that takes the neutral's gap to 0.2 mm) on a third of its
    frames and open (jawOpen 0.3) on the rest: that weight; shut on one frame in twenty, under ``REST_QUANTILE``, the
    lips rest open: 0, as for a clip never closer than the neutral or with no frame seen; the unseen frames count for
    nothing."""
    template = lt.load()
    names = list(head.arkit_names)
    jaw, close = names.index("jawOpen"), names.index("mouthClose")
    basis = head.vertices.astype(np.float64)
    neutral = mf._lip_gaps(head, basis, head.arkit_deltas[:1], np.zeros((1, 1)), template).mean()
    rate = mf._lip_gaps(head, 0 * basis, head.arkit_deltas[[close]], np.ones((1, 1)), template).mean()
    shut_at = (0.2 - neutral) / rate                                  # about 0.09
    assert 0.05 < shut_at < 0.15
    T = 60
    w = np.zeros((T, 52))
    w[:, jaw] = 0.3
    w[::3, jaw], w[::3, close] = 0.0, shut_at
    seen = np.ones(T, bool)
    assert mf.mouth_rest(head, basis, head.arkit_deltas, w, seen, template) == pytest.approx(shut_at, abs=1e-3)
    assert mf.mouth_rest(head, basis, head.arkit_deltas, w, np.arange(T) % 3 != 0, template) == 0.0
    rare = np.arange(T) % 20 == 0                              # three shut frames of 60
    assert rare.mean() < mf.REST_QUANTILE
    w[:, jaw], w[:, close] = np.where(rare, 0.0, 0.3), np.where(rare, shut_at, 0.0)
    assert mf.mouth_rest(head, basis, head.arkit_deltas, w, seen, template) == 0.0
    assert mf.mouth_rest(head, basis, head.arkit_deltas, w, ~seen, template) == 0.0
