"""Atari environments preprocessed as in the DQN literature, built from gymnasium's own wrappers.

The env returns one 84x84 grayscale frame per step; stacking k of them is the caller's job
(pipeline.envs.stacks), so the replay buffer can store each frame once.
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import NamedTuple

import ale_py
import gymnasium as gym
from gymnasium.wrappers import AtariPreprocessing

from pipeline.config.errors import InputError
from pipeline.config.params import EnvParams

gym.register_envs(ale_py)
ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no emulator banner in front of our one-line errors


def available_games() -> list[str]:
    """Game names with an ALE v5 environment (the ROMs ship inside ale-py)."""
    return sorted(k[len("ALE/") : -len("-v5")] for k in gym.registry if k.startswith("ALE/") and k.endswith("-v5"))


def env_id(game: str) -> str:
    """`ALE/<Game>-v5` for a game name, or an InputError listing the closest real names."""
    games = available_games()
    if game in games:
        return f"ALE/{game}-v5"
    by_key = {re.sub(r"[^a-z0-9]", "", g.lower()): g for g in games}
    key = re.sub(r"[^a-z0-9]", "", game.lower())
    if key in by_key:
        return f"ALE/{by_key[key]}-v5"
    close = difflib.get_close_matches(key, list(by_key), n=3, cutoff=0.5)
    hint = "closest: " + ", ".join(by_key[c] for c in close) if close else f"`pipeline games` lists all {len(games)}"
    raise InputError(f"env.game = {game!r}: no such ALE game; {hint}")


FIRE_RESET_ACTIONS = (1, 2)  # FIRE, then the game's action 2 (RIGHT in Breakout), as OpenAI baselines' FireResetEnv


class FireOnReset(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Press FIRE after reset in games that wait for it (Breakout, Pong...), as the DQN literature does: step
    `actions` in order after every reset; one that ends the episode resets it again (same arguments) and the next
    action follows. Its arguments are recorded (RecordConstructorArgs), so `env.spec` rebuilds it with gym.make and
    Minari's recover_environment() works for these games too."""

    def __init__(self, env: gym.Env, actions: tuple[int, ...] | list[int] = FIRE_RESET_ACTIONS):
        self.actions = [int(a) for a in actions]
        gym.utils.RecordConstructorArgs.__init__(self, actions=self.actions)
        gym.Wrapper.__init__(self, env)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        for action in self.actions:
            obs, _, terminated, truncated, info = self.env.step(action)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        return obs, info


def needs_fire(env: gym.Env) -> bool:
    meanings = env.unwrapped.get_action_meanings()
    return len(meanings) >= 3 and meanings[1] == "FIRE"


class GameFacts(NamedTuple):
    modes: list[int]
    difficulties: list[int]
    action_meanings: list[str]  # the minimal action set, as make_env uses


@functools.cache
def game_facts(game_id: str) -> GameFacts:
    """The modes, difficulties and actions a game offers; ALE only tells once the ROM is loaded, so load it once
    per game."""
    env = gym.make(game_id, full_action_space=False)
    ale = env.unwrapped.ale
    facts = GameFacts(
        list(ale.getAvailableModes()), list(ale.getAvailableDifficulties()), list(env.unwrapped.get_action_meanings())
    )
    env.close()
    return facts


def game_action_meanings(p: EnvParams) -> list[str]:
    """The actions the agent chooses among in make_env(p), without building an environment for it."""
    return list(game_facts(env_id(p.game)).action_meanings)


def game_settings(p: EnvParams) -> dict[str, int | None]:
    """gym.make's `mode` and `difficulty` for `p` (None: the game's default), or an InputError with the allowed values.

    ALE itself rejects an unsupported value with a bare RuntimeError ("Invalid game mode requested").
    """
    game_id = env_id(p.game)
    modes, difficulties, _ = game_facts(game_id)
    for key, value, allowed, plural in (
        ("mode", p.mode, modes, "modes"),
        ("difficulty", p.difficulty, difficulties, "difficulties"),
    ):
        if value != -1 and value not in allowed:
            game = game_id[len("ALE/") : -len("-v5")]
            raise InputError(
                f"env.{key} = {value}: {game} supports {plural} {', '.join(map(str, allowed))} (or -1 for its default)"
            )
    return {"mode": None if p.mode == -1 else p.mode, "difficulty": None if p.difficulty == -1 else p.difficulty}


def make_env(p: EnvParams) -> gym.Env:
    """One preprocessed environment: no-op starts, frame skip with a max over the last two frames,
    grayscale `screen_size` square frames, raw (unclipped) rewards, the minimal action set, the game
    mode and difficulty of `p`.

    Lives are reported in `info["lives"]`; end-of-life terminals and reward clipping are applied by
    the learner, so episodes and logged returns stay those of the real game.
    """
    env = gym.make(
        env_id(p.game),
        **game_settings(p),
        frameskip=1,  # AtariPreprocessing skips frames itself, max-pooling the last two
        repeat_action_probability=p.sticky_action_prob,
        full_action_space=False,
        max_num_frames_per_episode=p.max_episode_frames,
    )
    env = AtariPreprocessing(
        env,
        noop_max=p.noop_max,
        frame_skip=p.frameskip,
        screen_size=p.screen_size,
        terminal_on_life_loss=False,
        grayscale_obs=True,
        scale_obs=False,
    )
    if needs_fire(env):
        env = FireOnReset(env)
    return env


def action_meanings(env: gym.Env) -> list[str]:
    return list(env.unwrapped.get_action_meanings())
