"""Playing one seeded episode with a policy: the loop that evaluation and recording share."""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterator

import gymnasium as gym
import numpy as np

from pipeline.data.schema import ACTIONS, HIDDEN, NO_ACTION, ROW_DATASETS, Row
from pipeline.envs.rows import episode_rows
from pipeline.envs.stacks import FrameStacks
from pipeline.play.decisions import Decision, Exploration
from pipeline.play.policies import RandomPolicy, TrainedPolicy

NOT_RESTARTED = np.zeros(1, bool)


def play_rows(
    env: gym.Env,
    policy: TrainedPolicy | RandomPolicy,
    frame_stack: int,
    seed: int,
    exploration: Exploration,
    max_steps: int = 0,
    outputs: tuple[int, int] | None = None,
) -> Iterator[Row]:
    """The rows of one episode played by `policy` (see pipeline.envs.rows.episode_rows): one per agent step, then the
    final state (action NO_ACTION).

    The environment's reset and the action RNG are both seeded with `seed`, so an episode is a
    function of (seed, policy, exploration). `max_steps` > 0 ends the episode after that many steps, marking the
    last step truncated. `outputs` = (actions, feature width) fills the rows' agent outputs (record.agent_outputs).
    """
    rng = np.random.default_rng(seed)
    stacker: FrameStacks | None = None
    decision: Decision | None = None

    def act(obs: np.ndarray) -> int:
        nonlocal stacker, decision
        if stacker is None:
            stacker = FrameStacks(1, frame_stack, obs.shape)
            state = stacker.start(obs[None])
        else:
            state = stacker.push(obs[None], restarted=NOT_RESTARTED)
        decision = policy.decide(state, exploration, rng, outputs=outputs is not None)
        return int(decision.actions[0])

    if outputs is None:
        yield from episode_rows(env, seed, act, max_steps)
        return
    blank = blank_outputs(outputs)
    for row in episode_rows(env, seed, act, max_steps):
        yield with_outputs(row, decision, blank)


def blank_outputs(sizes: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The Q-values and features of a row no network chose (the fields' fill values, NaN), made once per episode and
    shared by its rows (read-only, so the writer's copy is the only one)."""
    shapes = dict(zip((ACTIONS, HIDDEN), sizes))
    q, features = (np.full(ROW_DATASETS[n].row_shape(shapes), ROW_DATASETS[n].fill) for n in ("q_values", "features"))
    q.flags.writeable = features.flags.writeable = False
    return q, features


def with_outputs(row: Row, decision: Decision, blank: tuple[np.ndarray, np.ndarray]) -> Row:
    """The row with the agent outputs of the decision that chose its action; a final row, or one chosen without a
    network, gets `blank`, and exploratory says whether an action was taken off the greedy one."""
    if row.actions == NO_ACTION or decision.q_values is None:
        q, features = blank
        return dataclasses.replace(row, q_values=q, features=features, exploratory=row.actions != NO_ACTION)
    return dataclasses.replace(
        row, q_values=decision.q_values[0], features=decision.features[0], exploratory=bool(decision.exploratory[0])
    )


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
    for row in play_rows(env, policy, frame_stack, seed, Exploration("epsilon", epsilon)):
        if row.actions == NO_ACTION:
            break
        score, length, truncated = score + row.rewards, length + 1, row.truncated and not row.terminated
        on_step()
    return score, length, truncated
