"""Gameplay files whose pixels say where they come from (red = episode id, green = step), written by the real
GameplayWriter with the attributes record writes, so every window a reader returns can be checked against its origin."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from pipeline.data.schema import FRAME_SHAPE, NO_ACTION, Row
from pipeline.data.writer import GameplayWriter
from pipeline.envs.atari import game_action_meanings
from pipeline.record.run import file_attributes
from tests.helpers import tiny_params

LENGTHS = [5, 1, 9, 3, 6]  # agent steps; each episode has one more row
AGENTS = ["random", "random", "trained", "trained", "trained"]


@functools.cache
def attributes() -> dict:
    """The attributes record writes for tiny_params (Breakout, 4 actions, frameskip 4, 84x84, videos at 30 fps)."""
    params = tiny_params()
    return file_attributes(params, game_action_meanings(params.env), "best", [])


def write_dataset(
    path: Path,
    lengths: list[int] = LENGTHS,
    agents: list[str] = AGENTS,
    compression: str = "gzip",
    first_id: int = 0,
    attrs: dict | None = None,
) -> Path:
    """Episodes first_id, first_id + 1, ... of the given lengths; screens and observations depend on (id, step) only,
    so a file of episodes 3 and 4 holds the very rows those episodes have in a file of all five."""
    with GameplayWriter(path, screen_size=84, compression=compression, attrs=attrs or attributes()) as w:
        for k, (n, agent) in enumerate(zip(lengths, agents), start=first_id):
            for t in range(n + 1):
                frame = np.zeros(FRAME_SHAPE, np.uint8)
                frame[..., 0], frame[..., 1] = k, t
                last_step, final = t == n - 1, t == n
                w.add(
                    Row(
                        frames=frame,
                        observations=np.full((84, 84), (10 * k + t) % 251, np.uint8),
                        actions=NO_ACTION if final else t % 3,
                        rewards=0.0 if final else float(t),
                        terminated=last_step and k % 2 == 0,
                        truncated=last_step and k % 2 == 1,
                        lives=3,
                    )
                )
            w.end_episode(
                id=k,
                agent=agent,
                seed=1000 + k,
                checkpoint_hash="",
                source=agent,
                source_episode=k,
                checkpoint_step=-1,
                exploration="epsilon",
                exploration_value=1.0,
            )
    return path
