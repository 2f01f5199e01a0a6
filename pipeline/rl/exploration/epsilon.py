"""Epsilon-greedy: a uniformly random action with probability epsilon, annealed linearly or geometrically."""

from __future__ import annotations

import numpy as np

from pipeline.config.params import TrainParams
from pipeline.rl.exploration.learner import Learner
from pipeline.rl.schedules import epsilon_at


def epsilon(t: TrainParams, step: int) -> float:
    return epsilon_at(step, t.epsilon_start, t.epsilon_end, t.epsilon_decay_steps, t.epsilon_decay)


class EpsilonGreedy(Learner):
    schedule_names = ("epsilon",)

    def schedule(self, step: int, episode: int) -> dict[str, float]:
        return {"epsilon": epsilon(self.t, step)}

    def act(self, states: np.ndarray, step: int, episode: int, rng: np.random.Generator) -> np.ndarray:
        return self.agent.act(states, epsilon(self.t, step), rng)
