"""Boltzmann exploration: actions sampled from softmax(Q / temperature), the temperature decaying per episode."""

from __future__ import annotations

import numpy as np

from pipeline.rl.exploration.learner import Learner
from pipeline.rl.schedules import temperature_at


class Boltzmann(Learner):
    schedule_names = ("temperature",)

    def schedule(self, step: int, episode: int) -> dict[str, float]:
        t = self.t
        return {"temperature": temperature_at(episode, t.temperature_start, t.temperature_end, t.temperature_decay)}

    def act(self, states: np.ndarray, step: int, episode: int, rng: np.random.Generator) -> np.ndarray:
        return self.agent.act_boltzmann(states, self.schedule(step, episode)["temperature"], rng)
