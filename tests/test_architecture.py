"""The layering rules of the project, checked on the source (AST), not by convention."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLENDER_SIDE = "bake/blender_io/"      # the package of bake's bpy modules


def _imports(path: Path, top_level_only: bool):
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def _files(*folders):
    for folder in folders:
        for p in sorted((ROOT / folder).rglob("*.py")):
            yield p, p.relative_to(ROOT).as_posix()


def test_no_bpy_outside_the_blender_side():
    bad = [rel for p, rel in _files("core", "bake") if not rel.startswith(BLENDER_SIDE)
           and {"bpy", "bmesh", "mathutils"} & set(_imports(p, False))]
    assert not bad, f"bpy imported outside blender_addon/ and the Blender side of bake: {bad}"


def test_torch_only_in_training_code():
    bad = [rel for p, rel in _files("core", "bake", "blender_addon") if "torch" in set(_imports(p, False))]
    assert not bad, f"torch imported by runtime code: {bad}"


def test_runtime_packages_import_no_development_code():
    """What ships (core, bake minus its repository entry points, blender_addon) imports nothing of the development
    packages (training/, tools/, benchmarks/), anywhere in a module (function-level imports included), and holds no
    development code itself (the layout says what ships)."""
    import build
    assert set(build.DEVELOPMENT) >= {"training", "tools", "benchmarks"}
    bad = [rel for p, rel in _files("core", "bake", "blender_addon") if rel not in build.NOT_SHIPPED
           and set(build.DEVELOPMENT) & set(_imports(p, False))]
    bad += [rel for p, rel in _files("core", "bake", "blender_addon")
            for node in ast.walk(ast.parse(p.read_text())) if isinstance(node, ast.ImportFrom) and node.level
            and node.module and node.module.split(".")[0] in ("train", "eval", "groundtruth")]
    assert not bad, f"runtime code imports development code: {bad}"
    assert not (ROOT / "core" / "train").exists() and not (ROOT / "core" / "eval.py").exists()
    assert not (ROOT / "bake" / "groundtruth.py").exists()


# each requirement of requirements/runtime.txt (the wheels build.py ships) -> the module it provides
RUNTIME_MODULES = {"onnxruntime": "onnxruntime", "opencv-python-headless": "cv2"}


def test_shipped_code_imports_only_what_ships():
    """What ships imports the standard library, numpy (Blender's own), Blender's modules, its own packages and the
    wheels of requirements/runtime.txt, anywhere in a module; nothing else. scipy in particular is a development and
    test dependency only: bake/numerics.py does what the bake used it for (docs/MEASUREMENTS.md)."""
    import sys

    import build
    shipped = {r.split("==")[0] for r in build.REQUIREMENTS}
    assert shipped == set(RUNTIME_MODULES), f"requirements/runtime.txt changed: update RUNTIME_MODULES ({shipped})"
    assert "scipy" not in shipped
    allowed = set(sys.stdlib_module_names) | {"numpy", "bpy", "bmesh", "mathutils", "core", "bake"} \
        | set(RUNTIME_MODULES.values())
    bad = sorted(f"{rel}: {m}" for p, rel in _files("core", "bake", "blender_addon") if rel not in build.NOT_SHIPPED
                 for m in set(_imports(p, False)) - allowed)
    assert not bad, f"shipped code imports what the extension does not ship: {bad}"


def test_data_flows_one_way():
    """core never imports bake or blender_addon; bake never imports blender_addon."""
    bad = [rel for p, rel in _files("core") if {"bake", "blender_addon"} & set(_imports(p, False))]
    bad += [rel for p, rel in _files("bake") if "blender_addon" in set(_imports(p, False))]
    assert not bad, bad


def test_the_addon_calls_the_pipeline_not_the_cli():
    """The add-on and the CLI are two entry points over bake.pipeline; neither depends on the other."""
    bad = []
    for p, rel in _files("blender_addon"):
        for node in ast.walk(ast.parse(p.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [f"{node.module}.{a.name}" for a in node.names] if isinstance(node, ast.ImportFrom) and node.module \
                else []
            bad += [f"{rel}: {n}" for n in names if n.startswith("bake.cli") or n.startswith("bake.demo")]
    assert not bad, bad


def test_no_sys_path_edits_in_shipped_code():
    """The extension loads inside its own package: nothing that ships touches sys.path (bake/cli.py, a repository
    entry point that build.py leaves out, may when run as a script; so may bake/batch.py)."""
    bad = []
    for p, rel in _files("core", "bake", "blender_addon"):
        if rel in ("bake/cli.py", "bake/batch.py"):
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name) \
                    and node.value.id == "sys":
                bad.append(rel)
    assert not bad, bad


def _project_imports(path: Path) -> set[str]:
    """The project files (relative paths) that ``path`` imports anywhere in it: package-relative and absolute imports
    of the project's packages, and, in benchmarks/ (scripts run with their folder on the path), its sibling modules
    by their bare names."""
    rel = path.relative_to(ROOT)
    package = rel.parent
    roots = ([], list(package.parts)) if package.parts[:1] == ("benchmarks",) else ([],)

    def module_file(parts: list[str]) -> str | None:
        cands = (Path(*parts).with_suffix(".py"), Path(*parts) / "__init__.py") if parts else ()
        return next((c.as_posix() for c in cands if (ROOT / c).is_file()), None)

    def found(parts: list[str]) -> str | None:
        return next((f for f in map(module_file, (r + parts for r in roots)) if f), None)   # absolute, or a sibling

    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {found(a.name.split(".")) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = list(package.parts[:len(package.parts) - (node.level - 1)]) if node.level else []
            mod = base + (node.module.split(".") if node.module else [])
            out |= {found(mod + [a.name]) or found(mod) for a in node.names}    # a module of the package, or a name
    return out - {None, rel.as_posix()}                                           # in the module (or __init__.py)


def test_no_module_imports_one_that_imports_it_back():
    """No circle of imports among the project's modules, function-level imports included: data and calls flow one
    way, as the layout reads."""
    graph = {rel: _project_imports(p) for p, rel in _files("core", "bake", "blender_addon", "training", "tools",
                                                            "benchmarks")}
    circles, index, low, stack, on = [], {}, {}, [], set()

    def visit(v):                                       # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                circles.append(sorted(part))

    for v in graph:
        if v not in index:
            visit(v)
    assert not circles, f"modules that import each other: {circles}"
