"""Replaying recorded episodes from the file alone reproduces every row: through pipeline.dataset, and through plain
gymnasium following the file's env_recipe, as a user without this package would."""

from __future__ import annotations

import json

import ale_py
import gymnasium
import h5py
import numpy as np
import pytest

from pipeline.config.errors import InputError
from pipeline.dataset import load_episode, make_env, replay_episode
from tests.conftest import RECORDING_CAPS

GAMES = ("MsPacman", "Breakout", "Pong")


def stored_episodes(path) -> list[dict]:
    with h5py.File(path) as f:
        table = {name: f["episodes"][name][:] for name in ("id", "first_row", "length", "seed")}
        rows = {name: f[name][:] for name in ("frames", "observations", "actions", "rewards", "terminated", "lives")}
        rows["truncated"] = f["truncated"][:]
    episodes = []
    for i in range(len(table["id"])):
        first, length = int(table["first_row"][i]), int(table["length"][i])
        episode = {name: values[first : first + length + 1] for name, values in rows.items()}
        episodes.append({"id": int(table["id"][i]), "seed": int(table["seed"][i]), **episode})
    return episodes


def plain_gymnasium_replay(recipe: dict, seed: int, actions: np.ndarray) -> dict[str, list]:
    """The replay the recipe's how_to_replay describes, with gymnasium and ale-py only."""
    gymnasium.register_envs(ale_py)
    env = gymnasium.make(recipe["env_id"], **recipe["env_kwargs"])
    for wrapper in recipe["wrappers"]:
        if wrapper["name"] == "AtariPreprocessing":
            env = gymnasium.wrappers.AtariPreprocessing(env, **wrapper["kwargs"])
    obs, info = env.reset(seed=seed)
    for action in recipe["reset_actions"]:
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            obs, info = env.reset(seed=seed)
    got = {"observations": [obs], "frames": [env.unwrapped.ale.getScreenRGB()], "lives": [info["lives"]]}
    got.update(rewards=[], terminated=[])
    for action in actions:
        obs, reward, terminated, _, info = env.step(int(action))
        got["observations"].append(obs)
        got["frames"].append(env.unwrapped.ale.getScreenRGB())
        got["lives"].append(info["lives"])
        got["rewards"].append(reward)
        got["terminated"].append(terminated)
    return got


@pytest.mark.parametrize("game", GAMES)
def test_every_episode_replays_exactly_from_the_attributes_alone(random_recording, game):
    path = random_recording(game) / "gameplay.h5"
    with h5py.File(path) as f:
        recipe = json.loads(f.attrs["env_recipe"])
    episodes = stored_episodes(path)
    assert sum(e["rewards"].astype(bool).sum() for e in episodes) > 0, "the recording should score something"
    for e in episodes:
        got = plain_gymnasium_replay(recipe, e["seed"], e["actions"][:-1])
        for name in ("observations", "frames", "lives"):
            np.testing.assert_array_equal(np.asarray(got[name]), e[name], err_msg=f"{game} episode {e['id']} {name}")
        np.testing.assert_array_equal(np.asarray(got["rewards"], np.float32), e["rewards"][:-1])
        np.testing.assert_array_equal(got["terminated"], e["terminated"][:-1])
        cap = recipe["max_episode_steps"]
        assert e["terminated"][-2] or e["truncated"][-2] and len(e["actions"]) - 1 == cap == RECORDING_CAPS[game]


@pytest.mark.parametrize("game", GAMES)
def test_replay_episode_gives_back_every_stored_row(random_recording, game):
    path = random_recording(game) / "gameplay.h5"
    env = make_env(path)
    for e in stored_episodes(path):
        replayed, stored = replay_episode(path, e["id"], env), load_episode(path, e["id"])
        assert sorted(replayed) == sorted(stored)
        for name in stored:
            assert replayed[name].dtype == stored[name].dtype, name
            np.testing.assert_array_equal(replayed[name], stored[name], err_msg=f"{game} episode {e['id']} {name}")


def test_lives_are_lost_and_replayed_in_breakout(random_recording):
    """Breakout's random games run to game over, so the replay passes through every lost life (and FIRE resets)."""
    path = random_recording("Breakout") / "gameplay.h5"
    for e in stored_episodes(path):
        assert e["terminated"][-2] and e["lives"][-1] == 0 and e["lives"][0] == 5
        np.testing.assert_array_equal(replay_episode(path, e["id"])["lives"], e["lives"])


def test_an_unknown_episode_is_named(random_recording):
    path = random_recording("Breakout") / "gameplay.h5"
    with pytest.raises(InputError, match="episode = 7: the dataset has episode ids 0 .. 1"):
        replay_episode(path, 7)
    with pytest.raises(InputError, match=r"episode = '0' \(str\): must be an integer episode id"):
        load_episode(path, "0")
