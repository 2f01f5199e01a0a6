"""Our side: the update alone, a real train() run read from its own log, and a real record() call."""

from __future__ import annotations

import contextlib
import csv
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import h5py
import numpy as np
import torch
from rich.console import Console

from benchmarks.throughput.measure import SCREEN, RecordRate, timed_rate
from pipeline.config.params import EnvParams, Params, TrainParams, params_from_dict, params_to_dict
from pipeline.envs.atari import action_meanings, make_env
from pipeline.record.run import record
from pipeline.replay.buffer import ReplayBuffer, make_replay
from pipeline.rl.exploration import make_learner
from pipeline.train.trainer import replay_storage, train


def build_replay(t: TrainParams, frame_stack: int, capacity: int, device: torch.device, seed: int) -> ReplayBuffer:
    """make_replay as train() calls it for one environment: frames on the GPU where they fit, pinned batches on CUDA."""
    return make_replay(
        t.replay,
        capacity,
        frame_stack,
        (SCREEN, SCREEN),
        t.alpha,
        t.priority_eps,
        seed,
        t.gamma,
        t.n_step,
        streams=1,
        storage=replay_storage(device, capacity, (SCREEN, SCREEN)),
        pinned=device.type == "cuda",
    )


def fill_replay(
    replay: ReplayBuffer, steps: int, num_actions: int, rng: np.random.Generator, episode_length: int = 1_000
) -> None:
    """`steps` transitions of random frames through the public API (start, then step; one stream), episodes of
    `episode_length` steps, each followed by the step that restarts the stream."""
    frames = rng.integers(0, 256, size=(64, SCREEN, SCREEN), dtype=np.uint8)
    actions, rewards = (
        rng.integers(num_actions, size=steps),
        rng.choice([-1.0, 0.0, 1.0], size=steps).astype(np.float32),
    )
    replay.start(frames[:1])
    restarted = False
    for i in range(steps):
        over = (i + 1) % episode_length == 0 and not restarted
        replay.step(
            actions[i : i + 1],
            rewards[i : i + 1],
            np.array([over]),
            frames[(i + 1) % 64][None],
            np.array([over]),
            np.array([restarted]),
        )
        restarted = over


def our_update_rate(
    game: str, frame_stack: int, device: torch.device, seconds: float, seed: int, rows: int = 10_000
) -> tuple[int, float]:
    t = replace(TrainParams(), device=device.type)
    with contextlib.closing(make_env(replace(EnvParams(), game=game, frame_stack=frame_stack))) as env:
        num_actions = len(action_meanings(env))
    torch.manual_seed(seed)
    learner = make_learner(t, frame_stack, num_actions, SCREEN, device)
    replay = build_replay(t, frame_stack, rows, device, seed)
    fill_replay(replay, rows, num_actions, np.random.default_rng(seed))

    def update() -> None:
        batch = replay.sample(t.batch_size, t.beta0)
        _, td_errors = learner.learn(batch, rows)
        replay.update_priorities(batch.indices, td_errors)

    return timed_rate(update, seconds, device)


def round_up(n: float, multiple: int) -> int:
    return math.ceil(n / multiple) * multiple


@dataclass(frozen=True)
class RunPlan:
    learning_starts: int
    steps: int
    log_interval: int


def plan_run(
    rate: float, seconds: float, warmup: int, unit: int, windows: int, tenths: bool = True, min_window: int = 16
) -> RunPlan:
    """A run of about `seconds` of learning at `rate` steps/s cut into about `windows` log windows (a multiple of
    `unit` steps, at least `min_window`), its fill ending on a window boundary; with `tenths` its length is a multiple
    of 10 windows (and at least 20), so that train()'s PER snapshots (every steps // 10) fall on window boundaries and
    each touches one window only."""
    learning = max(rate * seconds, unit)
    log_interval = round_up(max(learning / windows, min_window, unit), unit)
    learning_starts = round_up(max(warmup, 1), log_interval)
    total = learning_starts // log_interval + math.ceil(learning / log_interval)
    if tenths:  # at least 20 windows, so that a snapshot comes every other window at most
        total = round_up(max(total, 20), 10)
    return RunPlan(learning_starts, total * log_interval, log_interval)


def our_params(
    game: str, frame_stack: int, num_envs: int, device: str, plan: RunPlan, seed: int, **train_changes
) -> Params:
    """The library defaults but for the game, stack, device, num_envs and the run's scale; validated as the CLI does."""
    env = replace(EnvParams(), game=game, frame_stack=frame_stack, num_envs=num_envs)
    t = replace(
        TrainParams(),
        steps=plan.steps,
        learning_starts=plan.learning_starts,
        capacity=plan.steps,
        checkpoint_interval=plan.steps,
        log_interval=plan.log_interval,
        device=device,
        **train_changes,
    )
    return params_from_dict(params_to_dict(Params(seed=seed, env=env, train=t)))


def logged_rates(live_dir: Path) -> list[tuple[int, float]]:
    """(step, steps_per_second) rows of a training run's DVCLive log: one per log window, ending at that step."""
    path = live_dir / "plots" / "metrics" / "train" / "steps_per_second.tsv"
    with open(path, newline="") as f:
        return [(int(row["step"]), float(row["steps_per_second"])) for row in csv.DictReader(f, delimiter="\t")]


def snapshot_steps(live_dir: Path) -> list[int]:
    """Steps at which train() wrote a PER snapshot (and redrew the diagnostics figure)."""
    return sorted(int(p.stem[len("step_") :]) for p in (live_dir / "snapshots").glob("step_*.npz"))


@dataclass
class LearningRate:
    steps: int
    seconds: float
    kept: int  # windows counted
    dropped: int  # learning windows left out for holding a snapshot

    @property
    def rate(self) -> float:
        return self.steps / self.seconds


def learning_rate(windows: list[tuple[int, float]], learning_starts: int, snapshots: list[int]) -> LearningRate:
    """Steps / seconds over the log windows (a, b] that start at or after learning_starts and hold no snapshot work
    (a snapshot at step s runs after the log at s, so its cost falls in the window with a <= s < b)."""
    steps, seconds, kept, dropped, previous = 0, 0.0, 0, 0, 0
    for end, rate in windows:
        start, previous = previous, end
        if start < learning_starts or end <= start:
            continue
        if any(start <= s < end for s in snapshots):
            dropped += 1
            continue
        steps, seconds, kept = steps + end - start, seconds + (end - start) / rate, kept + 1
    return LearningRate(steps, seconds, kept, dropped)


def train_and_measure(params: Params, out: Path) -> tuple[LearningRate, Path]:
    model = train(params, out, console=Console(quiet=True))
    live = out / "training"
    measured = learning_rate(logged_rates(live), params.train.learning_starts, snapshot_steps(live))
    if not measured.kept:
        raise RuntimeError(f"no learning window without a snapshot in {live}: raise --seconds")
    return measured, model


def our_record_rate(params: Params, checkpoint: Path, out: Path) -> RecordRate:
    start = time.perf_counter()
    layout = record(params, checkpoint, out, console=Console(quiet=True))
    seconds = time.perf_counter() - start
    with h5py.File(layout.dataset, "r") as f:
        return RecordRate(int(f["frames"].shape[0]), seconds)
