"""Build the Blender extension zips: one per platform, validated with Blender's own extension tooling.

    python build.py [--platforms linux-x64,windows-x64,macos-arm64,macos-x64] [--python 3.11,3.13] [--offline]

Steps:
  1. assemble build/face_capture/: the add-on (blender_addon/*.py at the root), the runtime ``core`` (never
     core/train), ``bake``, the head asset and the model weights (core/assets/*.onnx when present), the manifest;
  2. download binary wheels (``pip download --only-binary=:all: --no-deps``) per platform and Python version
     into build/wheels-cache/<platform>-py<ver>/ (``--offline`` uses only that cache); numpy is not bundled
     (Blender ships it); onnxruntime needs nothing but numpy for inference (checked in a clean venv: flatbuffers,
     packaging, protobuf, sympy, coloredlogs are not imported);
  3. write the ``wheels``/``platforms`` lists into the BUILD copy of blender_manifest.toml (the committed one is
     never rewritten);
  4. ``blender_ext.py build --split-platforms`` (the CLI inside the bpy package; or ``--blender-ext PATH``), then
     ``validate`` each zip, then check that no training code or torch went in.
Output: dist/face_capture-<version>-<platform>.zip
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
EXT_ID = "face_capture"

# Wheels bundled with the extension (pinned to the versions the test suite runs with). numpy: Blender's own.
REQUIREMENTS = ("onnxruntime==1.31.1", "opencv-python-headless==4.11.0.86", "scipy==1.17.1")
# Where a platform's newest wheels do not exist: onnxruntime stopped publishing macOS x86_64 after 1.23.2.
PLATFORM_PINS = {"macos-x64": {"onnxruntime": "onnxruntime==1.23.2"}}

# Blender platform -> pip --platform tags (pip also accepts older manylinux/macOS versions than the first one).
PLATFORMS = {
    "linux-x64": ("manylinux_2_28_x86_64", "manylinux2014_x86_64"),
    "windows-x64": ("win_amd64",),
    "macos-arm64": ("macosx_14_0_arm64",),
    "macos-x64": ("macosx_13_0_x86_64",),
}
PYTHONS = ("3.11", "3.13")       # Blender 4.2-5.0 ship 3.11, 5.1 ships 3.13
FORBIDDEN = re.compile(r"(^|/)(train|torch)(/|$)|torch|\.pt$|\.pth$")


def log(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


def blender_ext_cli() -> Path:
    import importlib.util
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("build.py needs the bpy module (pip install bpy) or --blender-ext PATH/TO/blender_ext.py")
    base = Path(list(spec.submodule_search_locations)[0])
    found = sorted(base.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise SystemExit(f"blender_ext.py not found inside {base}")
    return found[-1]


# ---------------------------------------------------------------- 1. assemble
def _ignore(dirpath, names):
    return [n for n in names if n == "__pycache__" or n.endswith((".pyc", ".partial"))
            or (Path(dirpath).name == "core" and n == "train")]


def assemble(build_dir: Path) -> Path:
    src = build_dir / EXT_ID
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for f in sorted((ROOT / "blender_addon").glob("*.py")):
        shutil.copy2(f, src / f.name)
    shutil.copytree(ROOT / "bake", src / "bake", ignore=_ignore)
    shutil.copytree(ROOT / "core", src / "core", ignore=lambda d, n: _ignore(d, n) + [
        x for x in n if Path(d).name == "assets" and not x.endswith((".npz", ".onnx", ".png", ".json"))])
    for extra in ("LICENSE", "README.md"):
        if (ROOT / extra).is_file():
            shutil.copy2(ROOT / extra, src / extra)
    shutil.copy2(ROOT / "blender_manifest.toml", src / "blender_manifest.toml")
    onnx = sorted((src / "core" / "assets").glob("*.onnx"))
    log(f"assembled {src} (model weights: {', '.join(p.name for p in onnx) or 'none yet'})")
    return src


# ---------------------------------------------------------------- 2. wheels
def download_wheels(cache: Path, platform: str, py: str, offline: bool) -> list[Path]:
    """Wheels for one Blender platform and Python version (cached; [] when a package publishes none)."""
    d = cache / f"{platform}-py{py}"
    d.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps", "--python-version", py,
           "--implementation", "cp", "-d", str(d), "--disable-pip-version-check", "-q"]
    for tag in PLATFORMS[platform]:
        cmd += ["--platform", tag]
    if offline:
        cmd += ["--no-index", "--find-links", str(d)]
    wheels = []
    for req in REQUIREMENTS:
        req = PLATFORM_PINS.get(platform, {}).get(re.split(r"[=<>!~]", req)[0], req)
        r = subprocess.run(cmd + [req], capture_output=True, text=True)
        name = re.split(r"[=<>!~]", req)[0].replace("-", "_").lower()
        got = [w for w in d.glob("*.whl") if w.name.lower().startswith(name + "-")
               and req.split("==")[-1] in w.name]
        if r.returncode != 0 or not got:
            log(f"  {platform} py{py}: no wheel for {req} ({'not in cache' if offline else 'not published'})")
            return []
        wheels.extend(got)
    return sorted(set(wheels))


def bundle_wheels(src: Path, cache: Path, platforms, pythons, offline: bool) -> tuple[list[str], list[str]]:
    wdir = src / "wheels"
    wdir.mkdir(exist_ok=True)
    names, plats = [], []
    for plat in platforms:
        got = {py: download_wheels(cache, plat, py, offline) for py in pythons}
        if not got.get(pythons[0]):
            log(f"  skipping {plat}: no complete wheel set for Python {pythons[0]}")
            continue
        plats.append(plat)
        for py, wheels in got.items():
            if not wheels:
                log(f"  {plat}: no wheels for Python {py} (Blender versions with that Python unsupported)")
            for w in wheels:
                shutil.copy2(w, wdir / w.name)
                names.append(f"./wheels/{w.name}")
        log(f"  {plat}: {sum(len(w) for w in got.values())} wheels")
    return sorted(set(names)), plats


# ---------------------------------------------------------------- 3. manifest
def write_manifest(src: Path, wheels: list[str], platforms: list[str]) -> None:
    path = src / "blender_manifest.toml"
    text = path.read_text()
    text = re.sub(r"^platforms\s*=.*$", "platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]", text,
                  flags=re.M)
    block = "wheels = [\n" + "".join(f'  "{w}",\n' for w in wheels) + "]\n"
    text = text.replace("[permissions]", block + "\n[permissions]", 1)
    path.write_text(text)


# ---------------------------------------------------------------- 4. build + validate + check
def build_zips(ext_cli: Path, src: Path, dist: Path) -> list[Path]:
    dist.mkdir(parents=True, exist_ok=True)
    for old in dist.glob(f"{EXT_ID}-*.zip"):
        old.unlink()
    r = subprocess.run([sys.executable, str(ext_cli), "build", "--source-dir", str(src), "--output-dir", str(dist),
                        "--split-platforms"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"extension build failed:\n{r.stdout}\n{r.stderr}")
    zips = sorted(dist.glob(f"{EXT_ID}-*.zip"))
    for z in zips:
        v = subprocess.run([sys.executable, str(ext_cli), "validate", str(z)], capture_output=True, text=True)
        if v.returncode != 0:
            raise SystemExit(f"validation of {z} failed:\n{v.stdout}\n{v.stderr}")
        check_zip(z)
        log(f"built and validated {z.name} ({z.stat().st_size / 1e6:.1f} MB)")
    return zips


def check_zip(z: Path) -> None:
    """No training code, no torch; the add-on, core, bake, head asset and manifest are present."""
    with zipfile.ZipFile(z) as zf:
        names = zf.namelist()
    bad = [n for n in names if FORBIDDEN.search(n.lower())]
    assert not bad, f"{z.name} contains training code or torch: {bad[:5]}"
    for need in ("__init__.py", "operators.py", "blender_manifest.toml", "core/head_model.py",
                 "core/assets/head_model.npz", "bake/blender_io.py", "bake/cli.py"):
        assert need in names, f"{z.name} lacks {need}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--platforms", default=",".join(PLATFORMS), help="comma-separated Blender platforms")
    ap.add_argument("--python", default=",".join(PYTHONS), help="comma-separated Python versions")
    ap.add_argument("--offline", action="store_true", help="use only build/wheels-cache")
    ap.add_argument("--build-dir", type=Path, default=ROOT / "build")
    ap.add_argument("--cache", type=Path, default=ROOT / "build" / "wheels-cache", help="wheel cache folder")
    ap.add_argument("--dist", type=Path, default=ROOT / "dist")
    ap.add_argument("--blender-ext", type=Path, default=None, help="path to blender_ext.py (default: from bpy)")
    a = ap.parse_args(argv)
    platforms = [p.strip() for p in a.platforms.split(",") if p.strip()]
    unknown = [p for p in platforms if p not in PLATFORMS]
    if unknown:
        ap.error(f"unknown platforms {unknown}; choose from {list(PLATFORMS)}")
    pythons = tuple(p.strip() for p in a.python.split(",") if p.strip())
    ext_cli = a.blender_ext or blender_ext_cli()
    src = assemble(a.build_dir)
    wheels, plats = bundle_wheels(src, a.cache, platforms, pythons, a.offline)
    if not plats:
        log("no platform has its wheels (offline without a cache?)")
        return 1
    write_manifest(src, wheels, plats)
    zips = build_zips(ext_cli, src, a.dist)
    print("\n".join(str(z) for z in zips))
    return 0


if __name__ == "__main__":
    sys.exit(main())
