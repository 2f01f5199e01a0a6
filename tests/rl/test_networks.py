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


def test_the_hidden_layer_is_the_heads_input_to_its_last_linear_layer():
    """q_and_hidden's features are what the last layer maps to the Q-values, and the Q-values are forward's, bit for
    bit; 256 wide for der, 512 for nature."""
    torch.manual_seed(0)
    for architecture, width in (("der", 256), ("nature", 512)):
        net = QNetwork(4, 6, 84, architecture=architecture)
        x = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
        q, hidden = net.q_and_hidden(x)
        assert hidden.shape == (2, width) and (hidden >= 0).all()
        assert torch.equal(q, net(x)) and torch.equal(q, net.head[2](hidden))
        assert torch.equal(q, net.head(net.features(x.float() / 255.0)))  # the Sequential head, unchanged
