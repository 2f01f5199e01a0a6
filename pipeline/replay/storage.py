"""Where the replay frames live: host memory (optionally with page-locked batches) or the learner's GPU."""

from __future__ import annotations

import numpy as np
import torch


class HostFrames:
    """Frames in host memory (NumPy); with `pinned`, batches are gathered into page-locked arrays so their copy
    to a CUDA device can run asynchronously."""

    def __init__(self, capacity: int, frame_shape: tuple[int, int], pinned: bool = False):
        self.array = np.zeros((capacity, *frame_shape), np.uint8)  # pages are touched only as rows fill
        self.pinned = pinned
        self._out: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def write(self, rows: np.ndarray, frames: np.ndarray) -> None:
        self.array[rows] = frames

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop-1 on the host (a view: no copy)."""
        return self.array[start:stop]

    def gather(self, history: np.ndarray, padding: np.ndarray, slot: int) -> np.ndarray:
        """Frames at `history` (B, k) with `padding` positions zeroed, into the reused array `slot` (0: states,
        1: next states) of this batch size: reusing them saves allocating ~2 MB per batch at k = 8, whose pages
        glibc would hand back to the system and fault in again each time (measured 6x slower at batch 32)."""
        if history.shape not in self._out:
            shape = (*history.shape, *self.array.shape[1:])
            self._out[history.shape] = tuple(
                torch.empty(shape, dtype=torch.uint8).pin_memory().numpy() if self.pinned else np.empty(shape, np.uint8)
                for _ in range(2)
            )
        stacked = np.take(self.array, history, axis=0, out=self._out[history.shape][slot])
        stacked[padding] = 0
        return stacked


class DeviceFrames:
    """Frames in the learner's device memory (a GPU), so a batch is gathered where it is used: only the (B, k)
    row indices cross to the device, not the B x k x 84 x 84 bytes of each state and next state."""

    def __init__(self, capacity: int, frame_shape: tuple[int, int], device: torch.device):
        self.array = torch.zeros((capacity, *frame_shape), dtype=torch.uint8, device=device)
        self.device = device

    def write(self, rows: np.ndarray, frames: np.ndarray) -> None:
        self.array[torch.as_tensor(rows, device=self.device)] = torch.as_tensor(frames, device=self.device)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop-1, copied to the host (one block at a time, never the whole buffer)."""
        return self.array[start:stop].cpu().numpy()

    def gather(self, history: np.ndarray, padding: np.ndarray, slot: int) -> torch.Tensor:
        stacked = self.array[torch.as_tensor(history, device=self.device)]
        stacked[torch.as_tensor(padding, device=self.device)] = 0
        return stacked
