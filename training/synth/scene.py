"""Scene assembly: the deformed head, hair shell and occluders as one camera-space triangle list per batch, and the
key light's shadow map."""
from __future__ import annotations

import numpy as np
import torch

from .. import render
from .. import synth_appearance as ap
from .. import synth_occluders as occ
from .assets import _Assets
from .params import Hair, SampleParams
from .sampling import _rot

HAIR_INSET_MM = 7.0


def hair_line(c: torch.Tensor, hp: torch.Tensor) -> torch.Tensor:
    """Signed distance-like value (mm) above the hairline at canonical points c (N,3); hp (N,4) =
    (y_front, y_back, side_drop, has_hair) -- the same formula as the hair shell."""
    u = ((120 - c[:, 2]) / 200).clamp(0, 1)
    hl = hp[:, 0] * (1 - u) + hp[:, 1] * u - hp[:, 2] * (c[:, 0].abs() / 85) ** 2
    return torch.where(hp[:, 3] > 0, c[:, 1] - hl, torch.full_like(hl, -1e3))


def _hair_shell(A: _Assets, hp: Hair, verts: torch.Tensor, vn: torch.Tensor):
    """Offset shell of the (deformed) head over the hair area. Returns (verts (V,3), faces (M,3) long, tex)."""
    tv = A.head.vertices
    x, y, z = tv[:, 0], tv[:, 1], tv[:, 2]
    u = np.clip((120 - z) / 200, 0, 1)
    hl = hp.y_front * (1 - u) + hp.y_back * u - hp.side_drop * (np.abs(x) / 85) ** 2
    inside = y - hl
    if not hp.ears:
        ear = (np.abs(x) > 62) & (y > -35) & (y < 30) & (z > -25) & (z < 40)
        inside = np.where(ear, -1, inside)
    th = 1.5 + hp.vol * np.clip(inside / 25, 0, 1) ** 0.7
    vmask = inside > HAIR_INSET_MM        # the shell's jagged edge lies on painted hair (see hair_paint)
    fm = vmask[A.head.faces].all(1) & A.face_ok_for_hair
    faces = torch.as_tensor(A.head.faces[fm].astype(np.int64), device=verts.device)
    shell = verts + vn * torch.as_tensor(th[:, None].astype(np.float32), device=verts.device)
    return shell, faces


def _scene(A: _Assets, P: list[SampleParams], verts_head: torch.Tensor, R: torch.Tensor, t: torch.Tensor):
    """Flat triangle list in camera space for a batch. Returns dict of tensors over triangles."""
    dev = verts_head.device
    n = len(P)
    Fh = A.faces.shape[0]
    vn_head = render.vertex_normals(verts_head, A.faces)
    vcam = verts_head @ R.transpose(1, 2) + t[:, None]
    ncam = vn_head @ R.transpose(1, 2)
    tris, norms, texs, regs, objs, bidx, culls = [], [], [], [], [], [], []
    tri_head = vcam[:, A.faces].reshape(n * Fh, 3, 3)
    tris.append(tri_head)
    norms.append(ncam[:, A.faces].reshape(n * Fh, 3, 3))
    texs.append(A.template_corners.expand(n, Fh, 3, 3).reshape(n * Fh, 3, 3))
    regs.append(A.region_corners.expand(n, Fh, 3, 7).reshape(n * Fh, 3, 7))
    objs.append(torch.full((n * Fh,), ap.OBJ_HEAD, dtype=torch.long, device=dev))
    bidx.append(torch.arange(n, device=dev).repeat_interleave(Fh))
    culls.append(torch.ones(n * Fh, dtype=torch.bool, device=dev))
    vh_np = verts_head.detach().cpu().numpy()

    def add(v, f, obj, i, tex=None, nrm=None, cull=False):
        if len(f) == 0:
            return
        v = torch.as_tensor(np.asarray(v, np.float32), device=dev) if not torch.is_tensor(v) else v
        f = torch.as_tensor(np.asarray(f, np.int64), device=dev) if not torch.is_tensor(f) else f
        if nrm is None:
            nrm = render.vertex_normals(v[None], f)[0]
        vc = v @ R[i].T + t[i]
        tris.append(vc[f])
        norms.append((nrm @ R[i].T)[f])
        texs.append((v if tex is None else tex)[f])
        regs.append(torch.cat([torch.zeros(len(f), 3, 6, device=dev), torch.ones(len(f), 3, 1, device=dev)], -1))
        objs.append(torch.full((len(f),), obj, dtype=torch.long, device=dev))
        bidx.append(torch.full((len(f),), i, dtype=torch.long, device=dev))
        culls.append(torch.full((len(f),), cull, dtype=torch.bool, device=dev))

    for i, p in enumerate(P):
        o = p.occ
        sub = lambda k: np.random.default_rng([o.seed, k])     # noqa: E731  one stream per occluder kind
        vh = vh_np[i]
        if o.hair is not None:
            shell, hf = _hair_shell(A, o.hair, verts_head[i], vn_head[i])
            add(shell, hf, ap.OBJ_HAIR, i, tex=A.template, nrm=vn_head[i], cull=True)
            if o.hair.long > 0:
                cv, cf = occ.hair_curtain(sub(1), o.hair.vol, o.hair.long, o.hair.z_cut)
                add(cv, cf, ap.OBJ_HAIR, i)
        eyes = A.head.region_mask("eyes")
        if o.glasses:
            el = vh[eyes & (A.head.vertices[:, 0] > 0)]
            er = vh[eyes & (A.head.vertices[:, 0] < 0)]
            cl, cr = el.mean(0), er.mean(0)
            cl[2], cr[2] = el[:, 2].max(), er[:, 2].max()
            (gv, gf), lens = occ.glasses(sub(2), cl, cr, float(cl[1]))
            add(gv, gf, ap.OBJ_FRAME, i)
            if lens is not None:
                add(lens[0], lens[1], ap.OBJ_LENS, i)
        if o.hand:
            cand = A.front[(A.head.vertices[A.front, 1] < 20) & (A.head.vertices[A.front, 1] > -120)]
            rng = sub(3)
            j = cand[rng.integers(len(cand))]
            nrm = vn_head[i, j].cpu().numpy().astype(np.float64)
            hv, hf = occ.hand(rng, vh[j], nrm)
            add(hv, hf, ap.OBJ_HAND, i)
        if o.mic:
            mv, mf = occ.microphone(sub(4), vh[A.head.region_mask("lips")].mean(0))
            add(mv, mf, ap.OBJ_MIC, i)
        if o.strands:
            hl = o.hair.y_front if o.hair is not None else 80.0
            sv, sf = occ.strands(sub(5), vh, A.front, o.strands, hl)
            add(sv, sf, ap.OBJ_STRAND, i)
        if o.torso:
            # the body does not follow head rotation: express it in the head frame of this sample
            pose = p.pose
            Rb = _rot(pose.yaw * 0.3, 0, 0)
            Rh = _rot(pose.yaw, pose.pitch, pose.roll)
            tv, tf = occ.torso(sub(6))
            tv = tv @ Rb.T @ Rh        # body pose in camera-aligned head frame, mapped back into the head frame
            add(tv, tf, ap.OBJ_TORSO, i)
    return dict(tri=torch.cat(tris), normal=torch.cat(norms), tex=torch.cat(texs), reg=torch.cat(regs),
                obj=torch.cat(objs), batch=torch.cat(bidx), cull=torch.cat(culls), verts_cam=vcam)


def _light_frame(d: np.ndarray):
    """Rotation whose +z is d (direction of propagation)."""
    z = d / np.linalg.norm(d)
    a = np.array([0.0, 1.0, 0.0]) if abs(z[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(a, z)
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z])


def _shadows(S, P, pos, normal, bidx, centres, dev, res):
    """Key-light visibility (N,) in [0,1] of camera-space points pos (N,3) of samples bidx (N,) (shadow map of
    all scene triangles seen from the distant key light, 5-tap percentage-closer filtering)."""
    n = len(P)
    D = 20000.0
    Rl = torch.as_tensor(np.stack([_light_frame(-np.asarray(p.light.key_dir)) for p in P]), dtype=torch.float32,
                         device=dev)
    off = torch.tensor([0, 0, D], device=dev)
    tri_l = torch.einsum("tij,tkj->tki", Rl[S["batch"]], S["tri"] - centres[S["batch"]][:, None]) + off
    f = res * D / 520.0
    Kl = torch.tensor([[f, 0, res / 2], [0, f, res / 2], [0, 0, 1]], device=dev).expand(n, 3, 3)
    _, _, dmap = render.rasterize_triangles(tri_l, S["batch"], Kl, n, (res, res), S["cull"])
    dmap = torch.where(dmap > 0, dmap, torch.full_like(dmap, 1e9))
    texel = 520.0 / res
    pos = pos + normal * (2.0 * texel)                      # normal-offset lookup: no self-shadowing acne
    pl = torch.einsum("nij,nj->ni", Rl[bidx], pos - centres[bidx]) + off
    uv = pl[:, :2] / pl[:, 2:3] * f + res / 2
    vis = torch.zeros(len(pos), device=dev)
    offs = [(0, 0), (0.7, 0.7), (-0.7, 0.7), (0.7, -0.7), (-0.7, -0.7)]
    for ox, oy in offs:
        u = (uv[:, 0] + ox).floor().long().clamp(0, res - 1)
        v = (uv[:, 1] + oy).floor().long().clamp(0, res - 1)
        vis += (pl[:, 2] <= dmap[bidx, v, u] + 1.0 * texel).float()
    return vis / len(offs)
