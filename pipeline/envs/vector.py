"""Several copies of the preprocessed environment stepped together, for training.

These are gymnasium's vector envs around `make_env`, so training sees exactly the frames that
evaluation and recording do. ale-py's native AtariVectorEnv steps faster, but its resizing differs
from `AtariPreprocessing` (0.7% of pixels, by up to 142 grey levels, in a Breakout check), its
FIRE-on-reset loses lives at other steps, and it cannot set a game mode or difficulty.
"""

from __future__ import annotations

import functools
import signal

import gymnasium as gym

from pipeline.config.params import EnvParams
from pipeline.envs.atari import make_env


def make_worker_env(p: EnvParams) -> gym.Env:
    """make_env in an env subprocess, which leaves Ctrl-C (or a SIGTERM to the process group, as `timeout` sends) to
    the training process: that one finishes its step and checkpoints, which it could not do if the signal had already
    killed its environments. The subprocess still ends with the trainer: its pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return make_env(p)


def make_vector_env(p: EnvParams, num_envs: int) -> gym.vector.VectorEnv:
    """`num_envs` copies of make_env(p): in this process for one, else one subprocess each, frames passed through
    shared memory. An episode that ends is reset on that env's next step, whose action is ignored
    (gymnasium's NEXT_STEP autoreset): the step returns the new episode's first frame."""
    if num_envs == 1:
        return gym.vector.SyncVectorEnv(
            [functools.partial(make_env, p)], autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP
        )
    factories = [functools.partial(make_worker_env, p)] * num_envs
    # forkserver, not fork: this process has torch's thread pools running, which a fork would copy mid-flight
    return gym.vector.AsyncVectorEnv(
        factories, shared_memory=True, context="forkserver", autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP
    )
