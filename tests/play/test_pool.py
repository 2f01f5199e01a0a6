"""The episode pool with a real player: an exception raised while a player is built or plays reaches the caller as
itself, from this process or from a worker, and no worker outlives the pool."""

from __future__ import annotations

import multiprocessing
from functools import partial

import pytest

from pipeline.config.errors import InputError
from pipeline.evaluate.run import EvaluationPlayer
from pipeline.play.pool import WorkerTraceback, play_episodes
from tests.helpers import tiny_params


@pytest.mark.parametrize("num_envs", [1, 2])
def test_a_players_error_reaches_the_caller_as_itself(tmp_path, num_envs):
    make_player = partial(EvaluationPlayer, tiny_params(), tmp_path / "missing.pt")
    with pytest.raises(InputError, match="missing.pt' does not exist; run `pipeline train` first") as raised:
        play_episodes(make_player, 4, num_envs, lambda job, ticks: None, lambda job, result: None)
    assert isinstance(raised.value.__cause__, WorkerTraceback) == (num_envs > 1)  # the worker's traceback, when in one
    assert multiprocessing.active_children() == []
