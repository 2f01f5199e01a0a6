"""Playing one seeded episode with a policy: the loop that evaluation and recording share."""

from __future__ import annotations

from typing import Callable, Iterator

import gymnasium as gym
import numpy as np

from pipeline.data.schema import NO_ACTION, Row
from pipeline.envs.rows import episode_rows
from pipeline.envs.stacks import FrameStacks
from pipeline.play.policies import RandomPolicy, TrainedPolicy

NOT_RESTARTED = np.zeros(1, bool)


def play_rows(
    env: gym.Env, policy: TrainedPolicy | RandomPolicy, frame_stack: int, seed: int, epsilon: float, max_steps: int = 0
) -> Iterator[Row]:
    """The rows of one episode played by `policy` (see pipeline.envs.rows.episode_rows): one per agent step, then the
    final state (action NO_ACTION).

    The environment's reset and the action RNG are both seeded with `seed`, so an episode is a
    function of (seed, policy). `max_steps` > 0 ends the episode after that many steps, marking the
    last step truncated.
    """
    rng = np.random.default_rng(seed)
    stacker: FrameStacks | None = None

    def act(obs: np.ndarray) -> int:
        nonlocal stacker
        if stacker is None:
            stacker = FrameStacks(1, frame_stack, obs.shape)
            state = stacker.start(obs[None])
        else:
            state = stacker.push(obs[None], restarted=NOT_RESTARTED)
        return int(policy.act(state, epsilon, rng)[0])

    return episode_rows(env, seed, act, max_steps)


def play_episode(
    env: gym.Env,
    policy: TrainedPolicy | RandomPolicy,
    frame_stack: int,
    seed: int,
    epsilon: float,
    on_step: Callable[[], None],
) -> tuple[float, int, bool]:
    """Play one episode to game over or the frame cap; return (raw return, agent steps, truncated)."""
    score, length, truncated = 0.0, 0, False
    for row in play_rows(env, policy, frame_stack, seed, epsilon):
        if row.actions == NO_ACTION:
            break
        score, length, truncated = score + row.rewards, length + 1, row.truncated and not row.terminated
        on_step()
    return score, length, truncated
