"""Occluder and body geometry for synthetic samples, built in the head frame (mm) with numpy.

Every builder returns (verts (N, 3) float64, faces (M, 3) int64). These meshes are rendered two-sided (no
back-face culling), so their winding does not matter. Hair is not here: it is an offset shell of the deformed
head (see synth.py) so it follows every identity.
"""
from __future__ import annotations

import numpy as np


def _frame(tangent: np.ndarray, up_hint: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    t = tangent / (np.linalg.norm(tangent, axis=-1, keepdims=True) + 1e-12)
    hint = np.broadcast_to(np.array([0.0, 0.0, 1.0]) if up_hint is None else up_hint, t.shape).copy()
    bad = np.abs((hint * t).sum(-1)) > 0.95
    hint[bad] = np.array([1.0, 0.0, 0.0])
    a = np.cross(t, hint)
    a /= np.linalg.norm(a, axis=-1, keepdims=True) + 1e-12
    b = np.cross(t, a)
    return a, b


def tube(path: np.ndarray, radius, sides: int = 6, closed: bool = False, flat: float = 1.0):
    """A tube along a polyline path (P, 3); radius scalar or (P,); flat < 1 squashes the section (ribbons)."""
    P = len(path)
    r = np.broadcast_to(np.asarray(radius, np.float64), (P,))
    if closed:
        tang = np.roll(path, -1, 0) - np.roll(path, 1, 0)
    else:
        tang = np.gradient(path, axis=0)
    a, b = _frame(tang)
    ang = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    ring = (np.cos(ang)[None, :, None] * a[:, None] + flat * np.sin(ang)[None, :, None] * b[:, None]) * r[:, None, None]
    verts = (path[:, None] + ring).reshape(-1, 3)
    segs = P if closed else P - 1
    i = np.arange(segs)[:, None]
    j = np.arange(sides)[None, :]
    i1 = (i + 1) % P
    j1 = (j + 1) % sides
    q00, q01, q10, q11 = i * sides + j, i * sides + j1, i1 * sides + j, i1 * sides + j1
    faces = np.concatenate([np.stack([q00, q10, q11], -1).reshape(-1, 3),
                            np.stack([q00, q11, q01], -1).reshape(-1, 3)])
    return verts, faces.astype(np.int64)


def ellipsoid(center, radii, rot: np.ndarray | None = None, rings: int = 8, segs: int = 12):
    th = np.linspace(0, np.pi, rings + 1)
    ph = np.linspace(0, 2 * np.pi, segs, endpoint=False)
    s = np.stack([np.sin(th)[:, None] * np.cos(ph)[None], np.cos(th)[:, None] * np.ones_like(ph)[None],
                  np.sin(th)[:, None] * np.sin(ph)[None]], -1).reshape(-1, 3) * np.asarray(radii)
    if rot is not None:
        s = s @ rot.T
    verts = s + np.asarray(center)
    i = np.arange(rings)[:, None]
    j = np.arange(segs)[None, :]
    j1 = (j + 1) % segs
    q00, q01, q10, q11 = i * segs + j, i * segs + j1, (i + 1) * segs + j, (i + 1) * segs + j1
    faces = np.concatenate([np.stack([q00, q10, q11], -1).reshape(-1, 3),
                            np.stack([q00, q11, q01], -1).reshape(-1, 3)])
    return verts, faces.astype(np.int64)


def merge(parts):
    vs, fs, off = [], [], 0
    for v, f in parts:
        vs.append(v)
        fs.append(f + off)
        off += len(v)
    if not vs:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    return np.concatenate(vs), np.concatenate(fs)


def random_rotation(rng, max_deg: float) -> np.ndarray:
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    a = np.deg2rad(rng.uniform(-max_deg, max_deg))
    Kx = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(a) * Kx + (1 - np.cos(a)) * Kx @ Kx


def glasses(rng, eye_l: np.ndarray, eye_r: np.ndarray, ear_y: float):
    """Frames around both eyes (eye centres in head frame) with temples to the ears."""
    w = rng.uniform(20, 29)
    hgt = rng.uniform(14, 23)
    pw = rng.uniform(2.5, 6)
    thick = rng.uniform(0.9, 2.6)
    fwd = rng.uniform(11, 17)
    ang = np.linspace(0, 2 * np.pi, 28, endpoint=False)
    parts, inner = [], []
    for c, s in ((eye_l, 1.0), (eye_r, -1.0)):
        ctr = c + np.array([s * rng.uniform(0, 2), rng.uniform(-1, 3), fwd])
        x = np.sign(np.cos(ang)) * np.abs(np.cos(ang)) ** (2 / pw) * w
        y = np.sign(np.sin(ang)) * np.abs(np.sin(ang)) ** (2 / pw) * hgt
        ring = ctr + np.stack([x, y, -0.08 * np.abs(x) * s * 0 - 0.002 * x ** 2], 1)
        parts.append(tube(ring, thick, 5, closed=True))
        inner.append(ring)
        outer = ring[np.argmax(ring[:, 0] * s)]
        ear = np.array([s * max(abs(outer[0]) + 4, 72.0), ear_y + rng.uniform(-3, 6), rng.uniform(-5, 10)])
        tp = np.linspace(0, 1, 8)[:, None]
        parts.append(tube(outer + tp * (ear - outer), thick * 0.8, 4))
    a, b = inner[0][np.argmin(inner[0][:, 0])], inner[1][np.argmax(inner[1][:, 0])]
    tp = np.linspace(0, 1, 5)[:, None]
    bridge = a + tp * (b - a)
    bridge[:, 1] += np.sin(tp[:, 0] * np.pi) * rng.uniform(0, 5)
    parts.append(tube(bridge, thick, 4))
    frames = merge(parts)
    lenses = None
    if rng.random() < 0.25:    # sunglasses: opaque lenses
        lv, lf = [], []
        for ring in inner:
            c = ring.mean(0)
            v = np.concatenate([c[None], ring])
            m = len(ring)
            f = np.stack([np.zeros(m, np.int64), 1 + np.arange(m), 1 + (np.arange(m) + 1) % m], 1)
            lv.append(v)
            lf.append(f)
        lenses = merge(list(zip(lv, lf)))
    return frames, lenses


def hand(rng, anchor: np.ndarray, normal: np.ndarray):
    """A hand resting near a face-surface point (anchor, outward normal), fingers roughly up, with a forearm
    that leaves the frame downwards (chin/cheek/mouth touches as in real footage)."""
    s = rng.uniform(0.85, 1.15)
    up = np.array([rng.uniform(-0.5, 0.5), 1.0, rng.uniform(-0.2, 0.3)])
    nz = normal / np.linalg.norm(normal)
    up = up - (up @ nz) * nz
    up /= np.linalg.norm(up)
    side = np.cross(up, nz)
    rot = np.stack([side, up, nz], 1)                   # columns: palm width, finger direction, palm normal
    ctr = anchor + nz * rng.uniform(14, 30) - up * rng.uniform(20, 60) * s
    parts = [ellipsoid(ctr, np.array([40, 45, 13]) * s, rot)]
    curl = rng.uniform(0.0, 0.9)
    for dx, ln in ((-24, 62), (-8, 72), (8, 68), (24, 54)):
        base = ctr + rot @ (np.array([dx, 38, 0]) * s)
        t = np.linspace(0, 1, 6)[:, None]
        path = base + (t * ln * s) * (rot @ np.array([dx * 0.004, 1.0, 0])) \
            + (t ** 2 * ln * s * curl) * (rot @ np.array([0, -0.3, -0.8]))
        parts.append(tube(path, 8.5 * s * (1 - 0.15 * t[:, 0]), 6))
    tb = ctr + rot @ (np.array([-36, 5, 6]) * s)
    t = np.linspace(0, 1, 5)[:, None]
    parts.append(tube(tb + t * 55 * s * (rot @ np.array([-0.5, 0.8, 0.3])), 10 * s, 6))
    down = -up + rng.uniform(-0.3, 0.3) * side + 0.2 * nz
    t = np.linspace(0, 1, 6)[:, None]
    parts.append(tube(ctr - up * 35 * s + t * down * 320, np.linspace(27, 36, 6) * s, 8))
    return merge(parts)


def microphone(rng, mouth: np.ndarray):
    ctr = mouth + np.array([rng.uniform(-40, 40), rng.uniform(-70, -20), rng.uniform(50, 120)])
    r = rng.uniform(18, 30)
    head = ellipsoid(ctr, [r, r * 1.1, r], rings=8, segs=12)
    d = np.array([rng.uniform(-0.4, 0.4), -1.0, rng.uniform(-0.2, 0.6)])
    d /= np.linalg.norm(d)
    t = np.linspace(0, 1, 6)[:, None]
    handle = tube(ctr + d * r * 0.8 + t * d * rng.uniform(120, 220), r * rng.uniform(0.4, 0.6), 8)
    return merge([head, handle])


def strands(rng, template: np.ndarray, front: np.ndarray, count: int, hairline_y: float):
    """Thin hair strands falling from the hairline over forehead/face, kept just above the surface."""
    pts = template[front]
    parts = []
    for _ in range(count):
        x0 = rng.uniform(-55, 55)
        length = rng.uniform(40, 130)
        t = np.linspace(0, 1, 10)
        x = x0 + rng.uniform(-25, 25) * t + rng.uniform(-6, 6) * np.sin(t * rng.uniform(2, 7))
        y = hairline_y + 10 - length * t
        d = (pts[None, :, 0] - x[:, None]) ** 2 + (pts[None, :, 1] - y[:, None]) ** 2
        z = pts[np.argmin(d, 1), 2] + rng.uniform(2, 7) + 4 * (1 - t)
        path = np.stack([x, y, z], 1)
        parts.append(tube(path, rng.uniform(0.5, 1.6), 3, flat=0.3))
    return merge(parts)


def torso(rng):
    """Shoulders/upper body below the neck (head frame at rest), clothing."""
    return ellipsoid([0, -198 - rng.uniform(0, 12), -20], [rng.uniform(190, 240), 85, rng.uniform(95, 120)],
                     rings=8, segs=16)


def hair_curtain(rng, vol: float, length: float, z_cut: float):
    """Long hair falling behind/beside the face: an open elliptic sheet from the temples down past the jaw."""
    rx, rz, cz = 84 + vol, 98 + vol, -5.0
    ys = np.linspace(110.0, -60.0 - length, 12)
    c0 = np.clip((z_cut - cz) / rz, -0.95, 0.95)
    phi0 = np.arccos(c0)
    phis = np.linspace(phi0, 2 * np.pi - phi0, 24)
    dome = np.sqrt(np.clip(1 - (np.maximum(ys - 10, 0) / 135) ** 2, 0.05, 1))     # follows the skull on top
    flare = dome * (1 + 0.12 * np.clip(-ys / (60 + length), 0, 1) ** 2 * rng.uniform(0.0, 1.0))
    wob = rng.uniform(-2.5, 2.5, (len(ys), len(phis)))
    x = (rx * flare[:, None] + wob) * np.sin(phis)[None]
    z = cz + (rz * flare[:, None] + wob) * np.cos(phis)[None]
    y = np.broadcast_to(ys[:, None], x.shape) + rng.uniform(-3, 3, x.shape)
    v = np.stack([x, y, z], -1).reshape(-1, 3)
    m = len(phis)
    i = np.arange(len(ys) - 1)[:, None]
    j = np.arange(m - 1)[None]
    q00, q01, q10, q11 = i * m + j, i * m + j + 1, (i + 1) * m + j, (i + 1) * m + j + 1
    f = np.concatenate([np.stack([q00, q10, q11], -1).reshape(-1, 3), np.stack([q00, q11, q01], -1).reshape(-1, 3)])
    return v, f.astype(np.int64)
