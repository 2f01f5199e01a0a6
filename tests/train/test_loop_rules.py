"""The training loop rules: reward shaping, the random prefill, periodic work counted across vector steps."""

from __future__ import annotations

import numpy as np
import torch

from pipeline.train.trainer import choose_actions, due, learning_rewards
from tests.helpers import tiny_params


def test_reward_shaping_penalises_learning_rewards_only_as_asked():
    t = tiny_params(train={"living_penalty": 0.01, "life_loss_penalty": 1.0}).train
    shaped = learning_rewards(np.array([7.0, 0.0]), np.array([False, True]), t)
    np.testing.assert_allclose(shaped, [1.0 - 0.01, -0.01 - 1.0])  # clipped, then the living and life-loss penalties
    off = tiny_params().train
    assert learning_rewards(np.array([-3.0]), np.array([True]), off)[0] == -1.0


def test_prefill_acts_uniformly_at_random_then_the_learner_takes_over():
    t = tiny_params(
        train={"prefill_steps": 1000, "epsilon_start": 0.0, "epsilon_end": 0.0, "epsilon_decay": "linear"}
    ).train
    torch.manual_seed(0)
    from pipeline.rl.exploration.epsilon import EpsilonGreedy

    learner = EpsilonGreedy(t, 4, 4, 84, torch.device("cpu"))
    states = np.zeros((2, 4, 84, 84), np.uint8)
    rng = np.random.default_rng(0)
    during = {int(a) for step in range(100) for a in choose_actions(learner, states, step, 0, rng, t.prefill_steps, 4)}
    after = {
        int(a) for step in range(25) for a in choose_actions(learner, states, 1000 + step, 0, rng, t.prefill_steps, 4)
    }
    assert during == {0, 1, 2, 3}
    assert len(after) == 1  # greedy on a constant state


def test_periodic_work_is_counted_however_far_a_step_moves():
    """due() counts the multiples of the interval (from `start`) passed, as per-step `step % interval == 0` would."""
    rng = np.random.default_rng(0)
    step, counted = 0, 0
    while step < 1_000:
        before, step = step, step + int(rng.integers(0, 9))  # vector steps move 0..8 agent steps
        counted += due(before, step, 7, start=100)
    assert counted == sum(1 for s in range(1, step + 1) if s % 7 == 0 and s >= 100)
