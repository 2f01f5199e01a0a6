"""Shared fixtures: one tiny trained checkpoint per test session (a real ALE game, a few hundred steps).

Tests marked `slow` train, record, start subprocesses or run DVC; `./dev.sh test -m "not slow"` leaves them out for
a fast inner loop. Every test that needs the trained checkpoint is slow by that fact, so it is marked here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import tiny_params


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory) -> Path:
    """A models/ folder from a real 300-step training run on Breakout (dqn.pt, checkpoints/, training/)."""
    from pipeline.train.trainer import train

    out = tmp_path_factory.mktemp("models")
    train(tiny_params(), out)
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint(trained_dir) -> Path:
    return trained_dir / "dqn.pt"


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if "trained_dir" in item.fixturenames:
            item.add_marker(pytest.mark.slow)
