"""Our side: the Trainer paused by a gate, the update alone, and a real record() call."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import torch
from rich.console import Console

from benchmarks.throughput.measure import SCREEN, RecordRate, Setup
from pipeline.config.layout import TrainLayout
from pipeline.config.params import EnvParams, Params, TrainParams, params_from_dict, params_to_dict
from pipeline.envs.atari import game_action_meanings
from pipeline.record.run import record
from pipeline.replay.buffer import ReplayBuffer, make_replay
from pipeline.rl.device import pick_device
from pipeline.rl.exploration import make_learner
from pipeline.train.log import TrainingLog
from pipeline.train.trainer import Trainer, replay_storage


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


def our_update(s: Setup, replay: str, rows: int = 10_000) -> Callable[[], None]:
    """One training update as the Trainer does it, sampling included: replay.sample + learner.learn (+ the priority
    update with PER), on a replay of `rows` random frames, the Nature network and the settings `s`."""
    t = replace(TrainParams(), replay=replay, network="nature", batch_size=s.batch_size, device=s.device)
    device = pick_device(s.device)
    num_actions = len(game_action_meanings(replace(EnvParams(), game=s.game)))
    torch.manual_seed(s.seed)
    learner = make_learner(t, s.frame_stack, num_actions, SCREEN, device)
    buffer = build_replay(t, s.frame_stack, rows, device, s.seed)
    fill_replay(buffer, rows, num_actions, np.random.default_rng(s.seed))

    def update() -> None:
        batch = buffer.sample(t.batch_size, t.beta0)
        _, td_errors = learner.learn(batch, rows)
        buffer.update_priorities(batch.indices, td_errors)

    return update


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
    layout = TrainLayout(out)
    trainer = Trainer(our_params(s, replay, num_envs), layout, Console(quiet=True))
    trainer.run(GatedLog(layout.live, gate))


def our_record_rate(params: Params, checkpoint: Path, out: Path) -> RecordRate:
    start = time.perf_counter()
    layout = record(params, checkpoint, out, console=Console(quiet=True))
    seconds = time.perf_counter() - start
    with h5py.File(layout.dataset, "r") as f:
        return RecordRate(int(f["frames"].shape[0]), seconds)
