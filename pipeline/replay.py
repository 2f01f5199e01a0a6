"""Experience replay that stores every frame once (as Dopamine does) and rebuilds k-frame stacks by index.

Row r of the circular storage holds the frame seen at some step of an episode, its position in
that episode (`episode_step`), and, once the agent has acted on it, the action, the reward and
whether that step ended the episode for learning. The transition starting at row r has state
frames r-k+1..r and next state frames r-k+2..r+1; frames from before the episode's first row are
zeros, so a stack never reaches across an episode boundary. Each episode's final observation gets
a row of its own (never a transition start), so truncated episodes still bootstrap from it.

At 1,000,000 rows and 84x84 frames the storage is 7.06 GB plus 14 bytes a row, whatever k is.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from pipeline.sumtree import SumTree


@dataclass
class Batch:
    indices: np.ndarray      # (B,) rows, to update priorities with
    states: np.ndarray       # (B, k, H, W) uint8
    actions: np.ndarray      # (B,) int64
    rewards: np.ndarray      # (B,) float32 n-step return: sum of gamma^j r_t+j over the steps taken (rewards as stored)
    next_states: np.ndarray  # (B, k, H, W) uint8: the state n steps on (or where the episode ended)
    discounts: np.ndarray    # (B,) float32 gamma^m for the m steps taken; 0 where a terminal cut bootstrapping
    weights: np.ndarray      # (B,) float32 importance weights (all ones for uniform replay)


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

    def priorities(self) -> np.ndarray:
        """The priorities of all sampleable transitions (for the diagnostics histogram)."""
        return self.tree[np.flatnonzero(self.valid)]


class ReplayBuffer:
    """Frames stored once; call `start_episode` with the first frame, then `add` once per step.

    With n-step returns a transition becomes sampleable once the n steps after it are stored (or its
    episode has ended), and its return stops early at a terminal or at the end of the episode.
    """

    def __init__(self, capacity: int, stack: int, frame_shape: tuple[int, int], sampler, seed: int,
                 gamma: float = 0.99, n_step: int = 1):
        if capacity <= stack + n_step:
            raise ValueError("capacity must exceed the stack depth plus n_step")
        self.capacity, self.stack, self.gamma, self.n_step = capacity, stack, gamma, n_step
        self.frames = np.zeros((capacity, *frame_shape), np.uint8)  # pages are touched only as rows fill
        self.episode_step = np.zeros(capacity, np.int32)
        self.actions = np.zeros(capacity, np.uint8)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminals = np.zeros(capacity, bool)     # the step cut bootstrapping
        self.episode_over = np.zeros(capacity, bool)  # the step ended the episode (terminated or truncated)
        self.sampler = sampler
        self._pending: deque[int] = deque()  # rows of this episode waiting for their n-step lookahead
        self.rng = np.random.default_rng(seed)
        self.cursor = 0          # next row to write
        self.size = 0            # rows written so far (up to capacity)
        self._last = -1          # row of the newest frame of the running episode; -1 between episodes
        self._offsets = np.arange(stack - 1, -1, -1)  # oldest frame first
        self._batch_arrays: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        """Transitions that can be sampled now."""
        return self.sampler.count

    def _write(self, frame: np.ndarray, episode_step: int) -> int:
        row = self.cursor
        # the row k-1 ahead would now build its stack from this new frame: retire it (and, inductively, all between)
        self.sampler.remove(np.array([(row + self.stack - 1) % self.capacity]))
        self.frames[row] = frame
        self.episode_step[row] = episode_step
        self.cursor = (row + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)
        return row

    def start_episode(self, frame: np.ndarray) -> None:
        self._last = self._write(frame, 0)

    def add(self, action: int, reward: float, terminal: bool, next_frame: np.ndarray, episode_over: bool) -> None:
        """Record the step taken from the newest frame: `terminal` cuts bootstrapping (game over, or a
        lost life if the learner treats it so); `episode_over` also covers truncation and ends the episode."""
        if self._last < 0:
            raise RuntimeError("start_episode must come before add")
        row = self._last
        self.actions[row], self.rewards[row] = action, reward
        self.terminals[row], self.episode_over[row] = terminal, episode_over
        nxt = self._write(next_frame, int(self.episode_step[row]) + 1)
        self._pending.append(row)
        ready = len(self._pending) if episode_over else len(self._pending) - self.n_step + 1
        if ready > 0:
            self.sampler.add(np.array([self._pending.popleft() for _ in range(ready)]))
        self._last = -1 if episode_over else nxt

    def stacks(self, rows: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """(B, k, H, W) stacks ending at `rows`, zeros before each row's episode start."""
        history = (rows[:, None] - self._offsets) % self.capacity
        stacked = np.take(self.frames, history, axis=0, out=out)
        stacked[self._offsets > self.episode_step[rows][:, None]] = 0
        return stacked

    def sample(self, batch_size: int, beta: float = 1.0) -> Batch:
        """A batch whose state arrays are reused by the next `sample` call of the same size: use it (or copy it) first.

        Reusing them saves allocating ~2 MB per batch at k = 8, whose pages glibc would hand back to the
        system and fault in again each time (measured 6x slower at batch 32).
        """
        indices, weights = self.sampler.sample(batch_size, self.size, self.rng, beta)
        if batch_size not in self._batch_arrays:
            shape = (batch_size, self.stack, *self.frames.shape[1:])
            self._batch_arrays[batch_size] = (np.empty(shape, np.uint8), np.empty(shape, np.uint8))
        states, next_states = self._batch_arrays[batch_size]
        returns, last, discounts = self.n_step_returns(indices)
        return Batch(
            indices=indices,
            states=self.stacks(indices, out=states),
            actions=self.actions[indices].astype(np.int64),
            rewards=returns,
            next_states=self.stacks((last + 1) % self.capacity, out=next_states),
            discounts=discounts,
            weights=weights,
        )

    def n_step_returns(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each transition: the discounted sum of up to n rewards, stopping after a terminal or the episode's
        last step; the row of the last step taken; and gamma^m (0 after a terminal) to bootstrap with."""
        returns = np.zeros(len(indices), np.float32)
        last = indices.copy()
        taken = np.zeros(len(indices), np.int64)
        cut = np.zeros(len(indices), bool)
        going = np.ones(len(indices), bool)
        for j in range(self.n_step):  # a loop over n (small), vectorised over the batch
            rows = (indices + j) % self.capacity
            returns += np.where(going, self.gamma ** j * self.rewards[rows], 0.0).astype(np.float32)
            last = np.where(going, rows, last)
            taken += going
            cut |= going & self.terminals[rows]
            going &= ~(self.terminals[rows] | self.episode_over[rows])
        discounts = np.where(cut, 0.0, self.gamma ** taken).astype(np.float32)
        return returns, last, discounts

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        self.sampler.update(indices, td_errors)


def make_replay(kind: str, capacity: int, stack: int, frame_shape: tuple[int, int],
                alpha: float, priority_eps: float, seed: int, gamma: float = 0.99, n_step: int = 1) -> ReplayBuffer:
    sampler = PrioritizedSampler(capacity, alpha, priority_eps) if kind == "per" else UniformSampler(capacity)
    return ReplayBuffer(capacity, stack, frame_shape, sampler, seed, gamma, n_step)
