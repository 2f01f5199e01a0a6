"""Checkpoints as plain data: tensors, numbers, strings, lists and dicts, loadable with weights_only=True."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import torch

from pipeline.config.errors import InputError
from pipeline.core.atomic import atomic_path
from pipeline.core.versions import library_versions

FORMAT = 1
_PERIODIC = re.compile(r"step_(\d+)\.pt$")


def canonical(value: Any) -> Any:
    """The same data in fresh containers with every string interned. Pickle writes an object seen before as a
    reference to it, so equal data built by different routes (a resumed run's strings come from a loaded file,
    an uninterrupted run's are shared with its modules) would give different bytes; this makes the bytes a
    function of the data alone."""
    if isinstance(value, dict):
        return {canonical(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, tuple):
        return tuple(canonical(v) for v in value)
    if isinstance(value, str):
        return sys.intern(value)
    return value


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically (an interrupted save leaves the previous file, never a truncated one) and canonically (the
    same data, the same bytes)."""
    with atomic_path(Path(path)) as tmp:
        torch.save(canonical({"format": FORMAT, "versions": library_versions(), **payload}), tmp)


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
        raise InputError(
            f"checkpoint '{path}' has format {data.get('format') if isinstance(data, dict) else None!r}; "
            f"this version reads format {FORMAT}"
        )
    return data


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
