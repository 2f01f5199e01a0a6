"""Annealing schedules: exploration (epsilon, temperature, RND's weight) and PER's importance-weight exponent (beta)."""

from __future__ import annotations


def epsilon_at(step: int, start: float, end: float, decay_steps: int, shape: str) -> float:
    """Epsilon after `step` agent steps: from `start` to `end` over `decay_steps`, then flat.

    `linear` interpolates; `exponential` multiplies by a constant factor each step (geometric
    interpolation), reaching `end` exactly at `decay_steps`.
    """
    if shape == "linear":
        return linear_at(step, start, end, decay_steps)
    return start * (end / start) ** min(step / decay_steps, 1.0)


def beta_at(step: int, beta0: float, total_steps: int, learning_starts: int) -> float:
    """PER's beta, linear from beta0 when learning starts to 1 at the end of training."""
    span = max(total_steps - learning_starts, 1)
    return min(1.0, beta0 + (1.0 - beta0) * max(step - learning_starts, 0) / span)


def linear_at(step: int, start: float, end: float, decay_steps: int) -> float:
    """From `start` to `end` linearly over `decay_steps`, then flat (RND's intrinsic-reward weight)."""
    return start + (end - start) * min(step / decay_steps, 1.0)


def temperature_at(episode: int, start: float, end: float, decay: float) -> float:
    """Boltzmann temperature for an episode: multiplied by `decay` each episode, never below `end`."""
    return max(end, start * decay**episode)
