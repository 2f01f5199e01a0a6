"""torch.compile is optional: where it cannot compile, training runs eagerly."""

from __future__ import annotations

import pytest
import torch

from pipeline.rl.dqn import compiled
from pipeline.rl.networks import QNetwork


def test_compile_falls_back_to_eager_with_a_warning_when_it_cannot_compile():
    net = QNetwork(4, 3)
    bad_example = torch.zeros(1, 2, 84, 84, dtype=torch.uint8)  # 2 channels where the network takes 4
    with pytest.warns(UserWarning, match="torch.compile failed"):
        assert compiled(net, bad_example, enabled=True) is net
    assert compiled(net, bad_example, enabled=False) is net
