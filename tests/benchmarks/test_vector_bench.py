"""The vector-env benchmark's claims that are not timings: ale-py's AtariVectorEnv, configured as make_env, plays the
same game on the same frames."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from benchmarks.vector_bench import frames_differing, native_env
from pipeline.config.params import EnvParams
from pipeline.envs.atari import make_env


def test_the_native_vector_env_sees_make_envs_frames_on_one_trajectory():
    differing, compared = frames_differing(replace(EnvParams(), game="Pong"), 300, seed=3)
    assert compared == 301 and differing == 0


def test_the_native_vector_env_takes_the_env_sections_settings():
    p = replace(EnvParams(), game="MsPacman", screen_size=64)
    native, ours = native_env(p, 2), make_env(p)
    frames, _ = native.reset(seed=0)
    assert frames.shape == (2, 1, 64, 64) and frames.dtype == np.uint8
    assert native.single_action_space.n == ours.action_space.n == 9
    native.close()
    ours.close()
