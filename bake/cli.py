"""Headless face capture: footage -> .blend (+ FBX, GLB, USD, Live Link Face CSV, curves plot, overlay images).

    python -m bake.cli INPUT --out scene.blend [--fbx f.fbx] [--glb f.glb] [--usd f.usdc] [--csv f.csv] ...
    python -m bake.cli INPUT --retarget character.blend [--targets Face,Teeth] [--head-target Rig:head]
        [--eye-bones eye.L,eye.R] --out o.blend
    python -m bake.cli take.csv --retarget character.blend --out o.blend     # a Live Link Face CSV, no capture
    blender -b --python bake/cli.py -- INPUT --out scene.blend ...

Calibration (``--neutral-frame``, ``--gain``, ``--offset``, ``--calibration``) is applied without losing the raw
capture: the .blend keeps the raw action next to the calibrated one; FBX, glTF, USD, CSV and the plot carry the
calibrated values. ``--retarget`` opens the character's .blend, builds the captured head into it and puts the
performance onto the named meshes' ARKit-named shape keys (shapes a mesh lacks are reported by name).

Both call ``run(argv) -> int``: arguments -> ``ReconConfig`` -> ``bake.pipeline.reconstruct`` ->
``bake.blender_io.build_scene`` -> outputs (the add-on's operator calls the same pipeline and blender_io
functions). Progress goes to stderr. The exit code is the error class's own (``core.errors``): 0 ok, 1 unexpected
error, 2 bad input (arguments, footage), 3 model/asset error, 4 bake error (no face), 5 export error,
130 cancelled. Outputs are written to temporary files and renamed at the end; when a later output fails, the ones
this run already wrote are removed, so a failed run leaves no output behind.

This module is a repository entry point (``python -m bake.cli``, ``blender -b --python bake/cli.py``); the
Blender extension does not ship it.
"""
from __future__ import annotations

import os
import sys

if __package__ in (None, ""):
    # Run as a script (blender -b --python bake/cli.py, python bake/cli.py): this folder must not shadow the
    # standard library (bake/types.py vs types), and the repo/extension root must be importable.
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    sys.path.insert(0, os.path.dirname(_HERE))

import argparse
import importlib.util
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from core.errors import (EXIT_CANCELLED, EXIT_OK, ExportError, FaceCaptureError, FootageError,  # noqa: E402
                         InputError, exit_code)

log = logging.getLogger("bake.cli")


class BadArguments(InputError):
    """The command line is invalid."""


@dataclass(frozen=True)
class Outputs:
    blend: Path | None = None
    fbx: Path | None = None
    glb: Path | None = None
    csv: Path | None = None
    usd: Path | None = None
    plot: Path | None = None       # a PNG of the ARKit curves over time
    texture: Path | None = None    # a PNG: the head's albedo projected from the footage (also put on the head)
    overlay_video: Path | None = None   # an MP4: the fitted mesh over every baked footage frame
    overlay: Path | None = None    # a folder
    render: Path | None = None     # a PNG: Workbench render of the middle frame over the footage


# ---------------------------------------------------------------- arguments
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bake.cli", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="video file, image folder or single image")
    p.add_argument("--out", required=True, type=Path, help="the .blend to write")
    p.add_argument("--fbx", type=Path, help="also export FBX (blendshapes + baked curves)")
    p.add_argument("--glb", type=Path, help="also export binary glTF (morph targets + animation)")
    p.add_argument("--csv", type=Path, help="also export an ARKit-52 CSV in the Live Link Face layout")
    p.add_argument("--usd", type=Path, help="also export USD (.usd/.usda/.usdc/.usdz: blendshapes + their animation)")
    p.add_argument("--plot", type=Path, help="PNG of the ARKit curves over time, per region")
    p.add_argument("--texture", type=Path,
                   help="PNG: project the footage onto the head's UVs (albedo); the head's material uses it")
    p.add_argument("--texture-size", type=int, default=1024, help="texture width and height in pixels (default 1024)")
    p.add_argument("--overlay", type=Path, help="folder for overlay images of the fitted mesh over the footage")
    p.add_argument("--overlay-video", type=Path, help="MP4 of the fitted mesh over every baked footage frame")
    p.add_argument("--render", type=Path, help="PNG: the baked head rendered over the middle footage frame")
    add_config_options(p)
    p.add_argument("--head-motion", choices=("object", "camera"), default="object",
                   help="which Blender object carries the head's motion: the head (default) or the camera")
    g = p.add_argument_group("retarget (onto a character with ARKit-named shape keys)")
    g.add_argument("--retarget", type=Path, metavar="BLEND",
                   help="the character's .blend: the result (--out) is that file with the performance on it")
    g.add_argument("--targets", default="", metavar="OBJ[,OBJ...]",
                   help="meshes to drive (default: every mesh in the file whose shape keys carry ARKit names)")
    g.add_argument("--head-target", default="", metavar="OBJ[:BONE]",
                   help="object (or armature bone) that receives the head rotation (relative to the clip's mean)")
    g.add_argument("--eye-bones", default="", metavar="LEFT,RIGHT",
                   help="bones of the --head-target armature that receive each eye's turn from its eyeLook weights "
                        "(the subject's left eye first; either may be empty), for eyes rigged as bones")
    g.add_argument("--mapping", type=Path, metavar="JSON",
                   help='shape-key mapping override: {"jawOpen": "MouthOpen", "tongueOut": []}')
    g.add_argument("--fps", type=float, default=None,
                   help="frame rate of a CSV input (default: read from its timecodes)")
    g = p.add_argument_group("calibration (raw capture kept; exports carry the calibrated values)")
    g.add_argument("--neutral-frame", default=None, metavar="FRAME|auto",
                   help="scene frame (footage frame + 1) of the actor's neutral face, or 'auto' (the quietest stretch)")
    g.add_argument("--gain", action="append", default=[], metavar="REGION|SHAPE=G",
                   help="gain per region (eyes, brows, mouth, jaw, cheeks, nose, tongue) or ARKit shape; repeatable")
    g.add_argument("--offset", action="append", default=[], metavar="REGION|SHAPE=O",
                   help="offset per region or ARKit shape; repeatable")
    g.add_argument("--calibration", type=Path, metavar="JSON", help="a saved calibration (bake.calibrate JSON)")
    p.add_argument("--name", default="FaceCapture", help="name of the collection and objects")
    p.add_argument("--no-camera", action="store_true", help="do not create the camera")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    return p


def add_config_options(p: argparse.ArgumentParser) -> None:
    """One option per ``ReconConfig`` field that names one (``bake.config.Setting.cli``): default, range, choices
    and help all come from the field, so the command line never restates them."""
    from bake.config import range_text, settings
    g = p.add_argument_group("reconstruction (bake.config.ReconConfig)")
    for f, s in settings():
        if s.cli is None:
            continue
        if isinstance(f.default, bool):
            g.add_argument(s.cli, dest=f.name, action="store_true", help=s.help)
            continue
        extra = [f"default {f.default}" if f.default is not None else None,
                 range_text(s.range) if s.range is not None else None]
        help_ = s.help + "".join(f"; {e}" for e in extra if e)
        g.add_argument(s.cli, dest=f.name, default=f.default, type=s.parse, choices=s.choices, metavar=s.metavar,
                       help=help_)


def script_argv(argv=None) -> list[str]:
    """Arguments after "--" (blender -b --python cli.py -- ...), else everything after the program name."""
    argv = list(sys.argv if argv is None else argv)
    if "--" in argv:
        return argv[argv.index("--") + 1:]
    if "bpy" in sys.modules and sys.modules["bpy"].app.binary_path:
        return []                                    # the blender binary with no script arguments
    return argv[1:]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    try:
        ns = parser.parse_args(argv)
    except SystemExit as e:          # argparse printed the message already
        raise BadArguments("invalid command line (see the message above)") if e.code else e
    if ns.out.suffix.lower() != ".blend":
        raise BadArguments(f"--out must name a .blend file, not {ns.out}")
    if ns.neutral_frame is not None and ns.neutral_frame != "auto":
        try:
            ns.neutral_frame = float(ns.neutral_frame)
        except ValueError:
            raise BadArguments(f"--neutral-frame wants a frame number or 'auto', not {ns.neutral_frame!r}") from None
    if not 64 <= ns.texture_size <= 8192:
        raise BadArguments(f"--texture-size must be within 64..8192, not {ns.texture_size}")
    if ns.usd is not None and ns.usd.suffix.lower() not in (".usd", ".usda", ".usdc", ".usdz"):
        raise BadArguments(f"--usd must name a .usd, .usda, .usdc or .usdz file, not {ns.usd}")
    if is_csv_input(ns):
        if ns.retarget is None:
            raise BadArguments("a CSV input needs --retarget CHARACTER.blend (the meshes it drives)")
        extra = [f for f in ("overlay", "overlay_video", "render", "texture") if getattr(ns, f) is not None]
        if extra:
            raise BadArguments("a CSV input has no footage for --"
                               + ", --".join(e.replace("_", "-") for e in extra))
    if (ns.targets or ns.head_target or ns.mapping or ns.eye_bones) and ns.retarget is None:
        raise BadArguments("--targets, --head-target, --eye-bones and --mapping go with --retarget CHARACTER.blend")
    if ns.eye_bones and (len(ns.eye_bones.split(",")) != 2 or not ns.head_target):
        raise BadArguments(f"--eye-bones takes LEFT,RIGHT (one may be empty) of the --head-target armature, not "
                           f"{ns.eye_bones!r}" + ("" if ns.head_target else " without --head-target"))
    try:
        make_config(ns)                # every ReconConfig range checked here, before any work (exit 2)
    except InputError as e:
        raise BadArguments(str(e)) from None
    return ns


def is_csv_input(ns: argparse.Namespace) -> bool:
    return Path(ns.input).suffix.lower() == ".csv"


def outputs_from(ns: argparse.Namespace) -> Outputs:
    return Outputs(blend=ns.out, fbx=ns.fbx, glb=ns.glb, csv=ns.csv, usd=ns.usd, plot=ns.plot, texture=ns.texture,
                   overlay_video=ns.overlay_video, overlay=ns.overlay, render=ns.render)


def check_outputs(outputs: Outputs) -> None:
    """ExportError for any output that cannot be written (before any expensive work)."""
    for f in (outputs.blend, outputs.fbx, outputs.glb, outputs.csv, outputs.usd, outputs.plot, outputs.texture,
              outputs.overlay_video, outputs.render):
        if f is None:
            continue
        p = Path(f).expanduser().resolve()
        if p.is_dir():
            raise ExportError(f"output {p} is a directory; give a file name")
        if not p.parent.is_dir():
            raise ExportError(f"cannot write {p}: folder {p.parent} does not exist")
        if not os.access(p.parent, os.W_OK):
            raise ExportError(f"cannot write {p}: folder {p.parent} is not writable")
    if outputs.overlay is not None:
        d = Path(outputs.overlay).expanduser().resolve()
        if d.exists() and not d.is_dir():
            raise ExportError(f"--overlay {d} exists and is not a folder")
        parent = d if d.is_dir() else d.parent
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise ExportError(f"cannot create overlay folder {d}")


def make_config(ns: argparse.Namespace):
    """The parsed arguments as the pipeline's ``ReconConfig``."""
    from bake.config import ReconConfig, settings
    return ReconConfig(source=str(ns.input), **{f.name: getattr(ns, f.name) for f, s in settings() if s.cli})


# ---------------------------------------------------------------- outputs
def write_outputs(tracks, collection, outputs: Outputs, report=print, take=None, texture_size: int = 1024,
                  export_set=None) -> list[Path]:
    """Write the requested files for a built collection; all-or-nothing (written files removed on failure).
    ``tracks`` carry the (calibrated) weights for the CSV; the plot shows ``take`` (default: the tracks' ARKit
    curves); FBX/glTF/USD export ``export_set`` (a collection or objects; default ``collection``)."""
    export_set = collection if export_set is None else export_set
    from bake import blender_io, export_csv, plot
    from bake.retarget import take_from_tracks
    written: list[Path] = []
    if outputs.plot is not None and take is None:
        take = take_from_tracks(tracks)
    steps = [(outputs.texture, write_head_texture, (tracks, collection, texture_size)),
             (outputs.blend, blender_io.save_blend, ()), (outputs.fbx, blender_io.export_fbx, (export_set,)),
             (outputs.glb, blender_io.export_glb, (export_set,)), (outputs.usd, blender_io.export_usd, (export_set,)),
             (outputs.csv, export_csv.write_csv, (tracks,)) if tracks is not None else
             (outputs.csv, export_csv.write_take_csv, (take,)),
             (outputs.plot, plot.plot_curves, () if take is None else (take.names, take.weights, take.frames,
                                                                        take.fps))]
    try:
        for path, fn, extra in steps:
            if path is None:
                continue
            t = time.perf_counter()
            written.append(fn(path, *extra))
            report(f"wrote {written[-1]} ({time.perf_counter() - t:.2f} s)")
        if outputs.render is not None:
            mid = int(tracks.frames[len(tracks.frames) // 2])
            written.append(blender_io.render_over_footage(outputs.render, mid, tracks.footage_path,
                                                          color_type="TEXTURE" if outputs.texture else "SINGLE"))
            report(f"wrote {written[-1]} (frame {mid})")
        if outputs.overlay is not None:
            written.extend(write_overlay(tracks, Path(outputs.overlay), report))
        if outputs.overlay_video is not None:
            from bake import overlay
            try:
                written.append(overlay.write_video(tracks, outputs.overlay_video))
            except OSError as e:
                raise ExportError(f"cannot write the overlay video {outputs.overlay_video}: {e}") from e
            report(f"wrote {written[-1]}")
    except BaseException:
        for p in written:
            Path(p).unlink(missing_ok=True)
        raise
    return written


def write_head_texture(path, tracks, collection, size: int = 1024) -> Path:
    """Project the footage onto the head's UVs (``bake.texture``), write the PNG and give the head that material."""
    from bake import blender_io, texture
    tex = texture.bake_texture(tracks, size=size)
    p = texture.write_texture(path, tex)
    head = next(o for o in collection.all_objects if o.type == "MESH")
    blender_io.apply_texture(head, p)
    return p


def write_overlay(tracks, folder: Path, report=print) -> list[Path]:
    """Overlay images of the fitted mesh over the footage (``bake.overlay.write_overlays``)."""
    from bake import overlay
    try:
        paths = overlay.write_overlays(tracks, folder)
    except OSError as e:
        raise ExportError(f"cannot write overlay images to {folder}: {e}") from e
    for p in paths:
        report(f"wrote {p}")
    return paths


def head_size_line(tracks, stats) -> str:
    """Where the baked head's size came from (bake.head_size), and what the irises read where they did not size it."""
    from bake.head_size import size_report
    head = size_report(tracks, stats)
    source = {"eye distance": "as given", "irises": "read from the irises"}.get(head["from"], "the network's reading")
    if head["from"] == "network" and head["iris_eye_distance_mm"] is not None:
        source += f"; the irises read {head['iris_eye_distance_mm']:.0f} mm (--head-size irises)"
    return f"head: eye distance {head['eye_distance_mm']:.0f} mm, {source}"


def make_calibration(ns: argparse.Namespace, take):
    """The calibration the arguments ask for (None: none), its neutral read from ``take``."""
    from bake.calibrate import Calibration, parse_gains
    if not (ns.calibration or ns.gain or ns.offset or ns.neutral_frame is not None):
        return None
    base = Calibration.load(ns.calibration) if ns.calibration else Calibration()
    rg, sg = parse_gains(ns.gain, "gain")
    ro, so = parse_gains(ns.offset, "offset")
    from dataclasses import replace
    c = replace(base, region_gain={**base.region_gain, **rg}, shape_gain={**base.shape_gain, **sg},
                region_offset={**base.region_offset, **ro}, shape_offset={**base.shape_offset, **so})
    if ns.neutral_frame is not None:
        frame = None if ns.neutral_frame == "auto" else ns.neutral_frame
        if frame is not None and not take.frames.min() <= frame <= take.frames.max():
            raise BadArguments(f"--neutral-frame {frame:g} is outside the take's frames "
                               f"{take.frames.min():g}..{take.frames.max():g}")
        c = c.with_neutral(take.weights, take.names, take.frames, frame)
    return c


def retarget_into_file(ns: argparse.Namespace, take, mapping, calibration, exclude=None, report=print):
    """Drive the --targets meshes (default: every mesh with ARKit-named keys) of the open character file."""
    from bake.blender_io import retarget as blender_retarget
    targets = [n.strip() for n in ns.targets.split(",") if n.strip()]
    meshes, head_obj, bone = blender_retarget.find_targets(targets, ns.head_target, mapping, exclude)
    eyes = tuple(b.strip() for b in ns.eye_bones.split(",")) if ns.eye_bones else ("", "")
    result = blender_retarget.retarget(take, meshes, mapping=mapping, calibration=calibration,
                                       head_object=head_obj, head_bone=bone, name=ns.name, eye_bones=eyes)
    for line in result.lines + result.warnings:
        report(f"retarget: {line}")
    return result


class StderrProgress:
    """The pipeline's progress callback ``(fraction, message)``: 'message  42.0%' lines on stderr, at most every
    0.5 s (and always the last one)."""

    def __init__(self, quiet=False):
        self.quiet, self.last = quiet, 0.0

    def __call__(self, fraction: float, message: str) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if now - self.last < 0.5 and fraction < 1.0:
            return
        self.last = now
        print("  " + format_progress(fraction, message), file=sys.stderr, flush=True)


def format_progress(fraction: float, message: str) -> str:
    return f"{message} {100 * fraction:5.1f}%"


# ---------------------------------------------------------------- the one entry point
def run(argv=None) -> int:
    """Parse ``argv`` (list, default: script_argv()) and run the whole path; returns the exit code."""
    t0 = time.perf_counter()
    try:
        ns = parse_args(script_argv() if argv is None else list(argv))
    except BadArguments as e:
        print(f"face capture: error: {e}", file=sys.stderr)
        return e.exit_code
    say = (lambda *a: None) if ns.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    try:
        outputs = outputs_from(ns)
        check_outputs(outputs)
        if not Path(ns.input).exists():
            raise FootageError(f"input {ns.input} does not exist (give a video file, image folder or image)")
        if importlib.util.find_spec("bpy") is None:
            raise BadArguments("the bpy module is not installed: pip install bpy, or run inside "
                               "blender -b --python bake/cli.py -- ...")
        say(f"face capture: {ns.input}")
        from bake import blender_io, pipeline
        from bake.fit_report import fit_text
        from bake.retarget import load_mapping, take_from_tracks
        mapping = load_mapping(ns.mapping) if ns.mapping else None
        if ns.retarget is not None and not Path(ns.retarget).is_file():
            raise BadArguments(f"--retarget {ns.retarget} is not a .blend file")
        tracks = coll = None
        if is_csv_input(ns):
            from bake.export_csv import read_csv
            take = read_csv(ns.input, fps=ns.fps)
            say(f"read {len(take.frames)} frames of {len(take.names)} ARKit shapes at {take.fps:g} fps")
        else:
            tracks, stats = pipeline.reconstruct(make_config(ns), progress=StderrProgress(ns.quiet))
            say(f"tracked {stats.frames_tracked}/{stats.frames_total} frames, bridged {stats.frames_bridged}, "
                f"{stats.seconds:.1f} s")
            say(f"landmark fit: {fit_text(stats)}")
            say(head_size_line(tracks, stats))
            if stats.camera_degrees is not None:
                say(f"camera: turns up to {stats.camera_degrees:.1f} degrees, read off the background "
                    "(on the exported camera; the head keeps its own motion)")
            for w in stats.warnings:
                say(f"warning: {w}")
            take = take_from_tracks(tracks)
        calibration = make_calibration(ns, take)
        if ns.retarget is not None:
            blender_io.open_blend(ns.retarget)
        else:
            blender_io.reset_scene()
        if tracks is not None:
            coll = blender_io.build_scene(tracks, name=ns.name, camera=not ns.no_camera, background=True,
                                          head_motion=ns.head_motion)
        if calibration is not None:
            say(f"calibration: {calibration.to_json()}")
            if tracks is not None:
                from dataclasses import replace

                from bake.blender_io.retarget import set_calibration
                set_calibration(coll.objects[f"{ns.name}_Head"].data.shape_keys, calibration)
                tracks = replace(tracks, weights=calibration.apply(tracks.weights, tracks.key_names).astype("f4"))
        export_set = coll
        if ns.retarget is not None:
            result = retarget_into_file(ns, take, mapping, calibration, exclude=coll, report=say)
            export_set = result.objects        # FBX/glTF/USD: the driven character, not our head
        if calibration is not None:
            from dataclasses import replace
            take = replace(take, weights=calibration.apply(take.weights, take.names))
        write_outputs(tracks, coll, outputs, report=say, take=take, texture_size=ns.texture_size,
                      export_set=export_set)
    except BaseException as e:          # noqa: BLE001 -- every failure becomes a message and an exit code
        code = exit_code(e)
        if code == EXIT_CANCELLED:
            print("face capture: cancelled", file=sys.stderr)
        elif not isinstance(e, FaceCaptureError):
            log.exception("unexpected error")
            print(f"face capture: unexpected error: {type(e).__name__}: {e}", file=sys.stderr)
        else:
            print(f"face capture: error: {e}", file=sys.stderr)
        return code
    say(f"done in {time.perf_counter() - t0:.1f} s")
    return EXIT_OK


def log_to_stderr() -> None:
    """Warnings and errors of any logger on stderr. The handler itself holds the level: a library's logger that sets
    its own level to INFO (Blender's glTF exporter does, on every export) passes its records up to this handler
    whatever the root logger's level is, and its INFO lines are not ours to print."""
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", handlers=[handler])


def main() -> None:
    log_to_stderr()
    sys.exit(run())


if __name__ == "__main__":
    main()
