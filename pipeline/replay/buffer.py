"""Experience replay that stores every frame once (as Dopamine does) and rebuilds k-frame stacks by index.

Row r of the circular storage holds the frame seen at some step of an episode, its position in
that episode (`episode_step`), and, once the agent has acted on it, the action, the reward and
whether that step ended the episode for learning. With one environment stream, the transition
starting at row r has state frames r-k+1..r and next state frames r-k+2..r+1; with S streams the
rows interleave and those become r-(k-1)S..r and r-(k-2)S..r+S. Frames from before the episode's
first row are zeros, so a stack never reaches across an episode boundary or into another stream.
Each episode's final observation gets a row of its own (never a transition start), so truncated
episodes still bootstrap from it.

At 1,000,000 rows and 84x84 frames the storage is 7.06 GB plus 14 bytes a row, whatever k is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pipeline.replay.samplers import PrioritizedSampler, UniformSampler
from pipeline.replay.storage import DeviceFrames, HostFrames

ROW_ARRAYS = ("episode_step", "actions", "rewards", "terminals", "episode_over")  # one value per row, besides the frame


@dataclass
class Batch:
    indices: np.ndarray  # (B,) rows, to update priorities with
    states: np.ndarray  # (B, k, H, W) uint8 (a torch tensor on the device when frames are stored there)
    actions: np.ndarray  # (B,) int64
    rewards: np.ndarray  # (B,) float32 n-step return: sum of gamma^j r_t+j over the steps taken (rewards as stored)
    next_states: np.ndarray  # (B, k, H, W) uint8 like states: the state n steps on (or where the episode ended)
    discounts: np.ndarray  # (B,) float32 gamma^m for the m steps taken; 0 where a terminal cut bootstrapping
    weights: np.ndarray  # (B,) float32 importance weights (all ones for uniform replay)


class ReplayBuffer:
    """Frames stored once, for `streams` environments stepped together.

    Rows are interleaved: the frames that step t brings for environments 0..S-1 take S consecutive rows,
    so the row before row r in its own stream is r - S. A stack is built from one stream's rows only, and
    never reaches before its episode's start. `start` takes the first frames of every stream, then `step`
    takes one step of all of them, as gymnasium's vector envs give it (autoreset on the next step).

    With n-step returns a transition becomes sampleable once the n steps after it are stored (or its
    episode has ended), and its return stops early at a terminal or at the end of the episode.
    """

    def __init__(
        self,
        capacity: int,
        stack: int,
        frame_shape: tuple[int, int],
        sampler,
        seed: int,
        gamma: float = 0.99,
        n_step: int = 1,
        streams: int = 1,
        frames: HostFrames | DeviceFrames | None = None,
    ):
        if capacity % streams:
            raise ValueError("capacity must be whole steps of all streams (make_replay rounds it down)")
        if capacity < streams * (stack + n_step + 1):
            raise ValueError("capacity must hold streams * (stack + n_step + 1) rows")
        self.capacity, self.stack, self.gamma, self.n_step, self.streams = capacity, stack, gamma, n_step, streams
        self.store = frames or HostFrames(capacity, frame_shape)
        self.episode_step = np.zeros(capacity, np.int32)
        self.actions = np.zeros(capacity, np.uint8)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminals = np.zeros(capacity, bool)  # the step cut bootstrapping
        self.episode_over = np.zeros(capacity, bool)  # the step ended the episode (terminated or truncated)
        self.sampler = sampler
        self.rng = np.random.default_rng(seed)
        self.cursor = 0  # first row of the next step's block
        self.size = 0  # rows written so far (up to capacity)
        self._newest: np.ndarray | None = None  # each stream's newest row; None before `start`
        self._offsets = np.arange(stack - 1, -1, -1) * streams  # oldest frame first, stepping back within a stream

    @property
    def frames(self):
        """The frame storage, (capacity, H, W) uint8: a NumPy array, or a torch tensor on the device."""
        return self.store.array

    def __len__(self) -> int:
        """Transitions that can be sampled now."""
        return self.sampler.count

    def _write(self, frames: np.ndarray, episode_steps: np.ndarray) -> np.ndarray:
        rows = self.cursor + np.arange(self.streams)
        # the block k-1 steps ahead would now build its stacks from these new frames: retire it
        # (and, inductively, every block between)
        self.sampler.remove((rows + (self.stack - 1) * self.streams) % self.capacity)
        self.store.write(rows, frames)
        self.episode_step[rows] = episode_steps
        self.cursor = (self.cursor + self.streams) % self.capacity
        self.size = min(self.size + self.streams, self.capacity)
        return rows

    def start(self, frames: np.ndarray) -> None:
        """The first frame of each stream's first episode, (S, H, W)."""
        self._newest = self._write(frames, np.zeros(self.streams, np.int32))

    def step(
        self,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminals: np.ndarray,
        next_frames: np.ndarray,
        episode_over: np.ndarray,
        restarted: np.ndarray,
    ) -> None:
        """One step of every stream, arrays of length S. For a stream with `restarted` set, its newest frame
        was its episode's final observation and `next_frames` holds the first frame of a new episode (its
        action and reward are ignored). Otherwise the step took `actions` from the newest frame: `terminals`
        cuts bootstrapping (game over, or a lost life if the learner treats it so); `episode_over` also
        covers truncation and ends the episode."""
        if self._newest is None:
            raise RuntimeError("start must come before step")
        rows, acted = self._newest, ~np.asarray(restarted, bool)
        self.actions[rows[acted]], self.rewards[rows[acted]] = actions[acted], rewards[acted]
        self.terminals[rows[acted]], self.episode_over[rows[acted]] = terminals[acted], episode_over[acted]
        taken = self.episode_step[rows]  # steps of the episode before this one
        self._newest = self._write(next_frames, np.where(acted, taken + 1, 0))
        # now complete: the transition n-1 steps back, or every pending one of an episode that just ended
        over = acted & episode_over
        ready = []
        for j in range(self.n_step):
            due = acted & (taken >= j) & (over | (j == self.n_step - 1))
            ready.append((rows[due] - j * self.streams) % self.capacity)
        self.sampler.add(np.concatenate(ready))

    def stacks(self, rows: np.ndarray, slot: int):
        """(B, k, H, W) stacks ending at `rows`, zeros before each row's episode start."""
        history = (rows[:, None] - self._offsets) % self.capacity
        return self.store.gather(history, self._offsets > self.episode_step[rows][:, None] * self.streams, slot)

    def sample(self, batch_size: int, beta: float = 1.0) -> Batch:
        """A batch whose state arrays are reused by the next `sample` call of the same size: use them (or copy
        them) first. With device storage, states and next states are uint8 tensors on that device."""
        indices, weights = self.sampler.sample(batch_size, self.size, self.rng, beta)
        returns, last, discounts = self.n_step_returns(indices)
        return Batch(
            indices=indices,
            states=self.stacks(indices, slot=0),
            actions=self.actions[indices].astype(np.int64),
            rewards=returns,
            next_states=self.stacks((last + self.streams) % self.capacity, slot=1),
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
            rows = (indices + j * self.streams) % self.capacity
            returns += np.where(going, self.gamma**j * self.rewards[rows], 0.0).astype(np.float32)
            last = np.where(going, rows, last)
            taken += going
            cut |= going & self.terminals[rows]
            going &= ~(self.terminals[rows] | self.episode_over[rows])
        discounts = np.where(cut, 0.0, self.gamma**taken).astype(np.float32)
        return returns, last, discounts

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        self.sampler.update(indices, td_errors)

    def layout(self) -> dict:
        """What a saved state must match to be loaded into this buffer."""
        return {
            "capacity": self.capacity,
            "stack": self.stack,
            "streams": self.streams,
            "n_step": self.n_step,
            "gamma": self.gamma,
            "frame_shape": list(self.frames.shape[1:]),
            "sampler": type(self.sampler).__name__,
        }

    def state(self) -> dict:
        """Everything but the frames (pipeline.replay.persist streams those): the rows written so far, the cursor,
        each stream's newest row, the sampler and the RNG."""
        return {
            "cursor": self.cursor,
            "size": self.size,
            "newest": self._newest,
            "rng": self.rng.bit_generator.state,
            "rows": {name: getattr(self, name)[: self.size] for name in ROW_ARRAYS},
            "sampler": self.sampler.state(),
        }

    def load_state(self, state: dict) -> None:
        self.cursor, self.size = int(state["cursor"]), int(state["size"])
        self._newest = None if state["newest"] is None else np.asarray(state["newest"], np.int64)
        self.rng.bit_generator.state = state["rng"]
        for name in ROW_ARRAYS:
            getattr(self, name)[: self.size] = state["rows"][name]
        self.sampler.load_state(state["sampler"])


def replay_bytes(capacity: int, frame_shape: tuple[int, int], prioritized: bool) -> int:
    """Memory a full buffer takes: a frame and the row arrays per row, and the sum tree's levels with PER."""
    per_row = frame_shape[0] * frame_shape[1] + sum(np.dtype(t).itemsize for t in ("i4", "u1", "f4", "?", "?")) + 1
    return capacity * (per_row + (9 if prioritized else 0))  # the tree: 8-byte leaves plus about 1/32 more above


def make_replay(
    kind: str,
    capacity: int,
    stack: int,
    frame_shape: tuple[int, int],
    alpha: float,
    priority_eps: float,
    seed: int,
    gamma: float = 0.99,
    n_step: int = 1,
    streams: int = 1,
    storage: torch.device | None = None,
    pinned: bool = False,
) -> ReplayBuffer:
    """A replay buffer; `storage` puts the frames in that device's memory, `pinned` page-locks the host batches."""
    rows = capacity - capacity % streams
    sampler = PrioritizedSampler(rows, alpha, priority_eps) if kind == "per" else UniformSampler(rows)
    frames = DeviceFrames(rows, frame_shape, storage) if storage is not None else HostFrames(rows, frame_shape, pinned)
    return ReplayBuffer(rows, stack, frame_shape, sampler, seed, gamma, n_step, streams, frames)
