"""The Nature DQN network (Mnih et al. 2015): three convolutions and two fully connected layers."""

from __future__ import annotations

import torch
from torch import nn


class NatureCNN(nn.Module):
    """Q-values for every action from a (B, k, H, W) uint8 stack; scaling to [0, 1] happens inside."""

    def __init__(self, in_frames: int, num_actions: int, screen_size: int = 84):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_frames, 32, kernel_size=8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1), nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.features(torch.zeros(1, in_frames, screen_size, screen_size)).shape[1]
        self.head = nn.Sequential(nn.Linear(flat, 512), nn.ReLU(), nn.Linear(512, num_actions))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(frames.float() / 255.0))
