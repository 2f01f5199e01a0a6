"""Which torch device learning and acting run on."""

from __future__ import annotations

import torch


def pick_device(name: str) -> torch.device:
    """`auto`: CUDA, then Apple MPS, then the CPU."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
