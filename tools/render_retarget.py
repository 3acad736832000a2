"""The README's retarget picture: the sample clip captured, then retargeted onto a character this script makes.

    .venv/bin/python tools/render_retarget.py --out docs/images/retarget.jpg --frames 5,25,45,65

The character is made here from nothing but the project's own head asset: the template restyled (a broad cranium,
a narrow chin, longer nose, other proportions) with 30 of the 52 ARKit shapes, re-expressed on the restyled surface
and named in the Live Link Face + ``_L``/``_R`` variant ("EyeBlink_L", "JawOpen", ...). The capture runs
``bake.pipeline.reconstruct`` on ``core/assets/sample_clip.mp4`` with the bundled network; ``bake.blender_io.retarget``
drives the character (calibrated: mouth and jaw gain 1.5, no neutral: the sample clip talks throughout, its most
neutral five frames are mid-word, jawOpen 0.18 as the script reports, which a neutral would take off every frame;
the exported weights read 0 at the lips' rest already, bake.mouth_follow.mouth_rest) and turns it with the head.
The picture: per chosen frame, the captured head over the footage (top), the captured head wearing the texture
projected from the footage (``bake.texture``) over grey (middle) and the character (bottom), Workbench renders.
Development only: not shipped.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

SUBSET = ("eyeBlinkLeft", "eyeBlinkRight", "eyeWideLeft", "eyeWideRight", "eyeSquintLeft", "eyeSquintRight",
          "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "jawOpen",
          "jawLeft", "jawRight", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmileLeft", "mouthSmileRight",
          "mouthFrownLeft", "mouthFrownRight", "mouthStretchLeft", "mouthStretchRight", "mouthPressLeft",
          "mouthPressRight", "mouthRollLower", "mouthRollUpper", "cheekPuff", "noseSneerLeft", "noseSneerRight")


def variant_name(arkit: str) -> str:
    """eyeBlinkLeft -> EyeBlink_L (Live Link Face PascalCase with _L/_R suffixes)."""
    n = arkit[0].upper() + arkit[1:]
    for side, suf in (("Left", "_L"), ("Right", "_R")):
        if n.endswith(side) and n not in ("JawLeft", "JawRight", "MouthLeft", "MouthRight"):
            return n[:-len(side)] + suf
    return n


def restyle(p: np.ndarray) -> np.ndarray:
    """Head-frame mm -> the character's proportions (smooth, so shape-key deltas carry over)."""
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    up = 1 / (1 + np.exp(-(y - 15) / 18))              # 0 below the eyes, 1 on the cranium
    nose = np.exp(-((x / 16) ** 2 + ((y + 5) / 20) ** 2)) * np.clip((z - 50) / 30, 0, 1)
    chin = 1 / (1 + np.exp((y + 55) / 12))             # 1 on the chin and jaw
    return np.stack([x * (0.9 + 0.45 * up - 0.2 * chin), y * (1.0 + 0.25 * up) + 8 * chin,
                     z * (0.95 + 0.2 * up) + 22 * nose], -1)


def build_character(bpy, head, name="Character"):
    from bake.blender_io import head_to_blender
    verts = head_to_blender(restyle(head.vertices)).astype(np.float32)
    faces = np.asarray(head.faces, np.int32)
    me = bpy.data.meshes.new(name)
    me.from_pydata(verts.tolist(), [], faces.tolist())
    me.shade_smooth() if hasattr(me, "shade_smooth") else None
    obj = bpy.data.objects.new(name, me)
    bpy.context.scene.collection.objects.link(obj)
    obj.shape_key_add(name="Basis", from_mix=False)
    for arkit in SUBSET:
        j = head.arkit_names.index(arkit)
        kb = obj.shape_key_add(name=variant_name(arkit), from_mix=False)
        moved = head_to_blender(restyle(head.vertices + head.arkit_deltas[j])).astype(np.float32)
        kb.points.foreach_set("co", moved.ravel())
    obj.color = (0.36, 0.62, 0.86, 1.0)
    return obj


def expressive_frames(take, count=3) -> list[int]:
    """Indices of ``count`` frames far apart that show the most expression (summed weights), distinct kinds."""
    w = take.weights
    score = w.sum(1)
    picks: list[int] = []
    for _ in range(count):
        s = score.copy()
        for p in picks:
            s[max(0, p - len(w) // (2 * count)):p + len(w) // (2 * count)] = -np.inf
        picks.append(int(np.argmax(s)))
    return sorted(picks)


def render(bpy, path, camera, show, colour_type, engine="BLENDER_WORKBENCH"):
    sc = bpy.context.scene
    for o in sc.objects:
        o.hide_render = o not in show and o.type != "CAMERA"
    sc.camera = camera
    sc.render.engine = engine
    sc.render.film_transparent = False
    sh = sc.display.shading
    sh.light, sh.color_type, sh.show_cavity = "STUDIO", colour_type, True
    sh.single_color = (0.85, 0.62, 0.5)
    sc.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "retarget.jpg")
    ap.add_argument("--clip", type=Path, default=ROOT / "core" / "assets" / "sample_clip.mp4")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--frames", default="", help="comma-separated scene frames (default: three expressive ones)")
    a = ap.parse_args(argv)
    import bpy
    import cv2

    from bake import blender_io, pipeline, texture
    from bake.blender_io import retarget as blender_retarget
    from bake.calibrate import Calibration, find_neutral
    from bake.retarget import take_from_tracks
    from core import head_model
    head = head_model.load()
    tracks, stats = pipeline.reconstruct(pipeline.ReconConfig(source=str(a.clip), threads=a.threads))
    print(f"captured {stats.frames_tracked}/{stats.frames_total} frames", file=sys.stderr)
    blender_io.reset_scene()
    coll = blender_io.build_scene(tracks, name="Capture")
    cap_cam = bpy.context.scene.camera          # the matched camera (render() switches to the character's)
    tex_png = texture.write_texture(a.out.with_name("retarget_texture.tmp.png"), texture.bake_texture(tracks))
    char = build_character(bpy, head)
    char.location = (3.0, 0.0, 0.0)
    take = take_from_tracks(tracks)
    lo, hi = find_neutral(take.weights)      # what an automatic neutral would take off every frame: reported only
    jaw = float(take.weights[lo:hi, list(take.names).index("jawOpen")].mean())
    print(f"an automatic neutral would read frames {take.frames[lo]}-{take.frames[hi - 1]}: jawOpen {jaw:.2f}",
          file=sys.stderr)
    cal = Calibration(region_gain={"mouth": 1.5, "jaw": 1.5})
    res = blender_retarget.retarget(take, [char], calibration=cal, head_object=char)
    print(res.text(), file=sys.stderr)
    cam_data = bpy.data.cameras.new("CharCam")
    cam_data.lens = 100
    cam = bpy.data.objects.new("CharCam", cam_data)
    bpy.context.scene.collection.objects.link(cam)
    cam.location = (3.0, -1.05, 0.02)
    cam.rotation_euler = (np.pi / 2, 0, 0)
    sc = bpy.context.scene
    sc.render.resolution_x = sc.render.resolution_y = 384
    tmp = a.out.with_suffix(".tmp")
    tmp.mkdir(exist_ok=True)
    tiles_top, tiles_mid, tiles_bottom = [], [], []
    capture_objs = [o for o in coll.all_objects]
    frames = [int(f) for f in a.frames.split(",")] if a.frames else \
        [int(take.frames[i]) for i in expressive_frames(take)]
    for f in frames:
        sc.camera = cap_cam
        p = blender_io.render_over_footage(tmp / f"cap_{f}.png", f, tracks.footage_path)
        tiles_top.append(cv2.imread(str(p)))
        tiles_mid.append(None)
        sc.frame_set(f)
        render(bpy, tmp / f"char_{f}.png", cam, [char], "OBJECT")
        img = cv2.imread(str(tmp / f"char_{f}.png"))
        cv2.putText(img, f"frame {f}", (10, 372), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (210, 210, 210), 1, cv2.LINE_AA)
        tiles_bottom.append(img)
        for o in capture_objs:
            o.hide_render = False
    # the textured head (footage projected onto the UVs), alone over grey, from the matched camera
    cap_head = next(o for o in capture_objs if o.type == "MESH")
    blender_io.apply_texture(cap_head, tex_png)
    sc.camera = cap_cam
    for o in sc.objects:
        o.hide_render = o is char
    for k, f in enumerate(frames):
        p = blender_io.render_over_footage(tmp / f"tex_{f}.png", f, "", alpha=1.0, color_type="TEXTURE")
        tiles_mid[k] = cv2.imread(str(p))
    tex_png.unlink()
    sheet = np.vstack([np.hstack(tiles_top), np.hstack(tiles_mid), np.hstack(tiles_bottom)])
    a.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(a.out), sheet, [cv2.IMWRITE_JPEG_QUALITY, 90])
    for q in tmp.iterdir():
        q.unlink()
    tmp.rmdir()
    print(f"wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
