"""The training vector env: its whole state can be saved and put back, in this process (one env) and in
subprocesses (several), and building it leaves the trainer's own signal handlers alone."""

from __future__ import annotations

import signal

import numpy as np
import pytest

from pipeline.config.params import EnvParams
from pipeline.envs.vector import env_states, make_vector_env, restore_env_states

# short episodes, so that resets (and pending resets) fall inside the steps played
PARAMS = EnvParams(game="Breakout", frame_stack=4, max_episode_frames=400)


def play(envs, actions: np.ndarray) -> list[tuple]:
    """Step through `actions` (steps x envs); what each step returned."""
    return [tuple(np.copy(part) for part in envs.step(step)[:4]) for step in actions]


@pytest.mark.parametrize("num_envs", [1, 3])
def test_restored_states_replay_the_same_future(num_envs):
    """Saved at several points of a game with sticky actions (whose repeated action ALE keeps outside its saved
    state) and restored into one other environment, each state plays on exactly as the original did."""
    actions = np.random.default_rng(0).integers(4, size=(380, num_envs))
    splits = range(10, 300, 15)  # a restore that misses the held action diverges about one time in five
    envs = make_vector_env(PARAMS, num_envs)
    try:
        envs.reset(seed=3)
        states, expected = {}, []
        for step, action in enumerate(actions):
            if step in splits:
                states[step] = env_states(envs)
            expected.append(play(envs, action[None])[0])
    finally:
        envs.close()
    assert any(terminated.any() or truncated.any() for _, _, terminated, truncated in expected)
    fresh = make_vector_env(PARAMS, num_envs)
    try:
        fresh.reset(seed=99)  # another start, all of it overwritten by the states
        for split in splits:
            restore_env_states(fresh, states[split])
            replayed = play(fresh, actions[split : split + 30])
            for offset, (want, got) in enumerate(zip(expected[split:], replayed)):
                for name, a, b in zip(("obs", "reward", "terminated", "truncated"), want, got):
                    np.testing.assert_array_equal(a, b, err_msg=f"{name} at step {split + offset}, restored at {split}")
    finally:
        fresh.close()


def test_several_envs_leave_the_trainers_signal_handlers_alone():
    """AsyncVectorEnv calls an env factory in this process too; only the subprocesses ignore Ctrl-C."""
    envs = make_vector_env(PARAMS, 2)
    try:
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        envs.close()
