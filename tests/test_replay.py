"""Replay: prioritized frequencies and weights, and stacks rebuilt from frames stored once."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.replay import (
    PrioritizedSampler,
    ReplayBuffer,
    UniformSampler,
    make_replay,
)

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


def encode(episode: int, step: int) -> np.ndarray:
    """A 1x2 frame naming where it was seen (never all zero, unlike padding)."""
    return np.array([[episode + 1, step + 1]], np.uint8)


def play(replay: ReplayBuffer, lengths: list[int]) -> None:
    """Episodes of the given lengths; the last one is left running. Reward = step, terminal at the end."""
    for episode, length in enumerate(lengths):
        replay.start_episode(encode(episode, 0))
        running = episode == len(lengths) - 1
        for step in range(length):
            over = step == length - 1 and not running
            replay.add(step % 3, float(step), over, encode(episode, step + 1), episode_over=over)


def check_stack(stack: np.ndarray, episode: int, step: int) -> None:
    """The k frames of `episode` ending at `step`, zeros where they would reach before its start."""
    for position, frame in enumerate(stack):
        seen = step - (len(stack) - 1 - position)
        expected = encode(episode, seen) if seen >= 0 else np.zeros_like(frame)
        np.testing.assert_array_equal(frame, expected)


def check_batch(replay: ReplayBuffer, batch_size: int = 64) -> set[tuple[int, int]]:
    """Every sampled transition is whole: state and next state from one episode, steps s and s + 1."""
    batch = replay.sample(batch_size, beta=0.5)
    seen = set()
    for b in range(batch_size):
        episode, step = int(batch.states[b, -1, 0, 0]) - 1, int(batch.states[b, -1, 0, 1]) - 1
        assert episode >= 0, "sampled a row whose own frame is padding"
        check_stack(batch.states[b], episode, step)
        check_stack(batch.next_states[b], episode, step + 1)
        assert batch.rewards[b] == step and batch.actions[b] == step % 3
        seen.add((episode, step))
    return seen


@pytest.mark.parametrize("kind", ["per", "uniform"])
def test_stacks_stop_at_episode_starts_and_final_observations_are_never_sampled(kind):
    lengths = [2, 6, 1, 5]
    replay = make_replay(kind, 100, K, (1, 2), alpha=0.6, priority_eps=1e-6, seed=0)
    play(replay, lengths)
    assert len(replay) == sum(lengths)
    seen = set()
    for _ in range(30):
        seen |= check_batch(replay)
    # every transition is reachable; none starts at an episode's final observation or the newest frame
    assert seen == {(e, s) for e, length in enumerate(lengths) for s in range(length)}


def test_only_episode_ends_cut_bootstrapping():
    replay = make_replay("uniform", 100, K, (1, 2), alpha=0.6, priority_eps=1e-6, seed=0, gamma=0.9)
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
    replay = make_replay(kind, capacity, K, (1, 2), alpha=0.6, priority_eps=1e-6, seed=1)
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
        arrays = [replay.frames, replay.episode_step, replay.actions, replay.rewards, replay.terminals,
                  replay.sampler.valid, *replay.sampler.tree.levels]
        sizes[k] = sum(a.nbytes for a in arrays)
        del replay, arrays
    assert sizes[4] == sizes[8] < 7.5e9
