"""RND exploration: an exploration agent acts and learns from (1 - alpha) * extrinsic + alpha * intrinsic reward.

An exploitation agent learns from the extrinsic reward alone on the same batches and is the one checkpointed
and evaluated. Both share one replay buffer; a transition's priority is the larger of the two agents' |TD errors|,
so what surprises either is replayed.
"""

from __future__ import annotations

import numpy as np
import torch

from pipeline.config.params import TrainParams
from pipeline.replay.buffer import Batch
from pipeline.rl.exploration.epsilon import epsilon
from pipeline.rl.exploration.learner import Learner, make_agent
from pipeline.rl.rnd import RND
from pipeline.rl.schedules import linear_at


class RNDExploration(Learner):
    schedule_names = ("epsilon", "rnd_alpha")

    def __init__(self, t: TrainParams, frame_stack: int, num_actions: int, screen_size: int, device: torch.device):
        super().__init__(t, frame_stack, num_actions, screen_size, device)  # self.agent: the exploitation agent
        self.explorer = make_agent(t, frame_stack, num_actions, screen_size, device)
        self.rnd = RND(screen_size, t.rnd_lr, device)

    def alpha(self, step: int) -> float:
        return linear_at(step, self.t.rnd_alpha_start, self.t.rnd_alpha_end, self.t.rnd_alpha_decay_steps)

    def schedule(self, step: int, episode: int) -> dict[str, float]:
        return {"epsilon": epsilon(self.t, step), "rnd_alpha": self.alpha(step)}

    def act(self, states: np.ndarray, step: int, episode: int, rng: np.random.Generator) -> np.ndarray:
        """The exploration agent acts, epsilon-greedily on the epsilon schedule."""
        return self.explorer.act(states, epsilon(self.t, step), rng)

    def learn(self, batch: Batch, step: int) -> tuple[dict[str, float], np.ndarray]:
        newest = batch.next_states[:, -1:]  # the observation each transition arrives at
        intrinsic = self.rnd.intrinsic_rewards(newest)
        alpha = self.alpha(step)
        explore = self.explorer.update(batch, rewards=(1 - alpha) * batch.rewards + alpha * intrinsic)
        exploit = self.agent.update(batch)
        rnd_loss = self.rnd.train(newest)
        metrics = {
            "loss": exploit.loss,
            "mean_q": exploit.mean_q,
            "explorer_loss": explore.loss,
            "explorer_mean_q": explore.mean_q,
            "rnd_loss": rnd_loss,
            "intrinsic_reward": float(intrinsic.mean()),
            "extrinsic_reward": float(batch.rewards.mean()),
        }
        return metrics, np.maximum(np.abs(explore.td_errors), np.abs(exploit.td_errors))

    def sync_target(self) -> None:
        self.agent.sync_target()
        self.explorer.sync_target()

    def state_dict(self) -> dict:
        return {"agent": self.agent.state_dict(), "explorer": self.explorer.state_dict(), "rnd": self.rnd.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.explorer.load_state_dict(state["explorer"])
        self.rnd.load_state_dict(state["rnd"])
