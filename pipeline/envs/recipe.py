"""The environment recipe: everything needed to rebuild the exact environment a dataset was recorded in, as plain
data that record writes into the file (attribute `env_recipe`, JSON), and the environment built back from it.

A dataset's `frameskip` attribute alone misleads (`gym.make("ALE/MsPacman-v5", frameskip=4)` reproduces 4% of the
frames: the skip is AtariPreprocessing's, over a frameskip-1 emulator), and nothing else would say that FIRE games
press FIRE and action 2 at every reset. The recipe is read off the built env's gymnasium spec, so it states what
was built, not what was meant to be.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

import gymnasium as gym
from gymnasium.wrappers import AtariPreprocessing

from pipeline.config.errors import InputError
from pipeline.envs.atari import FireOnReset

RECIPE_VERSION = 1
# The wrappers a recipe may name, by name: a file never makes us import code it names itself.
WRAPPERS: dict[str, type[gym.Wrapper]] = {"AtariPreprocessing": AtariPreprocessing, "FireOnReset": FireOnReset}

HOW_TO_REPLAY = (  # each step a sentence, for the card and for readers of the attribute alone
    "import gymnasium, ale_py; gymnasium.register_envs(ale_py); env = gymnasium.make(env_id, **env_kwargs).",
    "Wrap env in each of `wrappers` in order: AtariPreprocessing is gymnasium.wrappers.AtariPreprocessing(env, "
    "**kwargs); FireOnReset means: after every reset, step each of kwargs['actions'] (= reset_actions) in order, and "
    "if such a step ends the episode, reset again with the same arguments and go on with the next action.",
    "Episode k: obs, info = env.reset(seed=episodes/seed[k]), then env.step(actions[row]) for each of its rows but "
    "the last (the final state, action -1).",
    "Row t's observation is the one the reset (t = 0) or step t - 1 returned; its frame is "
    "env.unwrapped.ale.getScreenRGB() and its lives info['lives'] at that moment; step t returns rewards[t] and "
    "terminated[t]; truncated[t] is the step's truncated, or t + 1 == max_episode_steps when that is > 0.",
    "With the pipeline package installed, gymnasium.make(EnvSpec.from_json(json.dumps(gymnasium_spec))) builds the "
    "same env, and pipeline.dataset.make_env(path) and replay_episode(path, k) do all of the above.",
)


def env_recipe(env: gym.Env, max_episode_steps: int = 0) -> dict[str, Any]:
    """The recipe of a built environment (make_env's), with the recording's cap on agent steps per episode."""
    spec = env.spec
    wrappers = [{"name": w.name, "entry_point": w.entry_point, "kwargs": w.kwargs} for w in spec.additional_wrappers]
    unknown = [w["name"] for w in wrappers if w["name"] not in WRAPPERS]
    if unknown:
        raise TypeError(f"wrappers {unknown} are not in pipeline.envs.recipe.WRAPPERS; a replay could not rebuild them")
    reset_actions = next((w["kwargs"]["actions"] for w in wrappers if w["name"] == "FireOnReset"), [])
    recipe = {
        "recipe_version": RECIPE_VERSION,
        "env_id": spec.id,
        "env_kwargs": spec.kwargs,
        "wrappers": wrappers,
        "reset_actions": reset_actions,
        "max_episode_steps": max_episode_steps,
        "gymnasium_spec": json.loads(spec.to_json()),
        "versions": {name: version(name) for name in ("gymnasium", "ale-py")},
        "how_to_replay": HOW_TO_REPLAY,
    }
    return json.loads(json.dumps(recipe))  # as it reads back from the file: tuples become lists


def build_env(recipe: dict[str, Any]) -> gym.Env:
    """The environment a recipe describes: gym.make of its id and kwargs, then its wrappers in order."""
    if recipe.get("recipe_version") != RECIPE_VERSION:
        raise InputError(
            f"env recipe version {recipe.get('recipe_version')!r}: this version of the pipeline reads {RECIPE_VERSION}"
        )
    env = gym.make(recipe["env_id"], **recipe["env_kwargs"])
    for wrapper in recipe["wrappers"]:
        if wrapper["name"] not in WRAPPERS:
            raise InputError(f"env recipe names wrapper {wrapper['name']!r}; known: {', '.join(WRAPPERS)}")
        env = WRAPPERS[wrapper["name"]](env, **wrapper["kwargs"])
    return env
