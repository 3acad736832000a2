"""Synthetic 4D face data with exact ground truth (depth, canonical map, masks, pose, ARKit weights).

Everything is rendered by training/render.py (exact z-buffer, perspective-correct barycentrics) so the maps are
exact at pixel centres; only the RGB image receives appearance randomisation and sensor effects.

CROP FRAMING (make_batch; core/framing.py defines it; the face tracker and the bake's re-framing passes give the
same): a sample is rendered directly as a square S x S crop framed RELATIVE TO THE HEAD'S SIZE: with ``s`` the head
size ratio of the sample's neutral identity to the template (``head_size_ratio``; 0.7 .. 1.2 in the train stream),
the crop centre is the projection of the point ``s * CROP_ANCHOR`` (CROP_ANCHOR = (0, -10, 70) mm, nose area) and
its side covers ``s * CROP_SIDE_MM`` (260 mm) at depth z_origin (camera z of the head-frame origin), i.e. in a full
frame with focal f the crop side is ``s * 260 * f / z_origin`` pixels and the crop intrinsics have
``f_crop = S * z_origin / (s * 260)``. This is the framing of a template-size head at distance z_origin / s, which
is all that can be seen from an image (a small head near and a big head far look alike), and what the tracker (from
the face's apparent size) and PnP on the canonical map (template millimetres) recover; framing by the true depth
instead (``SynthConfig.frame_by_head_size=False``, the framing of the weights before 2026-11-24) shows the network
the head's true size as a crop-fill fraction that inference never has. Then jitter: side x exp(N(0, 0.12)) and a
shift of U(-8 %, +8 %) of the side on each axis.

make_batch keys: image (n,3,S,S) RGB [0,1]; depth (n,1,S,S) = (z - z_origin) / canon_scale, z along the crop's
axis (core.types; the camera's direction through the crop's centre, not its optical axis), where any surface
attached to the head is visible (head, hair, glasses, hands, microphone, strands; 0 on background and torso);
canon (n,3,S,S) = head.to_norm(template mm) where mask, else 0; mask (n,1,S,S) 1 on visible head surface that is
not the interior (mouth cavity/teeth/tongue) and not occluded; K (n,3,3); R (n,3,3), t (n,3) head -> camera;
verts_cam (n,V,3) DEFORMED vertices in camera mm; arkit (n,52); identity (n,40) coefficients (mm along the
orthonormal basis, i.e. already multiplied by identity_std).

SPLITS: ``split="train"`` is the endless training stream; ``split="eval"`` with a fixed seed (e.g. 0) is the held-out
set. Sample i depends only on (seed, split, i). Eval identities come from a region of identity space the train
stream rejects (``_in_eval_identity_region``: first identity coefficient > 1 sd and second < -0.3 sd) and 40 % of
eval samples use camera distances outside the train range (``SynthConfig.dist_mm`` x 0.8 .. x 1.3).

CLI: ``python -m training.synth --out DIR --count N --seed S [--size 256] [--sequence FRAMES] [--split eval]
[--check]``; the README demo clip is regenerated (deterministically) with
``python -m training.synth --sample-clip core/assets/sample_clip.mp4``.

make_sequence: full frames, canon in MILLIMETRES (template positions, 0 where mask is 0), depth in mm (camera z,
0 where no head-attached surface).

Layout (one module per concern): ``config`` (SynthConfig, SPLITS), ``params`` (the typed per-sample parameters),
``assets`` (per-device head tensors), ``sampling`` (random parameters), ``scene`` (triangles, hair, occluders,
shadows), ``shading`` (albedo, light, sensor: ``render_params``), ``batch`` (training crops: ``make_batch``),
``sequences`` (``make_sequence``), ``files`` (samples on disk, checks, the sample clip), ``cli``.
"""
from core.framing import CROP_ANCHOR, CROP_SIDE_MM  # noqa: F401  (the framing is defined once, in core)
from core.head_model import HEAD_TO_CV  # noqa: F401

from .assets import _assets, _Assets, cavity_occlusion  # noqa: F401
from .batch import _batch_from_params, _cpu_threads, _pose_Rt, make_batch  # noqa: F401
from .cli import main  # noqa: F401
from .config import SPLITS, SynthConfig  # noqa: F401
from .files import (SAMPLE_CLIP_SEED, _batch_range, check_dir, check_sample, check_sequence,  # noqa: F401
                    contact_sheet, write_sample_clip, write_samples)
from .params import Appearance, Hair, Lighting, Occluders, Pose, SampleParams, Sensor  # noqa: F401
from .sampling import (_in_eval_identity_region, _rot, crop_intrinsics, head_size_ratio, sample_appearance,  # noqa: F401
                       sample_arkit, sample_identity, sample_lighting, sample_occluders, sample_params,
                       sample_pose_camera, sample_sensor)
from .scene import HAIR_INSET_MM, hair_line  # noqa: F401
from .sequences import make_sequence, sequence_params  # noqa: F401
from .shading import render_params  # noqa: F401
