"""Several copies of the preprocessed environment stepped together, for training, with a state that can be saved
and restored exactly.

These are gymnasium's vector envs around `make_env`, so training plays exactly the environment that evaluation and
recording do. ale-py's native AtariVectorEnv (C++ threads) sees the same pixels on the same trajectory
(benchmarks.vector_bench checks it) and steps faster, but it cannot be saved and restored: it exposes no emulator
state, so a checkpoint could not hold it and a resumed run would not equal an uninterrupted one. It also draws its
no-ops and sticky actions with its own seeding, has a reset sequence of its own, and sets no game mode or
difficulty.

An episode that ends is reset on that environment's next step, whose action is ignored (gymnasium's next-step
autoreset). That reset is done by `ResumableEnv` rather than by the vector env, so that whether one is due is part
of the environment's state, which a checkpoint holds along with the emulator's.
"""

from __future__ import annotations

import functools
import multiprocessing
import pickle
import signal

import gymnasium as gym
import numpy as np
from ale_py import Action
from gymnasium.wrappers import AtariPreprocessing

from pipeline.config.params import EnvParams
from pipeline.envs.atari import make_env
from pipeline.envs.sticky import hold_action, repeated_action


class ResumableEnv(gym.Wrapper):
    """make_env's environment, resetting itself on the step after an episode ends, whose whole state can be read
    and put back: the emulator with its RNG (which also draws the sticky actions), the env's RNG (which draws the
    no-op starts), the preprocessing's last frames and lives, and whether a reset is due."""

    def __init__(self, env: gym.Env, index: int):
        super().__init__(env)
        self.index = index  # which of the vector env's environments this is
        self.reset_due = False

    def reset(self, **kwargs):
        self.reset_due = False
        return self.env.reset(**kwargs)

    def step(self, action):
        if self.reset_due:
            obs, info = self.reset()
            return obs, 0.0, False, False, info
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.last_action = int(action)
        self.reset_due = bool(terminated or truncated)
        return obs, reward, terminated, truncated, info

    def _preprocessing(self) -> AtariPreprocessing:
        env = self.env
        while not isinstance(env, AtariPreprocessing):
            env = env.env
        return env

    def _repeats_actions(self) -> bool:
        """Whether the emulator's held action matters: sticky actions on, and no reset (which clears it) due."""
        return not self.reset_due and self.env.unwrapped.ale.getFloat("repeat_action_probability") > 0

    def get_state(self) -> dict:
        """Plain data: bytes, NumPy arrays, numbers and the RNG's state dict."""
        unwrapped, pre = self.env.unwrapped, self._preprocessing()
        held = 0
        if self._repeats_actions():
            actions = list(unwrapped._action_set)
            likeliest = actions.pop(self.last_action)
            candidates = [likeliest, *actions, *([] if Action.NOOP in actions else [Action.NOOP])]  # reset holds NOOP
            held = repeated_action(unwrapped.ale, candidates).value
        return {
            "ale": pickle.dumps(unwrapped.ale.cloneState(include_rng=True)),
            "held_action": held,
            "np_random": unwrapped.np_random.bit_generator.state,
            "obs_buffer": [frame.copy() for frame in pre.obs_buffer],
            "lives": pre.lives,
            "game_over": pre.game_over,
            "reset_due": self.reset_due,
        }

    def set_states(self, states: list[dict]) -> None:
        """Take this environment's state from the list of every environment's (one call sets them all)."""
        state = states[self.index]
        unwrapped, pre = self.env.unwrapped, self._preprocessing()
        unwrapped.ale.restoreState(pickle.loads(state["ale"]))
        unwrapped.np_random.bit_generator.state = state["np_random"]
        for frame, saved in zip(pre.obs_buffer, state["obs_buffer"]):
            frame[...] = np.asarray(saved)
        pre.lives, pre.game_over = state["lives"], state["game_over"]
        self.reset_due = bool(state["reset_due"])
        if self._repeats_actions():
            hold_action(unwrapped.ale, Action(state["held_action"]))


def make_training_env(p: EnvParams, index: int) -> ResumableEnv:
    """make_env for environment `index` of a vector env. In an env subprocess, Ctrl-C (or a SIGTERM to the process
    group, as `timeout` sends) is left to the training process: that one finishes its step and checkpoints, which
    it could not do if the signal had already killed its environments. The subprocess still ends with the trainer:
    its pipe closes. The trainer itself keeps its handlers: AsyncVectorEnv also calls this factory there, once, to
    read the spaces."""
    if multiprocessing.parent_process() is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return ResumableEnv(make_env(p), index)


class InProcessEnv:
    """One ResumableEnv in this process, behind the part of the vector env interface the trainer uses (batched
    arrays). gymnasium's SyncVectorEnv would refuse to step an environment it saw end without resetting it itself."""

    num_envs = 1

    def __init__(self, env: ResumableEnv):
        self.env = env

    def reset(self, seed: int) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(seed=seed)
        return obs[None], {"lives": np.array([info["lives"]])}

    def step(self, actions: np.ndarray) -> tuple:
        obs, reward, terminated, truncated, info = self.env.step(int(actions[0]))
        lives = np.array([info["lives"]])
        return (
            obs[None],
            np.array([reward], np.float64),
            np.array([terminated]),
            np.array([truncated]),
            {"lives": lives},
        )

    def call(self, name: str, *args) -> tuple:
        return (getattr(self.env, name)(*args),)

    def close(self) -> None:
        self.env.close()


def make_vector_env(p: EnvParams, num_envs: int) -> InProcessEnv | gym.vector.AsyncVectorEnv:
    """`num_envs` copies of make_env(p): in this process for one, else one subprocess each, frames passed through
    shared memory. Environment i of a reset with `seed` is seeded seed + i. The vector env never resets by itself;
    each ResumableEnv does (next-step autoreset)."""
    if num_envs == 1:
        return InProcessEnv(make_training_env(p, 0))
    factories = [functools.partial(make_training_env, p, i) for i in range(num_envs)]
    # forkserver, not fork: this process has torch's thread pools running, which a fork would copy mid-flight
    return gym.vector.AsyncVectorEnv(
        factories, shared_memory=True, context="forkserver", autoreset_mode=gym.vector.AutoresetMode.DISABLED
    )


def env_states(envs) -> list[dict]:
    """Every environment's state, in order (ResumableEnv.get_state)."""
    return list(envs.call("get_state"))


def restore_env_states(envs, states: list[dict]) -> None:
    envs.call("set_states", states)
