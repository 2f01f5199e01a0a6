"""Reading a gameplay file: opened with its format version and compression checked, its episode table, attributes
and the rows of one episode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pipeline.config.errors import InputError
from pipeline.data.codecs import ensure_readable
from pipeline.data.schema import EPISODE_COLUMNS, FORMAT_VERSION, ROW_FIELDS, EpisodeTable


def open_gameplay(path: Path) -> h5py.File:
    """Open a gameplay file read-only, or raise InputError saying why it cannot be read by this version (or
    without a plugin its compression needs)."""
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
    try:
        ensure_readable(f, path)
    except InputError:
        f.close()
        raise
    return f


def read_episodes(f: h5py.File) -> EpisodeTable:
    """The episode table, byte-string columns decoded to str."""
    group = f["episodes"]
    return EpisodeTable(
        {c.name: group[c.name][:].astype(str) if c.dtype.startswith("S") else group[c.name][:] for c in EPISODE_COLUMNS}
    )


def action_meanings(f: h5py.File) -> list[str]:
    return [str(m) for m in f.attrs["action_meanings"]]


def read_env_recipe(f: h5py.File) -> dict[str, Any]:
    """The environment recipe (pipeline.envs.recipe): how to rebuild the env and replay an episode."""
    return json.loads(f.attrs["env_recipe"])


def episode_position(table: EpisodeTable, episode: int) -> int:
    """The table position of episode id `episode`, or an InputError naming the ids there are."""
    if isinstance(episode, bool) or not isinstance(episode, (int, np.integer)):
        raise InputError(f"episode = {episode!r} ({type(episode).__name__}): must be an integer episode id")
    found = np.flatnonzero(table["id"] == episode)
    if not len(found):
        ids = table["id"]
        raise InputError(f"episode = {episode}: the dataset has episode ids {ids.min()} .. {ids.max()}")
    return int(found[0])


def read_episode(f: h5py.File, episode: int) -> dict[str, np.ndarray]:
    """The T + 1 rows of episode id `episode`, one array per row field (the same dict replay_episode returns)."""
    table = read_episodes(f)
    i = episode_position(table, episode)
    rows = slice(int(table["first_row"][i]), int(table["first_row"][i] + table["length"][i] + 1))
    return {field.name: f[field.name][rows] for field in ROW_FIELDS}
