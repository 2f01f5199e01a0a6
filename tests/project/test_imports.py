"""The import graph: layers import only downward, no cycles, the loader needs no emulator, and dvc.yaml lists for
each stage exactly the modules its command runs (a change to any of them must rerun the stage, and a change to any
other must not)."""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT

# pipeline's layers, lowest first: a package may import from its own package and from lower layers only
LAYERS = (
    ("config",),
    ("core",),
    ("data",),
    ("envs", "replay"),
    ("rl",),
    ("play",),
    ("train",),
    ("evaluate", "record", "export"),
    ("dataset.py",),  # the public API for downstream users
)
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}
# read and check the inputs, whose every value comes from params.yaml (which DVC tracks key by key) or the command
# line, or check and report on the outputs and the machine before and after a run: editing them (a help text, a
# clearer error) changes no result, so they need not rerun the pipeline
INTERFACE = {
    "pipeline/__init__.py",
    "pipeline/config/params.py",
    "pipeline/config/errors.py",
    "pipeline/config/layout.py",
    "pipeline/config/spec.py",
    "pipeline/core/faults.py",
    "pipeline/core/outputs.py",
    "pipeline/train/preflight.py",
    "stages/common.py",
}
# run only when a stage is asked for a backend other than the one dvc.yaml's commands use (`--backend ray`); their
# results equal the local backend's (tested), so editing them need not rerun a stage
OPTIONAL_BACKENDS = {"pipeline/play/ray_pool.py"}


def module_file(name: str) -> str | None:
    """The repository file a dotted module name refers to (a module or a package's __init__), if it is ours."""
    for candidate in (ROOT / (name.replace(".", "/") + ".py"), ROOT / name.replace(".", "/") / "__init__.py"):
        if name.split(".")[0] in ("pipeline", "stages") and candidate.is_file():
            return str(candidate.relative_to(ROOT))
    return None


def has_code(init: str) -> bool:
    """Whether a package's __init__.py does more than document the package."""
    body = ast.parse((ROOT / init).read_text()).body
    return any(not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in body)


@cache
def local_imports(path: str) -> frozenset[str]:
    """Files of this repository that `path` imports anywhere in it (function bodies too), with the __init__.py of
    every package on the way when it holds code (importing a submodule runs it)."""
    found = set()
    for node in ast.walk(ast.parse((ROOT / path).read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                file = module_file(".".join(parts[:i]))
                if file and (i == len(parts) or not file.endswith("__init__.py") or has_code(file)):
                    found.add(file)
    return frozenset(found - {path})


def closure(start: str, leave_out: frozenset[str] = frozenset()) -> set[str]:
    """`start` and every file it imports, directly or not, but `leave_out` and what only they import."""
    seen, todo = set(), [start]
    while todo:
        current = todo.pop()
        if current not in seen and current not in leave_out:
            seen.add(current)
            todo.extend(local_imports(current))
    return seen


def package_of(path: str) -> str:
    """pipeline/<package>/... -> <package>; pipeline/<module>.py -> <module>.py"""
    return Path(path).parts[1]


def library_files() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pipeline").rglob("*.py"))


def test_every_library_file_belongs_to_a_layer():
    unplaced = {f for f in library_files() if f != "pipeline/__init__.py" and package_of(f) not in LAYER_OF}
    assert not unplaced, f"add these to a layer in LAYERS: {sorted(unplaced)}"


def test_layers_import_only_downward():
    upward = []
    for path in library_files():
        if path == "pipeline/__init__.py":
            continue
        mine = package_of(path)
        for imported in local_imports(path):
            if imported.startswith("stages/"):
                upward.append(f"{path} -> {imported} (the library never imports the commands)")
            elif imported != "pipeline/__init__.py":
                theirs = package_of(imported)
                if theirs != mine and LAYER_OF[theirs] >= LAYER_OF[mine]:
                    upward.append(f"{path} -> {imported}")
    assert not upward, "imports that do not point down:\n" + "\n".join(upward)


def ancestor_inits(path: str) -> set[str]:
    """The __init__.py of each package that holds `path`: Python runs them before it, never in a cycle with it."""
    parts = Path(path).parts
    return {str(Path(*parts[:i], "__init__.py")) for i in range(1, len(parts))}


def test_no_import_cycles():
    graph = {path: local_imports(path) - ancestor_inits(path) for path in library_files()}
    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(node) :] + [node]))
        if node in done:
            return
        for imported in graph.get(node, ()):
            visit(imported, stack + [node])
        done.add(node)

    for node in graph:
        visit(node, [])


def test_the_loader_imports_without_gymnasium_or_ale_py():
    code = (
        "import sys, pipeline.dataset; bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('gymnasium', 'ale_py', 'cv2', 'dvclive', 'matplotlib')); print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"importing pipeline.dataset pulls in {done.stdout.strip()} {done.stderr[-300:]}"


def stage_code(name: str) -> list[str]:
    """The code files a dvc.yaml stage depends on: what its command runs under dvc repro, but the interface."""
    return sorted(closure(f"stages/{name}.py", frozenset(OPTIONAL_BACKENDS)) - INTERFACE)


def test_every_stage_depends_on_exactly_the_modules_it_runs():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        declared = sorted(d for d in stage["deps"] if d.endswith(".py"))
        assert declared == stage_code(name), f"dvc.yaml stage {name}: run python scripts/dvc_deps.py"


@pytest.mark.slow
def test_ray_is_imported_only_when_its_backend_is_asked_for():
    code = (
        "import sys, stages.cli, pipeline.record.run, pipeline.evaluate.run, pipeline.play.backends as b; b.Backend(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'stable_baselines3')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr[-300:]
