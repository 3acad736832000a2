"""Fixtures for tests that import bpy: a session-scoped bpy, an empty scene per test, synthetic SceneTracks."""
from __future__ import annotations

import numpy as np
import pytest

from bake.types import SceneTracks


class FakeLayout:
    """A UI layout headless, for drawing panels in tests: records labels and props (every prop() must name a real
    property); panel() opens its header and body; anything else returns the layout."""

    def __init__(self):
        self.labels, self.props = [], []

    def panel(self, *a, **k):
        return self, self

    def label(self, text="", **k):
        self.labels.append(text)
        return self

    def prop(self, owner, name, *a, **k):
        assert hasattr(owner, name), name
        self.props.append(name)
        return self

    prop_search = prop

    def __getattr__(self, name):
        return lambda *a, **k: self


@pytest.fixture(scope="session")
def bpy_mod():
    bpy = pytest.importorskip("bpy")
    return bpy


@pytest.fixture()
def empty_scene(bpy_mod):
    bpy_mod.ops.wm.read_factory_settings(use_empty=True)
    yield bpy_mod.context.scene
    bpy_mod.ops.wm.read_factory_settings(use_empty=True)


def _smooth_noise(rng, t, k, cutoff=6):
    """(t, k) smooth random curves in [0, 1] (a few low-frequency sines)."""
    x = np.linspace(0, 1, t)[:, None]
    out = np.zeros((t, k))
    for j in range(1, cutoff):
        out += rng.normal(0, 1.0 / j, k) * np.sin(2 * np.pi * (j * x + rng.uniform(0, 1, k)))
    return 1 / (1 + np.exp(-2 * out))


def make_tracks(head, n_frames=24, fps=24.0, residual=0, seed=0, image_size=(640, 480), footage_path="",
                first_frame=1) -> SceneTracks:
    """Synthetic SceneTracks: a head turning (yaw +-25 deg, some pitch) 600 mm in front of a camera,
    smooth random ARKit weights (and ``residual`` extra keys with values in [-1, 1])."""
    from core.mesh_render import HEAD_TO_CV, rotation_y
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)
    w = _smooth_noise(rng, n_frames, 52).astype(np.float32)
    names = tuple(head.arkit_names)
    deltas = head.arkit_deltas.astype(np.float32)
    if residual:
        names += tuple(f"residual_{i:02d}" for i in range(residual))
        res = rng.normal(0, 1.0, (residual, head.n_vertices, 3)).astype(np.float32)
        deltas = np.concatenate([deltas, res])
        w = np.concatenate([w, (2 * _smooth_noise(rng, n_frames, residual) - 1).astype(np.float32)], 1)
    yaw = 25 * np.sin(2 * np.pi * t / max(n_frames, 2))
    pitch = np.deg2rad(8 * np.cos(2 * np.pi * t / max(n_frames, 2)))
    rots = []
    for y, p in zip(yaw, pitch):
        rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
        rots.append(HEAD_TO_CV @ rotation_y(y) @ rx)
    trans = np.stack([20 * np.sin(t / 5.0), -10 + 5 * np.cos(t / 7.0), 600 + 30 * np.sin(t / 9.0)], 1)
    wpx, hpx = image_size
    K = np.array([[700.0, 0, wpx / 2 + 12], [0, 700.0, hpx / 2 - 8], [0, 0, 1]])
    tracked = np.ones(n_frames, bool)
    tracked[n_frames // 2] = False
    return SceneTracks(
        basis=head.vertices.astype(np.float32), faces=head.faces.astype(np.int32), uv=head.uv.astype(np.float32),
        key_names=names, key_deltas=deltas, weights=w, frames=t + first_frame, fps=fps,
        head_rotation=np.asarray(rots), head_translation=trans, K=K, image_size=tuple(image_size),
        tracked=tracked, footage_path=footage_path, region=head.region, region_names=tuple(head.region_names))


@pytest.fixture(scope="session")
def tracks(head):
    return make_tracks(head)
