"""dvc.yaml lists, for each stage, every module its stage script imports (directly or not): a change to any of
them must rerun the stage, or `dvc repro` would keep results the code no longer gives."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# read and check the inputs, whose every value comes from params.yaml (which DVC tracks key by key): editing them
# (a help text, a clearer error) changes no result, so they need not rerun the pipeline
INTERFACE = {"pipeline/params.py", "pipeline/errors.py", "stages/common.py"}


def local_imports(path: Path) -> set[str]:
    """Files of this repository that `path` imports (pipeline.* and stages.* modules)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            candidate = ROOT / (name.replace(".", "/") + ".py")
            if name.split(".")[0] in ("pipeline", "stages") and candidate.is_file():
                found.add(str(candidate.relative_to(ROOT)))
    return found


def closure(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(local_imports(ROOT / current))
    return seen - {"pipeline/__init__.py", "stages/__init__.py"} - INTERFACE


def test_every_stage_depends_on_the_modules_it_runs():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    missing = {name: sorted(closure(f"stages/{name}.py") - set(stage["deps"])) for name, stage in stages.items()}
    assert not any(missing.values()), f"dvc.yaml stages lack deps: {missing}"
