"""Atari environments as the DQN literature preprocesses them, and the agent's frame stack."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.config.errors import InputError
from pipeline.config.params import EnvParams
from pipeline.envs.atari import (
    FireOnReset,
    action_meanings,
    env_id,
    game_action_meanings,
    make_env,
)


@pytest.mark.parametrize("game, actions, fire", [("Breakout", 4, True), ("MsPacman", 9, False)])
def test_minimal_action_set_and_fire_on_reset_where_the_game_waits_for_it(game, actions, fire):
    env = make_env(EnvParams(game=game))
    assert len(action_meanings(env)) == actions
    assert isinstance(env, FireOnReset) == fire
    frame, info = env.reset(seed=0)
    assert frame.shape == (84, 84) and frame.dtype == np.uint8
    assert info["lives"] > 0
    env.close()


def test_emulator_settings_come_from_params():
    env = make_env(EnvParams(game="Breakout", sticky_action_prob=0.1, screen_size=64))
    ale = env.unwrapped.ale
    assert ale.getFloat("repeat_action_probability") == pytest.approx(0.1)
    assert env.reset(seed=0)[0].shape == (64, 64)
    env.close()


def test_noop_starts_vary_the_first_frame_number():
    """1 to noop_max no-op emulator frames (gymnasium's AtariPreprocessing) before the first observation."""
    env = make_env(EnvParams(game="MsPacman", noop_max=30))
    starts = {env.reset(seed=seed)[1]["episode_frame_number"] for seed in range(8)}
    env.close()
    assert len(starts) > 3
    assert all(1 <= start <= 30 for start in starts)


def test_frame_skip_and_truncation_at_the_frame_cap():
    env = make_env(EnvParams(game="MsPacman", frameskip=4, noop_max=0, max_episode_frames=400))
    env.reset(seed=0)
    for step in range(1, 200):
        _, reward, terminated, truncated, info = env.step(0)
        assert info["episode_frame_number"] == 4 * step
        if terminated or truncated:
            break
    env.close()
    assert truncated and not terminated and step == 100


def test_game_names_resolve_loosely_and_unknown_ones_list_the_closest():
    assert env_id("Breakout") == "ALE/Breakout-v5"
    assert env_id("ms_pacman") == "ALE/MsPacman-v5"
    with pytest.raises(InputError, match="closest: Breakout"):
        env_id("Breakot")


def test_game_action_meanings_are_the_actions_of_the_env_make_env_builds():
    for game in ("Breakout", "MsPacman", "Pong"):
        p = EnvParams(game=game)
        assert game_action_meanings(p) == action_meanings(make_env(p))
