"""The world the bad-input table and the fault tests run in copies of (tests/project/world.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.project.world import build_world


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> Path:
    return build_world(tmp_path_factory.mktemp("world"))
