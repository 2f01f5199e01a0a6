"""The learner's arithmetic: Double DQN targets, the importance-weighted loss, exploration and annealing schedules."""

from __future__ import annotations

import numpy as np
import torch

from pipeline.replay.buffer import Batch
from pipeline.rl.dqn import DQNAgent, double_dqn_targets


def test_double_dqn_target_by_hand():
    """The online net picks the next action, the target net values it; terminals do not bootstrap.

    Row 0: online argmax is action 1, target values it 20: 1 + 0.9 * 20 = 19 (plain DQN would use max 30: 28).
    Row 1: terminal, so the target is the reward alone: -1.
    Row 2: online argmax is action 2, target values it -4: 0.5 + 0.9 * -4 = -3.1."""
    online = torch.tensor([[1.0, 5.0, 2.0], [3.0, 0.0, 1.0], [0.0, 1.0, 2.0]])
    target = torch.tensor([[10.0, 20.0, 30.0], [7.0, 8.0, 9.0], [6.0, 5.0, -4.0]])
    rewards = torch.tensor([1.0, -1.0, 0.5])
    discounts = torch.tensor([0.9, 0.0, 0.9])  # gamma, or 0 past a terminal
    targets = double_dqn_targets(online, target, rewards, discounts)
    torch.testing.assert_close(targets, torch.tensor([19.0, -1.0, -3.1]))


def tiny_batch(weights: np.ndarray) -> Batch:
    rng = np.random.default_rng(0)
    n = len(weights)
    return Batch(
        indices=np.arange(n),
        states=rng.integers(0, 256, (n, 4, 84, 84), dtype=np.uint8),
        actions=rng.integers(0, 3, n),
        rewards=rng.standard_normal(n).astype(np.float32),
        next_states=rng.integers(0, 256, (n, 4, 84, 84), dtype=np.uint8),
        discounts=np.full(n, 0.99, np.float32),
        weights=weights.astype(np.float32),
    )


def agent() -> DQNAgent:
    torch.manual_seed(0)
    return DQNAgent(
        frame_stack=4,
        num_actions=3,
        screen_size=84,
        lr=1e-3,
        adam_eps=1e-8,
        max_grad_norm=1.0,
        device=torch.device("cpu"),
    )


def test_zero_importance_weights_leave_the_network_unchanged():
    """The Huber loss is weighted per sample: weight 0 means no gradient, so Adam does not move."""
    learner = agent()
    before = [p.detach().clone() for p in learner.online.parameters()]
    stats = learner.update(tiny_batch(np.zeros(8)))
    assert stats.loss == 0.0
    for old, new in zip(before, learner.online.parameters()):
        torch.testing.assert_close(old, new, rtol=0, atol=0)


def test_an_update_reports_td_errors_and_leaves_the_target_network_alone():
    learner = agent()
    batch = tiny_batch(np.ones(8))
    target_before = [p.detach().clone() for p in learner.target.parameters()]
    with torch.no_grad():
        q = learner.online(torch.as_tensor(batch.states)).gather(1, torch.as_tensor(batch.actions)[:, None]).squeeze(1)
        expected_td = (
            double_dqn_targets(
                learner.online(torch.as_tensor(batch.next_states)),
                learner.target(torch.as_tensor(batch.next_states)),
                torch.as_tensor(batch.rewards),
                torch.as_tensor(batch.discounts),
            )
            - q
        )
    stats = learner.update(batch)
    np.testing.assert_allclose(stats.td_errors, expected_td.numpy(), rtol=1e-5, atol=1e-6)
    for old, new in zip(target_before, learner.target.parameters()):
        torch.testing.assert_close(old, new, rtol=0, atol=0)
    assert any(not torch.equal(a, b) for a, b in zip(learner.online.parameters(), learner.target.parameters()))
    learner.sync_target()
    assert all(torch.equal(a, b) for a, b in zip(learner.online.parameters(), learner.target.parameters()))
