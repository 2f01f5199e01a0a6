"""Rewrite each dvc.yaml stage's code deps as the modules its command imports (tests/project/test_imports.py checks
that they match), keeping its data deps first.

    python scripts/dvc_deps.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.project.test_imports import stage_code  # noqa: E402  (the rule lives with its test)


def main() -> None:
    path = ROOT / "dvc.yaml"
    text = path.read_text()
    for name, stage in yaml.safe_load(text)["stages"].items():
        data = [d for d in stage["deps"] if not d.endswith(".py")]
        start = text.index("    deps:\n", text.index(f"\n  {name}:\n")) + len("    deps:\n")
        end = text.index("    params:", start)
        text = text[:start] + "".join(f"      - {d}\n" for d in data + stage_code(name)) + text[end:]
    path.write_text(text)


if __name__ == "__main__":
    main()
