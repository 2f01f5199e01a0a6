"""Which stored transitions a batch draws: uniformly, or in proportion to their priority (a sum tree)."""

from __future__ import annotations

import numpy as np

from pipeline.replay.sumtree import SumTree


class UniformSampler:
    """Every complete transition equally likely."""

    def __init__(self, capacity: int):
        self.valid = np.zeros(capacity, bool)

    def add(self, indices: np.ndarray) -> None:
        self.valid[indices] = True

    def remove(self, indices: np.ndarray) -> None:
        self.valid[indices] = False

    @property
    def count(self) -> int:
        return int(self.valid.sum())

    def sample(self, batch_size: int, high: int, rng: np.random.Generator, beta: float):
        """Rejection sampling over the written rows: exact uniformity, vectorised draws."""
        picked = np.empty(0, np.int64)
        while len(picked) < batch_size:
            draws = rng.integers(0, high, size=2 * batch_size)
            picked = np.concatenate([picked, draws[self.valid[draws]]])
        return picked[:batch_size], np.ones(batch_size, np.float32)

    def update(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        """Uniform replay ignores TD errors."""

    def state(self) -> dict:
        return {"valid": self.valid}

    def load_state(self, state: dict) -> None:
        self.valid[...] = state["valid"]


class PrioritizedSampler:
    """Proportional prioritized replay (Schaul et al. 2016) over a sum tree.

    Priorities are (|TD error| + eps)^alpha; a new transition gets the largest priority given so far,
    so it is sampled at least once soon. Sampling is stratified over the total priority mass, and
    the importance weights (N * P(i))^-beta are divided by the batch's largest.
    """

    def __init__(self, capacity: int, alpha: float, eps: float):
        self.tree = SumTree(capacity)
        self.alpha, self.eps = alpha, eps
        self.max_priority = 1.0
        self.valid = np.zeros(capacity, bool)

    def add(self, indices: np.ndarray) -> None:
        self.valid[indices] = True
        self.tree.update(indices, np.full(len(indices), self.max_priority))

    def remove(self, indices: np.ndarray) -> None:
        self.valid[indices] = False
        self.tree.update(indices, np.zeros(len(indices)))

    @property
    def count(self) -> int:
        return int(self.valid.sum())

    def sample(self, batch_size: int, high: int, rng: np.random.Generator, beta: float):
        indices = self.tree.sample_stratified(batch_size, rng)
        # (N * P(i))^-beta / max_j (N * P(j))^-beta, with P(i) = p_i / total: N and the total cancel, leaving
        # (p_i / min_j p_j)^-beta, which spares counting the valid transitions (a pass over the buffer) per batch
        priorities = self.tree[indices]
        return indices, np.power(priorities.min() / priorities, beta, dtype=np.float32)

    def update(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        priorities = (np.abs(td_errors) + self.eps) ** self.alpha
        self.tree.update(indices, priorities)
        self.max_priority = max(self.max_priority, float(priorities.max()))

    def state(self) -> dict:
        return {"valid": self.valid, "tree": self.tree.state(), "max_priority": self.max_priority}

    def load_state(self, state: dict) -> None:
        self.valid[...] = state["valid"]
        self.tree.load_state(state["tree"])
        self.max_priority = float(state["max_priority"])

    def priorities(self) -> np.ndarray:
        """The priorities of all sampleable transitions (for the diagnostics histogram)."""
        return self.tree[np.flatnonzero(self.valid)]
