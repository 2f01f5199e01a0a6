"""The throughput benchmark (benchmarks.throughput): its counters, its reference DQN loop and how it reads our
training log, on real ALE games and a real (tiny) train() run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.throughput.limits import ale_interface, emulate
from benchmarks.throughput.ours import build_replay, fill_replay, learning_rate, our_params, plan_run, train_and_measure
from benchmarks.throughput.reference import ReferenceDQN, ReferenceReplay, reference_env, run_reference
from pipeline.config.params import TrainParams


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Batch-1 forward passes with several OpenMP threads crawl on a busy machine; the behaviour tested is the same."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_raw_ale_counter_counts_the_frames_the_emulator_ran():
    ale = ale_interface("Breakout", seed=0)
    start = ale.getFrameNumber()
    capped = emulate(ale, seconds=60, rng=np.random.default_rng(0), max_frames=3_000)
    assert capped.frames == 3_000
    assert ale.getFrameNumber() - start == 3_000
    assert capped.games_over >= 1  # random play loses Breakout's five lives within 3,000 frames: resets are exercised

    start = ale.getFrameNumber()
    timed = emulate(ale, seconds=0.2, rng=np.random.default_rng(1))
    assert timed.seconds >= 0.2 and timed.frames > 0
    assert ale.getFrameNumber() - start == timed.frames


def test_reference_replay_returns_the_stacks_the_env_produced():
    env = reference_env("Breakout", frame_stack=4, seed=0)
    replay = ReferenceReplay(capacity=30, obs_shape=env.observation_space.shape, seed=0)
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    produced = []
    for _ in range(45):  # wraps: rows 0..14 end up holding steps 30..44, rows 15..29 steps 15..29
        action = int(rng.integers(env.action_space.n))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        replay.add(obs, next_obs, action, reward, terminated)
        produced.append((obs.copy(), next_obs.copy(), action, reward, terminated))
        obs = env.reset()[0] if terminated or truncated else next_obs
    env.close()

    assert len(replay) == 30
    batch = replay.sample(64)
    assert batch.obs.shape == (64, 4, 84, 84) and batch.obs.dtype == np.uint8
    assert (batch.indices < 15).any() and (batch.indices >= 15).any()
    for i, row in enumerate(batch.indices):
        stacked, next_stacked, action, reward, done = produced[row + 30 if row < 15 else row]
        assert np.array_equal(batch.obs[i], stacked)
        assert np.array_equal(batch.next_obs[i], next_stacked)
        assert (batch.actions[i], batch.rewards[i], batch.dones[i]) == (action, reward, done)
    assert len({batch.obs[i].tobytes() for i in range(64)}) > 1


@pytest.mark.slow
def test_reference_loop_learns_once_every_four_agent_steps_after_the_fill():
    ref = ReferenceDQN("Breakout", frame_stack=4, device=torch.device("cpu"), capacity=200, learning_starts=48)
    loop = run_reference(ref, seconds=0.5)
    assert ref.global_step == 48 + loop.steps and loop.steps > 0
    assert ref.updates == loop.updates == loop.steps // 4  # none during the fill, then one per 4 steps

    online = [p.detach().clone() for p in ref.q_network.parameters()]
    target = [p.detach().clone() for p in ref.target_network.parameters()]
    updates = ref.updates
    for _ in range(40):
        ref.step()
    assert ref.updates - updates == 10
    assert any(not torch.equal(a, b) for a, b in zip(online, ref.q_network.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(target, ref.target_network.parameters()))  # synced every 8,000 only
    assert torch.isfinite(ref.update())
    ref.close()


def test_learning_rate_counts_learning_windows_without_snapshot_work():
    windows = [(100, 50.0), (200, 20.0), (300, 10.0), (400, 40.0), (500, 25.0)]
    # (0, 100] is the fill; the snapshot at 200 runs after the log at 200, in (200, 300]; the one at 500 after the end
    measured = learning_rate(windows, learning_starts=100, snapshots=[200, 500])
    assert (measured.kept, measured.dropped, measured.steps) == (3, 1, 300)
    assert measured.rate == pytest.approx(300 / (100 / 20 + 100 / 40 + 100 / 25))


@pytest.mark.parametrize(
    "rate, seconds, warmup, unit", [(150.0, 20.0, 1_000, 4), (3_000.0, 20.0, 1_000, 16), (2.0, 1.0, 50, 8)]
)
def test_planned_runs_put_the_fill_and_the_snapshots_on_window_boundaries(rate, seconds, warmup, unit):
    plan = plan_run(rate, seconds, warmup, unit, windows=40)
    assert plan.log_interval % unit == 0
    assert plan.learning_starts >= warmup and plan.learning_starts % plan.log_interval == 0
    assert plan.steps - plan.learning_starts >= rate * seconds
    assert (plan.steps // 10) % plan.log_interval == 0  # train() snapshots every steps // 10
    assert plan.steps // plan.log_interval >= 20  # so a snapshot lands in every other window at most


def test_our_replay_filled_through_its_public_api_serves_batches():
    t = TrainParams()
    replay = build_replay(t, frame_stack=4, capacity=400, device=torch.device("cpu"), seed=0)
    fill_replay(replay, steps=300, num_actions=4, rng=np.random.default_rng(0), episode_length=100)
    assert len(replay) >= 250
    batch = replay.sample(t.batch_size, t.beta0)
    assert tuple(batch.states.shape) == (t.batch_size, 4, 84, 84)
    assert np.asarray(batch.states).any()  # random frames, not the zeros the storage starts with


@pytest.mark.slow
def test_training_rate_is_read_from_a_real_runs_learning_windows(tmp_path):
    plan = plan_run(rate=40.0, seconds=1.0, warmup=32, unit=4, windows=4, tenths=False)
    params = our_params("Breakout", 4, 1, "cpu", plan, seed=0, replay="uniform")
    measured, model = train_and_measure(params, tmp_path)
    assert model.is_file()
    assert measured.steps == plan.steps - plan.learning_starts  # every learning window, none of the fill
    assert measured.kept == measured.steps // plan.log_interval and measured.dropped == 0
    assert measured.rate > 0
