"""Shared fixtures: one tiny trained checkpoint per test session (a real ALE game, a few hundred steps), and short
random-agent recordings of several games.

Tests marked `slow` train, record, start subprocesses or run DVC; `./dev.sh test -m "not slow"` leaves them out for
a fast inner loop. Every test that needs the trained checkpoint or a recording is slow by that fact, so it is marked
here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from tests.helpers import tiny_params

SLOW_FIXTURES = {"trained_dir", "random_recording"}
# agent steps per recorded episode: Breakout's random games end in about 150 steps (all lives lost); Ms. Pac-Man
# scores within 120 and Pong concedes a point within 150
RECORDING_CAPS = {"Breakout": 0, "MsPacman": 120, "Pong": 150}


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory) -> Path:
    """A models/ folder from a real 300-step training run on Breakout (dqn.pt, checkpoints/, training/)."""
    from pipeline.train.trainer import train

    out = tmp_path_factory.mktemp("models")
    train(tiny_params(), out)
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint(trained_dir) -> Path:
    return trained_dir / "dqn.pt"


@pytest.fixture(scope="session")
def random_recording(tmp_path_factory) -> Callable[[str], Path]:
    """random_recording(game): the folder of a real recording (gameplay.h5, DATASET.md, videos/) of 2 random-agent
    episodes of `game`, capped as RECORDING_CAPS says; recorded once per session and game."""
    from pipeline.record.run import record

    done: dict[str, Path] = {}

    def recording(game: str) -> Path:
        if game not in done:
            params = tiny_params(
                env={"game": game},
                record={"episodes": 2, "percent_random": 100, "max_episode_steps": RECORDING_CAPS[game]},
            )
            done[game] = record(params, Path("no-checkpoint.pt"), tmp_path_factory.mktemp(game)).root
        return done[game]

    return recording


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)
