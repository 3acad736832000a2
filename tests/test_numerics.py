"""bake.numerics against scipy (a dev/test dependency only: what ships does not import it)."""
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation, Slerp

from bake import numerics as nm


@pytest.mark.parametrize("sigma", [0.05, 0.3, 1.0, 1.5, 2.7, 9.0, 40.0])
@pytest.mark.parametrize("T", [1, 2, 7, 200])
def test_gaussian_filter_matches_scipy(sigma, T):
    rng = np.random.default_rng(int(sigma * 10) + T)
    for shape in [(T,), (T, 5), (T, 3, 2), (T, 68), (T, 3, 4)]:     # few curves, and many (the other code path)
        x = rng.normal(size=shape) * 10
        want = gaussian_filter1d(x, sigma, axis=0, mode="nearest")
        np.testing.assert_allclose(nm.gaussian_filter(x, sigma), want, rtol=0, atol=1e-10)
    x = rng.normal(size=(T, 4))
    np.testing.assert_allclose(nm.gaussian_filter(x, sigma, truncate=2.0),
                               gaussian_filter1d(x, sigma, axis=0, mode="nearest", truncate=2.0), rtol=0, atol=1e-10)


def _rotations(n, rng):
    R = Rotation.random(n, random_state=rng).as_matrix()
    # cases for each branch of the matrix -> quaternion conversion: identity, half turns about each axis, near-identity
    extra = [np.eye(3), np.diag([1.0, -1, -1]), np.diag([-1.0, 1, -1]), np.diag([-1.0, -1, 1]),
             Rotation.from_rotvec([1e-9, -2e-9, 3e-10]).as_matrix(), Rotation.from_rotvec([0, 0, np.pi - 1e-7]).as_matrix()]
    return np.concatenate([R, np.stack(extra)])


def test_quaternions_match_scipy():
    rng = np.random.default_rng(0)
    R = _rotations(500, rng)
    q = nm.quat_from_matrix(R)
    np.testing.assert_allclose(q, Rotation.from_matrix(R).as_quat(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(nm.quat_from_matrix(R[3]), Rotation.from_matrix(R[3]).as_quat(), rtol=0, atol=1e-9)
    # not quite orthogonal (float32 round trip): scipy projects onto the nearest rotation first
    R32 = R.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(nm.quat_from_matrix(R32), Rotation.from_matrix(R32).as_quat(), rtol=0, atol=1e-9)
    raw = rng.normal(size=(500, 4))      # unnormalised: from_quat normalises
    np.testing.assert_allclose(nm.matrix_from_quat(raw), Rotation.from_quat(raw).as_matrix(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(nm.matrix_from_quat(q), R, rtol=0, atol=1e-9)
    with pytest.raises(ValueError):
        nm.quat_from_matrix(np.diag([1.0, 1, -1]))


def test_composition_inverse_and_angle_match_scipy():
    rng = np.random.default_rng(1)
    R = _rotations(300, rng)
    a, b = Rotation.from_matrix(R), Rotation.from_matrix(R[::-1])
    qa, qb = nm.quat_from_matrix(R), nm.quat_from_matrix(R[::-1])
    np.testing.assert_allclose(nm.quat_multiply(qa, qb), (a * b).as_quat(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(nm.quat_inverse(qa), a.inv().as_quat(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(nm.rotation_angle(nm.quat_multiply(qa, nm.quat_inverse(qb))),
                               (a * b.inv()).magnitude(), rtol=0, atol=1e-9)
    # tiny relative rotations (consecutive frames of a still head): atan2 keeps them exact
    small = a * Rotation.from_rotvec(rng.normal(size=(len(R), 3)) * 1e-7)
    qs = nm.quat_from_matrix(small.as_matrix())
    np.testing.assert_allclose(nm.rotation_angle(nm.quat_multiply(qs, nm.quat_inverse(qa))),
                               (small * a.inv()).magnitude(), rtol=1e-6, atol=1e-12)


def test_rotation_vector_matches_scipy_whatever_the_quaternions_sign():
    rng = np.random.default_rng(4)
    r = Rotation.from_matrix(_rotations(300, rng))
    q = r.as_quat()
    for sign in (1, -1):         # the same rotation (a half turn's axis either way), its angle in [0, pi]
        v = nm.rotation_vector(sign * q)
        np.testing.assert_allclose(Rotation.from_rotvec(v).as_matrix(), r.as_matrix(), rtol=0, atol=1e-9)
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), r.magnitude(), rtol=0, atol=1e-9)
        away = r.magnitude() < np.pi - 1e-6
        np.testing.assert_allclose(v[away], r.as_rotvec()[away], rtol=0, atol=1e-9)
    tiny = Rotation.from_rotvec(rng.normal(size=(20, 3)) * 1e-9)
    np.testing.assert_allclose(nm.rotation_vector(tiny.as_quat()), tiny.as_rotvec(), rtol=1e-6, atol=1e-18)
    assert (nm.rotation_vector(np.array([0.0, 0.0, 0.0, 1.0])) == 0).all()


def test_axis_rotation_matches_scipy():
    angles = np.random.default_rng(3).uniform(-3.0, 3.0, (2, 5))
    for axis in range(3):
        want = Rotation.from_euler("xyz"[axis], angles.reshape(-1, 1)).as_matrix().reshape(2, 5, 3, 3)
        np.testing.assert_allclose(nm.axis_rotation(angles, axis), want, atol=1e-12)


def test_look_yaw_pitch_inverts_the_turn_of_forward():
    """Ry(yaw) Rx(pitch) turns +z to a look whose yaw and pitch are read back; yaw > 0 towards +x, pitch > 0 down."""
    rng = np.random.default_rng(4)
    yaw, pitch = rng.uniform(-3.0, 3.0, 7), rng.uniform(-1.5, 1.5, 7)
    look = (nm.axis_rotation(yaw, 1) @ nm.axis_rotation(pitch, 0))[..., 2]
    np.testing.assert_allclose(nm.look_yaw_pitch(look), np.stack([yaw, pitch], 1), atol=1e-12)
    half = np.sqrt(0.5)
    assert nm.look_yaw_pitch([half, 0.0, half])[0] > 0 and nm.look_yaw_pitch([0.0, -half, half])[1] > 0


def test_slerp_matches_scipy():
    rng = np.random.default_rng(2)
    R = _rotations(60, rng)
    s = np.sort(rng.uniform(0, 1, 9))
    s = np.concatenate([[0.0], s, [1.0]])
    pairs = [(R[i], R[i + 1]) for i in range(len(R) - 1)]
    pairs += [(R[0], R[0]), (R[0], (Rotation.from_matrix(R[0]) * Rotation.from_rotvec([1e-10, 0, 0])).as_matrix())]
    for A, B in pairs:
        qa, qb = nm.quat_from_matrix(A), nm.quat_from_matrix(B)
        if nm.rotation_angle(nm.quat_multiply(qb, nm.quat_inverse(qa))) > np.pi - 1e-6:
            continue     # a half turn apart: two shortest arcs, either is right (the extra cases 1-4 are such pairs)
        want = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([A, B])))(s).as_matrix()
        np.testing.assert_allclose(nm.matrix_from_quat(nm.quat_slerp(qa, qb, s)), want, rtol=0, atol=1e-9)
        # the sign of either end does not change the path (the shorter arc)
        np.testing.assert_allclose(nm.matrix_from_quat(nm.quat_slerp(qa, -qb, s)), want, rtol=0, atol=1e-9)


def test_nearest_matches_ckdtree():
    rng = np.random.default_rng(3)
    for n, m in [(1, 10), (92, 4538), (700, 3000)]:
        pts, qs = rng.normal(size=(n, 3)) * 50, rng.normal(size=(m, 3)) * 60
        d, i = nm.nearest(pts, qs, chunk_elems=50_000)
        wd, wi = cKDTree(pts).query(qs)
        np.testing.assert_array_equal(i, wi)
        np.testing.assert_allclose(d, wd, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("voxel,radius", [(1.5, 6.0), (1.0, 2.3), (2.0, 1.0)])
def test_nearest_point_per_cell_matches_ckdtree(voxel, radius):
    rng = np.random.default_rng(4)
    pts = rng.uniform(0, 30, (400, 3))
    pts[:100, 2] = 15.0 + rng.normal(0, 0.3, 100)           # a sheet, as vertices on a surface
    origin = np.array([-3.0, -2.5, -4.0])
    shape = (25, 27, 30)                                     # stops short of some points: cells off the grid
    got = nm.nearest_point_per_cell(pts, origin, voxel, shape, radius)
    centres = origin + (np.stack(np.unravel_index(np.arange(np.prod(shape)), shape), 1) + 0.5) * voxel
    d, i = cKDTree(pts).query(centres, distance_upper_bound=radius)
    want = np.where(np.isfinite(d), i, -1)
    assert (want >= 0).sum() > 200 and (want < 0).sum() > 1000
    np.testing.assert_array_equal(got, want)
