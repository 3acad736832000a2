"""Rendering a batch from its parameters: rasterise, albedo per material, lighting and shadows, background,
exposure and the sensor (blur, motion blur, low resolution, noise, tone, JPEG)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .. import render
from .. import synth_appearance as ap
from .assets import _assets
from .config import SynthConfig
from .params import SampleParams, names
from .scene import _scene, _shadows, hair_line

def _pstack(P, group, key, dev):
    """Field ``key`` of record ``group`` (``app``, ``light``, ``sensor``) of every sample as an (n, ...) tensor."""
    return torch.as_tensor(np.stack([np.asarray(getattr(getattr(p, group), key), np.float64) for p in P]),
                           dtype=torch.float32, device=dev)


def render_params(P: list[SampleParams], K: np.ndarray, size: tuple[int, int], device="cpu", cfg: SynthConfig | None = None,
                  R: np.ndarray | None = None, t: np.ndarray | None = None) -> dict:
    """Render a batch from explicit parameters (``SampleParams``, see sample_params). K (n,3,3); R,t (n,3,3),(n,3)."""
    cfg = cfg or SynthConfig()
    A = _assets(device)
    dev = A.device
    n = len(P)
    h, w = size
    coeff = np.stack([np.concatenate([p.identity, p.arkit, np.maximum(p.local, 0),
                                      np.maximum(-p.local, 0)]) for p in P])
    coeff_t = torch.as_tensor(coeff, dtype=torch.float32, device=dev)
    verts_head = A.template[None] + (coeff_t @ A.basis).view(n, -1, 3)
    Rt = torch.as_tensor(R, dtype=torch.float32, device=dev)
    tt = torch.as_tensor(t, dtype=torch.float32, device=dev)
    Kt = torch.as_tensor(K, dtype=torch.float32, device=dev)
    S = _scene(A, P, verts_head, Rt, tt)
    face, bary, zbuf = render.rasterize_triangles(S["tri"], S["batch"], Kt, n, size, S["cull"])
    hit = face >= 0
    fidx = face.clamp_min(0)
    obj = torch.where(hit, S["obj"][fidx], torch.full_like(face, ap.OBJ_BG))
    attr = torch.cat([S["normal"], S["tex"], S["reg"]], -1)
    pix = render.interpolate(attr, face, bary)
    is_head = obj == ap.OBJ_HEAD
    region = pix[..., 6:12].argmax(-1)          # channels 6..11 region weights, 12 cavity occlusion
    mask = is_head & (region != 5)
    ys, xs = torch.meshgrid(torch.arange(h, device=dev) + 0.5, torch.arange(w, device=dev) + 0.5, indexing="ij")
    # ---- shading only at covered pixels (flat arrays of N pixels)
    flat = torch.nonzero(hit.reshape(-1)).squeeze(1)
    bq = torch.div(flat, h * w, rounding_mode="floor")
    pq = pix.reshape(-1, pix.shape[-1])[flat]
    normal = F.normalize(pq[:, :3], dim=-1, eps=1e-9)
    tex, reg, cav = pq[:, 3:6], pq[:, 6:12], pq[:, 12]
    oq = obj.reshape(-1)[flat]
    zq = zbuf.reshape(-1)[flat]
    xq, yq = xs.reshape(-1)[flat % (h * w)], ys.reshape(-1)[flat % (h * w)]
    pos = torch.stack([(xq - Kt[bq, 0, 2]) / Kt[bq, 0, 0] * zq, (yq - Kt[bq, 1, 2]) / Kt[bq, 1, 1] * zq, zq], -1)
    normal = torch.where(((normal * pos).sum(-1, keepdim=True) > 0), -normal, normal)
    Pa = {k: _pstack(P, "app", k, dev)[bq] for k in names(P[0].app)}
    Pa.update({k: _pstack(P, "light", k, dev)[bq] for k in names(P[0].light)})
    Nq = len(flat)
    seeds = [p.occ.seed for p in P]
    cloth = torch.as_tensor(np.stack([np.random.default_rng(sd + 7).uniform(0.02, 0.6, 3) for sd in seeds]),
                            dtype=torch.float32, device=dev)
    frame_col = torch.as_tensor(np.stack([np.random.default_rng(sd + 3).uniform(0.01, 0.4, 3) ** 1.5 for sd in seeds]),
                                dtype=torch.float32, device=dev)
    alb = torch.zeros(Nq, 3, device=dev)
    spec = torch.full((Nq,), 0.05, device=dev)
    shin = torch.full((Nq,), 20.0, device=dev)

    def sub(*objs):
        sel = torch.zeros(Nq, dtype=torch.bool, device=dev)
        for ob in objs:
            sel |= oq == ob
        return torch.nonzero(sel).squeeze(1)

    sel = sub(ap.OBJ_HEAD)
    if len(sel):   # albedo is computed only where each material is visible
        a_h, s_h, sh_h = ap.head_albedo(tex[sel], reg[sel], {k: v[sel] for k, v in Pa.items()}, A.eye_l, A.eye_r)
        hp = torch.as_tensor(np.array([[hr.y_front, hr.y_back, hr.side_drop, 1.0]
                                        if (hr := p.occ.hair) is not None else [0, 0, 0, 0.0] for p in P]),
                             dtype=torch.float32, device=dev)[bq[sel]]
        ears = torch.as_tensor([bool(p.occ.hair is not None and p.occ.hair.ears) for p in P], device=dev)[bq[sel]]
        cs = tex[sel]
        above = hair_line(cs, hp)
        on_ear = (cs[:, 0].abs() > 62) & (cs[:, 1] > -35) & (cs[:, 1] < 30) & (cs[:, 2] > -25) & (cs[:, 2] < 40)
        above = torch.where(on_ear & ~ears, torch.full_like(above, -1e3), above)
        jag = ap.noise3(cs * cs.new_tensor([1.0, 0.15, 1.0]), 1.0, Pa["noff"][sel] + 0.21)[:, 0]
        hw = ap.smoothstep(-1.0, 5.0, above + 6 * (jag - 0.5))[:, None]
        hcol = ap.hair_albedo(cs, {k: Pa[k][sel] for k in ("hair_col", "noff")})
        alb[sel] = a_h * (1 - hw) + hcol * hw
        spec[sel], shin[sel] = s_h * (1 - hw[:, 0]) + 0.15 * hw[:, 0], sh_h
    sel = sub(ap.OBJ_HAIR, ap.OBJ_STRAND)
    if len(sel):
        hcol = ap.hair_albedo(tex[sel], {k: Pa[k][sel] for k in ("hair_col", "noff")})
        alb[sel] = hcol * torch.where(oq[sel] == ap.OBJ_STRAND, 1.2, 1.0)[:, None]
        spec[sel] = 0.15
    sel = sub(ap.OBJ_HAND)
    if len(sel):
        alb[sel] = Pa["skin"][sel] * (0.9 + 0.2 * ap.noise3(tex[sel], 8.0, Pa["noff"][sel])[:, :1])
    sel = sub(ap.OBJ_FRAME)
    alb[sel], spec[sel] = frame_col[bq[sel]], 0.8
    sel = sub(ap.OBJ_LENS)
    alb[sel], spec[sel], shin[sel] = 0.01, 0.8, 300.0
    sel = sub(ap.OBJ_MIC)
    if len(sel):
        alb[sel] = 0.03 * (1 + ap.noise3(tex[sel], 1.0, Pa["noff"][sel])[:, :1]).expand(-1, 3)
    sel = sub(ap.OBJ_TORSO)
    if len(sel):
        alb[sel] = cloth[bq[sel]] * (0.8 + 0.4 * ap.noise3(tex[sel], 30.0, Pa["noff"][sel])[:, :1])
    hq = oq == ap.OBJ_HEAD
    # ---- lighting
    centres = Rt @ torch.tensor([0.0, 0.0, 30.0], device=dev) + tt
    shadow = _shadows(S, P, pos, normal, bq, centres, dev, cfg.shadow_res)
    irr = ap.lights(normal, pos, Pa, shadow, cav)
    ao = 1 - 0.35 * (reg[:, 5] * hq)                                       # interior darker
    colq = alb * irr * ao[:, None] + ap.specular(normal, pos, Pa, spec, shin, shadow)
    col = torch.zeros(n * h * w, 3, device=dev).index_copy(0, flat, colq).view(n, h, w, 3)
    # ---- background + exposure on the face
    img = torch.empty(n, 3, h, w, device=dev)
    for i, p in enumerate(P):
        g = torch.Generator().manual_seed(p.sensor.bg_seed)
        hb, wb = max(16, h // 2), max(16, w // 2)                  # drawn at half resolution (defocused anyway)
        bgi = ap.background(1, hb, wb, g, dev, torch.tensor([p.sensor.bg_kind]))
        bgi = ap.gaussian_blur(bgi, torch.tensor([p.sensor.bg_blur[0]], device=dev) / 2)
        img[i] = F.interpolate(bgi, size=(h, w), mode="bilinear", align_corners=False)[0]
    img = img ** 2.2                                                        # backgrounds are drawn in sRGB
    colc = col.permute(0, 3, 1, 2)
    img = torch.where(hit[:, None], colc, img)
    Ps = {k: _pstack(P, "sensor", k, dev) for k in ("wb", "exposure", "contrast", "blur", "mblur", "mang", "noise")}
    lum = (colc * torch.tensor([0.2126, 0.7152, 0.0722], device=dev)[:, None, None]).sum(1)
    m = mask
    med = torch.stack([lum[i][m[i]].median() if m[i].any() else lum[i].mean() for i in range(n)]).clamp_min(1e-3)
    target = Ps["exposure"][:, 0] ** 2.2
    img = img * (target / med)[:, None, None, None] * Ps["wb"][:, :, None, None]
    # ---- sensor: optics blur, motion blur, low resolution, noise, tone curve, JPEG
    img = ap.gaussian_blur(img, Ps["blur"][:, 0])
    if (Ps["mblur"] > 0).any():
        mb = ap.motion_blur(img, Ps["mblur"][:, 0], Ps["mang"][:, 0])
        img = torch.where((Ps["mblur"][:, 0] > 0)[:, None, None, None], mb, img)
    for i, p in enumerate(P):
        f = p.sensor.lowres
        if f > 1:
            small = F.interpolate(img[i:i + 1], scale_factor=1 / f, mode="area", recompute_scale_factor=False)
            img[i] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)[0]
    noise = torch.stack([torch.randn(3, h, w, generator=torch.Generator().manual_seed(p.sensor.noise_seed))
                         for p in P]).to(dev)
    sig = Ps["noise"][:, 0, None, None, None]
    img = img + noise * sig * (0.3 + img.clamp(0, 1).sqrt())
    img = ap.to_srgb(img)
    c = Ps["contrast"][:, 0, None, None, None]
    img = ((img - 0.5) * c + 0.5).clamp(0, 1)
    img = ap.jpeg(img, np.array([p.sensor.jpeg_q for p in P]), np.array([p.sensor.jpeg for p in P]))
    attached = hit & (obj != ap.OBJ_TORSO)
    return dict(image=img, zbuf=zbuf, attached=attached, mask=mask, canon_mm=pix[..., 3:6] * mask[..., None],
                verts_cam=S["verts_cam"], obj=obj, verts_head=verts_head)
