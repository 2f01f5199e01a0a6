"""The agent's view: the last k frames of each environment, stacked, zero-padded at an episode's start."""

from __future__ import annotations

import numpy as np


class FrameStacks:
    """What n agents see: each environment's last k frames, zero-padded at the start of its episode.

    Zero padding matches how the replay buffer rebuilds stacks, so the agent acts on exactly the
    states it learns from.
    """

    def __init__(self, n: int, k: int, frame_shape: tuple[int, int]):
        self.states = np.zeros((n, k, *frame_shape), np.uint8)

    def start(self, frames: np.ndarray) -> np.ndarray:
        """(n, k, H, W) stacks of each environment's first frame, (n, H, W), after k - 1 zero frames."""
        self.states[:] = 0
        self.states[:, -1] = frames
        return self.states

    def push(self, frames: np.ndarray, restarted: np.ndarray) -> np.ndarray:
        """Slide each stack on by its newest frame; where `restarted`, that frame begins a new episode."""
        self.states[:, :-1] = self.states[:, 1:]
        self.states[:, -1] = frames
        self.states[np.asarray(restarted, bool), :-1] = 0
        return self.states
