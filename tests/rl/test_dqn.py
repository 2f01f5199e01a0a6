"""The learner's arithmetic: Double DQN targets, the importance-weighted loss, exploration and annealing schedules."""

from __future__ import annotations

import numpy as np
import pytest
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


def agent(split_update: bool = False) -> DQNAgent:
    torch.manual_seed(0)
    return DQNAgent(
        frame_stack=4,
        num_actions=3,
        screen_size=84,
        lr=1e-3,
        adam_eps=1e-8,
        max_grad_norm=1.0,
        device=torch.device("cpu"),
        split_update=split_update,
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


def weights(learner: DQNAgent) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in learner.online.parameters()])


def updated(learner: DQNAgent, batches: int) -> list:
    rng = np.random.default_rng(1)
    return [learner.update(tiny_batch(rng.random(32))) for _ in range(batches)]


def test_split_updates_give_the_same_bits_every_time_and_the_whole_batchs_step_to_rounding():
    """split_update adds two half-batches' gradients in a fixed order: repeatable to the bit (so runs and resumes
    reproduce), and the mean loss's gradient up to float rounding, so it learns what the whole batch would."""
    whole, split, again = agent(), agent(split_update=True), agent(split_update=True)
    stats = [updated(learner, 3) for learner in (whole, split, again)]
    assert torch.equal(weights(split), weights(again))
    assert not torch.equal(weights(whole), weights(agent()))  # the updates moved the network
    torch.testing.assert_close(weights(split), weights(whole), rtol=0, atol=1e-5)  # Adam steps lr = 1e-3
    for a, b in zip(stats[0], stats[1]):
        np.testing.assert_allclose(b.td_errors, a.td_errors, rtol=1e-5, atol=1e-5)
        assert b.loss == pytest.approx(a.loss, rel=1e-5) and b.mean_q == pytest.approx(a.mean_q, rel=1e-5, abs=1e-6)


def test_a_split_update_of_an_odd_batch_counts_every_transition_once():
    """Halves of 7 rows are 3 and 4; weight only on the last row: only its gradient moves the network, as whole."""
    only_last = np.zeros(7)
    only_last[-1] = 1.0
    whole, split = agent(), agent(split_update=True)
    whole.update(tiny_batch(only_last))
    split.update(tiny_batch(only_last))
    torch.testing.assert_close(weights(split), weights(whole), rtol=0, atol=1e-5)  # Adam steps lr = 1e-3
    assert not torch.equal(weights(split), weights(agent()))
