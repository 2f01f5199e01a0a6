"""Throughput benchmark: agent steps/s while learning, gradient updates/s and recorded frames/s of this pipeline,
beside the emulator's physical limit and a reference DQN loop of the usual kind, all measured in one process on
one machine and printed as one table with an "x reference" column.

    python benchmarks/throughput_bench.py                          # Breakout, num_envs 1,4,8,16, ~20 s per config
    python benchmarks/throughput_bench.py --num-envs 1,8 --seconds 10 --skip-record
    python benchmarks/throughput_bench.py --device cuda --json throughput.json   # the table as JSON too

Every rate is a count divided by the wall-clock seconds of the window it was counted in. What each row measures:

- Physical limit: ale_py.ALEInterface on the game's ROM (ale_py.roms.get_rom_path), frame skip 1, no sticky actions,
  uniformly random actions from the minimal set, act() in a loop on one core for a quarter of --seconds (at least 2 s),
  reset_game() at game over (ALE counts no frames for a reset, and neither does this; its time is counted). The
  "x os.cpu_count()" rows multiply by the core count: an extrapolation, not a measurement. Agent steps/s are frames/s
  divided by env.frameskip (4).
- Reference training: ReferenceDQN below, a single-environment loop in the style of CleanRL's dqn_atari.py: gym.make
  ALE/<Game>-v5 with gymnasium's AtariPreprocessing (noop_max 30, frame skip 4, 84x84 grayscale) and
  FrameStackObservation(k) (k = --frame-stack, as ours); a NumPy replay of stacked observations and next observations,
  sampled uniformly; epsilon-greedy with one forward pass per step; every 4 agent steps one Double DQN update (Huber
  loss, gradient-norm clipping, Adam, batch 32), the batch copied to the device with torch.as_tensor; a target network.
  It is given the benefit of the doubt where such scripts differ (acting under no_grad, uint8 batches converted on the
  device), but uses torch's default threads as they do (ours acts with one intra-op thread on the CPU). Its rate is
  agent steps counted over --seconds of learning after --warmup steps of filling.
- Ours, training: train() with the library's default TrainParams and EnvParams (PER, frame_stack 8, batch 32,
  train_frequency 4, ...) except the game, frame_stack, device, num_envs, and steps, learning_starts, capacity,
  checkpoint_interval and log_interval scaled down. The rate is read from the run's own DVCLive log
  (<out>/training/plots/metrics/train/steps_per_second.tsv, one row per log_interval window): the windows that start
  at or after learning_starts, leaving out those holding a PER snapshot with its diagnostics redraw (train() makes ten
  per run whatever its length, so a run scaled down to seconds would overweight them; the snapshot files name their
  steps), give steps / seconds = sum(window steps) / sum(window steps / window rate). Process start, environment
  start-up, the fill and the final checkpoint and figure are outside every kept window. Each config runs twice: a
  short pilot (uniform replay, so no snapshots) only to learn its rate, then the measured run, with PER as the
  defaults say, sized to about --seconds of learning in about 40 windows (at least 16 steps and 20 windows each).
- Updates/s: the gradient step alone, sampling included, for a quarter of --seconds (at least 2 s) after 3 untimed
  updates: the reference's update on its buffer (as its training run left it), against our replay.sample +
  learner.learn + replay.update_priorities (make_learner, and make_replay built as train() builds it on this device,
  filled with 10,000 random frames through its public API). Same batch size and device.
- Recording: record() (HDF5 + MP4 with overlays, default RecordParams but for episodes = max(4, largest num_envs) and
  max_episode_steps = max(25, 5 x --seconds)) with the checkpoint of the first training run, at num_envs 1 and the
  largest asked for, against a reference recorder:
  one environment playing the same checkpoint batch-1 (the same share of random episodes), each frame written as a PNG
  with cv2.imwrite and appended to an MP4 with imageio. Frames/s = rows recorded / wall seconds of the whole call.

On the CPU, torch's intra-op threads are left at torch's default unless --threads sets them (for all rows). Timings
taken while other work runs on the machine are noisy (batch-1 forward passes with several OpenMP threads suffer most);
compare rows of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import json
import math
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import ale_py
import cv2
import gymnasium as gym
import h5py
import imageio.v2 as imageio
import numpy as np
import torch
import torch.nn.functional as F
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from torch import nn

from pipeline.agent import pick_device
from pipeline.envs import action_meanings, env_id, make_env
from pipeline.errors import InputError
from pipeline.learners import make_learner
from pipeline.params import EnvParams, Params, RecordParams, TrainParams, params_from_dict, params_to_dict
from pipeline.policy import load_policy
from pipeline.recording import agent_counts, record
from pipeline.replay import ReplayBuffer, make_replay
from pipeline.training import replay_storage, train

gym.register_envs(ale_py)
ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)

SCREEN = 84


# ---------------------------------------------------------------------------------------------------- measurements


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


def timed_rate(call: Callable[[], object], seconds: float, device: torch.device, warmup: int = 3) -> tuple[int, float]:
    """(calls, seconds): `call` in a loop for `seconds` after `warmup` untimed calls, the device drained at both ends."""
    for _ in range(warmup):
        call()
    synchronize(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        call()
        count += 1
    synchronize(device)
    return count, time.perf_counter() - start


# ---------------------------------------------------------------------------------------------------- physical limit


def rom_id(game: str) -> str:
    """The ROM name ale_py.roms knows a game by (MsPacman -> ms_pacman), from its registered v5 environment."""
    return gym.spec(env_id(game)).kwargs["game"]


def ale_interface(game: str, seed: int = 0) -> ale_py.ALEInterface:
    """The bare emulator on the game's ROM: frame skip 1, no sticky actions."""
    ale = ale_py.ALEInterface()
    ale.setInt("random_seed", seed)
    ale.setFloat("repeat_action_probability", 0.0)
    ale.setInt("frame_skip", 1)
    ale.loadROM(str(ale_py.roms.get_rom_path(rom_id(game))))
    return ale


@dataclass
class Emulation:
    frames: int        # act() calls, one emulated frame each
    games_over: int    # reset_game() calls
    seconds: float


def emulate(ale: ale_py.ALEInterface, seconds: float, rng: np.random.Generator, max_frames: int | None = None,
            chunk: int = 256) -> Emulation:
    """Uniformly random minimal-set actions, one act() per frame, reset at game over, for `seconds` (or `max_frames`)."""
    actions = ale.getMinimalActionSet()
    limit = max_frames if max_frames is not None else math.inf
    frames, over, start = 0, 0, time.perf_counter()
    while frames < limit and time.perf_counter() - start < seconds:
        picks = rng.integers(len(actions), size=int(min(chunk, limit - frames)))
        for i in picks:
            ale.act(actions[i])
            if ale.game_over():
                ale.reset_game()
                over += 1
        frames += len(picks)
    return Emulation(frames, over, time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------------- reference loop


def reference_env(game: str, frame_stack: int, seed: int) -> gym.Env:
    """The usual Atari pipeline: sticky actions, gymnasium's AtariPreprocessing, FrameStackObservation."""
    env = gym.make(env_id(game), frameskip=1, repeat_action_probability=0.25)
    env = AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=SCREEN, grayscale_obs=True)
    env = FrameStackObservation(env, frame_stack)
    env.action_space.seed(seed)
    return env


class QNetwork(nn.Module):
    """The Nature CNN as a plain nn.Sequential, scaling uint8 input to [0, 1] first (as CleanRL's QNetwork)."""

    def __init__(self, frame_stack: int, num_actions: int):
        super().__init__()
        self.network = nn.Sequential(
            nn.Conv2d(frame_stack, 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(3136, 512), nn.ReLU(),
            nn.Linear(512, num_actions),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x / 255.0)


@dataclass
class ReferenceBatch:
    indices: np.ndarray
    obs: np.ndarray        # (B, k, 84, 84) uint8
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray   # (B, k, 84, 84) uint8
    dones: np.ndarray


class ReferenceReplay:
    """Circular NumPy buffer of whole stacked observations and next observations, sampled uniformly."""

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], seed: int):
        self.obs = np.zeros((capacity, *obs_shape), np.uint8)  # pages are touched only as rows fill
        self.next_obs = np.zeros((capacity, *obs_shape), np.uint8)
        self.actions = np.zeros(capacity, np.int64)
        self.rewards = np.zeros(capacity, np.float32)
        self.dones = np.zeros(capacity, np.float32)
        self.capacity, self.pos, self.full = capacity, 0, False
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.capacity if self.full else self.pos

    def add(self, obs: np.ndarray, next_obs: np.ndarray, action: int, reward: float, done: bool) -> None:
        self.obs[self.pos], self.next_obs[self.pos] = obs, next_obs
        self.actions[self.pos], self.rewards[self.pos], self.dones[self.pos] = action, reward, done
        self.pos = (self.pos + 1) % self.capacity
        self.full = self.full or self.pos == 0

    def sample(self, batch_size: int) -> ReferenceBatch:
        idx = self.rng.integers(0, len(self), size=batch_size)
        return ReferenceBatch(idx, self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx],
                              self.dones[idx])


class ReferenceDQN:
    """A single-environment DQN training loop of the usual kind; `step()` is one iteration of its main loop."""

    def __init__(self, game: str, frame_stack: int, device: torch.device, capacity: int, learning_starts: int,
                 seed: int = 0, batch_size: int = 32, train_frequency: int = 4, gamma: float = 0.99,
                 lr: float = 6.25e-5, adam_eps: float = 1.5e-4, max_grad_norm: float = 1.0,
                 target_update_interval: int = 8_000):
        self.env = reference_env(game, frame_stack, seed)
        self.device, self.learning_starts, self.batch_size = device, learning_starts, batch_size
        self.train_frequency, self.gamma, self.max_grad_norm = train_frequency, gamma, max_grad_norm
        self.target_update_interval = target_update_interval
        torch.manual_seed(seed)
        self.q_network = QNetwork(frame_stack, self.env.action_space.n).to(device)
        self.target_network = QNetwork(frame_stack, self.env.action_space.n).to(device)
        self.target_network.load_state_dict(self.q_network.state_dict())
        self.optimizer = torch.optim.Adam(self.q_network.parameters(), lr=lr, eps=adam_eps)
        self.rb = ReferenceReplay(capacity, self.env.observation_space.shape, seed)
        self.rng = np.random.default_rng(seed)
        self.obs, _ = self.env.reset(seed=seed)
        self.global_step = self.updates = 0

    def epsilon(self) -> float:
        return max(0.1, 1.0 - 0.9 * self.global_step / 1_000_000)  # linear over 1M steps

    def step(self) -> None:
        with torch.no_grad():
            q_values = self.q_network(torch.as_tensor(self.obs[None], device=self.device))
        action = int(q_values.argmax(dim=1).item())
        if self.rng.random() < self.epsilon():
            action = int(self.env.action_space.sample())
        next_obs, reward, terminated, truncated, _ = self.env.step(action)
        self.rb.add(self.obs, next_obs, action, float(np.sign(reward)), terminated)
        self.obs = self.env.reset()[0] if terminated or truncated else next_obs
        self.global_step += 1
        if self.global_step > self.learning_starts and self.global_step % self.train_frequency == 0:
            self.update()
        if self.global_step % self.target_update_interval == 0:
            self.target_network.load_state_dict(self.q_network.state_dict())

    def update(self) -> torch.Tensor:
        data = self.rb.sample(self.batch_size)
        obs, next_obs = torch.as_tensor(data.obs, device=self.device), torch.as_tensor(data.next_obs, device=self.device)
        actions = torch.as_tensor(data.actions, device=self.device)
        rewards, dones = torch.as_tensor(data.rewards, device=self.device), torch.as_tensor(data.dones, device=self.device)
        with torch.no_grad():
            best = self.q_network(next_obs).argmax(dim=1, keepdim=True)
            td_target = rewards + self.gamma * self.target_network(next_obs).gather(1, best).squeeze(1) * (1 - dones)
        old_val = self.q_network(obs).gather(1, actions[:, None]).squeeze(1)
        loss = F.smooth_l1_loss(old_val, td_target)
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.q_network.parameters(), self.max_grad_norm)
        self.optimizer.step()
        self.updates += 1
        return loss.detach()

    def close(self) -> None:
        self.env.close()


@dataclass
class LoopRate:
    steps: int
    updates: int
    seconds: float


def run_reference(ref: ReferenceDQN, seconds: float) -> LoopRate:
    """Fill to learning_starts untimed, then count agent steps and updates for `seconds` of learning."""
    while ref.global_step < ref.learning_starts:
        ref.step()
    synchronize(ref.device)
    steps, updates, start = ref.global_step, ref.updates, time.perf_counter()
    while time.perf_counter() - start < seconds:
        ref.step()
    synchronize(ref.device)
    return LoopRate(ref.global_step - steps, ref.updates - updates, time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------------- ours: updates


def build_replay(t: TrainParams, frame_stack: int, capacity: int, device: torch.device, seed: int) -> ReplayBuffer:
    """make_replay as train() calls it for one environment: frames on the GPU where they fit, pinned batches on CUDA."""
    return make_replay(t.replay, capacity, frame_stack, (SCREEN, SCREEN), t.alpha, t.priority_eps, seed, t.gamma,
                       t.n_step, streams=1, storage=replay_storage(device, capacity, (SCREEN, SCREEN)),
                       pinned=device.type == "cuda")


def fill_replay(replay: ReplayBuffer, steps: int, num_actions: int, rng: np.random.Generator,
                episode_length: int = 1_000) -> None:
    """`steps` transitions of random frames through the public API (start, then step; one stream), episodes of
    `episode_length` steps, each followed by the step that restarts the stream."""
    frames = rng.integers(0, 256, size=(64, SCREEN, SCREEN), dtype=np.uint8)
    actions, rewards = rng.integers(num_actions, size=steps), rng.choice([-1.0, 0.0, 1.0], size=steps).astype(np.float32)
    replay.start(frames[:1])
    restarted = False
    for i in range(steps):
        over = (i + 1) % episode_length == 0 and not restarted
        replay.step(actions[i:i + 1], rewards[i:i + 1], np.array([over]), frames[(i + 1) % 64][None], np.array([over]),
                    np.array([restarted]))
        restarted = over


def our_update_rate(game: str, frame_stack: int, device: torch.device, seconds: float, seed: int,
                    rows: int = 10_000) -> tuple[int, float]:
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


# ---------------------------------------------------------------------------------------------------- ours: training


def round_up(n: float, multiple: int) -> int:
    return math.ceil(n / multiple) * multiple


@dataclass(frozen=True)
class RunPlan:
    learning_starts: int
    steps: int
    log_interval: int


def plan_run(rate: float, seconds: float, warmup: int, unit: int, windows: int, tenths: bool = True,
             min_window: int = 16) -> RunPlan:
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


def our_params(game: str, frame_stack: int, num_envs: int, device: str, plan: RunPlan, seed: int,
               **train_changes) -> Params:
    """The library defaults but for the game, stack, device, num_envs and the run's scale; validated as the CLI does."""
    env = replace(EnvParams(), game=game, frame_stack=frame_stack, num_envs=num_envs)
    t = replace(TrainParams(), steps=plan.steps, learning_starts=plan.learning_starts, capacity=plan.steps,
                checkpoint_interval=plan.steps, log_interval=plan.log_interval, device=device, **train_changes)
    return params_from_dict(params_to_dict(Params(seed=seed, env=env, train=t)))


def logged_rates(live_dir: Path) -> list[tuple[int, float]]:
    """(step, steps_per_second) rows of a training run's DVCLive log: one per log window, ending at that step."""
    path = live_dir / "plots" / "metrics" / "train" / "steps_per_second.tsv"
    with open(path, newline="") as f:
        return [(int(row["step"]), float(row["steps_per_second"])) for row in csv.DictReader(f, delimiter="\t")]


def snapshot_steps(live_dir: Path) -> list[int]:
    """Steps at which train() wrote a PER snapshot (and redrew the diagnostics figure)."""
    return sorted(int(p.stem[len("step_"):]) for p in (live_dir / "snapshots").glob("step_*.npz"))


@dataclass
class LearningRate:
    steps: int
    seconds: float
    kept: int      # windows counted
    dropped: int   # learning windows left out for holding a snapshot

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


# ---------------------------------------------------------------------------------------------------- recording


@dataclass
class RecordRate:
    rows: int
    seconds: float


def our_record_rate(params: Params, checkpoint: Path, out: Path) -> RecordRate:
    start = time.perf_counter()
    layout = record(params, checkpoint, out, console=Console(quiet=True))
    seconds = time.perf_counter() - start
    with h5py.File(layout.dataset, "r") as f:
        return RecordRate(int(f["frames"].shape[0]), seconds)


def reference_record(checkpoint: Path, game: str, frame_stack: int, episodes: int, max_steps: int,
                     n_random: int, epsilon: float, out: Path, seed: int) -> RecordRate:
    """What users glue together: one env, the policy batch-1, each screen to a PNG (cv2.imwrite) and an MP4 (imageio)."""
    start = time.perf_counter()
    policy = load_policy(checkpoint)
    env = reference_env(game, frame_stack, seed)
    rng, rows = np.random.default_rng(seed), 0
    for episode in range(episodes):
        folder = out / f"episode_{episode}"
        folder.mkdir(parents=True)
        writer = imageio.get_writer(out / f"episode_{episode}.mp4", fps=30, macro_block_size=1)
        obs, _ = env.reset(seed=seed + episode)
        for t in range(max_steps + 1):
            screen = env.unwrapped.ale.getScreenRGB()
            cv2.imwrite(str(folder / f"frame_{t:06d}.png"), cv2.cvtColor(screen, cv2.COLOR_RGB2BGR))
            writer.append_data(screen)
            rows += 1
            if t == max_steps:
                break
            if episode < n_random or rng.random() < epsilon:
                action = int(rng.integers(env.action_space.n))
            else:
                with torch.no_grad():
                    action = int(policy.network(torch.as_tensor(obs[None], device=policy.device)).argmax().item())
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                screen = env.unwrapped.ale.getScreenRGB()
                cv2.imwrite(str(folder / f"frame_{t + 1:06d}.png"), cv2.cvtColor(screen, cv2.COLOR_RGB2BGR))
                writer.append_data(screen)
                rows += 1
                break
        writer.close()
    env.close()
    return RecordRate(rows, time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------------- the table


def machine(device: torch.device) -> dict[str, str | int]:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    if device.type == "cuda":
        name = f"cuda ({torch.cuda.get_device_name(device)})"
    elif device.type == "cpu":
        name = f"cpu (torch threads: {torch.get_num_threads()})"
    else:
        name = device.type
    return {"cpu": cpu, "cores": os.cpu_count() or 1, "device": name, "python": platform.python_version(),
            "torch": torch.__version__, "ale_py": ale_py.__version__, "gymnasium": gym.__version__}


def fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def table(rows: list[Row], title: str) -> Table:
    out = Table(title=title)
    for name, justify in (("measure", "left"), ("configuration", "left"), ("replay", "left"), ("rate", "right"),
                          ("unit", "left"), ("measured over", "right"), ("x reference", "right")):
        out.add_column(name, justify=justify, no_wrap=name != "configuration")
    section = None
    for row in rows:
        if section is not None and row.section != section:
            out.add_section()
        out.add_row(row.section if row.section != section else "", row.configuration, row.replay, fmt(row.value),
                    row.unit, row.window, "-" if row.ratio is None else f"{row.ratio:.2f}x")
        section = row.section
    return out


# ---------------------------------------------------------------------------------------------------- the run


@dataclass
class Settings:
    game: str
    frame_stack: int
    device: torch.device
    device_name: str      # as TrainParams.device takes it
    seconds: float        # of learning per training config
    short: float          # of each other timed window
    warmup: int
    seed: int
    out: Path


def physical_rows(emu: Emulation, reference_rate: float) -> list[Row]:
    fps, skip, cores = emu.frames / emu.seconds, EnvParams().frameskip, os.cpu_count() or 1
    window = f"{emu.seconds:.1f} s, {emu.frames:,} frames"
    return [Row("physical limit", "ALE act(), 1 core", "-", fps, "frames/s", window),
            Row("physical limit", f"ALE act(), x {cores} cores (extrapolated)", "-", fps * cores, "frames/s", "-"),
            Row("physical limit", f"ALE act() / frameskip {skip}, 1 core", "-", fps / skip, "agent steps/s", window,
                reference_rate),
            Row("physical limit", f"ALE act() / frameskip {skip}, x {cores} cores", "-", fps * cores / skip,
                "agent steps/s", "-", reference_rate)]


def reference_rows(s: Settings, status) -> tuple[Row, Row]:
    """The reference loop learning for s.seconds after its fill, then its update alone on the buffer it filled."""
    status.update(f"reference loop: {s.warmup:,} warm-up steps, then {s.seconds:g} s of learning")
    ref = ReferenceDQN(s.game, s.frame_stack, s.device, capacity=s.warmup + int(s.seconds * 2_000) + 1,
                       learning_starts=s.warmup, seed=s.seed)
    loop = run_reference(ref, s.seconds)
    status.update(f"reference update alone, {s.short:.0f} s")
    updates, seconds = timed_rate(ref.update, s.short, s.device)
    ref.close()
    rate, update_rate = loop.steps / loop.seconds, updates / seconds
    return (Row(f"training, k={s.frame_stack}", "reference: CleanRL-style, 1 env", "uniform, stacked NumPy", rate,
                "agent steps/s", f"{loop.seconds:.1f} s, {loop.steps:,} steps", rate),
            Row(f"updates, batch {TrainParams().batch_size}", "reference: Double DQN step",
                "uniform, stacked NumPy", update_rate, "updates/s", f"{seconds:.1f} s, {updates:,} updates", update_rate))


def our_training_rows(s: Settings, num_envs: list[int], reference_rate: float, status) -> tuple[list[Row], Path]:
    """train() per num_envs: a pilot for the rate, then the measured run; returns the rows and the first run's model."""
    rows, guess, first_model = [], reference_rate, None
    for n in num_envs:
        unit = math.lcm(n, TrainParams().train_frequency)
        status.update(f"ours: train(), num_envs {n}: pilot")
        # uniform replay: no PER snapshots, whose diagnostics redraws would cost a short run more than it learns
        pilot = plan_run(guess, max(2.0, s.seconds / 6), min(s.warmup, 256), unit, windows=10, tenths=False)
        params = our_params(s.game, s.frame_stack, n, s.device_name, pilot, s.seed, replay="uniform")
        guess = train_and_measure(params, s.out / f"pilot_num_envs_{n}")[0].rate
        shutil.rmtree(s.out / f"pilot_num_envs_{n}", ignore_errors=True)
        plan = plan_run(guess, s.seconds, s.warmup, unit, windows=40)
        status.update(f"ours: train(), num_envs {n}: {plan.steps:,} steps, learning from step {plan.learning_starts:,} "
                      f"(~{s.seconds:g} s at the pilot's {guess:,.0f} steps/s)")
        params = our_params(s.game, s.frame_stack, n, s.device_name, plan, s.seed)
        measured, model = train_and_measure(params, s.out / f"train_num_envs_{n}")
        first_model, guess = first_model or model, measured.rate
        rows.append(Row(f"training, k={s.frame_stack}", f"ours: train(), num_envs {n}", "PER, frames once",
                        measured.rate, "agent steps/s",
                        f"{measured.seconds:.1f} s, {measured.steps:,} steps, {measured.kept} windows", reference_rate))
    return rows, first_model


def recording_rows(s: Settings, checkpoint: Path, num_envs: list[int], status) -> tuple[list[Row], str]:
    episodes, max_steps = max(4, *num_envs), max(25, int(s.seconds * 5))
    r = replace(RecordParams(), episodes=episodes, max_episode_steps=max_steps)
    section = "recording"
    status.update(f"reference recorder: {episodes} episodes of <= {max_steps} steps")
    n_random, _ = agent_counts(r.episodes, r.percent_random)
    shutil.rmtree(s.out / "record_reference", ignore_errors=True)  # an earlier run's frames, with --out
    ref = reference_record(checkpoint, s.game, s.frame_stack, episodes, max_steps, n_random, r.epsilon,
                           s.out / "record_reference", s.seed)
    rows = [Row(section, "reference: 1 env, PNG + MP4", "-", ref.rows / ref.seconds,
                "frames/s", f"{ref.seconds:.1f} s, {ref.rows:,} rows", ref.rows / ref.seconds)]
    base = Params(seed=s.seed, env=replace(EnvParams(), game=s.game, frame_stack=s.frame_stack), record=r)
    for n in dict.fromkeys((1, max(num_envs))):
        status.update(f"ours: record(), num_envs {n}: {episodes} episodes of <= {max_steps} steps")
        params = params_from_dict(params_to_dict(replace(base, env=replace(base.env, num_envs=n))))
        rec = our_record_rate(params, checkpoint, s.out / f"record_num_envs_{n}")
        rows.append(Row(section, f"ours: record(), num_envs {n}", "-", rec.rows / rec.seconds,
                        "frames/s", f"{rec.seconds:.1f} s, {rec.rows:,} rows", ref.rows / ref.seconds))
    note = (f"recording: {episodes} episodes of <= {max_steps} steps ({n_random} by the random agent), the whole call "
            "timed; ours writes HDF5 + MP4 with overlays, the reference a PNG per raw screen (cv2.imwrite) and an MP4 "
            "(imageio).")
    return rows, note


def parse_num_envs(text: str) -> list[int]:
    try:
        values = list(dict.fromkeys(int(v) for v in text.split(",") if v.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a comma-separated list of integers, e.g. 1,4,8,16") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: at least one value, each >= 1")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", default="Breakout", help="ALE game (default Breakout)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="torch device")
    parser.add_argument("--num-envs", type=parse_num_envs, default=[1, 4, 8, 16], help="num_envs values for ours, "
                        "comma-separated (default 1,4,8,16)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of learning per training config; the "
                        "other windows take a quarter of it, at least 2 s (default 20)")
    parser.add_argument("--frame-stack", type=int, default=8, choices=(4, 8), help="stack depth, ours and the reference")
    parser.add_argument("--warmup", type=int, default=1_000, help="agent steps filling the replay before learning")
    parser.add_argument("--out", type=Path, help="folder for the runs' outputs (default: a temporary one, removed)")
    parser.add_argument("--skip-record", action="store_true", help="leave out the recording rows")
    parser.add_argument("--json", type=Path, help="also write the table, machine and command line to this file")
    parser.add_argument("--threads", type=int, help="torch intra-op threads for everything measured (default: torch's "
                        "default, as the reference scripts leave it)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        game = env_id(args.game)[len("ALE/"):-len("-v5")]
    except InputError as err:
        parser.error(str(err))
    if args.threads:
        torch.set_num_threads(args.threads)
    console = Console(width=None if sys.stdout.isatty() else 170)
    device = pick_device(args.device)
    info = machine(device)
    command = shlex.join(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
    console.print(f"[bold]machine[/] {info['cpu']}, {info['cores']} cores (os.cpu_count()), torch device "
                  f"{info['device']}; python {info['python']}, torch {info['torch']}, ale-py {info['ale_py']}, "
                  f"gymnasium {info['gymnasium']}", highlight=False)
    console.print(f"[bold]command[/] {escape(command)}", highlight=False)

    out = args.out or Path(tempfile.mkdtemp(prefix="throughput_bench_"))
    out.mkdir(parents=True, exist_ok=True)
    s = Settings(game, args.frame_stack, device, args.device, args.seconds, max(2.0, args.seconds / 4), args.warmup,
                 args.seed, out)
    try:
        with console.status("") as status:
            status.update(f"raw ALE emulation, {s.short:.0f} s")
            emu = emulate(ale_interface(s.game, s.seed), s.short, np.random.default_rng(s.seed))
            ref_training, ref_updates = reference_rows(s, status)
            physical = physical_rows(emu, ref_training.value)
            ours, model = our_training_rows(s, args.num_envs, ref_training.value, status)
            status.update(f"ours: update alone, {s.short:.0f} s")
            updates, seconds = our_update_rate(s.game, s.frame_stack, s.device, s.short, s.seed)
            our_updates = Row(ref_updates.section, "ours: learner.learn + priorities", "PER, frames once",
                              updates / seconds, "updates/s", f"{seconds:.1f} s, {updates:,} updates", ref_updates.value)
            recording, record_note = ([], None) if args.skip_record else recording_rows(s, model, args.num_envs, status)
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)

    rows = [*physical, ref_training, *ours, ref_updates, our_updates, *recording]
    console.print(table(rows, f"Throughput on {game}, one process, one machine"))
    notes = [
        "x reference: rate / the reference row of its group; the physical limit's agent steps / the reference loop's.",
        ("physical limit: the bare emulator (ale_py.ALEInterface, frameskip 1, random actions, one thread); "
         f"'x {info['cores']} cores' multiplies by os.cpu_count(), it is not measured."),
        ("reference loop: gym.make + AtariPreprocessing + FrameStackObservation, a NumPy replay of stacked obs and next "
         "obs, one forward pass per step, a Double DQN update every 4 steps on a batch copied with torch.as_tensor."),
        *([record_note] if record_note else []),
        "How each rate is taken: python benchmarks/throughput_bench.py --help",
    ]
    for note in notes:
        console.print(note, highlight=False, markup=False)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "command": command, "machine": info,
            "args": {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()},
            "rows": [{**dataclasses.asdict(row), "ratio": row.ratio} for row in rows], "notes": notes,
        }, indent=2) + "\n")
        console.print(f"Wrote {args.json}", highlight=False)


if __name__ == "__main__":
    main()
