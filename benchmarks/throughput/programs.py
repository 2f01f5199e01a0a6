"""The programs compared, and what their worker processes run: a training loop behind a gate, or the limit's parts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from benchmarks.throughput.limits import NNParts
from benchmarks.throughput.measure import Setup
from benchmarks.throughput.ours import train_ours
from benchmarks.throughput.reference import train_reference
from benchmarks.throughput.sb3 import train_sb3
from benchmarks.throughput.workers import READY, Gate

REFERENCE, SB3, OURS = "reference", "sb3", "ours"
TITLES = {REFERENCE: "CleanRL-style reference", SB3: "Stable-Baselines3 DQN", OURS: "ours (Trainer)"}


@dataclass(frozen=True)
class Program:
    """One contender. `threads`: torch intra-op threads it is started with (None: torch's default); ours sets its
    own (one) whatever it is started with. `replay` and `num_envs` are ours' only."""

    kind: str
    threads: int | None
    replay: str = "uniform"
    num_envs: int = 1

    @property
    def peer(self) -> bool:
        return self.kind != OURS

    @property
    def threads_label(self) -> str:
        if self.kind == OURS:
            return "1 (its own)"
        return "default" if self.threads is None else str(self.threads)

    @property
    def label(self) -> str:
        if self.kind == OURS:
            return f"{TITLES[OURS]}, {self.replay}, num_envs {self.num_envs}"
        return f"{TITLES[self.kind]}, {self.threads_label} threads"


def run_program(s: Setup, program: Program, out: Path, conn) -> None:
    """A worker's program: its threads set, then its training loop behind a gate until the parent closes it."""
    if program.threads is not None:
        torch.set_num_threads(program.threads)
    gate = Gate(conn, s.learning_starts)
    if program.kind == REFERENCE:
        train_reference(s, gate)
    elif program.kind == SB3:
        train_sb3(s, gate)
    else:
        train_ours(s, program.replay, program.num_envs, out, gate)


def run_limits(s: Setup, threads: int | None, conn) -> None:
    """A worker measuring the NN-bound parts (NNParts.measure) for each request of `seconds`."""
    if threads is not None:
        torch.set_num_threads(threads)
    parts = NNParts(s)
    conn.send((READY,))
    try:
        while (seconds := conn.recv()) is not None:
            conn.send(("result", parts.measure(seconds)))
    finally:
        parts.close()
