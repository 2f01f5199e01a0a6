"""The README's params table is generated from the params dataclasses; it must match them."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_params_table_is_current():
    done = subprocess.run([sys.executable, "scripts/params_table.py", "--check"], cwd=ROOT)
    assert done.returncode == 0, "README params table is stale: run python scripts/params_table.py and paste it"


def test_readme_quick_start_names_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert "./dev.sh repro" in readme and "./dev.sh test" in readme
    assert "./dev.sh test" in (ROOT / ".ci/run").read_text()
