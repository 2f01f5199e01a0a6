"""Our side: the Trainer paused by a gate, and a real record() call."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import h5py
from rich.console import Console

from benchmarks.throughput.measure import RecordRate, Setup
from pipeline.config.layout import TrainLayout
from pipeline.config.params import EnvParams, Params, TrainParams, params_from_dict, params_to_dict
from pipeline.record.run import record
from pipeline.train.log import TrainingLog
from pipeline.train.resume import RunState, state_key
from pipeline.train.trainer import Trainer

LOG_WINDOWS_PER_UPDATE_PERIOD = 8  # log (and so gate) every 8 update periods of all environments


def our_params(s: Setup, replay: str, num_envs: int) -> Params:
    """The library defaults but for the shared settings `s`, the Nature network, `replay` and `num_envs`; never
    ending, checkpointing or evaluating within a benchmark; validated as the CLI does."""
    never = 10**12
    env = replace(EnvParams(), game=s.game, frame_stack=s.frame_stack, num_envs=num_envs)
    t = replace(
        TrainParams(),
        replay=replay,
        network="nature",
        capacity=s.capacity,
        batch_size=s.batch_size,
        learning_starts=s.learning_starts,
        train_frequency=s.train_frequency,
        epsilon_start=s.epsilon,
        epsilon_end=s.epsilon,
        device=s.device,
        split_update=s.split_update,
        steps=never,
        checkpoint_interval=never,
        eval_interval=never,
        log_interval=math.lcm(num_envs, s.train_frequency) * LOG_WINDOWS_PER_UPDATE_PERIOD,
    )
    return params_from_dict(params_to_dict(Params(seed=s.seed, env=env, train=t)))


class GatedLog(TrainingLog):
    """The run's real DVCLive log, which also calls the gate at each periodic log: the Trainer logs there after the
    step's updates, at a multiple of train_frequency agent steps."""

    def __init__(self, live_dir: Path, gate: Callable[[int], None]):
        super().__init__(live_dir, resume_step=None)
        self.gate = gate

    def log(self, step: int, metrics: dict[str, float]) -> None:
        super().log(step, metrics)
        if "train/steps_per_second" in metrics:
            self.gate(step)


def train_ours(s: Setup, replay: str, num_envs: int, out: Path, gate: Callable[[int], None]) -> None:
    """Our Trainer as `pipeline train` runs it (its one torch thread, its vector env, replay, evaluator process and
    log), on the shared settings, paused by `gate`."""
    trainer = our_trainer(our_params(s, replay, num_envs), out)
    trainer.run(GatedLog(trainer.state.live, gate))


def our_trainer(params: Params, out: Path) -> Trainer:
    """A fresh Trainer writing under `out` as train() builds one: its run's state folder, a quiet console."""
    layout = TrainLayout(out)
    state = RunState(layout.states / state_key(params))
    state.folder.mkdir(parents=True, exist_ok=True)
    return Trainer(params, layout, state, Console(quiet=True))


def our_record_rate(params: Params, checkpoint: Path, out: Path) -> RecordRate:
    start = time.perf_counter()
    layout = record(params, checkpoint, out, console=Console(quiet=True))
    seconds = time.perf_counter() - start
    with h5py.File(layout.dataset, "r") as f:
        return RecordRate(int(f["frames"].shape[0]), seconds)
