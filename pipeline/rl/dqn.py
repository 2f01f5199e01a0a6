"""The DQN agent: Double DQN targets, Huber loss weighted by importance weights, gradient clipping, a target network."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.replay.buffer import Batch
from pipeline.rl.acting import act_epsilon_greedy, boltzmann, q_values
from pipeline.rl.device import one_cpu_thread
from pipeline.rl.networks import QNetwork


def double_dqn_targets(
    next_q_online: torch.Tensor, next_q_target: torch.Tensor, rewards: torch.Tensor, discounts: torch.Tensor
) -> torch.Tensor:
    """R + discount * Q_target(s', argmax_a Q_online(s', a)); the discount is gamma^n, or 0 past a terminal."""
    best = next_q_online.argmax(dim=1, keepdim=True)
    return rewards + discounts * next_q_target.gather(1, best).squeeze(1)


def compiled(module: torch.nn.Module, example: torch.Tensor, enabled: bool):
    """`torch.compile(module)` when asked and the backend can compile it here; else the module, with a warning."""
    if not enabled:
        return module
    try:
        fast = torch.compile(module)
        with torch.no_grad():
            fast(example)
        return fast
    except Exception as err:  # no compiler toolchain, unsupported backend or device
        warnings.warn(
            f"torch.compile failed ({type(err).__name__}: {str(err).splitlines()[0][:160]}); training runs eagerly",
            stacklevel=2,
        )
        return module


@dataclass
class UpdateStats:
    loss: float
    mean_q: float
    td_errors: np.ndarray  # per-sample, for the priorities


class DQNAgent:
    def __init__(
        self,
        frame_stack: int,
        num_actions: int,
        screen_size: int,
        lr: float,
        adam_eps: float,
        max_grad_norm: float,
        device: torch.device,
        dueling: bool = False,
        compile: bool = False,
        architecture: str = "nature",
        split_update: bool = False,
    ):
        self.device, self.max_grad_norm = device, max_grad_norm
        self.num_actions = num_actions
        self.online = QNetwork(frame_stack, num_actions, screen_size, dueling, architecture).to(device)
        self.target = QNetwork(frame_stack, num_actions, screen_size, dueling, architecture).to(device)
        self.target.load_state_dict(self.online.state_dict())
        self.target.requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.online.parameters(), lr=lr, eps=adam_eps)
        # the compiled callables share parameters with the modules, which stay what is checkpointed
        example = torch.zeros(2, frame_stack, screen_size, screen_size, dtype=torch.uint8, device=device)
        self.online_forward = compiled(self.online, example, compile)
        self.target_forward = compiled(self.target, example, compile)
        self.params = list(self.online.parameters())
        # split_update: the two half-batches' gradients are taken on two threads, each running torch on one
        self.halves = ThreadPoolExecutor(2, "update-half", initializer=one_cpu_thread) if split_update else None

    def act(self, states: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        return act_epsilon_greedy(self.online, states, epsilon, rng, self.device, self.num_actions)

    def act_boltzmann(self, states: np.ndarray, temperature: float, rng: np.random.Generator) -> np.ndarray:
        return boltzmann(q_values(self.online, states, self.device), temperature, rng)

    def update(self, batch: Batch, rewards: np.ndarray | None = None) -> UpdateStats:
        """One gradient step on `batch`; `rewards` replaces the batch's returns (RND's explorer learns from a mix).

        The batch crosses to the device with non-blocking copies (from page-locked memory when the replay
        buffer pins it, or not at all when its frames live on the device), and the TD errors, loss and mean Q
        come back in one copy: one synchronisation per update."""
        to = lambda a: torch.as_tensor(a).to(self.device, non_blocking=True)  # noqa: E731
        returns = batch.rewards if rewards is None else rewards.astype(np.float32)
        tensors = tuple(
            to(a) for a in (batch.states, batch.next_states, batch.actions, returns, batch.discounts, batch.weights)
        )
        self.optimizer.zero_grad(set_to_none=True)
        if self.halves is None:
            q, targets, losses = self._td_losses(tensors)
            loss = losses.mean()
            loss.backward()
        else:
            q, targets, loss = self._gradients_by_halves(tensors)
        torch.nn.utils.clip_grad_norm_(self.params, self.max_grad_norm)
        self.optimizer.step()
        with torch.no_grad():
            host = torch.cat([targets - q, torch.stack([loss, q.mean()])]).cpu().numpy()
        return UpdateStats(loss=float(host[-2]), mean_q=float(host[-1]), td_errors=host[:-2])

    def _td_losses(self, tensors: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Q of the actions taken, their Double DQN targets, and each transition's Huber loss times its weight."""
        states, next_states, actions, returns, discounts, weights = tensors
        with torch.no_grad():
            targets = double_dqn_targets(
                self.online_forward(next_states), self.target_forward(next_states), returns, discounts
            )
        q = self.online_forward(states).gather(1, actions[:, None]).squeeze(1)
        return q, targets, weights * F.smooth_l1_loss(q, targets, reduction="none")

    def _half(self, tensors: tuple[torch.Tensor, ...], rows: slice, size: int) -> tuple:
        q, targets, losses = self._td_losses(tuple(t[rows] for t in tensors))
        loss = losses.sum() / size
        return q, targets, loss, torch.autograd.grad(loss, self.params)

    def _gradients_by_halves(self, tensors: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """The mean loss's gradient as the sum of its two half-batches', taken at once on two threads and added in
        a fixed order: the same bits however the threads are scheduled, and no thread waits inside an operation
        for another (OpenMP's threads do, which is what stalls two-thread torch on a busy machine)."""
        size = len(tensors[0])
        first, second = self.halves.map(
            partial(self._half, tensors, size=size), (slice(0, size // 2), slice(size // 2, size))
        )
        for param, a, b in zip(self.params, first[3], second[3]):
            param.grad = a + b
        return torch.cat([first[0], second[0]]), torch.cat([first[1], second[1]]), first[2] + second[2]

    def sync_target(self) -> None:
        self.target.load_state_dict(self.online.state_dict())

    def state_dict(self) -> dict:
        return {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
