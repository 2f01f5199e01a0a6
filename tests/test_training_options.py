"""Issue 5's training options: each changes behaviour the way it claims."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import replay_step, tiny_params

from pipeline.agent import DQNAgent, boltzmann, compiled
from pipeline.learners import RNDLearner
from pipeline.networks import NatureCNN
from pipeline.replay import Batch, make_replay
from pipeline.rnd import RND
from pipeline.training import choose_actions, due, learning_rewards


def frame(value: int) -> np.ndarray:
    return np.full((2, 2), value, np.uint8)


def test_n_step_returns_by_hand_at_and_across_episode_ends():
    """n = 3, gamma = 0.5. Episode 0: rewards 1, 2, 4, 8, game over after the 4th step.
    Episode 1: rewards 16, 32, truncated (episode over, not terminal) after the 2nd step."""
    replay = make_replay("uniform", 50, 2, (2, 2), alpha=0.6, priority_eps=1e-6, seed=0, gamma=0.5, n_step=3)
    replay.start(frame(0)[None])
    for step, reward in enumerate([1, 2, 4, 8]):
        replay_step(replay, 0, reward, terminal=step == 3, next_frame=frame(step + 1), episode_over=step == 3)
    replay_step(replay, 0, 0.0, False, frame(100), False, restarted=True)
    for step, reward in enumerate([16, 32]):
        replay_step(replay, 0, reward, terminal=False, next_frame=frame(101 + step), episode_over=step == 1)
    assert len(replay) == 6
    returns, last, discounts = replay.n_step_returns(np.arange(5, dtype=np.int64))
    rows_first = [0, 1, 2, 3]     # episode 0 occupies rows 0..4 (row 4: its final observation)
    np.testing.assert_allclose(returns[rows_first], [1 + 1 + 1, 2 + 2 + 2, 4 + 4, 8])
    np.testing.assert_allclose(discounts[rows_first], [0.125, 0.0, 0.0, 0.0])  # a game-over within n cuts bootstrapping
    np.testing.assert_array_equal(last[rows_first], [2, 3, 3, 3])
    returns, last, discounts = replay.n_step_returns(np.array([5, 6]))   # episode 1: rows 5, 6, final row 7
    np.testing.assert_allclose(returns, [16 + 16, 32])
    np.testing.assert_allclose(discounts, [0.25, 0.5])  # truncation still bootstraps, from the final observation
    batch = replay.sample(64)
    for i, nxt in zip(batch.indices, batch.next_states[:, -1, 0, 0]):
        expected_next = {0: 3, 1: 4, 2: 4, 3: 4, 5: 102, 6: 102}[int(i)]
        assert nxt == expected_next


def test_n_step_transitions_wait_for_their_lookahead():
    replay = make_replay("per", 50, 2, (2, 2), alpha=0.6, priority_eps=1e-6, seed=0, n_step=3)
    replay.start(frame(0)[None])
    replay_step(replay, 0, 1.0, False, frame(1), False)
    replay_step(replay, 0, 1.0, False, frame(2), False)
    assert len(replay) == 0
    replay_step(replay, 0, 1.0, False, frame(3), False)
    assert len(replay) == 1


def test_boltzmann_is_greedy_when_cold_and_near_uniform_when_hot():
    rng = np.random.default_rng(0)
    q = np.tile(np.array([[0.0, 1.0, 0.5, -1.0]]), (20_000, 1))
    assert (boltzmann(q, 1e-4, rng) == 1).all()
    counts = np.bincount(boltzmann(q, 1e4, rng), minlength=4)
    # at T = 1e4 every probability is within 0.01% of 1/4; 20,000 draws put each count within +-5% of 5,000 (>6 sigma)
    assert np.all(np.abs(counts - 5_000) < 250), counts


def test_dueling_q_is_value_plus_centred_advantage():
    torch.manual_seed(0)
    net = NatureCNN(4, 5, 84, dueling=True)
    x = torch.randint(0, 256, (3, 4, 84, 84), dtype=torch.uint8)
    features = net.features(x.float() / 255.0)
    advantage, value = net.head(features), net.value(features)
    torch.testing.assert_close(net(x), value + advantage - advantage.mean(dim=1, keepdim=True))
    torch.testing.assert_close(net(x).mean(dim=1, keepdim=True), value)


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
    return Batch(indices=np.arange(n), states=rng.integers(0, 256, (n, 4, 84, 84), dtype=np.uint8),
                 actions=rng.integers(0, 3, n), rewards=rng.choice([-1.0, 0.0, 1.0], n).astype(np.float32),
                 next_states=rng.integers(0, 256, (n, 4, 84, 84), dtype=np.uint8),
                 discounts=np.full(n, 0.99, np.float32), weights=np.ones(n, np.float32))


def test_the_exploitation_agent_learns_from_the_extrinsic_reward_alone():
    """Its update equals a plain agent's on the same batch, whatever the intrinsic weight; the explorer's does not."""
    t = tiny_params(train={"exploration": "rnd", "rnd_alpha_start": 1.0, "rnd_alpha_end": 1.0}).train
    torch.manual_seed(0)
    learner = RNDLearner(t, 4, 3, 84, torch.device("cpu"))
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


def test_reward_shaping_penalises_learning_rewards_only_as_asked():
    t = tiny_params(train={"living_penalty": 0.01, "life_loss_penalty": 1.0}).train
    shaped = learning_rewards(np.array([7.0, 0.0]), np.array([False, True]), t)
    np.testing.assert_allclose(shaped, [1.0 - 0.01, -0.01 - 1.0])  # clipped, then the living and life-loss penalties
    off = tiny_params().train
    assert learning_rewards(np.array([-3.0]), np.array([True]), off)[0] == -1.0


def test_prefill_acts_uniformly_at_random_then_the_learner_takes_over():
    t = tiny_params(train={"prefill_steps": 1000, "epsilon_start": 0.0, "epsilon_end": 0.0,
                           "epsilon_decay": "linear"}).train
    torch.manual_seed(0)
    from pipeline.learners import DQNLearner

    learner = DQNLearner(t, 4, 4, 84, torch.device("cpu"))
    states = np.zeros((2, 4, 84, 84), np.uint8)
    rng = np.random.default_rng(0)
    during = {int(a) for step in range(100) for a in choose_actions(learner, states, step, 0, rng, t.prefill_steps, 4)}
    after = {int(a) for step in range(25) for a in choose_actions(learner, states, 1000 + step, 0, rng, t.prefill_steps, 4)}
    assert during == {0, 1, 2, 3}
    assert len(after) == 1  # greedy on a constant state


def test_compile_falls_back_to_eager_with_a_warning_when_it_cannot_compile():
    net = NatureCNN(4, 3)
    bad_example = torch.zeros(1, 2, 84, 84, dtype=torch.uint8)  # 2 channels where the network takes 4
    with pytest.warns(UserWarning, match="torch.compile failed"):
        assert compiled(net, bad_example, enabled=True) is net
    assert compiled(net, bad_example, enabled=False) is net


@pytest.mark.parametrize("mode, logged", [("boltzmann", "temperature"), ("rnd", "intrinsic_reward")])
def test_a_short_real_training_run_in_each_exploration_mode(tmp_path, mode, logged):
    from pipeline.training import train

    params = tiny_params(train={"exploration": mode, "steps": 200, "learning_starts": 100, "dueling": True,
                                "n_step": 1 if mode == "rnd" else 3, "gradient_steps": 2})
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


def test_periodic_work_is_counted_however_far_a_step_moves():
    """due() counts the multiples of the interval (from `start`) passed, as per-step `step % interval == 0` checks would."""
    rng = np.random.default_rng(0)
    step, counted = 0, 0
    while step < 1_000:
        before, step = step, step + int(rng.integers(0, 9))  # vector steps move 0..8 agent steps
        counted += due(before, step, 7, start=100)
    assert counted == sum(1 for s in range(1, step + 1) if s % 7 == 0 and s >= 100)
