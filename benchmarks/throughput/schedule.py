"""Taking turns: rounds in which every program gets one window quiet and one under load, so that drift and other
users' work hit every program alike; and the pooled rates that come out of them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks.throughput.limits import NNBound
from benchmarks.throughput.load import busy_load
from benchmarks.throughput.programs import Program
from benchmarks.throughput.workers import Window, Worker

QUIET, LOADED = "quiet", "loaded"


@dataclass
class Samples:
    windows: dict[tuple[str, Program], list[Window]] = field(default_factory=lambda: defaultdict(list))
    # per threads setting of the limit's worker: the NN-bound parts, one per quiet round
    bounds: dict[int | None, list[NNBound]] = field(default_factory=lambda: defaultdict(list))


def rotated(items: list, by: int) -> list:
    by %= max(len(items), 1)
    return items[by:] + items[:by]


def interleave(
    workers: dict[Program, Worker],
    limits: dict[int | None, Worker],
    rounds: int,
    seconds: float,
    load_processes: int,
    status: Callable[[str], None],
) -> Samples:
    """`rounds` rounds; in each, a quiet block and a block under `load_processes` busy processes (their order
    alternating by round), and in each block one window of `seconds` per program, in an order rotated by round. In
    the quiet blocks the limit's workers take turns among the programs, a window of `seconds` each."""
    samples, programs = Samples(), list(workers)
    for r in range(rounds):
        for load in rotated([QUIET, LOADED], r):
            with busy_load(load_processes if load == LOADED else 0):
                for turn in rotated([*programs, *(limits if load == QUIET else [])], r):
                    if isinstance(turn, Program):
                        status(f"round {r + 1}/{rounds}, {load}: {turn.label}, a {seconds:g} s window")
                        samples.windows[(load, turn)].append(workers[turn].window(seconds))
                    else:
                        status(f"round {r + 1}/{rounds}, quiet: the NN-bound parts, threads {turn or 'default'}")
                        samples.bounds[turn].append(limits[turn].ask(seconds))
    return samples


@dataclass(frozen=True)
class Result:
    """A program's learning-phase rate under one load: all its windows pooled (steps / seconds)."""

    load: str
    program: Program
    steps: int
    seconds: float
    window_rates: tuple[float, ...]

    @property
    def rate(self) -> float:
        return self.steps / self.seconds


def pooled(samples: Samples) -> list[Result]:
    return [
        Result(load, program, sum(w.steps for w in ws), sum(w.seconds for w in ws), tuple(w.rate for w in ws))
        for (load, program), ws in samples.windows.items()
    ]


def faster_peer(results: list[Result], load: str) -> Result | None:
    """The fastest peer (reference or SB3, at any thread setting) under `load`."""
    peers = [r for r in results if r.load == load and r.program.peer]
    return max(peers, key=lambda r: r.rate, default=None)


def mean_bound(bounds: list[NNBound]) -> NNBound:
    """The parts averaged over the rounds (ms per call)."""
    n = len(bounds)
    return NNBound(
        sum(b.env_ms for b in bounds) / n,
        sum(b.forward_ms for b in bounds) / n,
        sum(b.update_ms for b in bounds) / n,
        bounds[0].train_frequency,
    )
