"""The few numerical routines the bake needs beyond numpy: a Gaussian filter along time, unit-quaternion rotations
and nearest-neighbour look-ups.

They replace scipy in what ships (``scipy.ndimage.gaussian_filter1d``, ``scipy.spatial.transform.Rotation``/``Slerp``,
``scipy.spatial.cKDTree``): scipy's wheels were the largest part of each extension zip, shipped for these calls
alone (sizes in docs/MEASUREMENTS.md). Each function follows scipy's conventions and is checked against scipy in the dev environment
(tests/test_numerics.py). Quaternions are scalar-last ``(x, y, z, w)``, as scipy's.
"""
from __future__ import annotations

import numpy as np


# ------------------------------------------------------------------ Gaussian filter
def gaussian_filter(x: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Gaussian filter of ``x`` along axis 0: ``scipy.ndimage.gaussian_filter1d(x, sigma, axis=0, mode="nearest",
    truncate=truncate)`` in float64 (the kernel reaches ``int(truncate * sigma + 0.5)`` samples each way; samples past
    either end repeat the end value)."""
    x = np.asarray(x, np.float64)
    radius = int(truncate * float(sigma) + 0.5)
    if radius == 0 or len(x) == 0:
        return x.copy()
    k = np.arange(-radius, radius + 1)
    w = np.exp(-0.5 / (float(sigma) * float(sigma)) * k ** 2)
    w /= w.sum()
    xp = np.pad(x, [(radius, radius)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    if x[0].size <= 8:               # a few curves: numpy's convolution, one curve at a time
        cols = np.ascontiguousarray(xp.reshape(len(xp), -1).T)
        return np.stack([np.convolve(c, w, "valid") for c in cols], -1).reshape(x.shape)
    # many curves (the weights): every output sample is a window of the padded input times the kernel
    return np.lib.stride_tricks.sliding_window_view(xp, 2 * radius + 1, axis=0) @ w


# ------------------------------------------------------------------ rotations (unit quaternions, scalar last)
def quat_from_matrix(R: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 4) unit quaternions, scipy's ``Rotation.from_matrix(R).as_quat()``
    (the same sign choice; a matrix that is not orthogonal to 1e-12 is first replaced by the nearest orthogonal one)."""
    R = np.array(R, np.float64)
    lead = R.shape[:-2]
    R = R.reshape(-1, 3, 3)
    if np.any((R[:, 0] * np.cross(R[:, 1], R[:, 2])).sum(-1) <= 0):     # the determinant
        raise ValueError("rotation matrix with a non-positive determinant")
    eye = np.eye(3)
    bad = ~np.all(np.isclose(R @ np.swapaxes(R, -1, -2), eye, atol=1e-12), axis=(-2, -1))
    if bad.any():
        U, _, Vt = np.linalg.svd(R[bad])
        R[bad] = U @ Vt
    tr = R[:, 0, 0] + R[:, 1, 1] + R[:, 2, 2]
    choice = np.argmax(np.stack([R[:, 0, 0], R[:, 1, 1], R[:, 2, 2], tr], -1), -1)
    q = np.empty((len(R), 4))
    for i in range(3):               # the largest diagonal element: x, y or z is the large component
        j, k = (i + 1) % 3, (i + 2) % 3
        m = choice == i
        q[m, i] = 1 - tr[m] + 2 * R[m, i, i]
        q[m, j] = R[m, j, i] + R[m, i, j]
        q[m, k] = R[m, k, i] + R[m, i, k]
        q[m, 3] = R[m, k, j] - R[m, j, k]
    m = choice == 3                  # the trace is largest: w is the large component
    q[m, 0] = R[m, 2, 1] - R[m, 1, 2]
    q[m, 1] = R[m, 0, 2] - R[m, 2, 0]
    q[m, 2] = R[m, 1, 0] - R[m, 0, 1]
    q[m, 3] = 1 + tr[m]
    return (q / np.linalg.norm(q, axis=-1, keepdims=True)).reshape(lead + (4,))


def matrix_from_quat(q: np.ndarray) -> np.ndarray:
    """(..., 4) quaternions (normalised here) -> (..., 3, 3) rotation matrices, as ``Rotation.from_quat(q).as_matrix()``."""
    q = np.asarray(q, np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    x, y, z, w = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    x2, y2, z2, w2 = x * x, y * y, z * z, w * w
    xy, zw, xz, yw, yz, xw = x * y, z * w, x * z, y * w, y * z, x * w
    return np.stack([x2 - y2 - z2 + w2, 2 * (xy - zw), 2 * (xz + yw),
                     2 * (xy + zw), -x2 + y2 - z2 + w2, 2 * (yz - xw),
                     2 * (xz - yw), 2 * (yz + xw), -x2 - y2 + z2 + w2], -1).reshape(q.shape[:-1] + (3, 3))


def axis_rotation(angle: np.ndarray, axis: int) -> np.ndarray:
    """(..., 3, 3) right-handed turns by ``angle`` (..., radians) about coordinate axis ``axis`` (0 x, 1 y, 2 z), as
    ``Rotation.from_euler("xyz"[axis], angle).as_matrix()``."""
    a = np.asarray(angle, np.float64)
    c, s = np.cos(a), np.sin(a)
    j, k = (axis + 1) % 3, (axis + 2) % 3
    R = np.zeros(a.shape + (3, 3))
    R[..., axis, axis] = 1.0
    R[..., j, j], R[..., j, k], R[..., k, j], R[..., k, k] = c, -s, s, c
    return R


def look_yaw_pitch(look: np.ndarray) -> np.ndarray:
    """(..., 2) yaw and pitch, radians, of unit look directions ``look`` (..., 3) in the head frame (x the subject's
    left, y up, z forward): the angles by which ``Ry(yaw) Rx(pitch)`` turns +z there, yaw > 0 towards the subject's
    left, pitch > 0 down (the CSV's head and eye angles, bake.export_csv, bake.eye_turn)."""
    x, y, z = np.moveaxis(np.asarray(look, np.float64), -1, 0)
    return np.stack([np.arctan2(x, z), np.arcsin(np.clip(-y, -1.0, 1.0))], -1)


def quat_multiply(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Composition ``p * q`` (apply q, then p), as scipy's ``Rotation.__mul__``."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    v = p[..., 3:] * q[..., :3] + q[..., 3:] * p[..., :3] + np.cross(p[..., :3], q[..., :3])
    w = p[..., 3] * q[..., 3] - (p[..., :3] * q[..., :3]).sum(-1)
    return np.concatenate([v, w[..., None]], -1)


def quat_inverse(q: np.ndarray) -> np.ndarray:
    """Inverse of unit quaternions (the conjugate)."""
    q = np.array(q, np.float64)
    q[..., :3] *= -1
    return q


def rotation_angle(q: np.ndarray) -> np.ndarray:
    """Rotation angle in [0, pi] radians of unit quaternions, as ``Rotation.magnitude()`` (atan2: exact near 0)."""
    q = np.asarray(q, np.float64)
    return 2 * np.arctan2(np.linalg.norm(q[..., :3], axis=-1), np.abs(q[..., 3]))


def rotation_vector(q: np.ndarray) -> np.ndarray:
    """(..., 3) axis times angle (radians, the angle in [0, pi]) of unit quaternions, as ``Rotation.as_rotvec()``."""
    q = np.asarray(q, np.float64)
    q = np.where(q[..., 3:] < 0, -q, q)
    s = np.linalg.norm(q[..., :3], axis=-1, keepdims=True)
    small = s < 1e-12
    return q[..., :3] * np.where(small, 2.0, 2 * np.arctan2(s, q[..., 3:]) / np.where(small, 1.0, s))


def quat_slerp(q0: np.ndarray, q1: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(len(s), 4) rotations a fraction ``s`` of the way from ``q0`` to ``q1`` (unit quaternions) along the shorter
    arc, as ``Slerp([0, 1], Rotation.from_quat([q0, q1]))(s)``: ``q0 * exp(s log(q0^-1 q1))``."""
    s = np.asarray(s, np.float64).reshape(-1, 1)
    d = quat_multiply(quat_inverse(q0), q1)
    if d[3] < 0:
        d = -d
    sin_half = np.linalg.norm(d[:3])
    angle = 2 * np.arctan2(sin_half, d[3])
    # sin(s angle / 2) / sin(angle / 2) -> s as the angle -> 0 (no division by a vanishing sine)
    scale = np.sin(s * angle / 2) / sin_half if sin_half > 1e-12 else s
    step = np.concatenate([scale * d[:3], np.cos(s * angle / 2)], 1)
    return quat_multiply(q0, step)


# ------------------------------------------------------------------ nearest neighbours
def nearest(points: np.ndarray, queries: np.ndarray, chunk_elems: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Distance to and index of the nearest of ``points`` (N, D) for each of ``queries`` (M, D), by brute force in
    chunks of about ``chunk_elems`` distances (for small N: a few hundred points); ties go to the lower index, as
    ``cKDTree(points).query(queries)``."""
    points, queries = np.asarray(points, np.float64), np.asarray(queries, np.float64)
    if len(points) == 0:
        raise ValueError("no points to search")
    idx = np.empty(len(queries), np.int64)
    d2 = np.empty(len(queries))
    pc, qc = np.ascontiguousarray(points.T), np.ascontiguousarray(queries.T)    # one contiguous row per coordinate
    step = max(1, chunk_elems // len(points))
    for a in range(0, len(queries), step):
        n = min(step, len(queries) - a)
        dd, tmp = np.zeros((n, len(points))), np.empty((n, len(points)))
        for k in range(len(pc)):                         # one coordinate at a time: no (M, N, D) temporary
            np.subtract(qc[k, a:a + n, None], pc[k, None], out=tmp)
            dd += np.square(tmp, out=tmp)
        i = np.argmin(dd, 1)
        idx[a:a + n], d2[a:a + n] = i, dd[np.arange(n), i]
    return np.sqrt(d2), idx


def nearest_point_per_cell(points: np.ndarray, origin: np.ndarray, voxel: float, shape: tuple,
                           radius: float) -> np.ndarray:
    """For every cell of a voxel grid (corner ``origin``, cube side ``voxel``, ``shape``), the index of the point
    nearest to the cell's centre ``origin + (cell + 0.5) voxel`` among ``points`` (N, 3) closer than ``radius``,
    -1 where none is: (prod(shape),) int32 in C order, as ``cKDTree(points).query(centres,
    distance_upper_bound=radius)``. Each point visits only the cells around it (those whose centre can be within
    ``radius``), so the cost is N x (cells per ball), not cells x N; the minima are taken over those (point, cell)
    pairs, and the grid itself is touched by two int32 arrays only (a grid of millions of cells costs its first
    writes' page faults, which were most of this function's time with float64 and int64 grids)."""
    points = np.asarray(points, np.float64)
    origin = np.asarray(origin, np.float64)
    shape = tuple(int(n) for n in shape)
    n_cells = int(np.prod(shape))
    # a point in cell b, at c voxels from that cell's centre, is |o - c| voxels from the centre of cell b + o:
    # within radius only if |o| < radius / voxel + sqrt(3) / 2
    reach = radius / voxel
    r = int(np.ceil(reach + 0.5))
    o = np.stack(np.meshgrid(*[np.arange(-r, r + 1)] * 3, indexing="ij"), -1).reshape(-1, 3)
    o = o[np.linalg.norm(o, axis=1) < reach + np.sqrt(3) / 2]
    g = (points - origin) / voxel
    base = np.floor(g).astype(np.int64)
    c = g - base - 0.5
    d2 = np.zeros((len(points), len(o)))                 # (point, offset) pairs
    inside = np.ones((len(points), len(o)), bool)
    flat = np.zeros((len(points), len(o)), np.int64)
    stride = 1
    for k in (2, 1, 0):                                  # C order: the last axis varies fastest
        ck = base[:, k:k + 1] + o[None, :, k]
        inside &= (ck >= 0) & (ck < shape[k])
        flat += ck * stride
        stride *= shape[k]
        d2 += (o[None, :, k] - c[:, k:k + 1]) ** 2
    d2 *= voxel * voxel
    near = inside & (d2 < radius * radius)
    pt = np.broadcast_to(np.arange(len(points))[:, None], near.shape)[near]
    flat, d2 = flat[near], d2[near]
    slot = np.empty(n_cells, np.int32)                   # per cell one of its pairs, which names the cell below
    slot[flat] = np.arange(len(flat), dtype=np.int32)
    cell = slot[flat]
    best = np.full(len(flat), np.inf)
    np.minimum.at(best, cell, d2)                        # per cell: the nearest distance,
    win = d2 == best[cell]
    low = np.full(len(flat), len(points), np.int32)
    np.minimum.at(low, cell[win], pt[win].astype(np.int32))     # and the lowest index at that distance
    out = np.full(n_cells, -1, np.int32)
    out[flat] = low[cell]
    return out
