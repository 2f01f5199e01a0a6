"""The networks: the Q-network (the Nature DQN's or Data-Efficient Rainbow's torso, optionally a dueling head) and
RND's pair."""

from __future__ import annotations

import torch
from torch import nn


def nature_features(in_frames: int) -> nn.Sequential:
    """The three Nature convolutions, flattened: 3136 features from 84x84 inputs."""
    return nn.Sequential(
        nn.Conv2d(in_frames, 32, kernel_size=8, stride=4),
        nn.ReLU(),
        nn.Conv2d(32, 64, kernel_size=4, stride=2),
        nn.ReLU(),
        nn.Conv2d(64, 64, kernel_size=3, stride=1),
        nn.ReLU(),
        nn.Flatten(),
    )


def der_features(in_frames: int) -> nn.Sequential:
    """Data-Efficient Rainbow's two convolutions (van Hasselt et al. 2019, "When to use parametric models in
    reinforcement learning?"): 5x5 filters at stride 5, 576 features from 84x84 inputs. About a fifth of the Nature
    torso's multiply-adds at k = 8, which is what makes a replay ratio of one update per two steps fit a CPU."""
    return nn.Sequential(
        nn.Conv2d(in_frames, 32, kernel_size=5, stride=5),
        nn.ReLU(),
        nn.Conv2d(32, 64, kernel_size=5, stride=5),
        nn.ReLU(),
        nn.Flatten(),
    )


# train.network: (torso, hidden units of the head)
ARCHITECTURES = {"nature": (nature_features, 512), "der": (der_features, 256)}
# the smallest square input each torso can take (a smaller one leaves no pixel for a convolution)
MIN_SCREEN = {"nature": 36, "der": 25}


def feature_size(features: nn.Module, in_frames: int, screen_size: int) -> int:
    with torch.no_grad():
        return features(torch.zeros(1, in_frames, screen_size, screen_size)).shape[1]


class QNetwork(nn.Module):
    """Q-values for every action from a (B, k, H, W) uint8 stack; scaling to [0, 1] happens inside.

    `architecture` picks the torso and the head's hidden width (ARCHITECTURES). With `dueling`, two streams share
    the torso: Q = V + A - mean(A) (Wang et al. 2016), so the value of a state is learnt from every action's updates.
    """

    def __init__(
        self,
        in_frames: int,
        num_actions: int,
        screen_size: int = 84,
        dueling: bool = False,
        architecture: str = "nature",
    ):
        super().__init__()
        torso, hidden = ARCHITECTURES[architecture]
        self.features = torso(in_frames)
        flat = feature_size(self.features, in_frames, screen_size)
        self.dueling = dueling
        self.head = nn.Sequential(nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, num_actions))
        if dueling:
            self.value = nn.Sequential(nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.q_and_hidden(frames)[0]

    def q_and_hidden(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The Q-values and the head's hidden layer after its ReLU (the penultimate features a dataset records with
        record.agent_outputs; with dueling, the advantage stream's)."""
        features = self.features(frames.float() / 255.0)
        hidden = self.head[1](self.head[0](features))
        advantages = self.head[2](hidden)
        if not self.dueling:
            return advantages, hidden
        return self.value(features) + advantages - advantages.mean(dim=1, keepdim=True), hidden


class RNDNetwork(nn.Module):
    """Random Network Distillation's embedding of one 84x84 observation (Burda et al. 2018)."""

    def __init__(self, screen_size: int = 84, out: int = 512):
        super().__init__()
        self.features = nature_features(1)
        self.head = nn.Linear(feature_size(self.features, 1, screen_size), out)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(frames.float() / 255.0))


def orthogonal_init(module: nn.Module) -> nn.Module:
    """RND's fixed target is orthogonally initialised, so its random features are well spread."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.orthogonal_(layer.weight, gain=2**0.5)
            nn.init.zeros_(layer.bias)
    return module
