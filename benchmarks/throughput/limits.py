"""The limits: the bare emulator stepping random actions as fast as one core runs it (physical), and the time an
agent step of DQN cannot do without (NN-bound)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import ale_py
import gymnasium as gym
import numpy as np
import torch

from benchmarks.throughput.measure import SCREEN, Setup, synchronize
from pipeline.config.params import EnvParams, TrainParams
from pipeline.envs.atari import env_id, make_env
from pipeline.replay.buffer import Batch
from pipeline.rl.acting import q_values
from pipeline.rl.device import pick_device
from pipeline.rl.dqn import DQNAgent


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
    frames: int  # act() calls, one emulated frame each
    games_over: int  # reset_game() calls
    seconds: float


def emulate(
    ale: ale_py.ALEInterface, seconds: float, rng: np.random.Generator, max_frames: int | None = None, chunk: int = 256
) -> Emulation:
    """Random minimal-set actions, one act() per frame, reset at game over, for `seconds` (or `max_frames`)."""
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


@dataclass(frozen=True)
class NNBound:
    """Milliseconds per call of what one agent step of DQN cannot do without: an environment step, a batch-1 forward
    pass, and a training update (its share: 1 / train_frequency of them per step)."""

    env_ms: float
    forward_ms: float
    update_ms: float
    train_frequency: int

    @property
    def limit(self) -> float:
        """Agent steps/s when nothing else costs time: 1 / (env step + forward + update / train_frequency)."""
        return 1_000 / (self.env_ms + self.forward_ms + self.update_ms / self.train_frequency)


class NNParts:
    """The three parts, built once: make_env on the game with random actions; the Nature network (ours) at batch 1;
    a Double DQN update of ours (DQNAgent.update) on a fixed batch, no sampling."""

    def __init__(self, s: Setup):
        self.s, self.rng = s, np.random.default_rng(s.seed)
        device = pick_device(s.device)
        self.env = make_env(replace(EnvParams(), game=s.game, frame_stack=s.frame_stack))
        self.env.reset(seed=s.seed)
        self.actions = self.env.action_space.n
        torch.manual_seed(s.seed)
        t = TrainParams()
        self.agent = DQNAgent(s.frame_stack, self.actions, SCREEN, t.lr, t.adam_eps, t.max_grad_norm, device)
        self.device = device
        frames = lambda n: self.rng.integers(0, 256, (n, s.frame_stack, SCREEN, SCREEN), dtype=np.uint8)  # noqa: E731
        self.state = frames(1)
        b = s.batch_size
        self.batch = Batch(
            np.arange(b),
            frames(b),
            self.rng.integers(self.actions, size=b),
            self.rng.choice([-1.0, 0.0, 1.0], size=b).astype(np.float32),
            frames(b),
            np.full(b, t.gamma, np.float32),
            np.ones(b, np.float32),
        )

    def env_step(self) -> None:
        _, _, terminated, truncated, _ = self.env.step(int(self.rng.integers(self.actions)))
        if terminated or truncated:
            self.env.reset()

    def forward(self) -> None:
        q_values(self.agent.online, self.state, self.device)

    def update(self) -> None:
        self.agent.update(self.batch)

    def measure(self, seconds: float) -> NNBound:
        """Cycles of what an agent does per update period (train_frequency env steps and forward passes, then an
        update) for `seconds`, every call timed, so that the three parts meet the same load."""
        parts = (self.env_step, self.forward, self.update)
        cycle = [self.env_step, self.forward] * self.s.train_frequency + [self.update]
        took, calls = dict.fromkeys(parts, 0.0), dict.fromkeys(parts, 0)
        for part in cycle:  # untimed: first calls allocate
            part()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            for part in cycle:
                start = time.perf_counter()
                part()
                synchronize(self.device)
                took[part] += time.perf_counter() - start
                calls[part] += 1
        return NNBound(*(1_000 * took[part] / calls[part] for part in parts), self.s.train_frequency)

    def close(self) -> None:
        self.env.close()
