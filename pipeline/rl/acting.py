"""Choosing actions from Q-values: greedy, epsilon-greedy or Boltzmann; shared by the learner and loaded policies."""

from __future__ import annotations

import numpy as np
import torch


@torch.no_grad()
def q_values(network: torch.nn.Module, states: np.ndarray, device: torch.device) -> np.ndarray:
    """Q-values for a few states, to act on."""
    if device.type != "cpu":
        return network(torch.as_tensor(states, device=device)).cpu().numpy()
    return network(torch.as_tensor(states)).numpy()


@torch.no_grad()
def q_values_and_features(
    network: torch.nn.Module, states: np.ndarray, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """Q-values and penultimate features (QNetwork.q_and_hidden) for a few states, as NumPy arrays: what a recording
    with record.agent_outputs stores. The Q-values are q_values' bit for bit (the same operations)."""
    q, hidden = network.q_and_hidden(torch.as_tensor(states).to(device))
    return q.cpu().numpy(), hidden.cpu().numpy()


def boltzmann(q_values: np.ndarray, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """An action per row sampled from softmax(Q / temperature): near argmax when cold, near uniform when hot."""
    logits = (q_values - q_values.max(axis=1, keepdims=True)) / temperature
    probabilities = np.exp(logits)
    cumulative = np.cumsum(probabilities, axis=1)
    draws = rng.random(len(q_values)) * cumulative[:, -1]
    return np.minimum((cumulative <= draws[:, None]).sum(axis=1), q_values.shape[1] - 1)


def epsilon_greedy(q_values: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
    """Greedy actions for each row of Q-values, each replaced by a uniform random one with probability epsilon."""
    actions = q_values.argmax(axis=1)
    explore = rng.random(len(actions)) < epsilon
    actions[explore] = rng.integers(0, q_values.shape[1], size=int(explore.sum()))
    return actions


def act_epsilon_greedy(
    network: torch.nn.Module,
    states: np.ndarray,
    epsilon: float,
    rng: np.random.Generator,
    device: torch.device,
    num_actions: int,
) -> np.ndarray:
    """Epsilon-greedy actions for a batch of stacks; skips the network when every action is random anyway."""
    if epsilon >= 1.0:
        return rng.integers(0, num_actions, size=len(states))
    return epsilon_greedy(q_values(network, states, device), epsilon, rng)
