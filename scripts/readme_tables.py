"""Regenerate the README's tables from the code that declares them: the params table (pipeline.config.params) and
the dataset format tables (pipeline.data.schema). Each sits between its begin and end markers in README.md.

    python scripts/readme_tables.py            # rewrite the tables in README.md
    python scripts/readme_tables.py --check    # exit 1 if any table in README.md differs
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from pipeline.config.params import SECTIONS, Params, field_docs
from pipeline.data.schema import format_tables

ROOT = Path(__file__).resolve().parent.parent


def params_table(defaults_file: Path) -> str:
    in_file = yaml.safe_load(defaults_file.read_text())
    lines = ["| key | library default | params.yaml | allowed | meaning |", "|---|---|---|---|---|"]
    seed = next(row for row in field_docs(Params) if row[0] == "seed")
    lines.append(f"| `seed` | `{seed[2]}` | `{in_file.get('seed')}` | {seed[3]} | {seed[4]} |")
    for section, cls in SECTIONS.items():
        for name, _kind, default, allowed, help_text in field_docs(cls):
            value = in_file.get(section, {}).get(name, default)
            lines.append(f"| `{section}.{name}` | `{default}` | `{value}` | {allowed} | {help_text} |")
    return "\n".join(lines)


TABLES = {"params-table": lambda: params_table(ROOT / "params.yaml"), "format-table": format_tables}


def replaced(readme: str, name: str, body: str) -> str:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    head, rest = readme.split(begin, 1)
    return head + begin + "\n" + body + "\n" + end + rest.split(end, 1)[1]


def main() -> int:
    path = ROOT / "README.md"
    readme = path.read_text()
    current = readme
    for name, make in TABLES.items():
        current = replaced(current, name, make())
    if "--check" in sys.argv:
        return 0 if current == readme else 1
    path.write_text(current)
    return 0


if __name__ == "__main__":
    sys.exit(main())
