"""Reading a gameplay file: opened with its format version checked, its episode table and attributes."""

from __future__ import annotations

from pathlib import Path

import h5py

from pipeline.config.errors import InputError
from pipeline.data.schema import EPISODE_COLUMNS, FORMAT_VERSION, EpisodeTable


def open_gameplay(path: Path) -> h5py.File:
    """Open a gameplay file read-only, or raise InputError saying why it cannot be read by this version."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"dataset '{path}' does not exist; run `pipeline record` first")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise InputError(f"dataset '{path}' is not a readable HDF5 file ({err})") from None
    version = f.attrs.get("format_version")
    if version != FORMAT_VERSION:
        f.close()
        found = "no format_version attribute" if version is None else f"format_version {version}"
        raise InputError(
            f"dataset '{path}' has {found}; this version of the pipeline reads gameplay format "
            f"{FORMAT_VERSION} (re-record it with `pipeline record`)"
        )
    return f


def read_episodes(f: h5py.File) -> EpisodeTable:
    """The episode table, byte-string columns decoded to str."""
    group = f["episodes"]
    return EpisodeTable(
        {c.name: group[c.name][:].astype(str) if c.dtype.startswith("S") else group[c.name][:] for c in EPISODE_COLUMNS}
    )


def action_meanings(f: h5py.File) -> list[str]:
    return [str(m) for m in f.attrs["action_meanings"]]
