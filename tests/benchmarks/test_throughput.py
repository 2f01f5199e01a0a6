"""The throughput benchmark (benchmarks.throughput): its counters, its reference DQN loop and how it reads our
training log, on real ALE games and a real (tiny) train() run."""

from __future__ import annotations

import math
import multiprocessing
import time

import numpy as np
import pytest
import torch

from benchmarks.throughput.limits import NNBound, NNParts, ale_interface, emulate
from benchmarks.throughput.load import busy_load
from benchmarks.throughput.measure import Setup
from benchmarks.throughput.ours import our_params
from benchmarks.throughput.programs import OURS, REFERENCE, SB3, Program, run_program
from benchmarks.throughput.reference import ReferenceDQN, ReferenceReplay, reference_env
from benchmarks.throughput.report import verdict
from benchmarks.throughput.schedule import LOADED, QUIET, Samples, faster_peer, pooled
from benchmarks.throughput.workers import READY, WINDOW, Gate, Stopped, Window, Worker


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
    for _ in range(48):
        ref.step()
    assert ref.updates == 0  # none during the fill
    online = [p.detach().clone() for p in ref.q_network.parameters()]
    target = [p.detach().clone() for p in ref.target_network.parameters()]
    for _ in range(40):
        ref.step()
    assert ref.updates == 10
    assert any(not torch.equal(a, b) for a, b in zip(online, ref.q_network.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(target, ref.target_network.parameters()))  # synced every 8,000 only
    assert torch.isfinite(ref.update())
    ref.close()


def test_a_gate_waits_after_the_fill_and_reports_whole_windows():
    parent, child = multiprocessing.Pipe()
    gate = Gate(child, learning_starts=8)
    parent.send(60.0)  # the first window: a minute
    parent.send(0.0)  # the second: over at its first boundary
    parent.send(None)  # then close
    gate(4)
    assert not parent.poll()  # filling: no message, no wait
    gate(8)
    assert parent.recv() == (READY,)
    gate(12)
    assert not parent.poll()  # inside the minute
    time.sleep(0.01)
    gate(16)  # still inside the minute: the window goes on
    assert not parent.poll()
    gate.deadline = time.perf_counter()  # as if the minute were over
    gate(20)
    kind, steps, seconds = parent.recv()
    assert (kind, steps) == (WINDOW, 12) and seconds >= 0.01  # steps 8 -> 20, the time between those boundaries
    with pytest.raises(Stopped):
        gate(24)  # the 0 s window is over at once; the parent then closes
    assert parent.recv()[:2] == (WINDOW, 4)


def test_pooled_rates_ratios_and_the_bar():
    ref, sb3 = Program(REFERENCE, 1), Program(SB3, None)
    ours = Program(OURS, 1, "per", 2)
    samples = Samples()
    samples.windows[(QUIET, ref)] += [Window(100, 2.0), Window(300, 4.0)]  # 400 / 6 s
    samples.windows[(QUIET, sb3)] += [Window(50, 2.0)]
    samples.windows[(QUIET, ours)] += [Window(140, 2.0)]
    samples.windows[(LOADED, ref)] += [Window(20, 2.0)]
    samples.windows[(LOADED, ours)] += [Window(30, 2.0)]
    results = pooled(samples)
    rates = {(r.load, r.program): r.rate for r in results}
    assert rates[(QUIET, ref)] == pytest.approx(400 / 6)
    assert faster_peer(results, QUIET).program == ref and faster_peer(results, LOADED).program == ref
    bound = NNBound(env_ms=1.0, forward_ms=1.0, update_ms=40.0, train_frequency=4)
    assert bound.limit == pytest.approx(1_000 / 12)
    assert verdict(results, bound.limit)[0].startswith("ours meets the bar")  # 70 >= 66.7 and >= 0.8 x 83.3
    assert verdict(results, 100.0) == [f"below 80% of the NN-bound limit: {ours.label}: 70%"]


def test_our_params_match_the_shared_settings_and_never_stop_or_save():
    s = Setup("Breakout")
    for n in (1, 2, 4, 3):
        p = our_params(s, "per", n)
        t = p.train
        assert (p.env.frame_stack, t.network, t.capacity, t.batch_size) == (4, "nature", 100_000, 32)
        assert (t.learning_starts, t.train_frequency, t.replay, p.env.num_envs) == (5_000, 4, "per", n)
        assert t.log_interval % math.lcm(n, 4) == 0  # the gate is called after whole update periods
        assert min(t.steps, t.checkpoint_interval, t.eval_interval) > 10**9
        assert t.epsilon_start == t.epsilon_end == s.epsilon


def test_the_nn_bound_parts_are_measured_call_by_call_on_real_calls():
    parts = NNParts(Setup("Breakout", learning_starts=32))
    try:
        bound = parts.measure(0.6)
    finally:
        parts.close()
    assert 0 < bound.env_ms < bound.update_ms and 0 < bound.forward_ms < bound.update_ms
    assert bound.limit == pytest.approx(1_000 / (bound.env_ms + bound.forward_ms + bound.update_ms / 4))


def test_busy_load_runs_only_inside_its_block():
    with busy_load(2):
        spinning = [p for p in multiprocessing.active_children() if p.name == "busy-load"]
        assert len(spinning) == 2 and all(p.is_alive() for p in spinning)
    assert not [p for p in multiprocessing.active_children() if p.name == "busy-load"]
    assert all(p.exitcode is not None for p in spinning)


TINY = Setup("Breakout", capacity=2_000, learning_starts=64)


@pytest.mark.slow
@pytest.mark.parametrize(
    "program", [Program(REFERENCE, 1), Program(SB3, 1), Program(OURS, 1, "uniform", 2), Program(OURS, 1, "per", 1)]
)
def test_each_program_learns_in_windows_in_its_own_process(tmp_path, program):
    if program.kind == SB3:
        pytest.importorskip("stable_baselines3")
    worker = Worker(program.label, run_program, (TINY, program, tmp_path / "out"))
    try:
        worker.ready()
        windows = [worker.window(0.5) for _ in range(2)]
    finally:
        worker.close()
    assert worker.proc.exitcode == 0  # closed through its gate, not killed
    for w in windows:
        assert w.seconds >= 0.5 and w.steps > 0 and w.steps % 4 == 0  # whole update periods
