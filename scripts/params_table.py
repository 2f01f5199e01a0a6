"""Print the README's params table from the params dataclasses (the one place keys are declared).

    python scripts/params_table.py            # print the table
    python scripts/params_table.py --check    # exit 1 if README.md's table differs
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from pipeline.params import SECTIONS, Params, field_docs

BEGIN, END = "<!-- params-table:begin -->", "<!-- params-table:end -->"


def table(defaults_file: Path) -> str:
    in_file = yaml.safe_load(defaults_file.read_text())
    lines = ["| key | library default | params.yaml | allowed | meaning |", "|---|---|---|---|---|"]
    seed = next(row for row in field_docs(Params) if row[0] == "seed")
    lines.append(f"| `seed` | `{seed[2]}` | `{in_file.get('seed')}` | {seed[3]} | {seed[4]} |")
    for section, cls in SECTIONS.items():
        for name, _kind, default, allowed, help_text in field_docs(cls):
            value = in_file.get(section, {}).get(name, default)
            lines.append(f"| `{section}.{name}` | `{default}` | `{value}` | {allowed} | {help_text} |")
    return "\n".join(lines)


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    text = table(root / "params.yaml")
    if "--check" not in sys.argv:
        print(text)
        return 0
    readme = (root / "README.md").read_text()
    current = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    return 0 if current == text else 1


if __name__ == "__main__":
    sys.exit(main())
