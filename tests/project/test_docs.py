"""The README's tables are generated from the code that declares them (params, dataset format); they must match."""

import subprocess
import sys

from tests.helpers import ROOT


def test_readme_tables_are_current():
    done = subprocess.run([sys.executable, "scripts/readme_tables.py", "--check"], cwd=ROOT)
    assert done.returncode == 0, "README tables are stale: run python scripts/readme_tables.py"


def test_readme_quick_start_names_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert "./dev.sh repro" in readme and "./dev.sh test" in readme
    assert "./dev.sh test" in (ROOT / ".ci/run").read_text()
