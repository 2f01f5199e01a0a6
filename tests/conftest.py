"""Shared fixtures: one tiny trained checkpoint per test session (a real ALE game, a few hundred steps)."""

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
