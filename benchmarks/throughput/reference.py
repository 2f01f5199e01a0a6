"""The reference: a single-environment DQN loop and a recorder of the kind users glue together."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import gymnasium as gym
import imageio.v2 as imageio
import numpy as np
import torch
import torch.nn.functional as F
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation
from torch import nn

from benchmarks.throughput.measure import SCREEN, RecordRate, Setup
from pipeline.envs.atari import env_id
from pipeline.play.policies import load_policy
from pipeline.rl.device import pick_device


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
            nn.Conv2d(frame_stack, 32, 8, stride=4),
            nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(3136, 512),
            nn.ReLU(),
            nn.Linear(512, num_actions),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x / 255.0)


@dataclass
class ReferenceBatch:
    indices: np.ndarray
    obs: np.ndarray  # (B, k, 84, 84) uint8
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray  # (B, k, 84, 84) uint8
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
        return ReferenceBatch(
            idx, self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.dones[idx]
        )


class ReferenceDQN:
    """A single-environment DQN training loop of the usual kind; `step()` is one iteration of its main loop."""

    def __init__(
        self,
        game: str,
        frame_stack: int,
        device: torch.device,
        capacity: int,
        learning_starts: int,
        seed: int = 0,
        batch_size: int = 32,
        train_frequency: int = 4,
        gamma: float = 0.99,
        lr: float = 6.25e-5,
        adam_eps: float = 1.5e-4,
        max_grad_norm: float = 1.0,
        target_update_interval: int = 8_000,
    ):
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
        obs, next_obs = (
            torch.as_tensor(data.obs, device=self.device),
            torch.as_tensor(data.next_obs, device=self.device),
        )
        actions = torch.as_tensor(data.actions, device=self.device)
        rewards, dones = (
            torch.as_tensor(data.rewards, device=self.device),
            torch.as_tensor(data.dones, device=self.device),
        )
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


def train_reference(s: Setup, gate: Callable[[int], None]) -> None:
    """The reference loop on the settings `s`, calling `gate` with the agent step after each update period."""
    ref = ReferenceDQN(
        s.game,
        s.frame_stack,
        pick_device(s.device),
        s.capacity,
        s.learning_starts,
        s.seed,
        batch_size=s.batch_size,
        train_frequency=s.train_frequency,
    )
    try:
        while True:
            ref.step()
            if ref.global_step % ref.train_frequency == 0:
                gate(ref.global_step)
    finally:
        ref.close()


def reference_record(
    checkpoint: Path,
    game: str,
    frame_stack: int,
    episodes: int,
    max_steps: int,
    n_random: int,
    epsilon: float,
    out: Path,
    seed: int,
) -> RecordRate:
    """What users glue together: one env, the policy batch-1, each screen to a PNG (cv2) and an MP4 (imageio)."""
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
