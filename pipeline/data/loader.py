"""The loader downstream models use: windows of consecutive steps from a recorded gameplay file, as tensors.

    import torch
    from pipeline.dataset import GameplayDataset
    ds = GameplayDataset("data/gameplay.h5", split="train", window=2, keys=("observations", "actions", "dones"))
    loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True, num_workers=2)
    nn_embedding = torch.nn.Embedding(ds.num_actions, 64)

Item i is a dict of tensors, each with a leading window axis (also for window 1): rows r .. r + window - 1 of
one episode (see pipeline.data.schema.LAYOUT_NOTE: row t holds state t and the step taken from it; an episode's last
row is its final state, with action -1). A window never crosses an episode boundary. The HDF5 file is opened
lazily in each process that reads, so the dataset is safe to hand to DataLoader workers (fork or spawn).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from pipeline.config.errors import InputError
from pipeline.data.chunks import ChunkedRows
from pipeline.data.reader import action_meanings, damage_reported, open_gameplay, read_env_recipe, read_episodes
from pipeline.data.schema import AGENT_OUTPUT_FIELDS, NO_ACTION, ROW_DATASETS, EpisodeTable
from pipeline.data.splits import load_split_ids, splits_beside

# computed per row rather than stored: dones = terminated | truncated; the episode id, the row's step t in its
# episode, whether it is the episode's first row, and whether it is padding before the episode (pad_start)
DERIVED_KEYS = ("dones", "episode", "step", "is_first", "padding")
KEYS = (*ROW_DATASETS, *DERIVED_KEYS)
DEFAULT_KEYS = ("frames", "actions", "rewards", "dones", "episode", "step", "is_first")
EMULATOR_HZ = 60  # Atari frames per second of game time


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


def of_sources(table: EpisodeTable, sources: Sequence[str]) -> list[str]:
    """The source names asked for, each checked to be one of the dataset's."""
    known = list(dict.fromkeys(table["source"]))
    if isinstance(sources, str) or not all(name in known for name in sources):
        raise InputError(f"sources = {sources!r}: must be a list of the dataset's sources ({', '.join(known)})")
    return list(sources)


def window_starts(
    first_rows: np.ndarray, rows: np.ndarray, window: int, pad_start: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(start row, episode position) of every window of `window` rows among the first `rows` rows of each episode.
    Without padding an episode with fewer rows gives none; with pad_start a window ends at each of its rows, and
    starts up to window - 1 rows before the episode's first."""
    rows = rows.astype(np.int64)
    counts = rows if pad_start else np.maximum(rows + 1 - window, 0)
    owner = np.repeat(np.arange(len(counts)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return first_rows.astype(np.int64)[owner] + offsets - (window - 1 if pad_start else 0), owner


def _check_arguments(
    path: Any, window: Any, keys: Any, flags: dict[str, Any], transform: Any, split: Any, splits_path: Any
) -> None:
    """Each argument's type and range, named in one line (window='2' is a mistake, not a window of 2)."""
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"path = {path!r} ({type(path).__name__}): must be the path of a gameplay file")
    if splits_path is not None and not isinstance(splits_path, (str, os.PathLike)):
        raise InputError(f"splits_path = {splits_path!r} ({type(splits_path).__name__}): must be a file path or None")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise InputError(f"window = {window!r} ({type(window).__name__}): must be an integer >= 1")
    if isinstance(keys, str) or not isinstance(keys, Sequence) or not keys:
        raise InputError(f"keys = {keys!r}: must be a non-empty list or tuple of key names ({', '.join(KEYS)})")
    unknown = [k for k in keys if k not in KEYS]
    if unknown or len(set(keys)) != len(keys):
        raise InputError(f"keys {list(keys)!r}: each must be one of {', '.join(KEYS)}, named once")
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise InputError(f"{name} = {value!r} ({type(value).__name__}): must be True or False")
    if transform is not None and not callable(transform):
        raise InputError(f"transform = {transform!r}: must be a callable taking and returning an item dict, or None")
    if split is not None and not isinstance(split, str):
        raise InputError(f"split = {split!r}: must be a split name ('train', 'val') or None for every episode")


class GameplayDataset(Dataset):
    """Windows of `window` consecutive rows of the episodes of one split, as a dict of tensors per `keys`.

    Item i: each key gives a tensor with a leading window axis w (also for window 1), rows r .. r + w - 1 of one
    episode, never across an episode boundary. Row t of an episode holds the state s_t (frames, observations, lives)
    and the step taken from it (actions, rewards, terminated, truncated); an episode of T steps has T + 1 rows, the
    last its final state, with no action (-1), reward 0 and both flags False. So window=2 gives transitions
    (o_t, a_t, r_t, o_t+1), window=1 single states, 8 or 16 clips. Keys and their tensors:

        frames        (w, 210, 160, 3) uint8     native RGB screen; (w, 3, 210, 160) float32 in [0, 1] with float_chw
        observations  (w, S, S) uint8            the agent's grayscale view, S = screen_size; (w, 1, S, S) float32
                                                 in [0, 1] with float_chw
        actions       (w,) int64                 index into action_meanings; -1 where a row has no action (an
                                                 episode's final row, padding), num_actions instead with mask_actions
        rewards       (w,) float32               raw, unclipped
        terminated, truncated, dones  (w,) bool  the row's step ended the game / hit a cap / either
        lives         (w,) uint8
        q_values      (w, A) float32             files recorded with record.agent_outputs only: the playing network's
        exploratory   (w,) bool                  Q-values, whether the action left its greedy one, and its
        features      (w, H) float16             penultimate features; NaN where no network played (random agent,
                                                 final rows, padding)
        episode       (w,) int64                 episode id (the `id` column of `episodes`)
        step          (w,) int64                 t, the row's step in its episode; negative on padding
        is_first      (w,) bool                  t == 0: the episode's first state (after its reset)
        padding       (w,) bool                  a zero row before the episode's first (pad_start only)

    Arguments:
        path: a gameplay file written by `pipeline record`.
        split: "train" or "val" reads the split index (`splits_path`, by default splits.json beside the file,
            checked to belong to this very file); None: every episode.
        window: rows per item. A window no episode can fill (and no pad_start) is an error, not an empty dataset.
        keys: which of the keys above each item holds, in that order.
        include_final: False leaves out every episode's final row (the state after its last step), so no window
            holds a row without an action; the last transition of each episode then goes too.
        mask_actions: rows without an action get action num_actions instead of -1, so
            `nn.Embedding(ds.num_actions + 1, d, padding_idx=ds.num_actions)` takes every item.
        pad_start: windows also end at each of an episode's first window - 1 rows, the missing rows before the
            episode zero-filled (frames, observations, rewards, flags, lives; actions as rows without one; Q-values and
            features NaN), as the
            agent's own frame stacks are: then there is one window per row, and `padding` marks the filled rows.
        float_chw: frames and observations as float32 in [0, 1], channel-first, instead of uint8 channel-last.
        transform: called on each item dict (after the above) and its result returned; with DataLoader workers it
            must pickle (a module-level function, not a lambda, under the spawn start method).
        sources: only the episodes of these sources (the `source` column: a skill level, the random agent), within
            the split; None: every source.

    Properties for building models: num_actions, action_meanings, screen_size, fps (agent steps per second of game
    time: 60 / frameskip), video_fps, frameskip, episodes (the split's episode table: id, first_row, length, return,
    agent, seed, checkpoint_hash, source, source_episode, checkpoint_step, exploration, exploration_value), split,
    env_recipe (how to rebuild the env). The HDF5 file is opened lazily in each process that reads, so num_workers > 0
    works with fork and spawn.
    """

    def __init__(
        self,
        path: Path,
        split: str | None = None,
        window: int = 1,
        keys: Sequence[str] = DEFAULT_KEYS,
        splits_path: Path | None = None,
        *,
        include_final: bool = True,
        mask_actions: bool = False,
        pad_start: bool = False,
        float_chw: bool = False,
        transform: Callable[[dict[str, torch.Tensor]], Any] | None = None,
        sources: Sequence[str] | None = None,
    ):
        flags = dict(include_final=include_final, mask_actions=mask_actions, pad_start=pad_start, float_chw=float_chw)
        _check_arguments(path, window, keys, flags, transform, split, splits_path)
        self.path = Path(path)
        with open_gameplay(self.path) as f, damage_reported(self.path):
            self.table = read_episodes(f)
            self.action_meanings = action_meanings(f)
            self.env_recipe = read_env_recipe(f)
            self.screen_size, self.frameskip, self.video_fps = (
                int(f.attrs[k]) for k in ("screen_size", "frameskip", "fps")
            )
            absent = [k for k in keys if k in {o.name for o in AGENT_OUTPUT_FIELDS} and k not in f]
        if absent:
            raise InputError(
                f"keys {absent}: '{self.path}' has no agent outputs (record it with record.agent_outputs: true)"
            )
        split_ids = None
        if split is not None:
            split_ids = load_split_ids(splits_path or splits_beside(self.path), self.path)
        chosen = episode_selection(self.table, split, split_ids)
        if sources is not None:
            chosen = chosen[np.isin(self.table["source"][chosen], of_sources(self.table, sources))]
        self.episodes = EpisodeTable({name: values[chosen] for name, values in self.table.columns.items()})
        rows = self.episodes["length"] + (1 if include_final else 0)
        self.starts, owner = window_starts(self.episodes["first_row"], rows, int(window), pad_start)
        self.owner = chosen[owner]
        self.split, self.window, self.keys, self.transform = split, int(window), tuple(keys), transform
        self.mask_actions, self.float_chw = mask_actions, float_chw
        if not len(self.starts):
            longest = int(rows.max()) if len(rows) else 0
            raise InputError(
                f"window = {window}: no episode of {f'split {split!r}' if split else 'the dataset'} has {window} rows "
                f"(the longest has {longest}); use a smaller window or pad_start=True"
            )
        self._arrays: dict[str, ChunkedRows] = {}
        self._pid = -1

    @property
    def num_actions(self) -> int:
        return len(self.action_meanings)

    @property
    def fps(self) -> float:
        """Agent steps (rows) per second of game time."""
        return EMULATOR_HZ / self.frameskip

    def __len__(self) -> int:
        return len(self.starts)

    def locate(self, i: int) -> tuple[int, int]:
        """(episode id, step within that episode) of window i's first row (negative where it starts in padding)."""
        pos = self.owner[i]
        return int(self.table["id"][pos]), int(self.starts[i] - self.table["first_row"][pos])

    def _open(self) -> dict[str, ChunkedRows]:
        """This process's readers of the row arrays, opened on first use (a handle from before a fork is never
        reused; the arrays are looked up once per process, not per item). Each reads whole chunks and keeps the last
        ones decoded (pipeline.data.chunks). open_gameplay loads the compression plugin the file needs in this process
        too (spawned workers start without it)."""
        if self._pid != os.getpid():
            f = open_gameplay(self.path)
            self._arrays, self._pid = {name: ChunkedRows(f[name]) for name in ROW_DATASETS if name in f}, os.getpid()
        return self._arrays

    def _rows(self, arrays: dict[str, ChunkedRows], name: str, rows: slice, pad: int) -> np.ndarray:
        """A row dataset's values over `rows`, after `pad` rows of its fill value (zero; no action for actions, NaN
        for Q-values and features)."""
        values = arrays[name].rows(rows.start, rows.stop)
        if name == "actions":
            values = np.concatenate([np.full(pad, NO_ACTION, np.int64), values.astype(np.int64)])
            return np.where(values == NO_ACTION, self.num_actions, values) if self.mask_actions else values
        fill = ROW_DATASETS[name].fill
        return np.concatenate([np.full((pad, *values.shape[1:]), fill, values.dtype), values]) if pad else values

    def _value(
        self, arrays: dict[str, ChunkedRows], key: str, rows: slice, pad: int, steps: np.ndarray, episode: int
    ) -> Any:
        if key == "dones":
            return self._rows(arrays, "terminated", rows, pad) | self._rows(arrays, "truncated", rows, pad)
        if key == "episode":
            return np.full(len(steps), episode, np.int64)
        if key == "step":
            return steps
        if key in ("is_first", "padding"):
            return steps == 0 if key == "is_first" else steps < 0
        values = self._rows(arrays, key, rows, pad)
        if self.float_chw and key in ("frames", "observations"):
            pixels = torch.from_numpy(values).float().div_(255)
            return pixels.permute(0, 3, 1, 2) if key == "frames" else pixels.unsqueeze(1)
        return values

    def __getitem__(self, i: int) -> Any:
        if not -len(self) <= i < len(self):
            raise IndexError(f"window {i} out of range for {len(self)} windows")
        start, pos = int(self.starts[i]), self.owner[i]
        first = int(self.table["first_row"][pos])
        pad = max(first - start, 0)
        rows, steps = slice(start + pad, start + self.window), np.arange(start - first, start - first + self.window)
        episode, arrays = int(self.table["id"][pos]), self._open()
        with damage_reported(self.path):  # a damaged chunk is found when it is read
            item = {key: torch.as_tensor(self._value(arrays, key, rows, pad, steps, episode)) for key in self.keys}
        return self.transform(item) if self.transform is not None else item

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_arrays": {}, "_pid": -1}
