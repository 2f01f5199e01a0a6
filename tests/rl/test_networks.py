"""The networks: the dueling head."""

from __future__ import annotations

import torch

from pipeline.rl.networks import QNetwork


def test_dueling_q_is_value_plus_centred_advantage():
    torch.manual_seed(0)
    net = QNetwork(4, 5, 84, dueling=True)
    x = torch.randint(0, 256, (3, 4, 84, 84), dtype=torch.uint8)
    features = net.features(x.float() / 255.0)
    advantage, value = net.head(features), net.value(features)
    torch.testing.assert_close(net(x), value + advantage - advantage.mean(dim=1, keepdim=True))
    torch.testing.assert_close(net(x).mean(dim=1, keepdim=True), value)
