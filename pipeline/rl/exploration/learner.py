"""What every exploration mode shares: one DQN agent, learning from the extrinsic reward, checkpointed as `agent`."""

from __future__ import annotations

import numpy as np
import torch

from pipeline.config.params import TrainParams
from pipeline.replay.buffer import Batch
from pipeline.rl.dqn import DQNAgent


def make_agent(t: TrainParams, frame_stack: int, num_actions: int, screen_size: int, device: torch.device) -> DQNAgent:
    return DQNAgent(
        frame_stack,
        num_actions,
        screen_size,
        t.lr,
        t.adam_eps,
        t.max_grad_norm,
        device,
        dueling=t.dueling,
        compile=t.compile,
        architecture=t.network,
        split_update=t.split_update,
    )


class Learner:
    """Who acts and who learns. This base learns with one agent; a mode says how it acts (`act`) and which
    schedule values are in force (`schedule`, also logged as train/<name>). `agent` is the agent that is
    checkpointed, evaluated and recorded."""

    # the schedule's names, as `schedule` returns them; the first is the curve of the diagnostics' exploration panel
    schedule_names: tuple[str, ...] = ()

    def __init__(self, t: TrainParams, frame_stack: int, num_actions: int, screen_size: int, device: torch.device):
        self.t = t
        self.agent = make_agent(t, frame_stack, num_actions, screen_size, device)

    def schedule(self, step: int, episode: int) -> dict[str, float]:
        """The schedule values in force after `step` agent steps and `episode` episodes."""
        raise NotImplementedError

    def act(self, states: np.ndarray, step: int, episode: int, rng: np.random.Generator) -> np.ndarray:
        """An action for each of the (n, k, H, W) states, from one forward pass."""
        raise NotImplementedError

    def learn(self, batch: Batch, step: int) -> tuple[dict[str, float], np.ndarray]:
        """One update; returns the metrics to log and the TD errors that set the batch's new priorities."""
        stats = self.agent.update(batch)
        return {"loss": stats.loss, "mean_q": stats.mean_q}, stats.td_errors

    def sync_target(self) -> None:
        self.agent.sync_target()

    def state_dict(self) -> dict:
        return {"agent": self.agent.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.agent.load_state_dict(state["agent"])
