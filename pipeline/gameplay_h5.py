"""The gameplay HDF5 format (version 1): its layout in one place, a streaming writer and a checked reader.

The layout note below is also written into every file (attribute `layout`), for readers without the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pipeline.errors import InputError
from pipeline.playing import Row

FORMAT_VERSION = 1
FRAME_SHAPE = (210, 160, 3)
AGENT_KINDS = ("random", "trained")
FLUSH_ROWS = 256  # rows buffered in memory before they are written (bounded memory for 27,000-step episodes)

LAYOUT_NOTE = """\
Flat, step-aligned row arrays over all episodes, plus an episode table (group `episodes`, one dataset per column).
An episode of T agent steps occupies the T + 1 consecutive rows first_row .. first_row + T:
  row t (0 <= t <= T): frames[t], observations[t], lives[t] describe the state s_t the agent saw;
  row t (0 <= t <  T): actions[t], rewards[t], terminated[t], truncated[t] describe the step s_t -> s_t+1;
  row T: the final state, with actions -1, rewards 0, terminated and truncated False.
Every transition (o_t, a_t, r_t, o_t+1) is rows t and t + 1 of one episode; row T - 1 has terminated or truncated set.
"""

# name: (dtype, meaning); the README's format table is this dict
ROW_DATASETS: dict[str, tuple[str, str]] = {
    "frames": ("uint8", "native RGB screen, (N, 210, 160, 3), one frame per chunk"),
    "observations": ("uint8", "the agent's grayscale observation, (N, S, S), S = attribute screen_size; one per chunk"),
    "actions": ("int16", "action taken at this row (index into attribute action_meanings); -1 on each final row"),
    "rewards": ("float32", "raw (unclipped) reward of this row's step; 0 on each final row"),
    "terminated": ("bool", "this row's step ended the game (game over)"),
    "truncated": ("bool", "this row's step hit the frame cap (env.max_episode_frames) or record.max_episode_steps"),
    "lives": ("uint8", "lives left in this row's state"),
}
EPISODE_COLUMNS: dict[str, tuple[str, str]] = {
    "id": ("int32", "episode id, 0 .. E-1, in recording order (the k of videos and PNG folders)"),
    "first_row": ("int64", "row of the episode's first state"),
    "length": ("int32", "agent steps T; the episode has T + 1 rows"),
    "return": ("float64", "sum of the episode's raw rewards"),
    "agent": ("S7", "who played: 'random' or 'trained' (ASCII)"),
    "seed": ("int64", "environment reset seed and action-RNG seed, derive_seed(seed, 'record-episode', id)"),
    "checkpoint_hash": ("S64", "SHA-256 of the checkpoint that played (ASCII hex); empty for random episodes"),
}


@dataclass(frozen=True)
class EpisodeTable:
    id: np.ndarray
    first_row: np.ndarray
    length: np.ndarray
    returns: np.ndarray
    agent: np.ndarray  # str
    seed: np.ndarray
    checkpoint_hash: np.ndarray  # str

    def __len__(self) -> int:
        return len(self.id)


def _row_values(row: Row) -> dict[str, Any]:
    return {"frames": row.frame, "observations": row.observation, "actions": row.action, "rewards": row.reward,
            "terminated": row.terminated, "truncated": row.truncated, "lives": row.lives}


class GameplayWriter:
    """Writes a new gameplay file episode by episode, streaming rows so memory stays bounded.

    `attrs` (numbers, strings, lists of strings) become the file attributes; the episode table is written on
    close. Timestamps are off, so the same inputs give the same bytes (and the split's dataset hash is stable).
    """

    def __init__(self, path: Path, *, screen_size: int, compression: str, attrs: dict[str, Any]):
        self.file = h5py.File(path, "w")
        shapes = {"frames": FRAME_SHAPE, "observations": (screen_size, screen_size)}
        level = 1 if compression == "gzip" else None
        for name, (dtype, meaning) in ROW_DATASETS.items():
            shape = shapes.get(name, ())
            chunks = (1, *shape) if shape else (4096,)
            ds = self.file.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape), dtype=dtype, chunks=chunks,
                                          compression=compression, compression_opts=level, track_times=False)
            ds.attrs["meaning"] = meaning
        for key, value in {**attrs, "format_version": FORMAT_VERSION}.items():
            self.file.attrs[key] = value
        self.rows, self.episode_start, self.episode_return = 0, 0, 0.0
        self.episodes: list[dict[str, Any]] = []
        self.pending: list[Row] = []

    def add(self, row: Row) -> None:
        self.pending.append(row)
        self.episode_return += row.reward
        if len(self.pending) >= FLUSH_ROWS:
            self._flush()

    def end_episode(self, episode_id: int, agent: str, seed: int, checkpoint_hash: str) -> dict[str, Any]:
        """Close the episode whose rows were just added (its final state included); returns its table row."""
        self._flush()
        entry = {"id": episode_id, "first_row": self.episode_start, "length": self.rows - self.episode_start - 1,
                 "return": self.episode_return, "agent": agent, "seed": seed, "checkpoint_hash": checkpoint_hash}
        self.episodes.append(entry)
        self.episode_start, self.episode_return = self.rows, 0.0
        return entry

    def append(self, path: Path) -> list[dict[str, Any]]:
        """Append every episode of another gameplay file written with the same settings (a worker's shard);
        returns their table rows. Frames and observations are one per chunk, so their compressed chunks are copied
        as they are: 11x faster than decompressing and compressing them again (23,000 against 2,100 rows/s of
        Ms. Pac-Man)."""
        self._flush()
        with h5py.File(path, "r") as source:
            rows = len(source["actions"])
            for name in ROW_DATASETS:
                _append_rows(source[name], self.file[name], self.rows)
            table = read_episodes(source)
        entries = [{"id": int(table.id[i]), "first_row": self.rows + int(table.first_row[i]),
                    "length": int(table.length[i]), "return": float(table.returns[i]), "agent": str(table.agent[i]),
                    "seed": int(table.seed[i]), "checkpoint_hash": str(table.checkpoint_hash[i])}
                   for i in range(len(table))]
        self.episodes += entries
        self.rows += rows
        self.episode_start = self.rows
        return entries

    def _flush(self) -> None:
        if not self.pending:
            return
        end = self.rows + len(self.pending)
        columns = [_row_values(r) for r in self.pending]
        for name, (dtype, _) in ROW_DATASETS.items():
            ds = self.file[name]
            ds.resize(end, axis=0)
            ds[self.rows:end] = np.asarray([c[name] for c in columns], dtype=dtype)
        self.rows, self.pending = end, []

    def close(self) -> None:
        self._flush()
        group = self.file.create_group("episodes")
        for name, (dtype, meaning) in EPISODE_COLUMNS.items():
            values = np.asarray([e[name] for e in self.episodes], dtype=dtype)
            group.create_dataset(name, data=values, dtype=dtype, track_times=False).attrs["meaning"] = meaning
        self.file.close()

    def __enter__(self) -> GameplayWriter:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()
        else:
            self.file.close()


def _storage(d: h5py.Dataset) -> tuple:
    return d.dtype, d.chunks, d.compression, d.compression_opts


def _append_rows(source: h5py.Dataset, target: h5py.Dataset, start: int) -> None:
    if _storage(source) != _storage(target):  # a raw chunk would be read back as garbage
        raise ValueError(f"cannot append '{source.name}' stored as {_storage(source)} to {_storage(target)}")
    target.resize(start + len(source), axis=0)
    if source.chunks[0] != 1:
        target[start:] = source[:]
        return
    inside = (0,) * (source.ndim - 1)
    for i in range(len(source)):
        mask, chunk = source.id.read_direct_chunk((i, *inside))
        target.id.write_direct_chunk((start + i, *inside), chunk, mask)


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
        raise InputError(f"dataset '{path}' has {found}; this version of the pipeline reads gameplay format "
                         f"{FORMAT_VERSION} (re-record it with `pipeline record`)")
    return f


def read_episodes(f: h5py.File) -> EpisodeTable:
    g = f["episodes"]
    return EpisodeTable(g["id"][:], g["first_row"][:], g["length"][:], g["return"][:],
                        g["agent"][:].astype(str), g["seed"][:], g["checkpoint_hash"][:].astype(str))


def action_meanings(f: h5py.File) -> list[str]:
    return [str(m) for m in f.attrs["action_meanings"]]
