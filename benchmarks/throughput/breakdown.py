"""python -m benchmarks.throughput.breakdown: where an agent step of our Trainer goes, in ms per agent step, on the
benchmark's shared settings (frame stack 4, Nature network, replay 100,000, batch 32, an update every 4 steps).

The Trainer runs as `pipeline train` does, in this process; once its replay holds learning_starts transitions,
cProfile records the next --steps agent steps of the learning phase (whole log windows), and the run stops. Printed:
the wall time per agent step with the profiler on, then the functions that matter, their cumulative time per agent
step (a function's callees included); the loop's parts add up to the whole, the indented rows are what they spend
on the network. cProfile slows Python-heavy code more than native code: read the shares, and take rates from
python -m benchmarks.throughput.

    python -m benchmarks.throughput.breakdown --replay per --num-envs 1 --steps 2000
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from benchmarks.throughput.measure import Setup
from benchmarks.throughput.ours import train_ours
from benchmarks.throughput.workers import Stopped

# (label, file suffix, function name) of the parts of an agent step the Trainer's loop calls, then what they spend on
LOOP_PARTS = (
    ("acting: learner.act (forward, batch num_envs)", "pipeline/rl/exploration/epsilon.py", "act"),
    ("env step (vector env)", "gymnasium/vector/sync_vector_env.py", "step"),
    ("env step (vector env)", "gymnasium/vector/async_vector_env.py", "step"),
    ("frame stacks: push", "pipeline/envs/stacks.py", "push"),
    ("replay: store a step", "pipeline/replay/buffer.py", "step"),
    ("replay: sample a batch", "pipeline/replay/buffer.py", "sample"),
    ("learn: DQNAgent.update", "pipeline/rl/dqn.py", "update"),
    ("replay: update priorities", "pipeline/replay/buffer.py", "update_priorities"),
    ("logging (DVCLive)", "pipeline/train/log.py", "log"),
    ("evaluator poll", "pipeline/train/trainer.py", "take_evaluations"),
)
INNER_PARTS = (
    ("  network forward passes (acting and learning)", "pipeline/rl/networks.py", "forward"),
    ("  backward pass", "torch/_tensor.py", "backward"),
    ("  optimizer step", "torch/optim/optimizer.py", "wrapper"),
    ("  gradient clipping", "torch/nn/utils/clip_grad.py", "clip_grad_norm_"),
)


class ProfileGate:
    """A gate that profiles `steps` agent steps of the learning phase, then stops the run."""

    def __init__(self, learning_starts: int, steps: int):
        self.learning_starts, self.steps = learning_starts, steps
        self.profiler = cProfile.Profile()
        self.first: int | None = None
        self.measured, self.seconds, self.start = 0, 0.0, 0.0

    def __call__(self, step: int) -> None:
        if self.first is None:
            if step >= self.learning_starts:
                self.first, self.start = step, time.perf_counter()
                self.profiler.enable()
            return
        if step - self.first >= self.steps:
            self.profiler.disable()
            self.measured, self.seconds = step - self.first, time.perf_counter() - self.start
            raise Stopped


def part_times(stats: pstats.Stats, parts: tuple) -> dict[str, float]:
    """Cumulative seconds per part, summed over the matching functions."""
    out = dict.fromkeys((label for label, _, _ in parts), 0.0)
    for (file, _, name), (_, _, _, cumulative, _) in stats.stats.items():
        for label, suffix, function in parts:
            if name == function and file.replace("\\", "/").endswith(suffix):
                out[label] += cumulative
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", default="Breakout")
    parser.add_argument("--replay", default="uniform", choices=("uniform", "per"))
    parser.add_argument("--num-envs", type=int, default=1)
    parser.add_argument("--steps", type=int, default=2_000, help="agent steps profiled (default 2,000)")
    parser.add_argument("--learning-starts", type=int, default=Setup.learning_starts)
    parser.add_argument("--top", type=int, default=0, help="also print pstats' top N functions by own time")
    args = parser.parse_args()
    s = Setup(args.game, learning_starts=args.learning_starts)
    gate = ProfileGate(s.learning_starts, args.steps)
    with tempfile.TemporaryDirectory(prefix="profile_") as out:
        try:
            train_ours(s, args.replay, args.num_envs, Path(out), gate)
        except Stopped:
            pass
    stats = pstats.Stats(gate.profiler)
    per_step = 1_000 / gate.measured
    print(
        f"ours, {args.replay}, num_envs {args.num_envs}, {s.game}: {gate.measured:,} agent steps in "
        f"{gate.seconds:.1f} s under cProfile = {per_step * gate.seconds:.2f} ms per agent step"
    )
    loop = part_times(stats, LOOP_PARTS)
    loop["the loop's own code and the rest"] = gate.seconds - sum(loop.values())
    for label, seconds in {**loop, **part_times(stats, INNER_PARTS)}.items():
        print(f"  {label:<50} {seconds * per_step:8.3f} ms per agent step")
    if args.top:
        stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
