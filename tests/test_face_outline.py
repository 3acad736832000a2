"""bake.face_outline: the face's width put to the landmarks' outline, read against the head's own silhouette."""
import numpy as np

from bake import face_outline as fo
from core import landmark_template as lt

LENS = np.array([[800.0, 0, 320], [0, 800.0, 240], [0, 0, 1]])


def _facing(T=5, yaw=0.0):
    """A head facing the camera (or turned ``yaw`` radians), rolled a little, 450 mm away."""
    from scipy.spatial.transform import Rotation
    R = Rotation.from_euler("xyz", np.stack([np.linspace(-0.05, 0.05, T), np.full(T, yaw),
                                             np.linspace(0.08, 0.12, T)], 1)).as_matrix()
    R = R @ np.diag([1.0, -1.0, -1.0])               # head +Y up, +Z forward -> camera y down, z away
    return R, np.tile([0.0, 0.0, 450.0], (T, 1))


def _project(points, R, t):
    cam = np.einsum("tij,tvj->tvi", R, np.broadcast_to(points, (len(R),) + points.shape)) + t[:, None]
    return cam[..., :2] / cam[..., 2:] * [800.0, 800.0] + [320, 240]


def _outline_of(head, verts, R, t):
    """The template's landmarks on ``head``'s neutral, but each of ``ROWS``' pairs put where the silhouette of the
    head ``verts`` (V, 3) crosses its height, in the image turned by the head's roll."""
    marks = _project(lt.load().points(head.vertices.astype(np.float64), head), R, t)
    px = _project(verts, R, t)
    turn, centre, heights = fo.head_rows(R, marks)
    back = np.transpose(turn, (0, 2, 1))
    centre = centre[:, None]
    flat = np.einsum("tij,tvj->tvi", turn, px - centre)
    sides = fo.outline_vertices(head)
    local = np.full(head.n_vertices, -1)
    local[sides] = np.arange(len(sides))
    edges = local[fo.outline_edges(head)]
    for (right, left), y in zip(fo.ROWS, heights.T):
        ends, _ = fo.crossings(flat[:, sides], edges, y)
        for k, col in ((right, 0), (left, 1)):
            at = np.stack([ends[:, col], y], 1)
            marks[:, k] = np.einsum("tij,tj->ti", back, at) + centre[:, 0]
    return marks


def _widened(head, mm):
    """``head``'s neutral with every vertex moved ``mm`` further from the middle along x, where it lies beyond 45 mm."""
    v = head.vertices.astype(np.float64).copy()
    v[:, 0] += np.sign(v[:, 0]) * mm * np.clip((np.abs(v[:, 0]) - 25.0) / 20.0, 0.0, 1.0)
    return v


def _steps(head, marks, R, t, use=None):
    T = len(R)
    use = np.ones(T, bool) if use is None else use
    return fo.outline_steps(head, head.vertices.astype(np.float64), head.arkit_deltas, np.zeros((T, 52)), R, t,
                            LENS, marks, use)


def _tolerance_mm(head):
    from bake.head_size import eye_distance
    return fo.AGREEMENT_IOD * float(eye_distance(head.vertices, head))


def test_crossings_are_the_outermost_edges_at_a_height_and_their_nearer_ends():
    px = np.array([[[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [5.0, 2.0]]])
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 4]])
    ends, near = fo.crossings(px, edges, np.array([3.0]))
    np.testing.assert_allclose(ends, [[0.0, 10.0]])
    assert near.tolist() == [[0, 1]]
    ends, near = fo.crossings(px, edges, np.array([20.0]))
    assert np.isnan(ends).all() and near.tolist() == [[-1, -1]]


def test_a_face_seen_wider_than_the_head_moves_its_sides_out_by_the_difference(head):
    """The landmarks' outline is the silhouette of the same head 4 mm wider a side: each row reads about 4 mm less the
    tolerance, and the field takes the head's silhouette most of the way there (a fifth is left by the jaw above the
    chin, whose contour is held), its eyes, nose, lips, chin and brows where they were."""
    R, t = _facing()
    marks = _outline_of(head, _widened(head, 4.0), R, t)
    out = _steps(head, marks, R, t)
    tol = _tolerance_mm(head)
    assert out.steps.shape == (len(fo.ROWS),) and (out.anchors >= 0).all()
    np.testing.assert_allclose(out.steps, 4.0 - tol, atol=0.1)
    moved = head.vertices + fo.field(head, head.vertices, out)
    again = fo.outline_steps(head, moved.astype(np.float64), head.arkit_deltas, np.zeros((len(R), 52)), R, t, LENS,
                             marks, np.ones(len(R), bool))
    assert (np.abs(again.steps) <= 0.25 * out.steps).all(), again.steps      # the chin's held contour: 0.2 left
    held = lt.load().points(fo.field(head, head.vertices, out)[None].astype(np.float64), head)[0][fo.HELD]
    assert np.abs(held).max() < 0.1


def test_the_head_on_its_own_outline_or_turned_away_stays_as_it_is(head):
    R, t = _facing()
    own = _steps(head, _outline_of(head, head.vertices.astype(np.float64), R, t), R, t)
    assert np.abs(own.steps).max() == 0.0
    assert not fo.field(head, head.vertices, own).any()
    R, t = _facing(yaw=0.5)                          # turned 29 degrees: the outline is another line of skin
    turned = _steps(head, _outline_of(head, _widened(head, 4.0), R, t), R, t)
    assert not turned.steps.any() and (turned.anchors == -1).all()


def test_too_few_frames_facing_the_camera_move_nothing(head):
    R, t = _facing()
    marks = _outline_of(head, _widened(head, 4.0), R, t)
    use = np.zeros(len(R), bool)
    use[:fo.MIN_FRAMES - 1] = True
    assert not _steps(head, marks, R, t, use).steps.any()
    marks[:, fo.ROWS[0][0]] = np.nan                  # a row's landmark unread on every frame
    assert not _steps(head, marks, R, t).steps.any()


def test_a_face_seen_narrower_moves_its_sides_in(head):
    R, t = _facing()
    out = _steps(head, _outline_of(head, _widened(head, -3.0), R, t), R, t)
    np.testing.assert_allclose(out.steps, -3.0 + _tolerance_mm(head), atol=0.1)
