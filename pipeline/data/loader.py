"""The loader downstream models use: windows of consecutive steps from a recorded gameplay file, as tensors.

    from pipeline.dataset import GameplayDataset
    ds = GameplayDataset("data/gameplay.h5", split="train", window=2, keys=("observations", "actions", "dones"))
    loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True, num_workers=2)

Item i is a dict of tensors, each with a leading window axis (also for window 1): rows r .. r + window - 1 of
one episode (see pipeline.data.schema.LAYOUT_NOTE: row t holds state t and the step taken from it; an episode's last
row is its final state, with action -1). A window never crosses an episode boundary. The HDF5 file is opened
lazily in each process that reads, so the dataset is safe to hand to DataLoader workers (fork or spawn).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from pipeline.config.errors import InputError
from pipeline.data.reader import damage_reported, open_gameplay, read_episodes
from pipeline.data.schema import ROW_DATASETS, EpisodeTable
from pipeline.data.splits import load_split_ids, splits_beside

DERIVED_KEYS = ("dones",)  # terminated | truncated
KEYS = (*ROW_DATASETS, *DERIVED_KEYS)


def episode_selection(table: EpisodeTable, split: str | None, split_ids: dict[str, list[int]] | None) -> np.ndarray:
    """Positions in the episode table of the episodes in `split` (all of them for None)."""
    if split is None:
        return np.arange(len(table))
    if split not in split_ids:
        raise InputError(f"split {split!r} is not in the split index; it has {', '.join(sorted(split_ids))}")
    wanted = np.asarray(split_ids[split], dtype=np.int64)
    missing = np.setdiff1d(wanted, table["id"])
    if len(missing):
        raise InputError(
            f"split {split!r} names episodes {missing[:5].tolist()} that the dataset does not have; "
            "run `pipeline split` again"
        )
    return np.flatnonzero(np.isin(table["id"], wanted))


def window_starts(first_rows: np.ndarray, lengths: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(start row, episode position) of every window of `window` rows inside an episode of `lengths` steps
    (lengths + 1 rows); an episode shorter than the window gives none."""
    counts = np.maximum(lengths.astype(np.int64) + 2 - window, 0)
    owner = np.repeat(np.arange(len(counts)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return first_rows.astype(np.int64)[owner] + offsets, owner


def check_arguments(path, split, window, keys, splits_path) -> None:
    """The constructor's arguments, each checked for its type and value: a wrong one is an InputError naming it."""
    for name, value in (("path", path), ("splits_path", splits_path)):
        if not isinstance(value, (str, os.PathLike)) and not (name == "splits_path" and value is None):
            raise InputError(f"{name} = {value!r}: must be a file path (str or Path)")
    if split is not None and not isinstance(split, str):
        raise InputError(f"split = {split!r}: must be a split name such as 'train' or 'val', or None for all episodes")
    if not isinstance(window, (int, np.integer)) or isinstance(window, bool) or window < 1:
        raise InputError(f"window = {window!r}: must be an integer >= 1")
    if isinstance(keys, str) or not isinstance(keys, Sequence) or not keys or any(k not in KEYS for k in keys):
        raise InputError(f"keys = {keys!r}: each must be one of {', '.join(KEYS)} (a list of one or more)")


class GameplayDataset(Dataset):
    """Windows of `window` consecutive rows of one split (None: every episode), as a dict of tensors per `keys`:
    frames (w, 210, 160, 3) uint8, observations (w, S, S) uint8, actions (w,) int64, rewards (w,) float32,
    terminated / truncated / dones (w,) bool, lives (w,) uint8."""

    def __init__(
        self,
        path: Path,
        split: str | None = None,
        window: int = 1,
        keys: Sequence[str] = ("frames", "actions", "rewards", "dones"),
        splits_path: Path | None = None,
    ):
        check_arguments(path, split, window, keys, splits_path)
        self.path = Path(path)
        with open_gameplay(self.path) as f, damage_reported(self.path):
            self.table = read_episodes(f)
        split_ids = None
        if split is not None:
            split_ids = load_split_ids(splits_path or splits_beside(self.path), self.path)
        self.episodes = episode_selection(self.table, split, split_ids)
        chosen = self.episodes
        self.starts, owner = window_starts(self.table["first_row"][chosen], self.table["length"][chosen], window)
        self.owner = self.episodes[owner]
        self.split, self.window, self.keys = split, window, tuple(keys)
        self._arrays: dict[str, h5py.Dataset] = {}
        self._pid = -1

    def __len__(self) -> int:
        return len(self.starts)

    def locate(self, i: int) -> tuple[int, int]:
        """(episode id, step within that episode) of window i's first row."""
        pos = self.owner[i]
        return int(self.table["id"][pos]), int(self.starts[i] - self.table["first_row"][pos])

    def _open(self) -> dict[str, h5py.Dataset]:
        """This process's handles on the row arrays, opened on first use (a handle from before a fork is never reused;
        looking the arrays up once per process, not per item, also saves a third of a small read)."""
        if self._pid != os.getpid():
            f = h5py.File(self.path, "r")
            self._arrays, self._pid = {name: f[name] for name in ROW_DATASETS}, os.getpid()
        return self._arrays

    def _read(self, arrays: dict[str, h5py.Dataset], key: str, rows: slice) -> torch.Tensor:
        if key == "dones":
            return torch.from_numpy(arrays["terminated"][rows] | arrays["truncated"][rows])
        values = arrays[key][rows]
        return torch.from_numpy(values.astype(np.int64) if key == "actions" else values)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"window {i} out of range for {len(self)} windows")
        start = int(self.starts[i])
        rows = slice(start, start + self.window)
        with damage_reported(self.path):
            arrays = self._open()
            return {key: self._read(arrays, key, rows) for key in self.keys}

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_arrays": {}, "_pid": -1}
