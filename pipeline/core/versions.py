"""What produced an output: the versions of the libraries that shape results, and the code's git commit."""

from __future__ import annotations

import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pipeline

# distribution name -> the key it is recorded under
LIBRARIES = {"torch": "torch", "gymnasium": "gymnasium", "ale-py": "ale_py", "numpy": "numpy"}


def library_versions() -> dict[str, str]:
    """This package's version and those of the libraries whose versions change results (read from the installed
    metadata, so nothing heavy is imported)."""
    found = {"pipeline": pipeline.__version__}
    for dist, key in LIBRARIES.items():
        try:
            found[key] = version(dist)
        except PackageNotFoundError:
            found[key] = "not installed"
    return found


def git_commit() -> str:
    """The commit of the code that ran, "-dirty" if tracked files differ from it; "unknown" outside git."""
    here = Path(pipeline.__file__).parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=here, capture_output=True).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty else "")
