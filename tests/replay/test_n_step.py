"""n-step returns: sums stop at terminals and episode ends, transitions wait for their lookahead."""

from __future__ import annotations

import numpy as np

from pipeline.replay.buffer import make_replay
from tests.helpers import replay_step


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
    rows_first = [0, 1, 2, 3]  # episode 0 occupies rows 0..4 (row 4: its final observation)
    np.testing.assert_allclose(returns[rows_first], [1 + 1 + 1, 2 + 2 + 2, 4 + 4, 8])
    np.testing.assert_allclose(discounts[rows_first], [0.125, 0.0, 0.0, 0.0])  # a game-over within n cuts bootstrapping
    np.testing.assert_array_equal(last[rows_first], [2, 3, 3, 3])
    returns, last, discounts = replay.n_step_returns(np.array([5, 6]))  # episode 1: rows 5, 6, final row 7
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
