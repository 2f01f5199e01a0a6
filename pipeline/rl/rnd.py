"""Random Network Distillation (Burda et al. 2018): a novelty bonus from how badly a trained predictor
matches a fixed random network on an observation. Seen often, predicted well, small bonus."""

from __future__ import annotations

import numpy as np
import torch

from pipeline.rl.networks import RNDNetwork, orthogonal_init


class RunningMeanStd:
    """Mean and variance over every value seen, updated a batch at a time (Chan et al.'s parallel formula)."""

    def __init__(self) -> None:
        self.mean, self.var, self.count = 0.0, 1.0, 1e-4

    def update(self, values: np.ndarray) -> None:
        batch_mean, batch_var, n = float(values.mean()), float(values.var()), len(values)
        delta, total = batch_mean - self.mean, self.count + n
        self.mean += delta * n / total
        self.var = (self.var * self.count + batch_var * n + delta**2 * self.count * n / total) / total
        self.count = total

    def state_dict(self) -> dict:
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.mean, self.var, self.count = state["mean"], state["var"], state["count"]


class RND:
    def __init__(self, screen_size: int, lr: float, device: torch.device):
        self.device = device
        self.target = orthogonal_init(RNDNetwork(screen_size)).to(device).requires_grad_(False)
        self.predictor = RNDNetwork(screen_size).to(device)
        self.optimizer = torch.optim.Adam(self.predictor.parameters(), lr=lr)
        self.error_stats = RunningMeanStd()

    def _errors(self, frames: np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(frames, device=self.device)
        return (self.predictor(x) - self.target(x)).pow(2).mean(dim=1)

    @torch.no_grad()
    def prediction_errors(self, frames: np.ndarray) -> np.ndarray:
        """Raw novelty of (B, 1, H, W) uint8 observations."""
        return self._errors(frames).cpu().numpy()

    def intrinsic_rewards(self, frames: np.ndarray) -> np.ndarray:
        """Novelty divided by the running standard deviation of all novelty seen, so its scale stays comparable
        to the clipped extrinsic reward as the predictor improves."""
        errors = self.prediction_errors(frames)
        self.error_stats.update(errors)
        return (errors / np.sqrt(self.error_stats.var + 1e-8)).astype(np.float32)

    def train(self, frames: np.ndarray) -> float:
        """One predictor step towards the target on these observations; returns the loss."""
        loss = self._errors(frames).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def state_dict(self) -> dict:
        return {
            "target": self.target.state_dict(),
            "predictor": self.predictor.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "error_stats": self.error_stats.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.target.load_state_dict(state["target"])
        self.predictor.load_state_dict(state["predictor"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.error_stats.load_state_dict(state["error_stats"])
