"""The public API for downstream users of a recorded dataset: `from pipeline.dataset import GameplayDataset`.

Importing it needs numpy, h5py and torch only (no emulator); see pipeline.data for the format and the loader.
make_env and replay_episode import gymnasium and ale-py when called, for those who replay episodes:

    from pipeline.dataset import load_episode, replay_episode
    replayed = replay_episode("data/gameplay.h5", 0)   # episode id 0 played again from its seed and actions
    stored = load_episode("data/gameplay.h5", 0)       # the same keys, read from the file
    assert all((replayed[k] == stored[k]).all() for k in stored)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.data.loader import KEYS, GameplayDataset
from pipeline.data.reader import action_meanings, open_gameplay, read_env_recipe, read_episode, read_episodes
from pipeline.data.schema import EPISODE_COLUMNS, FILE_ATTRIBUTES, FORMAT_VERSION, LAYOUT_NOTE, ROW_FIELDS
from pipeline.data.splits import load_split_ids

if TYPE_CHECKING:
    import gymnasium as gym


def make_env(path: Path) -> gym.Env:
    """The exact environment `path` was recorded in (gymnasium, ale-py), rebuilt from its `env_recipe` attribute:
    reset(seed=episodes/seed[k]) and step the episode's actions to play episode k again."""
    from pipeline.envs.episode_replay import env_from_dataset  # the emulator only for those who replay

    return env_from_dataset(path)


def replay_episode(path: Path, episode: int, env: gym.Env | None = None) -> dict[str, np.ndarray]:
    """Episode id `episode` replayed in make_env(path) from its seed and stored actions: its T + 1 rows, one array per
    row field (frames, observations, actions, rewards, terminated, truncated, lives), to compare with
    load_episode(path, episode). Pass `env` (make_env's) to reuse one env across episodes."""
    from pipeline.envs.episode_replay import replay_episode as replay

    return replay(path, episode, env)


def load_episode(path: Path, episode: int) -> dict[str, np.ndarray]:
    """The T + 1 stored rows of episode id `episode`, one array per row field."""
    with open_gameplay(path) as f:
        return read_episode(f, episode)


def env_recipe(path: Path) -> dict:
    """The dataset's environment recipe (attribute env_recipe) as a dict: see its `how_to_replay`."""
    with open_gameplay(path) as f:
        return read_env_recipe(f)


__all__ = [
    "GameplayDataset",
    "KEYS",
    "make_env",
    "replay_episode",
    "load_episode",
    "env_recipe",
    "open_gameplay",
    "read_episodes",
    "action_meanings",
    "load_split_ids",
    "ROW_FIELDS",
    "EPISODE_COLUMNS",
    "FILE_ATTRIBUTES",
    "FORMAT_VERSION",
    "LAYOUT_NOTE",
]
