"""Procedural appearance for synthetic faces (torch, per pixel): albedo, lighting, backgrounds, sensor.

Albedo is a function of the CANONICAL position of each pixel (template mm), so skin detail, freckles, lips,
eyes (sclera/iris/pupil), brows, stubble and make-up stick to the face under every expression and identity and
are resolution independent. All colour maths runs in linear RGB; `to_srgb` is applied once at the end.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

OBJ_BG, OBJ_HEAD, OBJ_HAIR, OBJ_FRAME, OBJ_LENS, OBJ_HAND, OBJ_MIC, OBJ_STRAND, OBJ_TORSO = -1, 0, 1, 2, 3, 4, 5, 6, 7
REGIONS = ("skin", "lips", "brows", "eyes", "scalp", "interior")

# sRGB skin reflectances from very light to very dark (roughly Fitzpatrick I..VI)
SKIN_SRGB = np.array([[0.94, 0.76, 0.69], [0.89, 0.67, 0.57], [0.80, 0.57, 0.45], [0.68, 0.45, 0.33],
                      [0.52, 0.33, 0.24], [0.38, 0.23, 0.17], [0.25, 0.15, 0.11]])
HAIR_SRGB = np.array([[0.05, 0.04, 0.035], [0.12, 0.08, 0.05], [0.25, 0.16, 0.09], [0.45, 0.32, 0.18],
                      [0.70, 0.56, 0.36], [0.55, 0.25, 0.10], [0.55, 0.55, 0.55], [0.85, 0.85, 0.82]])
IRIS_SRGB = np.array([[0.25, 0.13, 0.05], [0.40, 0.25, 0.10], [0.30, 0.42, 0.55], [0.35, 0.45, 0.30],
                      [0.12, 0.07, 0.04], [0.45, 0.38, 0.25]])


def srgb_to_linear(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def to_srgb(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0, 1)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-8) ** (1 / 2.4) - 0.055)


_NOISE: dict = {}


NOISE_RES = 32


def noise_volume(device) -> torch.Tensor:
    """Band-limited periodic value noise (1, 4, R+1, R+1, R+1): the last slice repeats the first, so trilinear
    sampling of wrapped coordinates is continuous everywhere."""
    key = str(device)
    if key not in _NOISE:
        rng = np.random.default_rng(1234)
        R = NOISE_RES
        v = rng.normal(size=(4, R, R, R))
        k = np.fft.fftfreq(R)
        kk = k[:, None, None] ** 2 + k[None, :, None] ** 2 + k[None, None, :] ** 2
        v = np.real(np.fft.ifftn(np.fft.fftn(v, axes=(1, 2, 3)) * np.exp(-kk * (2 * np.pi * 1.0) ** 2 / 2)[None],
                                 axes=(1, 2, 3)))
        v = (v - v.mean((1, 2, 3), keepdims=True)) / v.std((1, 2, 3), keepdims=True)
        v = 1 / (1 + np.exp(-1.7 * v))                              # ~uniform-ish in (0, 1), mean 0.5
        v = np.pad(v, ((0, 0), (0, 1), (0, 1), (0, 1)), mode="wrap")
        _NOISE[key] = torch.as_tensor(v[None], dtype=torch.float32, device=device)
    return _NOISE[key]


def noise3(p: torch.Tensor, scale: float, offset: torch.Tensor) -> torch.Tensor:
    """Smooth periodic noise in (0, 1)^4 at points p (N, 3) mm, feature size ~2 * scale mm; offset (N, 3)."""
    N = p.shape[0]
    R = NOISE_RES
    q = torch.remainder(p / scale + offset * R, R) / R * 2 - 1
    out = F.grid_sample(noise_volume(p.device), q.reshape(1, N, 1, 1, 3), mode="bilinear",
                        padding_mode="border", align_corners=True)
    return out[0, :, :, 0, 0].T                                   # (N, 4)


def _blob(p, center, radii):
    d = ((p - p.new_tensor(center)) / p.new_tensor(radii)) ** 2
    return torch.exp(-d.sum(-1))


def smoothstep(e0, e1, x):
    t = ((x - e0) / (e1 - e0)).clamp(0, 1)
    return t * t * (3 - 2 * t)


def head_albedo(c, reg, P, eye_l, eye_r):
    """c (N,3) canonical mm, reg (N,6) soft region weights, P params gathered per pixel (tensors (N, ...)).

    Returns linear albedo (N,3), specular strength (N,), shininess (N,)."""
    e = lambda k: P[k]                                            # noqa: E731
    n1 = noise3(c, 9.0, P["noff"])
    n2 = noise3(c, 2.5, P["noff"] + 0.37)
    n3 = noise3(c, 0.8, P["noff"] + 0.71)
    skin = e("skin")                                              # (n,1,1,3) linear
    # large-scale tone variation, redness on cheeks/nose/ears, darker around eyes and jaw
    red = e("redness")[..., 0] * (_blob(c, (45, -15, 95), (25, 22, 30)) + _blob(c, (-45, -15, 95), (25, 22, 30))
                                  + 0.8 * _blob(c, (0, -10, 130), (12, 14, 20))
                                  + 0.7 * _blob(c, (80, 0, 0), (20, 35, 30)) + 0.7 * _blob(c, (-80, 0, 0), (20, 35, 30)))
    tint = torch.stack([1 + 0.10 * red, 1 - 0.10 * red, 1 - 0.12 * red], -1)
    alb = skin * tint * (1 + 0.22 * (n1[..., :1] - 0.5)) * (1 + 0.10 * (n2[..., 1:2] - 0.5)) \
        * (1 + 0.08 * (n3[..., 2:3] - 0.5))
    under_eye = _blob(c, (33, 8, 98), (16, 6, 20)) + _blob(c, (-33, 8, 98), (16, 6, 20))
    alb = alb * (1 - 0.12 * under_eye[..., None])
    # freckles
    fr = smoothstep(0.72, 0.80, n3[..., 3]) * e("freckles")[..., 0] \
        * (_blob(c, (0, -2, 120), (55, 22, 50)) + 0.1)
    alb = alb * (1 - 0.25 * fr[..., None] * torch.tensor([0.6, 0.9, 1.1], device=c.device))
    # stubble / beard on the lower face (below the cheekbones, around the mouth, chin, upper neck)
    beard_zone = smoothstep(-5, -25, c[..., 1] + 0.25 * (c[..., 2] - 100)) * smoothstep(20, 55, c[..., 2]) \
        * (1 - smoothstep(-75, -110, c[..., 1] * 0 + c[..., 1] - 0.2 * c[..., 2]) * 0)
    beard_zone = beard_zone * (1 - reg[..., 1]) * (1 - smoothstep(20, 40, c[..., 1]))
    cheek_edge = smoothstep(0.0, 12.0, -(c[..., 1] + 20) + 0.45 * (c[..., 0].abs() - 20).clamp_min(0) * 0)
    bd = e("beard")[..., 0] * beard_zone * cheek_edge \
        * (0.6 + 0.5 * (n2[..., 2] - 0.5) + 0.35 * (n3[..., 0] - 0.5)).clamp(0, 1)
    alb = alb * (1 - bd[..., None]) + e("hair_col") * bd[..., None]
    # lips (soft boundary from region weights), lipstick
    ell = (c[..., 0] / 25.0) ** 2 + ((c[..., 1] + 58.5) / 12.0) ** 2
    lw = (smoothstep(0.2, 0.7, reg[..., 1]) * smoothstep(1.15, 0.75, ell))[..., None]
    lip = alb * e("lip_tint") * (1 + 0.1 * (n2[..., :1] - 0.5))
    lip = lip * (1 - e("lipstick_a")) + e("lipstick") * e("lipstick_a")
    alb = alb * (1 - lw) + lip * lw
    # eye make-up / lash line: darken skin next to the eyes region
    eyes_w = reg[..., 3]
    lash = smoothstep(0.01, 0.3, eyes_w) * (1 - smoothstep(0.55, 0.95, eyes_w))
    alb = alb * (1 - (0.7 + 0.25 * e("eye_makeup")) * lash[..., None])
    # brows: hair colour with strand noise
    streak = noise3(c * c.new_tensor([0.25, 1.0, 1.0]), 0.6, P["noff"] + 0.43)[..., 0]
    bw = smoothstep(0.15, 0.75, reg[..., 2]) * (0.75 + 0.5 * (streak - 0.5)).clamp(0, 1) * e("brow_dens")[..., 0]
    alb = alb * (1 - bw[..., None]) + e("brow_col") * bw[..., None]
    # eyes: sclera, iris, pupil by distance from the eye axis (canonical, seen from the front)
    is_eye = (reg[..., 3] > 0.5)[..., None]
    left = (c[..., :1] > 0)
    ec = torch.where(left, c.new_tensor(eye_l), c.new_tensor(eye_r))
    r = torch.sqrt(((c[..., :2] - ec[..., :2]) ** 2).sum(-1))
    ir = e("iris_r")[..., 0]
    sclera = c.new_tensor(srgb_to_linear(np.array([0.78, 0.72, 0.68]))) * (1 - 0.25 * (1 - smoothstep(ir, ir * 2.2, r)))[..., None]
    sclera = sclera * (1 + 0.1 * torch.stack([n2[..., 0], -n2[..., 0], -n2[..., 0]], -1))
    iris = e("iris") * (0.7 + 0.6 * n3[..., 1:2]) * (1 - 0.5 * smoothstep(ir * 0.75, ir, r))[..., None]
    eye = torch.where((r < ir)[..., None], iris, sclera)
    eye = torch.where((r < ir * 0.42)[..., None], torch.full_like(eye, 0.01), eye)
    alb = torch.where(is_eye, eye, alb)
    # mouth interior: dark cavity, teeth in front, tongue
    is_int = (reg[..., 5] > 0.5)[..., None]
    teeth = (c[..., 2] > 108) & (c[..., 0].abs() < 24) & (c[..., 1] > -75)
    cav = c.new_tensor(srgb_to_linear(np.array([0.35, 0.12, 0.12]))) * (0.2 + 0.8 * smoothstep(60, 115, c[..., 2]))[..., None]
    cav = torch.where(teeth[..., None], c.new_tensor(srgb_to_linear(np.array([0.85, 0.80, 0.70]))).expand_as(cav), cav)
    alb = torch.where(is_int, cav, alb)
    # specular: oily T-zone, wet lips and eyes
    tz = _blob(c, (0, 40, 115), (40, 25, 40)) + _blob(c, (0, -10, 130), (12, 30, 30))
    spec = e("spec")[..., 0] * (0.6 + 0.8 * tz) * (0.7 + 0.6 * n2[..., 3])
    spec = spec + 0.15 * lw[..., 0] + 0.12 * is_eye[..., 0].float()
    shin = 12 + 20 * lw[..., 0] + 150 * is_eye[..., 0].float()
    return alb.clamp(0, 1), spec, shin


def hair_albedo(tex, P, strand_dir_scale=(3.0, 30.0)):
    """Hair colour with anisotropic strand noise (stretched along the canonical y axis)."""
    s = tex * tex.new_tensor([1 / 1.0, 1 / 12.0, 1 / 1.0])
    a = noise3(s, 1.2, P["noff"] + 0.13)
    b = noise3(tex, 20.0, P["noff"] + 0.5)
    col = P["hair_col"] * (0.55 + 0.9 * a[..., :1]) * (0.8 + 0.4 * b[..., 1:2])
    return col.clamp(0, 1)


def lights(normal, pos, P, shadow, occlusion=None):
    """Irradiance (N,3) at pixels with normals (N,3) from environment + key (+fill) light; shadow (N,) in [0,1]."""
    e = lambda k: P[k]                                            # noqa: E731
    up = e("env_up")
    hemi = 0.5 + 0.5 * (normal * up).sum(-1, keepdim=True)
    env = e("env_sky") * hemi + e("env_ground") * (1 - hemi)
    L = e("key_dir")
    ndl = (normal * L).sum(-1, keepdim=True)
    wrap = e("wrap")
    d = ((ndl + wrap) / (1 + wrap)).clamp_min(0)
    # a reddish terminator (sub-surface scattering look): red falls off slower
    d_rgb = torch.cat([d ** 0.8, d ** 1.0, d ** 1.15], -1)
    key = e("key_col") * d_rgb * shadow[..., None]
    F2 = e("fill_dir")
    fill = e("fill_col") * ((normal * F2).sum(-1, keepdim=True)).clamp_min(0)
    if occlusion is None:
        return env + key + fill
    ao = occlusion[:, None]
    return (env + fill) * ao + key * ao.sqrt()


def specular(normal, pos, P, spec, shin, shadow):
    v = -F.normalize(pos, dim=-1)
    L = P["key_dir"]
    hv = F.normalize(v + L, dim=-1)
    ndh = (normal * hv).sum(-1).clamp_min(0)
    ndl = (normal * L).sum(-1).clamp_min(0)
    fres = 0.04 + 0.96 * (1 - (normal * v).sum(-1).clamp(0, 1)) ** 5
    s = spec * (ndh ** shin) * (shin + 8) / 25.0 * shadow * (ndl > 0).float() * (0.6 + 2 * fres)
    return s[..., None] * P["key_col"]


def background(n, h, w, g: torch.Generator, device, kinds: torch.Tensor):
    """Backgrounds: 0 gradient + noise, 1 smooth texture, 2 clutter (shapes, defocused), 3 flat (screen/wall)."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    def colours(*shape):   # mostly muted indoor colours (walls, wood, fabric), sometimes saturated
        c = torch.rand(*shape, 3, generator=g) ** 1.3
        lum = c.mean(-1, keepdim=True)
        sat = torch.rand(*shape, 1, generator=g) ** 2 * 0.9 + 0.05
        warm = torch.tensor([1.06, 1.0, 0.9]) ** torch.rand(*shape, 1, generator=g)
        return ((lum + sat * (c - lum)) * warm).clamp(0, 1)
    c1 = colours(n).view(n, 3, 1, 1)
    c2 = colours(n).view(n, 3, 1, 1)
    ang = torch.rand(n, 1, 1, generator=g) * 2 * math.pi
    tpar = (torch.cos(ang) * (xx - 0.5) + torch.sin(ang) * (yy - 0.5) + 0.5).clamp(0, 1)[:, None]
    grad = c1 * (1 - tpar) + c2 * tpar
    cells = [4, 8, 16]
    tex = sum(F.interpolate(torch.rand(n, 3, s, s, generator=g), size=(h, w), mode="bicubic", align_corners=False)
              * (1.0 / (i + 1)) for i, s in enumerate(cells))
    tex = tex / sum(1.0 / (i + 1) for i in range(len(cells)))
    smooth = c1 * (0.5 + tex) * 0.9
    grad = grad * (0.85 + 0.3 * tex[:, :1])
    clutter = grad.clone()
    m = 14
    cx = torch.rand(n, m, 1, 1, generator=g)
    cy = torch.rand(n, m, 1, 1, generator=g)
    sx = 0.04 + 0.35 * torch.rand(n, m, 1, 1, generator=g) ** 2
    sy = 0.04 + 0.35 * torch.rand(n, m, 1, 1, generator=g) ** 2
    col = colours(n, m)
    kind = torch.rand(n, m, 1, 1, generator=g) < 0.5
    dx, dy = (xx - cx).abs() / sx, (yy - cy).abs() / sy
    inside = torch.where(kind, torch.maximum(dx, dy) < 1, dx ** 2 + dy ** 2 < 1)   # (n, m, h, w)
    for k in range(m):
        clutter = torch.where(inside[:, k:k + 1], col[:, k, :, None, None].expand(-1, -1, h, w), clutter)
    flat = c2 * (0.95 + 0.1 * tex[:, 1:2])
    kinds = kinds.view(n, 1, 1, 1)
    bg = torch.where(kinds == 0, grad, torch.where(kinds == 1, smooth, torch.where(kinds == 2, clutter, flat)))
    return bg.clamp(0, 1).to(device)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Per-sample isotropic blur of x (n,c,h,w) with sigma (n,) pixels (0 -> unchanged)."""
    n, c, h, w = x.shape
    r = 4
    t = torch.arange(-r, r + 1, device=x.device, dtype=x.dtype)
    s = sigma.clamp_min(1e-3)[:, None]
    k = torch.exp(-0.5 * (t[None] / s) ** 2)
    k = k / k.sum(1, keepdim=True)                                # (n, 2r+1)
    xx = x.reshape(1, n * c, h, w)
    kh = k.repeat_interleave(c, 0)[:, None, None, :]
    xx = F.conv2d(F.pad(xx, (r, r, 0, 0), mode="replicate"), kh, groups=n * c)
    xx = F.conv2d(F.pad(xx, (0, 0, r, r), mode="replicate"), kh.transpose(2, 3), groups=n * c)
    return xx.reshape(n, c, h, w)


def motion_blur(x: torch.Tensor, length: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Line-kernel blur of x (n,c,h,w), length (n,) px, angle (n,) rad."""
    n, c, h, w = x.shape
    r = 5
    t = torch.arange(-r, r + 1, device=x.device, dtype=x.dtype)
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    ca, sa = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    along = xx * ca + yy * sa
    across = -xx * sa + yy * ca
    L = length.clamp_min(1e-3)[:, None, None] / 2
    k = ((along.abs() <= L + 0.5).float() * torch.clamp(1 - across.abs(), min=0))
    k = k / k.sum((1, 2), keepdim=True).clamp_min(1e-6)
    k = k.repeat_interleave(c, 0)[:, None]
    out = F.conv2d(F.pad(x.reshape(1, n * c, h, w), (r, r, r, r), mode="replicate"), k, groups=n * c)
    return out.reshape(n, c, h, w)


def jpeg(x: torch.Tensor, quality: np.ndarray, apply: np.ndarray) -> torch.Tensor:
    """JPEG round trip (OpenCV) of selected images x (n,3,h,w) in [0,1]."""
    import cv2
    if not apply.any():
        return x
    out = x.clone()
    arr = (x.detach().permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
    for i in np.nonzero(apply)[0]:
        ok, buf = cv2.imencode(".jpg", arr[i][..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality[i])])
        dec = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255
        out[i] = torch.from_numpy(dec.copy()).permute(2, 0, 1).to(x.device)
    return out
