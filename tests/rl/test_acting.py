"""Acting from Q-values."""

from __future__ import annotations

import numpy as np

from pipeline.rl.acting import epsilon_greedy


def test_epsilon_greedy_extremes():
    q = np.array([[0.0, 2.0, 1.0]] * 1000)
    rng = np.random.default_rng(0)
    assert (epsilon_greedy(q.copy(), 0.0, rng) == 1).all()
    actions = epsilon_greedy(q.copy(), 1.0, rng)
    assert np.bincount(actions, minlength=3).min() > 250  # each of 3 actions ~333 times
