"""How a policy chooses an action under an exploration setting (epsilon-greedy or Boltzmann), and what its network
computed on the way: the agent outputs a recording keeps with record.agent_outputs.

The RNG draws are those of pipeline.rl.acting (act_epsilon_greedy, boltzmann), whether or not the outputs are kept,
so recording them never changes an action.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.rl.acting import boltzmann, epsilon_greedy


@dataclass(frozen=True)
class Exploration:
    kind: str  # "epsilon" or "boltzmann" (pipeline.data.schema.EXPLORATIONS)
    value: float  # the epsilon, or the temperature

    @property
    def needs_q_values(self) -> bool:
        """Whether choosing needs the network (an epsilon of 1 is uniformly random)."""
        return self.kind == "boltzmann" or self.value < 1.0


UNIFORM = Exploration("epsilon", 1.0)  # how the random agent plays


@dataclass(frozen=True)
class Decision:
    """The actions chosen for a batch of states and, where the network ran, its Q-values and penultimate features."""

    actions: np.ndarray  # (B,) int
    q_values: np.ndarray | None  # (B, A) float32
    features: np.ndarray | None  # (B, H) float32

    @property
    def exploratory(self) -> np.ndarray:
        """Whether each action is other than the greedy one; every action is, where no network ran."""
        if self.q_values is None:
            return np.ones(len(self.actions), bool)
        return self.actions != self.q_values.argmax(axis=1)


def choose(q_values: np.ndarray | None, exploration: Exploration, rng: np.random.Generator, shape: tuple[int, int]):
    """Actions for `shape` = (states, actions) under `exploration`; q_values may be None only when it does not need
    them."""
    if exploration.kind == "boltzmann":
        return boltzmann(q_values, exploration.value, rng)
    if not exploration.needs_q_values:
        return rng.integers(0, shape[1], size=shape[0])
    return epsilon_greedy(q_values, exploration.value, rng)
