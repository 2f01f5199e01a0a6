import torch


def test_tiny_checkpoint_loads_weights_only(tiny_checkpoint):
    data = torch.load(tiny_checkpoint, weights_only=True)
    assert data["step"] == 300 and data["complete"] is True
    assert data["params"]["env"]["game"] == "Breakout"
