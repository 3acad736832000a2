"""Build the Blender extension zips: one per platform, validated with Blender's own extension tooling.

    python build.py [--platforms linux-x64,windows-x64,macos-arm64,macos-x64] [--python 3.11,3.13] [--offline]

Steps:
  1. assemble build/face_capture/: the add-on (blender_addon/*.py at the root), the runtime ``core``, ``bake``
     (without the repository entry points in ``NOT_SHIPPED``; development code lives in the top-level ``DEVELOPMENT``
     packages, which are never copied and which nothing shipped may import), the head asset and the runtime
     networks (core/assets/*.onnx but the training exports the runtime does not load: it loads ``Preset.runtime``,
     the CPU preset's int8 form of its export), the manifest; then **vendor**: in the repository
     ``core`` and ``bake`` are top-level packages imported absolutely (``from core.errors import ...``); in the
     extension they are subpackages of the add-on, so every such import is rewritten to a relative one
     (``from ..core.errors import ...``), found with ``ast`` and ``tokenize`` (never by pattern matching). An import
     that cannot be rewritten, a dynamic import of a vendored name, or a package-relative import that resolves to
     nothing in the assembled tree fails the build. Inside Blender the code then loads as
     ``bl_ext.<repo>.face_capture.{core,bake,operators,...}``: no ``sys.path`` edits, no top-level modules;
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
import ast
import io
import re
import shutil
import subprocess
import sys
import tokenize
import zipfile
from pathlib import Path, PurePosixPath

from core.presets import DEFAULT_PRESET, PRESETS

ROOT = Path(__file__).resolve().parent
EXT_ID = "face_capture"


def _runtime_requirements() -> tuple[str, ...]:
    """The exact pins of requirements/runtime.txt (the one list of what ships; the tests install the same versions
    through requirements/lock.txt); numpy is Blender's own and not bundled."""
    reqs = []
    for line in (ROOT / "requirements" / "runtime.txt").read_text().splitlines():
        req = line.split("#")[0].strip()
        if req and not req.startswith("numpy"):
            if "==" not in req:
                raise SystemExit(f"requirements/runtime.txt: {req!r} must be pinned with == (it ships as a wheel)")
            reqs.append(req)
    return tuple(reqs)


# Wheels bundled with the extension. numpy: Blender's own.
REQUIREMENTS = _runtime_requirements()
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
FORBIDDEN = re.compile(r"(^|/)(train|training|tools|benchmarks|torch)(/|$)|torch|\.pt$|\.pth$")
VENDORED = ("core", "bake")      # repository packages that become subpackages of the extension
NOT_SHIPPED = frozenset({
    "bake/cli.py", "bake/batch.py", "bake/chunked.py", "bake/demo.py",   # repository entry points (bake.cli,
    # bake.batch, bake.chunked, run.sh demo)
}) | {f"core/assets/{p.weights}" for p in PRESETS.values() if p.weights != p.runtime}   # exports the runtime does
# not load (it loads Preset.runtime)
SHIPPED_MODEL = f"core/assets/{PRESETS[DEFAULT_PRESET].runtime}"    # the network a bake uses when none is named
DEVELOPMENT = ("training", "tools", "benchmarks")   # top-level development packages: never shipped, never imported


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
    rel = Path(dirpath).relative_to(ROOT).as_posix()
    return [n for n in names if n == "__pycache__" or n.endswith((".pyc", ".partial"))
            or f"{rel}/{n}" in NOT_SHIPPED
            or (Path(dirpath).name == "assets" and Path(dirpath, n).is_file()
                and not n.endswith((".npz", ".onnx", ".png", ".json")))]


def assemble(build_dir: Path) -> Path:
    """Copy what ships into ``build_dir/face_capture`` and vendor ``core``/``bake`` into it (see ``vendor``)."""
    src = build_dir / EXT_ID
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for f in sorted((ROOT / "blender_addon").glob("*.py")):
        shutil.copy2(f, src / f.name)
    for pkg in VENDORED:
        shutil.copytree(ROOT / pkg, src / pkg, ignore=_ignore)
    for extra in ("LICENSE", "README.md"):
        if (ROOT / extra).is_file():
            shutil.copy2(ROOT / extra, src / extra)
    shutil.copy2(ROOT / "blender_manifest.toml", src / "blender_manifest.toml")
    n = vendor(src)
    onnx = sorted((src / "core" / "assets").glob("*.onnx"))
    log(f"assembled {src}: {n} imports made relative (model weights: {', '.join(p.name for p in onnx) or 'none yet'})")
    return src


# ---------------------------------------------------------------- 1b. vendoring: absolute -> relative imports
class VendorError(Exception):
    """An import in the extension's code that the build cannot make package-relative."""


def _offsets(source: str) -> list[int]:
    """Character offset of the start of each line (1-based line numbers index it directly)."""
    starts, pos = [0, 0], 0
    for line in source.splitlines(keepends=True):
        pos += len(line)
        starts.append(pos)
    return starts


def _char_offset(source_lines: list[str], starts: list[int], lineno: int, byte_col: int) -> int:
    """ast positions count UTF-8 bytes within the line; string slicing counts characters."""
    line = source_lines[lineno - 1] if lineno - 1 < len(source_lines) else ""
    return starts[lineno] + len(line.encode("utf-8")[:byte_col].decode("utf-8"))


def relativize(source: str, rel_path: str, packages=VENDORED) -> tuple[str, int]:
    """``source`` of the file at ``rel_path`` (inside the extension folder) with every absolute import of
    ``packages`` made relative; returns (new source, number of imports rewritten). Raises VendorError on an import
    it cannot rewrite: ``import core.x`` (binds the top-level name ``core``), ``import core.x as y, os`` (several
    modules in one statement), and dynamic imports (``importlib.import_module("core.x")``, ``__import__``)."""
    tree = ast.parse(source, rel_path)
    dots = "." * (len(PurePosixPath(rel_path).parent.parts) + 1)     # up to the extension package
    lines = source.splitlines(keepends=True)
    starts = _offsets(source)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    by_pos = {t.start: i for i, t in enumerate(tokens)}

    def ours(name: str | None) -> bool:
        return bool(name) and name.split(".")[0] in packages

    def where(node) -> str:
        return f"{rel_path}:{node.lineno}"

    edits = []     # (start, end, text) in character offsets
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and ours(node.module):
            start = _char_offset(lines, starts, node.lineno, node.col_offset)
            line_col = (node.lineno, start - starts[node.lineno])
            i = by_pos.get(line_col)
            if i is None or tokens[i].string != "from":
                raise VendorError(f"{where(node)}: cannot find the 'from' keyword of this import")
            j = i + 1
            while j < len(tokens) and not (tokens[j].type == tokenize.NAME and tokens[j].string == "import"):
                j += 1
            mod = [t for t in tokens[i + 1:j] if t.type in (tokenize.NAME, tokenize.OP)]
            if j >= len(tokens) or "".join(t.string for t in mod) != node.module:
                raise VendorError(f"{where(node)}: cannot locate the module name {node.module!r} in the source")
            a = starts[mod[0].start[0]] + mod[0].start[1]
            b = starts[mod[-1].end[0]] + mod[-1].end[1]
            edits.append((a, b, dots + node.module))
        elif isinstance(node, ast.Import) and any(ours(a.name) for a in node.names):
            if len(node.names) != 1:
                raise VendorError(f"{where(node)}: cannot rewrite an import of several modules in one statement "
                                  f"({', '.join(a.name for a in node.names)}); import each on its own line")
            alias = node.names[0]
            parent, _, last = alias.name.rpartition(".")
            if parent and alias.asname is None:
                raise VendorError(f"{where(node)}: `import {alias.name}` binds the top-level name "
                                  f"{alias.name.split('.')[0]!r}; write `from {parent} import {last}`")
            text = f"from {dots}{parent} import {last}" + (f" as {alias.asname}" if alias.asname else "")
            a = _char_offset(lines, starts, node.lineno, node.col_offset)
            b = _char_offset(lines, starts, node.end_lineno, node.end_col_offset)
            edits.append((a, b, text))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and ours(node.args[0].value):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name in ("import_module", "__import__", "find_spec"):
                raise VendorError(f"{where(node)}: dynamic import of {node.args[0].value!r} cannot be vendored; "
                                  f"import it with an import statement")
    out = source
    for a, b, text in sorted(edits, reverse=True):
        out = out[:a] + text + out[b:]
    return out, len(edits)


def _module_exists(root: Path, parts: list[str]) -> bool:
    p = root.joinpath(*parts) if parts else root
    return (p / "__init__.py").is_file() or p.with_suffix(".py").is_file()


def check_imports(src: Path, packages=VENDORED) -> None:
    """Every import of the assembled extension is package-relative where it refers to our code, and every
    relative import resolves to a module inside the extension folder (a module left out of the zip fails here)."""
    for f in sorted(src.rglob("*.py")):
        rel = f.relative_to(src).as_posix()
        pkg = list(PurePosixPath(rel).parent.parts)
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"), rel)):
            if isinstance(node, ast.Import):
                top = [a.name for a in node.names if a.name.split(".")[0] in packages]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                top = [node.module] if node.module and node.module.split(".")[0] in packages else []
            else:
                top = []
            if top:
                raise VendorError(f"{rel}:{node.lineno}: absolute import of {top[0]} left in the extension")
            if isinstance(node, ast.ImportFrom) and node.level:
                if node.level - 1 > len(pkg):
                    raise VendorError(f"{rel}:{node.lineno}: relative import climbs above the extension package")
                base = pkg[:len(pkg) - (node.level - 1)]
                target = base + (node.module.split(".") if node.module else [])
                if not _module_exists(src, target):
                    raise VendorError(f"{rel}:{node.lineno}: imports {'.'.join(target) or '(the add-on)'}, which "
                                      f"is not in the extension (left out, or not a module)")


def vendor(src: Path, packages=VENDORED) -> int:
    """Rewrite the absolute imports of ``packages`` in every .py file under ``src`` (the assembled extension
    folder) to package-relative ones, then check the result (``check_imports``). Returns the number rewritten."""
    total = 0
    for f in sorted(src.rglob("*.py")):
        rel = f.relative_to(src).as_posix()
        text = f.read_text(encoding="utf-8")
        new, n = relativize(text, rel, packages)
        if n:
            compile(new, rel, "exec")
            f.write_text(new, encoding="utf-8")
            total += n
    check_imports(src, packages)
    return total


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


def bundle_wheels(src: Path, cache: Path, platforms, pythons, offline: bool,
                  strict: bool = False) -> tuple[list[str], list[str]]:
    """Copy each platform's wheels into ``src/wheels``; returns (manifest wheel paths, platforms built). A platform
    without a complete set for the first Python is skipped; with ``strict`` any missing set is fatal."""
    wdir = src / "wheels"
    wdir.mkdir(exist_ok=True)
    names, plats = [], []
    for plat in platforms:
        got = {py: download_wheels(cache, plat, py, offline) for py in pythons}
        missing = [py for py, w in got.items() if not w]
        if strict and missing:
            raise SystemExit(f"[build] {plat}: no complete wheel set for Python {', '.join(missing)} "
                             f"({'not in the cache ' + str(cache) if offline else 'not published'}; --strict)")
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
    """No training code, no torch, no repository entry points or training exports; the add-on, core, bake, head
    asset, default network and manifest are present; no Python file imports ``core``/``bake`` absolutely or touches
    ``sys.path``."""
    with zipfile.ZipFile(z) as zf:
        names = zf.namelist()
        sources = {n: zf.read(n).decode("utf-8") for n in names if n.endswith(".py")}
    bad = [n for n in names if FORBIDDEN.search(n.lower())]
    assert not bad, f"{z.name} contains training code or torch: {bad[:5]}"
    left = sorted(NOT_SHIPPED & set(names))
    assert not left, f"{z.name} contains repository-only files: {left}"
    for need in ("__init__.py", "operators.py", "blender_manifest.toml", "core/head_model.py",
                 "core/assets/head_model.npz", SHIPPED_MODEL, "bake/blender_io/__init__.py", "bake/pipeline.py"):
        assert need in names, f"{z.name} lacks {need}"
    for n, text in sources.items():
        for node in ast.walk(ast.parse(text, n)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            assert not [m for m in mods if m.split(".")[0] in VENDORED], f"{z.name}: {n} imports {mods} absolutely"
            assert not [m for m in mods if m.split(".")[0] in DEVELOPMENT], \
                f"{z.name}: {n} imports development code {mods}"
            assert not (isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name)
                        and node.value.id == "sys"), f"{z.name}: {n} touches sys.path"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--platforms", default=",".join(PLATFORMS), help="comma-separated Blender platforms")
    ap.add_argument("--python", default=",".join(PYTHONS), help="comma-separated Python versions")
    ap.add_argument("--offline", action="store_true", help="use only build/wheels-cache")
    ap.add_argument("--strict", action="store_true",
                    help="fail unless every platform has its wheels for every Python version")
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
    wheels, plats = bundle_wheels(src, a.cache, platforms, pythons, a.offline, a.strict)
    if not plats:
        log("no platform has its wheels (offline without a cache?)")
        return 1
    write_manifest(src, wheels, plats)
    zips = build_zips(ext_cli, src, a.dist)
    print("\n".join(str(z) for z in zips))
    return 0


if __name__ == "__main__":
    sys.exit(main())
