"""Replaying a recorded episode: the environment rebuilt from the file's recipe, reset with the episode's seed and
stepped with its stored actions, gives back its frames, observations, rewards, flags and lives."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

from pipeline.data.reader import episode_position, open_gameplay, read_env_recipe, read_episodes
from pipeline.data.schema import ROW_FIELDS
from pipeline.envs.recipe import build_env
from pipeline.envs.rows import episode_rows


def env_from_dataset(path: Path) -> gym.Env:
    """The environment a dataset was recorded in, built from its `env_recipe` attribute."""
    with open_gameplay(path) as f:
        return build_env(read_env_recipe(f))


def replay_episode(path: Path, episode: int, env: gym.Env | None = None) -> dict[str, np.ndarray]:
    """Episode id `episode` played again from its seed and stored actions, as its T + 1 rows: one array per row field,
    as pipeline.data.reader.read_episode reads them from the file. `env` reuses a built env (env_from_dataset's)
    across episodes. The replay takes exactly the T stored steps; its last is marked truncated if the game did not end
    there (record.max_episode_steps, or a replay that went elsewhere: compare the arrays to see where)."""
    with open_gameplay(path) as f:
        recipe, table = read_env_recipe(f), read_episodes(f)
        i = episode_position(table, episode)
        first, length = int(table["first_row"][i]), int(table["length"][i])
        actions = iter(f["actions"][first : first + length].tolist())
    env = env or build_env(recipe)
    rows = list(episode_rows(env, int(table["seed"][i]), lambda _obs: next(actions), max_steps=length))
    return {field.name: np.asarray([getattr(r, field.name) for r in rows], field.dtype) for field in ROW_FIELDS}
