"""Replay benchmark: how many batches per second the samplers serve, and what a full buffer costs in memory.

    python benchmarks/replay_bench.py                 # samplers at 1,000,000 capacity (and cpprb, if installed)
    python benchmarks/replay_bench.py --fill          # also fill a real 1,000,000-transition buffer at k = 8:
                                                      # resident memory, and full batches with their stacks

Each rate is the best of five equal time windows, so another process stealing the CPU for a moment
does not decide the figure; every row is measured the same way, cpprb included.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from rich.console import Console
from rich.table import Table

from pipeline.replay.buffer import ReplayBuffer
from pipeline.replay.samplers import PrioritizedSampler, UniformSampler

ALPHA, EPS, BETA = 0.6, 1e-6, 0.4
MEMORY_LIMIT = 7.5e9  # bytes a 1,000,000-transition buffer at k = 8 may take (issue 2)


@dataclass
class Row:
    what: str
    batch: int
    per_second: float


def rate(call: Callable[[], object], seconds: float, windows: int = 5) -> float:
    """Calls per second: the best of `windows` windows of `seconds / windows` each."""
    best = 0.0
    for _ in range(windows):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / windows:
            call()
            count += 1
        best = max(best, count / elapsed)
    return best


def td_errors(batch: int, rng: np.random.Generator) -> np.ndarray:
    """Stand-in TD errors: what the learner would hand back for priority updates."""
    return rng.standard_normal(batch)


def per_sampler(capacity: int, rng: np.random.Generator) -> PrioritizedSampler:
    """A full prioritized sampler with varied priorities, as after some training."""
    sampler = PrioritizedSampler(capacity, ALPHA, EPS)
    sampler.add(np.arange(capacity))
    sampler.update(np.arange(capacity), td_errors(capacity, rng))
    return sampler


def sampler_rows(capacity: int, batches: list[int], seconds: float, rng: np.random.Generator) -> list[Row]:
    """The sampling side alone: sum tree (sample + priority update) and uniform draws, no frames touched."""
    per = per_sampler(capacity, rng)
    uniform = UniformSampler(capacity)
    uniform.add(np.arange(capacity))
    rows = []
    for batch in batches:
        errors = td_errors(batch, rng)

        def per_step():
            indices, _weights = per.sample(batch, capacity, rng, BETA)
            per.update(indices, errors)

        rows.append(Row("PER sampler: sample + update priorities", batch, rate(per_step, seconds)))
        rows.append(
            Row("uniform sampler: sample", batch, rate(lambda: uniform.sample(batch, capacity, rng, BETA), seconds))
        )
    return rows


def cpprb_rows(capacity: int, batches: list[int], seconds: float, rng: np.random.Generator) -> list[Row]:
    """cpprb's C++ sum tree under the same load, for comparison (only an index is stored per transition)."""
    try:
        from cpprb import PrioritizedReplayBuffer
    except ImportError:
        return []
    buffer = PrioritizedReplayBuffer(capacity, {"row": {"dtype": np.int32}}, alpha=ALPHA, eps=EPS)
    for start in range(0, capacity, 100_000):
        rows = np.arange(start, min(start + 100_000, capacity))
        buffer.add(row=rows.astype(np.int32))
        buffer.update_priorities(rows, np.abs(td_errors(len(rows), rng)) + EPS)
    result = []
    for batch in batches:
        priorities = np.abs(td_errors(batch, rng)) + EPS

        def step():
            sample = buffer.sample(batch, beta=BETA)
            buffer.update_priorities(sample["indexes"], priorities)

        result.append(Row("cpprb PrioritizedReplayBuffer: sample + update_priorities", batch, rate(step, seconds)))
    return result


def resident_bytes() -> int:
    """This process's resident set size (VmRSS)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def fill(replay: ReplayBuffer, rng: np.random.Generator, mean_episode: int = 2_000) -> None:
    """Write a transition into every row through the public API: 84x84 frames of noise, episodes of random length."""
    frames = rng.integers(0, 256, size=(64, *replay.frames.shape[1:]), dtype=np.uint8)
    left = rng.geometric(1 / mean_episode)
    replay.start(frames[:1])
    restarted = False
    for step in range(1, replay.capacity + 1):
        left -= not restarted  # a restart step starts the next episode without taking a step
        over = left == 0 and not restarted
        replay.step(
            rng.integers(18, size=1),
            rng.standard_normal(1).astype(np.float32),
            np.array([over]),
            frames[step % 64][None],
            np.array([over]),
            np.array([restarted]),
        )
        restarted = over
        if over:
            left = rng.geometric(1 / mean_episode)


def buffer_rows(replay: ReplayBuffer, batches: list[int], seconds: float, rng: np.random.Generator) -> list[Row]:
    """Whole batches from a filled buffer: sampling plus rebuilding the state and next-state stacks."""
    per = replay.sampler
    uniform = UniformSampler(replay.capacity)
    uniform.valid = per.valid  # the same sampleable rows, drawn uniformly
    rows = []
    for batch in batches:
        errors = td_errors(batch, rng)

        def per_step():
            replay.sampler = per
            drawn = replay.sample(batch, BETA)
            replay.update_priorities(drawn.indices, errors)

        def uniform_step():
            replay.sampler = uniform
            replay.sample(batch)

        rows.append(Row("full PER batch: sample + stacks + update priorities", batch, rate(per_step, seconds)))
        rows.append(Row("full uniform batch: sample + stacks", batch, rate(uniform_step, seconds)))
    replay.sampler = per
    return rows


def memory_table(capacity: int, stack: int, before: int, after: int, fill_seconds: float) -> Table:
    table = Table(title=f"Replay buffer memory: {capacity:,} transitions, k = {stack}, 84x84 frames")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("VmRSS before the buffer", f"{before / 1e9:.3f} GB")
    table.add_row("VmRSS after filling it", f"{after / 1e9:.3f} GB ({after / 2**30:.3f} GiB)")
    table.add_row("growth per transition", f"{(after - before) / capacity:,.0f} bytes")
    verdict = "within" if after <= MEMORY_LIMIT else "OVER"
    table.add_row("limit (issue 2)", f"{MEMORY_LIMIT / 1e9:.1f} GB: {verdict}")
    table.add_row("fill time (add() per step)", f"{fill_seconds:.0f} s ({capacity / fill_seconds:,.0f} adds/s)")
    return table


def rate_table(capacity: int, rows: list[Row]) -> Table:
    table = Table(title=f"Replay sampling at capacity {capacity:,} (best of 5 windows)")
    table.add_column("operation")
    table.add_column("batch", justify="right")
    table.add_column("per second", justify="right")
    table.add_column("us per call", justify="right")
    for row in rows:
        table.add_row(row.what, str(row.batch), f"{row.per_second:,.0f}", f"{1e6 / row.per_second:,.1f}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capacity", type=int, default=1_000_000, help="transitions the buffer holds")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256], help="batch sizes to measure")
    parser.add_argument("--seconds", type=float, default=2.0, help="time spent measuring each row")
    parser.add_argument("--fill", action="store_true", help="also fill a real buffer: memory and full batches")
    parser.add_argument("--stack", type=int, default=8, help="frames per stacked state (with --fill)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    console, rng = Console(), np.random.default_rng(args.seed)

    rows = []
    if args.fill:  # first, so that the memory figures are the buffer's alone
        before = resident_bytes()
        replay = ReplayBuffer(
            args.capacity, args.stack, (84, 84), PrioritizedSampler(args.capacity, ALPHA, EPS), args.seed
        )
        start = time.perf_counter()
        fill(replay, rng)
        fill_seconds = time.perf_counter() - start
        console.print(memory_table(args.capacity, args.stack, before, resident_bytes(), fill_seconds))
        rows += buffer_rows(replay, args.batch_sizes, args.seconds, rng)
    rows += sampler_rows(args.capacity, args.batch_sizes, args.seconds, rng)
    rows += cpprb_rows(args.capacity, args.batch_sizes, args.seconds, rng)
    console.print(rate_table(args.capacity, rows))


if __name__ == "__main__":
    main()
