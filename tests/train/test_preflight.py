"""The checks `pipeline train` makes before a fresh start clears earlier results."""

from __future__ import annotations

from pipeline.train.preflight import checkpoint_bytes
from tests.helpers import tiny_params


def test_the_room_asked_for_a_checkpoint_covers_a_real_one(trained_dir):
    largest = max(p.stat().st_size for p in trained_dir.glob("state/*/step_*.pt"))
    assert largest <= checkpoint_bytes(tiny_params()) < 4 * largest
