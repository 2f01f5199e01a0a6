"""The rows of one seeded episode, whoever chooses its actions: recording (a policy) and replaying (the stored
actions) run this same loop, so a replay reproduces a recording by construction, not by a second implementation."""

from __future__ import annotations

from typing import Callable, Iterator

import gymnasium as gym
import numpy as np

from pipeline.data.schema import NO_ACTION, Row


def episode_rows(
    env: gym.Env, seed: int, next_action: Callable[[np.ndarray], int], max_steps: int = 0
) -> Iterator[Row]:
    """One row per agent step, then the final state (action NO_ACTION), as pipeline.data.schema lays them out.

    The env is reset with `seed`; next_action(observation) is called once per observation in order, the first
    one first, and returns the action taken from it. Row t holds the screen (`ale.getScreenRGB()`), observation and
    lives (`info["lives"]`) of the state after the reset or step t - 1, and the action, raw reward and flags of
    step t. `max_steps` > 0 ends the episode after that many steps, marking the last step truncated.
    """
    obs, info = env.reset(seed=seed)
    steps = 0
    while True:
        screen, lives = env.unwrapped.ale.getScreenRGB(), info["lives"]
        action = int(next_action(obs))
        next_obs, reward, terminated, truncated, info = env.step(action)
        steps += 1
        truncated = bool(truncated or (not terminated and steps == max_steps))
        yield Row(
            frames=screen,
            observations=obs,
            actions=action,
            rewards=float(reward),
            terminated=bool(terminated),
            truncated=truncated,
            lives=lives,
        )
        obs = next_obs
        if terminated or truncated:
            yield Row(
                frames=env.unwrapped.ale.getScreenRGB(),
                observations=obs,
                actions=NO_ACTION,
                rewards=0.0,
                terminated=False,
                truncated=False,
                lives=info["lives"],
            )
            return
