"""Checkpoints as plain data: tensors, numbers, strings, lists and dicts, loadable with weights_only=True."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import ale_py
import gymnasium
import numpy as np
import torch

import pipeline
from pipeline.atomic import atomic_path
from pipeline.errors import InputError

FORMAT = 1
_PERIODIC = re.compile(r"step_(\d+)\.pt$")


def library_versions() -> dict[str, str]:
    return {"pipeline": pipeline.__version__, "torch": str(torch.__version__),
            "gymnasium": gymnasium.__version__, "ale_py": ale_py.__version__, "numpy": np.__version__}


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically: an interrupted save leaves the previous file, never a truncated one."""
    with atomic_path(Path(path)) as tmp:
        torch.save({"format": FORMAT, "versions": library_versions(), **payload}, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint '{path}' does not exist; run `pipeline train` first or pass --checkpoint")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a foreign, corrupt or code-carrying file
        reason = str(err).strip().splitlines()[-1][:200]
        raise InputError(f"checkpoint '{path}' does not load with weights_only=True ({reason})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"checkpoint '{path}' has format {data.get('format') if isinstance(data, dict) else None!r}; this version reads format {FORMAT}")
    return data


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes: ties a dataset to the exact checkpoint that played it."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def periodic_path(folder: Path, step: int) -> Path:
    return Path(folder) / f"step_{step:010d}.pt"


def periodic_checkpoints(folder: Path) -> list[Path]:
    """Periodic checkpoints in a folder, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _PERIODIC.search(p.name))]
    return [p for _, p in sorted(found)]


def prune_checkpoints(folder: Path, keep: int) -> None:
    for old in periodic_checkpoints(folder)[:-keep]:
        old.unlink()
