"""Exploration modes: Boltzmann and RND act and learn as they claim; a short real run in each mode."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import numpy as np
import pytest
import torch

from pipeline.config.params import TrainParams
from pipeline.replay.buffer import Batch
from pipeline.rl.acting import boltzmann
from pipeline.rl.dqn import DQNAgent
from pipeline.rl.exploration import EXPLORATIONS
from pipeline.rl.exploration.rnd import RNDExploration
from pipeline.rl.rnd import RND
from tests.helpers import tiny_params


def test_boltzmann_is_greedy_when_cold_and_near_uniform_when_hot():
    rng = np.random.default_rng(0)
    q = np.tile(np.array([[0.0, 1.0, 0.5, -1.0]]), (20_000, 1))
    assert (boltzmann(q, 1e-4, rng) == 1).all()
    counts = np.bincount(boltzmann(q, 1e4, rng), minlength=4)
    # at T = 1e4 every probability is within 0.01% of 1/4; 20,000 draws put each count within +-5% of 5,000 (>6 sigma)
    assert np.all(np.abs(counts - 5_000) < 250), counts


def test_rnd_bonus_falls_on_a_repeated_observation_and_stays_high_on_a_new_one():
    torch.manual_seed(0)
    rnd = RND(84, lr=1e-3, device=torch.device("cpu"))
    rng = np.random.default_rng(0)
    seen, unseen = (rng.integers(0, 256, (1, 1, 84, 84), dtype=np.uint8) for _ in range(2))
    before_seen, before_unseen = rnd.prediction_errors(seen)[0], rnd.prediction_errors(unseen)[0]
    for _ in range(60):
        rnd.train(seen)
    after_seen, after_unseen = rnd.prediction_errors(seen)[0], rnd.prediction_errors(unseen)[0]
    # measured: the repeated one falls ~3,000x, the new one keeps about a quarter of its novelty
    assert after_seen < 0.01 * before_seen
    assert after_unseen > 0.1 * before_unseen and after_unseen > 100 * after_seen


def random_batch(n: int = 16) -> Batch:
    rng = np.random.default_rng(1)
    return Batch(
        indices=np.arange(n),
        states=rng.integers(0, 256, (n, 4, 84, 84), dtype=np.uint8),
        actions=rng.integers(0, 3, n),
        rewards=rng.choice([-1.0, 0.0, 1.0], n).astype(np.float32),
        next_states=rng.integers(0, 256, (n, 4, 84, 84), dtype=np.uint8),
        discounts=np.full(n, 0.99, np.float32),
        weights=np.ones(n, np.float32),
    )


def test_the_exploitation_agent_learns_from_the_extrinsic_reward_alone():
    """Its update equals a plain agent's on the same batch, whatever the intrinsic weight; the explorer's does not."""
    t = tiny_params(train={"exploration": "rnd", "rnd_alpha_start": 1.0, "rnd_alpha_end": 1.0}).train
    torch.manual_seed(0)
    learner = RNDExploration(t, 4, 3, 84, torch.device("cpu"))
    plain = DQNAgent(4, 3, 84, t.lr, t.adam_eps, t.max_grad_norm, torch.device("cpu"))
    plain.load_state_dict(learner.agent.state_dict())
    explorer_before = [p.detach().clone() for p in learner.explorer.online.parameters()]
    batch = random_batch()
    expected = plain.update(batch)
    metrics, _ = learner.learn(batch, step=0)
    assert metrics["loss"] == pytest.approx(expected.loss, rel=1e-6)
    for mine, theirs in zip(learner.agent.online.parameters(), plain.online.parameters()):
        torch.testing.assert_close(mine, theirs)
    assert metrics["intrinsic_reward"] > 0
    moved = [not torch.equal(a, b) for a, b in zip(explorer_before, learner.explorer.online.parameters())]
    assert any(moved)


@pytest.mark.slow
@pytest.mark.parametrize("mode, logged", [("boltzmann", "temperature"), ("rnd", "intrinsic_reward")])
def test_a_short_real_training_run_in_each_exploration_mode(tmp_path, mode, logged):
    from pipeline.train.trainer import train

    params = tiny_params(
        train={
            "exploration": mode,
            "steps": 200,
            "learning_starts": 100,
            "dueling": True,
            "n_step": 1 if mode == "rnd" else 3,
            "gradient_steps": 2,
        }
    )
    model = train(params, tmp_path)
    data = torch.load(model, weights_only=True)
    # gradient_steps 2: two Adam steps at each of steps 100, 104, ..., 200 (26 training steps)
    assert data["agent"]["optimizer"]["state"][0]["step"].item() == 2 * 26
    assert ("explorer" in data and "rnd" in data) == (mode == "rnd")
    assert any(k.startswith("value.") for k in data["agent"]["online"])  # the dueling head was trained
    assert (tmp_path / "training" / "plots" / "metrics" / "train" / f"{logged}.tsv").is_file()
    if mode == "rnd":
        assert (tmp_path / "training" / "plots" / "metrics" / "train" / "rnd_alpha.tsv").is_file()
        assert (tmp_path / "training" / "plots" / "metrics" / "train" / "extrinsic_reward.tsv").is_file()


def test_the_registry_offers_exactly_the_modes_params_allow():
    allowed = next(f for f in dataclasses.fields(TrainParams) if f.name == "exploration").metadata["choices"]
    assert list(EXPLORATIONS) == list(allowed)
    for mode, cls in EXPLORATIONS.items():
        learner = cls(replace(TrainParams(), exploration=mode), 4, 3, 84, torch.device("cpu"))
        assert tuple(learner.schedule(0, 0)) == cls.schedule_names, mode  # what it logs is what it declares
