"""Checkpoints as plain data: tensors, numbers, strings, lists and dicts, loadable with weights_only=True."""

from __future__ import annotations

import pickle
import re
import sys
import warnings
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
    """A checkpoint's plain data, loaded without running anything it holds; an InputError says what a file that is
    not one of ours is instead."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"checkpoint '{path}' is a folder; pass a checkpoint file (.pt)")
    if not path.is_file():
        raise InputError(f"checkpoint '{path}' does not exist; run `pipeline train` first or pass --checkpoint")
    if path.stat().st_size == 0:
        raise InputError(f"checkpoint '{path}' is empty (0 bytes): a copy or a save that did not finish")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols of foreign files
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:  # weights_only met something other than plain data
        found = re.search(r"GLOBAL (\S+)|Unsupported operand \d+", str(err))
        raise InputError(
            f"checkpoint '{path}' holds code or objects that our checkpoints never contain"
            + (f" ({found[1] or found[0]})" if found else "")
            + "; it was refused without running any of it"
        ) from None
    except Exception as err:  # a damaged or foreign file
        reason = " ".join(f"{type(err).__name__}: {err}".split()).split(". ")[0][:160]
        raise InputError(f"checkpoint '{path}' is damaged or not a torch checkpoint ({reason})") from None
    if not isinstance(data, dict) or "format" not in data:
        raise InputError(f"checkpoint '{path}' was not written by `pipeline train` (no format entry)")
    if data["format"] != FORMAT:
        raise InputError(f"checkpoint '{path}' has format {data['format']!r}; this version reads format {FORMAT}")
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
