"""Frame stacks: zero-padded at an episode start, each environment alone."""

from __future__ import annotations

import numpy as np

from pipeline.envs.stacks import FrameStacks


def test_frame_stacks_pad_with_zeros_slide_and_restart_each_environment_alone():
    stacks = FrameStacks(2, 4, (2, 2))
    frame = lambda *values: np.stack([np.full((2, 2), v, np.uint8) for v in values])  # noqa: E731
    first = stacks.start(frame(1, 11))
    assert first.shape == (2, 4, 2, 2)
    np.testing.assert_array_equal(first[:, :, 0, 0], [[0, 0, 0, 1], [0, 0, 0, 11]])
    for value in (2, 3, 4, 5):
        latest = stacks.push(frame(value, value + 10), np.array([False, False]))
    np.testing.assert_array_equal(latest[:, :, 0, 0], [[2, 3, 4, 5], [12, 13, 14, 15]])
    restarted = stacks.push(frame(9, 16), np.array([True, False]))
    np.testing.assert_array_equal(restarted[:, :, 0, 0], [[0, 0, 0, 9], [13, 14, 15, 16]])
