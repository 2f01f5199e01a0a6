"""Replay: prioritized frequencies and weights, and stacks rebuilt from frames stored once."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.replay.buffer import ReplayBuffer, make_replay
from pipeline.replay.samplers import PrioritizedSampler, UniformSampler
from tests.helpers import replay_step

K = 4  # frames per stack in these tests


def test_per_frequencies_follow_priority_to_the_alpha():
    """Chi-square goodness of fit of sample counts against (|TD error| + eps)^alpha / sum.

    Tolerance: the statistic must stay below df + 5 * sqrt(2 * df), five standard deviations above
    its mean under the null (stratified sampling only lowers the variance); with the fixed seed the
    test is deterministic. Uniform sampling of the same transitions scores in the thousands."""
    alpha, eps, n = 0.6, 1e-6, 50
    sampler = PrioritizedSampler(n, alpha, eps)
    sampler.add(np.arange(n))
    td_errors = np.geomspace(0.01, 10.0, n) * np.where(np.arange(n) % 2, 1, -1)  # signs must not matter
    sampler.update(np.arange(n), td_errors)
    rng = np.random.default_rng(0)
    counts = np.zeros(n)
    for _ in range(2_000):
        indices, _ = sampler.sample(32, n, rng, beta=0.4)
        counts += np.bincount(indices, minlength=n)
    priorities = (np.abs(td_errors) + eps) ** alpha
    expected = counts.sum() * priorities / priorities.sum()
    assert expected.min() > 5  # the chi-square approximation holds
    chi_square = ((counts - expected) ** 2 / expected).sum()
    df = n - 1
    assert chi_square < df + 5 * np.sqrt(2 * df)
    uniform = np.full(n, counts.sum() / n)
    assert ((uniform - expected) ** 2 / expected).sum() > 100 * df  # the test can tell the difference


@pytest.mark.parametrize("beta", [0.0, 0.4, 1.0])
def test_importance_weights_are_n_p_to_the_minus_beta_over_their_max(beta):
    n, alpha = 200, 0.6
    sampler = PrioritizedSampler(n, alpha, eps=1e-6)
    sampler.add(np.arange(n))
    rng = np.random.default_rng(1)
    sampler.update(np.arange(n), rng.exponential(size=n))
    indices, weights = sampler.sample(32, n, rng, beta)
    probabilities = sampler.tree[indices] / sampler.tree[np.arange(n)].sum()
    raw = (n * probabilities) ** -beta
    np.testing.assert_allclose(weights, raw / raw.max(), rtol=1e-6)
    assert weights.dtype == np.float32 and weights.max() == 1.0


def test_new_transitions_get_the_largest_priority_so_far():
    sampler = PrioritizedSampler(10, alpha=1.0, eps=0.0)
    sampler.add(np.arange(5))
    sampler.update(np.arange(5), np.array([0.5, 3.0, 1.0, 0.1, 2.0]))
    sampler.add(np.array([7]))
    assert sampler.tree[7] == 3.0


def encode(episode: int, step: int, stream: int = 0) -> np.ndarray:
    """A 1x3 frame naming where it was seen (never all zero, unlike padding)."""
    return np.array([[episode + 1, step + 1, stream + 1]], np.uint8)


def stream_events(lengths: list[int], stream: int = 0):
    """One stream's steps as (action, reward, terminal, next frame, episode over, restarted), after its first
    frame: episodes of the given lengths, the last one left running. Reward = step, terminal at the end."""
    for episode, length in enumerate(lengths):
        if episode:
            yield 0, 0.0, False, encode(episode, 0, stream), False, True
        running = episode == len(lengths) - 1
        for step in range(length):
            over = step == length - 1 and not running
            yield step % 3, float(step), over, encode(episode, step + 1, stream), over, False


def play(replay: ReplayBuffer, lengths: list[int]) -> None:
    replay.start(encode(0, 0)[None])
    for event in stream_events(lengths):
        replay_step(replay, *event)


def check_stack(stack: np.ndarray, episode: int, step: int, stream: int = 0) -> None:
    """The k frames of `episode` ending at `step`, zeros where they would reach before its start."""
    for position, frame in enumerate(stack):
        seen = step - (len(stack) - 1 - position)
        expected = encode(episode, seen, stream) if seen >= 0 else np.zeros_like(frame)
        np.testing.assert_array_equal(frame, expected)


def check_batch(replay: ReplayBuffer, batch_size: int = 64) -> set[tuple[int, int, int]]:
    """Every sampled transition is whole: state and next state from one episode of one stream, steps s and s + 1."""
    batch = replay.sample(batch_size, beta=0.5)
    seen = set()
    for b in range(batch_size):
        episode, step, stream = (int(v) - 1 for v in batch.states[b, -1, 0])
        assert episode >= 0, "sampled a row whose own frame is padding"
        check_stack(batch.states[b], episode, step, stream)
        check_stack(batch.next_states[b], episode, step + 1, stream)
        assert batch.rewards[b] == step and batch.actions[b] == step % 3
        seen.add((stream, episode, step))
    return seen


@pytest.mark.parametrize("kind", ["per", "uniform"])
def test_stacks_stop_at_episode_starts_and_final_observations_are_never_sampled(kind):
    lengths = [2, 6, 1, 5]
    replay = make_replay(kind, 100, K, (1, 3), alpha=0.6, priority_eps=1e-6, seed=0)
    play(replay, lengths)
    assert len(replay) == sum(lengths)
    seen = set()
    for _ in range(30):
        seen |= check_batch(replay)
    # every transition is reachable; none starts at an episode's final observation or the newest frame
    assert seen == {(0, e, s) for e, length in enumerate(lengths) for s in range(length)}


@pytest.mark.parametrize("kind", ["per", "uniform"])
def test_streams_stepped_together_never_share_a_stack(kind):
    """Three environments whose episodes end at different steps: every stack stays in one stream and episode."""
    lengths = {0: [2, 6, 1, 5], 1: [9, 4], 2: [1, 1, 1, 1, 1, 3]}
    events = {i: list(stream_events(lengths[i], i)) for i in lengths}
    steps = min(len(e) for e in events.values())
    replay = make_replay(kind, 300, K, (1, 3), alpha=0.6, priority_eps=1e-6, seed=0, streams=3)
    replay.start(np.stack([encode(0, 0, i) for i in lengths]))
    for t in range(steps):
        columns = list(zip(*(events[i][t] for i in lengths)))
        replay.step(
            *(np.array(c) for c in columns[:3]), np.stack(columns[3]), np.array(columns[4]), np.array(columns[5])
        )
    seen = set()
    for _ in range(40):
        seen |= check_batch(replay)
    complete = set()  # transitions whose next frame was stored within the steps played
    for i in lengths:
        episode, step = 0, 0
        for action, reward, terminal, frame, over, restarted in events[i][:steps]:
            if restarted:
                episode, step = episode + 1, 0
            else:
                complete.add((i, episode, step))
                step += 1
    assert seen == complete


def test_frames_kept_on_a_torch_device_give_the_same_batches_as_host_frames():
    """DeviceFrames (here on the CPU device; on a GPU in training) gathers the same stacks as the NumPy store."""
    host, device = (
        make_replay("per", 60, K, (1, 3), alpha=0.6, priority_eps=1e-6, seed=3, n_step=2, storage=storage)
        for storage in (None, torch.device("cpu"))
    )
    for replay in (host, device):
        play(replay, [9, 4, 13, 7, 30])
    for _ in range(5):
        a, b = host.sample(16, 0.5), device.sample(16, 0.5)
        assert isinstance(b.states, torch.Tensor)
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.states, b.states.numpy())
        np.testing.assert_array_equal(a.next_states, b.next_states.numpy())
        np.testing.assert_array_equal(a.rewards, b.rewards)


def test_capacity_is_rounded_down_to_whole_steps_of_all_streams():
    replay = make_replay("uniform", 100, K, (1, 3), alpha=0.6, priority_eps=1e-6, seed=0, streams=8)
    assert replay.capacity == len(replay.frames) == 96


def test_only_episode_ends_cut_bootstrapping():
    replay = make_replay("uniform", 100, K, (1, 3), alpha=0.6, priority_eps=1e-6, seed=0, gamma=0.9)
    play(replay, [3, 4, 2])
    batch = replay.sample(200)
    steps = batch.states[:, -1, 0, 1].astype(int) - 1
    episodes = batch.states[:, -1, 0, 0].astype(int) - 1
    terminal = ((episodes == 0) & (steps == 2)) | ((episodes == 1) & (steps == 3))
    np.testing.assert_allclose(batch.discounts, np.where(terminal, 0.0, 0.9), rtol=1e-6)


@pytest.mark.parametrize("kind", ["per", "uniform"])
def test_wrapping_around_retires_transitions_whose_frames_were_overwritten(kind):
    """A 23-row buffer after 70 steps: rows still holding old transitions must not stack new frames."""
    capacity = 23
    replay = make_replay(kind, capacity, K, (1, 3), alpha=0.6, priority_eps=1e-6, seed=1)
    play(replay, [9, 4, 13, 7, 30])
    assert replay.size == capacity
    for _ in range(50):
        check_batch(replay, 32)
    # what stays sampleable: rows whose transition and k-1 frames of history are all still stored
    assert len(replay) <= capacity - K


def test_uniform_sampler_draws_only_complete_transitions():
    sampler = UniformSampler(1000)
    sampler.add(np.arange(0, 1000, 7))
    sampler.remove(np.array([0, 7, 14]))
    indices, weights = sampler.sample(4096, 1000, np.random.default_rng(2), beta=0.4)
    assert set(indices.tolist()) == set(range(21, 1000, 7))
    assert (weights == 1).all()


def test_frame_storage_does_not_grow_with_the_stack_depth():
    """The 1,000,000-transition buffer at k = 8 allocates under 7.5 GB, the same as at k = 4
    (np.zeros reserves the pages without touching them; the replay benchmark's --fill measures them touched)."""
    sizes = {}
    for k in (4, 8):
        replay = make_replay("per", 1_000_000, k, (84, 84), alpha=0.6, priority_eps=1e-6, seed=0)
        arrays = [
            replay.frames,
            replay.episode_step,
            replay.actions,
            replay.rewards,
            replay.terminals,
            replay.sampler.valid,
            *replay.sampler.tree.levels,
        ]
        sizes[k] = sum(a.nbytes for a in arrays)
        del replay, arrays
    assert sizes[4] == sizes[8] < 7.5e9
