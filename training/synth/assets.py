"""Per-device tensors of the head model that every batch reuses (template, basis, region weights, eye centres)."""
from __future__ import annotations

import numpy as np
import torch

from core import head_model as hm
from core.head_model import N_ARKIT

class _Assets:
    def __init__(self, head: hm.HeadModel, device):
        self.head = head
        self.device = device
        V = head.n_vertices
        f32 = lambda a: torch.as_tensor(np.asarray(a, np.float32), device=device)   # noqa: E731
        self.template = f32(head.vertices)
        self.faces = torch.as_tensor(head.faces.astype(np.int64), device=device)
        self.basis = torch.cat([f32(head.identity_basis.reshape(len(head.identity_std), -1)),
                                f32(head.arkit_deltas.reshape(N_ARKIT, -1)),
                                f32(head.local_pos.reshape(len(head.local_names), -1)),
                                f32(head.local_neg.reshape(len(head.local_names), -1))], 0)
        reg = np.zeros((V, 7), np.float32)
        reg[np.arange(V), head.region] = 1
        reg[:, 6] = cavity_occlusion(head.vertices, head.faces)
        self.region_corners = f32(reg[head.faces])                  # (F, 3, 6)
        self.template_corners = self.template[self.faces]           # (F, 3, 3)
        tv = head.vertices
        eyes = head.region_mask("eyes")
        self.eye_l = tv[eyes & (tv[:, 0] > 0)].mean(0)
        self.eye_r = tv[eyes & (tv[:, 0] < 0)].mean(0)
        self.eye_l[2] = tv[eyes & (tv[:, 0] > 0), 2].max()
        self.eye_r[2] = tv[eyes & (tv[:, 0] < 0), 2].max()
        self.front = np.nonzero((tv[:, 2] > 40) & ~head.region_mask("interior", "eyes"))[0]
        bad = head.region_mask("interior", "eyes", "lips")
        self.face_ok_for_hair = ~bad[head.faces].any(1)
        self.mouth = tv[head.region_mask("lips")].mean(0)


def cavity_occlusion(verts: np.ndarray, faces: np.ndarray, strength: float = 0.55, smooth: int = 3) -> np.ndarray:
    """Per-vertex ambient-occlusion proxy in [0.35, 1] from concavity (umbrella Laplacian along the normal):
    eye sockets, nasolabial folds, mouth corners and ear folds get darker."""
    from scipy.sparse import coo_matrix
    V = len(verts)
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e = np.concatenate([e, e[:, ::-1]])
    A = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(V, V)).tocsr()
    A.data[:] = 1.0
    deg = np.asarray(A.sum(1)).ravel().clip(1)
    tri = verts[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    vn = np.zeros_like(verts, dtype=np.float64)
    for k in range(3):
        np.add.at(vn, faces[:, k], fn)
    vn /= np.linalg.norm(vn, axis=1, keepdims=True) + 1e-12
    lap = (A @ verts) / deg[:, None] - verts
    c = (lap * vn).sum(1)
    c = np.clip(c / (np.percentile(c[c > 0], 97) + 1e-9), 0, 1)
    for _ in range(smooth):
        c = 0.5 * c + 0.5 * (A @ c) / deg
    return np.clip(1 - strength * c / (c.max() + 1e-9) * 1.6, 0.35, 1).astype(np.float32)


_ASSETS: dict = {}


def _assets(device) -> _Assets:
    key = str(device)
    if key not in _ASSETS:
        _ASSETS[key] = _Assets(hm.load(), device)
    return _ASSETS[key]
