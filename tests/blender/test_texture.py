"""Texture from footage: projection onto the template's UVs (pure part) and the textured head rendered (bpy)."""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from bake import texture
from core.mesh_render import project

from .conftest import make_tracks

W, H = 640, 480


def _gradient_footage(tmp_path):
    """A single image whose colour encodes the pixel position: R = x / 2.5, G = y / 2, B = 128."""
    x, y = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    rgb = np.stack([x / 2.5, y / 2.0, np.full_like(x, 128)], -1)
    p = tmp_path / "face.png"
    cv2.imwrite(str(p), cv2.cvtColor(np.round(rgb).astype(np.uint8), cv2.COLOR_RGB2BGR))
    return p, rgb


@pytest.fixture()
def photo(head, tmp_path):
    p, rgb = _gradient_footage(tmp_path)
    tr = make_tracks(head, n_frames=1, image_size=(W, H), footage_path=str(p))
    tr = replace(tr, tracked=np.ones(1, bool), weights=np.zeros_like(tr.weights))
    return tr, rgb


def _texel(uv, size):
    return int(np.clip((1 - uv[1]) * size, 0, size - 1)), int(np.clip(uv[0] * size, 0, size - 1))


def test_texture_reads_the_photo_where_the_face_is_visible(head, photo):
    tr, rgb = photo
    tex = texture.bake_texture(tr, size=512)
    assert tex.image.shape == (512, 512, 3) and tex.frames == (1,)
    assert 0.15 < tex.coverage < 0.8                 # one view sees the front, never the back of the head
    v = texture.posed_vertices(tr, 0)
    cam_z = v[:, 2]
    ids = np.arange(len(tr.faces) * 3).reshape(-1, 3)
    # the vertex nearest the camera (nose tip) reads the photo's colour at its own pixel
    for vid, seen in ((int(np.argmin(cam_z)), True), (int(np.argmax(cam_z)), False)):
        f, c = np.argwhere(tr.faces == vid)[0]
        r, col = _texel(tr.uv[ids[f, c]], 512)
        if seen:
            x, y = project(v[vid], tr.K)
            expect = rgb[int(y), int(x)]
            np.testing.assert_allclose(tex.image[r, col], expect, atol=4)
            assert tex.weight[r, col] > 0
        else:
            assert tex.weight[r, col] == 0           # the back of the head: filled, not seen


def test_textured_head_renders_the_photo(bpy_mod, empty_scene, photo, tmp_path):
    from bake import blender_io
    tr, rgb = photo
    tex = texture.bake_texture(tr, size=512)
    png = texture.write_texture(tmp_path / "albedo.png", tex)
    coll = blender_io.build_scene(tr, name="FC", background=False)
    mat = blender_io.apply_texture(coll.objects["FC_Head"], png)
    assert mat.node_tree.nodes.active.image.packed_file is not None
    v = texture.posed_vertices(tr, 0)
    x, y = project(v[int(np.argmin(v[:, 2]))], tr.K).astype(int)
    win = (slice(y - 20, y + 20), slice(x - 20, x + 20))
    out = {}
    for kind in ("TEXTURE", "SINGLE"):
        p = blender_io.render_over_footage(tmp_path / f"{kind}.png", int(tr.frames[0]), str(tmp_path / "face.png"),
                                           alpha=1.0, color_type=kind)
        img = cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB).astype(float)
        out[kind] = np.abs(img[win] - rgb[win]).mean()
    assert out["TEXTURE"] < 3 and out["SINGLE"] > 15, out     # the face in the render is the photo's
