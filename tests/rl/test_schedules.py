"""Schedules: epsilon reaches its end by its shape, beta anneals to one."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.rl.schedules import beta_at, epsilon_at


@pytest.mark.parametrize("shape", ["linear", "exponential"])
def test_epsilon_reaches_its_end_and_stays(shape):
    args = dict(start=1.0, end=0.1, decay_steps=1_000_000, shape=shape)
    assert epsilon_at(0, **args) == 1.0
    assert epsilon_at(1_000_000, **args) == pytest.approx(0.1)
    assert epsilon_at(5_000_000, **args) == pytest.approx(0.1)
    values = [epsilon_at(s, **args) for s in range(0, 1_000_001, 50_000)]
    assert all(a > b for a, b in zip(values, values[1:]))


def test_epsilon_midpoints_tell_the_shapes_apart():
    """Halfway, linear decay is at the arithmetic mean of start and end, exponential at the geometric mean."""
    assert epsilon_at(500, 1.0, 0.1, 1000, "linear") == pytest.approx(0.55)
    assert epsilon_at(500, 1.0, 0.1, 1000, "exponential") == pytest.approx(np.sqrt(0.1))


def test_beta_anneals_from_beta0_when_learning_starts_to_one_at_the_end():
    assert beta_at(0, 0.4, 1000, 100) == 0.4
    assert beta_at(100, 0.4, 1000, 100) == 0.4
    assert beta_at(550, 0.4, 1000, 100) == pytest.approx(0.7)
    assert beta_at(1000, 0.4, 1000, 100) == 1.0
    assert beta_at(2000, 0.4, 1000, 100) == 1.0
