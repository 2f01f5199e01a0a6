"""Reading a gameplay file: opened with its format version, compression and layout checked, its episode table,
attributes and the rows of one episode."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Iterator

import h5py
import numpy as np

from pipeline.config.errors import InputError
from pipeline.data.codecs import ensure_readable
from pipeline.data.schema import (
    ACTIONS,
    AGENT_OUTPUT_FIELDS,
    EPISODE_COLUMNS,
    FORMAT_VERSION,
    HIDDEN,
    ROW_FIELDS,
    SCREEN,
    EpisodeTable,
)

VERIFY_ROWS = 256  # rows read at a time when every chunk of a file is checked


def open_gameplay(path: Path) -> h5py.File:
    """Open a gameplay file read-only, or raise InputError saying why it cannot be read by this version (or
    without a plugin its compression needs)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"dataset '{path}' is a folder; pass the gameplay file (.h5)")
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
        with damage_reported(path):
            check_layout(f)
    except InputError:
        f.close()
        raise
    return f


def check_layout(f: h5py.File) -> None:
    """Every row dataset and episode column is there with its type and shape, and the episodes lie inside the rows:
    a file that claims the format but does not hold it is refused here, not deep in a reader."""
    screen = f.attrs.get("screen_size")
    meanings = f.attrs.get("action_meanings")
    features = f.get("features")
    sizes = {
        SCREEN: int(screen) if screen is not None else -1,  # -1: whatever size the observations have
        ACTIONS: len(meanings) if meanings is not None else 0,
        HIDDEN: features.shape[-1] if isinstance(features, h5py.Dataset) and features.ndim == 2 else 0,
    }
    outputs = [field for field in AGENT_OUTPUT_FIELDS if field.name in f]
    if outputs and len(outputs) != len(AGENT_OUTPUT_FIELDS):
        missing = ", ".join(repr(x.name) for x in AGENT_OUTPUT_FIELDS if x not in outputs)
        raise InputError(f"has agent outputs without {missing}")
    rows = None
    for field in (*ROW_FIELDS, *outputs):
        ds = f.get(field.name)
        if not isinstance(ds, h5py.Dataset):
            raise InputError(f"has no '{field.name}' dataset")
        expected = field.row_shape(sizes if sizes[SCREEN] >= 0 else {**sizes, SCREEN: ds.shape[-1]})
        if ds.dtype != np.dtype(field.dtype) or ds.shape[1:] != expected:
            raise InputError(
                f"'{field.name}' holds {ds.dtype} rows of shape {ds.shape[1:]}; expected {field.dtype} {expected}"
            )
        if rows is not None and len(ds) != rows:
            raise InputError(f"'{field.name}' has {len(ds)} rows, the other datasets {rows}")
        rows = len(ds)
    group = f.get("episodes")
    if not isinstance(group, h5py.Group):
        raise InputError("has no 'episodes' table")
    for column in EPISODE_COLUMNS:
        if not isinstance(group.get(column.name), h5py.Dataset) or group[column.name].ndim != 1:
            raise InputError(f"has no 'episodes/{column.name}' column")
    if len({len(group[c.name]) for c in EPISODE_COLUMNS}) != 1:
        raise InputError("the columns of its episode table have different lengths")
    table = read_episodes(f)
    ends = table["first_row"].astype(np.int64) + table["length"].astype(np.int64) + 1
    if len(table) and (table["first_row"].min() < 0 or table["length"].min() < 0 or ends.max() > rows):
        raise InputError(f"its episode table points outside its {rows} rows")


@contextlib.contextmanager
def damage_reported(path: Path) -> Iterator[None]:
    """A file whose structure or chunks cannot be read becomes one InputError naming it (HDF5 reports a damaged chunk
    as an OSError without an errno)."""
    try:
        yield
    except InputError as err:
        raise InputError(f"dataset '{path}' is not a valid gameplay file: {err}") from None
    except (OSError, KeyError, ValueError) as err:
        if isinstance(err, OSError) and err.errno is not None:
            raise
        raise InputError(f"dataset '{path}' is damaged: {' '.join(str(err).split())[:200]}") from None


def verify_chunks(f: h5py.File, path: Path) -> None:
    """Read every row of every dataset once, so a damaged chunk is found now rather than by a reader later."""
    with damage_reported(path):
        for field in (*ROW_FIELDS, *(x for x in AGENT_OUTPUT_FIELDS if x.name in f)):
            ds = f[field.name]
            for start in range(0, len(ds), VERIFY_ROWS):
                ds[start : start + VERIFY_ROWS]


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
