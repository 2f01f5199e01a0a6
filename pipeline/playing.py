"""Playing one seeded episode with a policy: the loop that evaluation and recording share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import gymnasium as gym
import numpy as np

from pipeline.envs import FrameStacks
from pipeline.policy import RandomPolicy, TrainedPolicy

NO_ACTION = -1  # the action of an episode's final row, where no step is taken
NOT_RESTARTED = np.zeros(1, bool)


@dataclass(frozen=True)
class Row:
    """One row of an episode: the state seen and the step taken from it (NO_ACTION on the final row)."""

    frame: np.ndarray        # (210, 160, 3) uint8 native screen
    observation: np.ndarray  # (S, S) uint8, what the agent saw (the newest frame of its stack)
    action: int
    reward: float            # raw, unclipped
    terminated: bool
    truncated: bool
    lives: int


def play_rows(env: gym.Env, policy: TrainedPolicy | RandomPolicy, frame_stack: int, seed: int, epsilon: float,
              max_steps: int = 0) -> Iterator[Row]:
    """The rows of one episode: one per agent step, then the final state (action NO_ACTION).

    The environment's reset and the action RNG are both seeded with `seed`, so an episode is a
    function of (seed, policy). `max_steps` > 0 ends the episode after that many steps, marking the
    last step truncated.
    """
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    stacker = FrameStacks(1, frame_stack, obs.shape)
    state, steps = stacker.start(obs[None]), 0
    while True:
        screen, lives = env.unwrapped.ale.getScreenRGB(), info["lives"]
        action = int(policy.act(state, epsilon, rng)[0])
        next_obs, reward, terminated, truncated, info = env.step(action)
        steps += 1
        truncated = bool(truncated or (not terminated and steps == max_steps))
        yield Row(screen, obs, action, float(reward), bool(terminated), truncated, lives)
        obs = next_obs
        if terminated or truncated:
            yield Row(env.unwrapped.ale.getScreenRGB(), obs, NO_ACTION, 0.0, False, False, info["lives"])
            return
        state = stacker.push(obs[None], restarted=NOT_RESTARTED)
