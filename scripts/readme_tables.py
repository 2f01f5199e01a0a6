"""Regenerate the README's tables from the code that declares them: the params table (pipeline.config.params) and
the dataset format tables (pipeline.data.schema). Each sits between its begin and end markers in README.md.

    python scripts/readme_tables.py            # rewrite the tables in README.md
    python scripts/readme_tables.py --check    # exit 1 if any table in README.md differs
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import yaml

from pipeline.config.params import REQUIRED, SECTIONS, Params, element_class, field_docs
from pipeline.data.schema import format_tables

ROOT = Path(__file__).resolve().parent.parent


def params_table(defaults_file: Path) -> str:
    in_file = yaml.safe_load(defaults_file.read_text())
    lines = ["| key | library default | params.yaml | allowed | meaning |", "|---|---|---|---|---|"]
    seed = next(row for row in field_docs(Params) if row[0] == "seed")
    lines.append(f"| `seed` | `{seed[2]}` | `{in_file.get('seed')}` | {seed[3]} | {seed[4]} |")
    for section, cls in SECTIONS.items():
        for name, kind, default, allowed, help_text in field_docs(cls):
            value = in_file.get(section, {}).get(name, default)
            entries = element_class(kind)
            if entries is not None and dataclasses.is_dataclass(entries):  # a list of mappings: names, then keys
                value = ", ".join(str(entry.get("name")) for entry in value) or "[]"
            lines.append(f"| `{section}.{name}` | `{listed(default)}` | `{listed(value)}` | {allowed} | {help_text} |")
            if entries is not None and dataclasses.is_dataclass(entries):
                for key, _kind, key_default, key_allowed, key_help in field_docs(entries):
                    shown = "required" if key_default is REQUIRED else f"`{key_default}`"
                    lines.append(f"| `{section}.{name}[].{key}` | {shown} | | {key_allowed} | {key_help} |")
    return "\n".join(lines)


def listed(value):
    """A list param as YAML writes it ([10000, 50000], not a tuple)."""
    return list(value) if isinstance(value, tuple) else value


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
