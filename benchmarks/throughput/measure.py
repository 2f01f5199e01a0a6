"""What measures share: the settings every program is configured to, draining the device before a clock is read,
and the rows of the tables."""

from __future__ import annotations

from dataclasses import dataclass

import torch

SCREEN = 84


@dataclass(frozen=True)
class Setup:
    """What every program compared is configured to (the issue's side-by-side settings); `device` as TrainParams
    takes it. Exploration is held at a small `epsilon`, as in most of a run, so every program runs its network on
    every step (one that explores uniformly at random skips it)."""

    game: str
    device: str = "cpu"
    seed: int = 0
    frame_stack: int = 4
    capacity: int = 100_000
    batch_size: int = 32
    learning_starts: int = 5_000
    train_frequency: int = 4
    epsilon: float = 0.01
    split_update: bool = False  # ours only: train.split_update (two half-batches on two threads)


@dataclass
class Row:
    """One line of the table; `ratio` is value / the reference value of its group (None: no reference)."""

    section: str
    configuration: str
    replay: str
    value: float
    unit: str
    window: str  # what the rate was counted over
    reference: float | None = None

    @property
    def ratio(self) -> float | None:
        return self.value / self.reference if self.reference else None


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so that a timed window holds the work it launched."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@dataclass
class RecordRate:
    """Rows recorded over the wall seconds of a whole recording call."""

    rows: int
    seconds: float
