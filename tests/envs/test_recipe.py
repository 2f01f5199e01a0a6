"""The environment recipe: plain data that rebuilds exactly the env make_env builds, FIRE games included."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.registration import EnvSpec

from pipeline.config.errors import InputError
from pipeline.config.params import EnvParams
from pipeline.envs.atari import FireOnReset, make_env
from pipeline.envs.recipe import build_env, env_recipe

SETTINGS = EnvParams(game="Breakout", frameskip=3, noop_max=7, sticky_action_prob=0.1, max_episode_frames=5000)


@pytest.mark.parametrize("game, reset_actions", [("MsPacman", []), ("Breakout", [1, 2]), ("Pong", [1, 2])])
def test_the_recipe_rebuilds_the_same_env(game, reset_actions):
    env = make_env(EnvParams(game=game))
    recipe = env_recipe(env, max_episode_steps=50)
    assert recipe["reset_actions"] == reset_actions
    fire = ["FireOnReset"] if reset_actions else []
    assert [w["name"] for w in recipe["wrappers"]] == ["AtariPreprocessing", *fire]
    rebuilt = build_env(json.loads(json.dumps(recipe)))  # through JSON, as it is stored
    assert rebuilt.spec.to_json() == env.spec.to_json()
    for seed in (0, 1):
        a, info_a = env.reset(seed=seed)
        b, info_b = rebuilt.reset(seed=seed)
        np.testing.assert_array_equal(a, b)
        assert info_a["episode_frame_number"] == info_b["episode_frame_number"]


def test_the_recipe_states_each_setting_where_it_acts():
    recipe = env_recipe(make_env(SETTINGS), max_episode_steps=40)
    kwargs = recipe["env_kwargs"]
    assert recipe["env_id"] == "ALE/Breakout-v5"
    assert kwargs["frameskip"] == 1  # the skip is AtariPreprocessing's
    assert kwargs["repeat_action_probability"] == 0.1 and kwargs["max_num_frames_per_episode"] == 5000
    assert kwargs["full_action_space"] is False
    preprocessing = recipe["wrappers"][0]["kwargs"]
    assert preprocessing["frame_skip"] == 3 and preprocessing["noop_max"] == 7 and preprocessing["screen_size"] == 84
    assert preprocessing["grayscale_obs"] is True and preprocessing["terminal_on_life_loss"] is False
    assert recipe["max_episode_steps"] == 40
    assert set(recipe["versions"]) == {"gymnasium", "ale-py"} and any(
        "reset(seed=" in step for step in recipe["how_to_replay"]
    )


def test_the_gymnasium_spec_in_the_recipe_makes_the_env_fire_games_included():
    """What Minari's recover_environment() does with a spec: gym.make(EnvSpec.from_json(...))."""
    env = make_env(SETTINGS)
    made = gym.make(EnvSpec.from_json(json.dumps(env_recipe(env)["gymnasium_spec"])))
    assert isinstance(made, FireOnReset) and made.actions == [1, 2]
    np.testing.assert_array_equal(made.reset(seed=3)[0], env.reset(seed=3)[0])


def test_a_recipe_naming_unknown_code_is_refused():
    recipe = env_recipe(make_env(SETTINGS))
    recipe["wrappers"].append({"name": "os.system", "entry_point": "os:system", "kwargs": {}})
    with pytest.raises(InputError, match="wrapper 'os.system'; known: AtariPreprocessing, FireOnReset"):
        build_env(recipe)
    with pytest.raises(InputError, match="env recipe version 99"):
        build_env({**recipe, "recipe_version": 99})
