"""Agents that play (evaluation and recording): the trained network from a checkpoint, or uniformly random."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pipeline.config.errors import InputError
from pipeline.config.params import EnvParams, params_from_dict
from pipeline.core.hashing import file_hash
from pipeline.play.decisions import UNIFORM, Decision, Exploration, choose
from pipeline.rl.acting import q_values_and_features
from pipeline.rl.checkpoint import load_checkpoint
from pipeline.rl.device import pick_device
from pipeline.rl.networks import QNetwork


class RandomPolicy:
    kind = "random"
    checkpoint_hash = ""
    step = -1  # no training step: it never trained

    def __init__(self, num_actions: int):
        self.num_actions = num_actions

    def decide(
        self, stacks: np.ndarray, exploration: Exploration, rng: np.random.Generator, outputs: bool = False
    ) -> Decision:
        """Uniformly random actions, whatever `exploration` says; no network, so no outputs."""
        return Decision(choose(None, UNIFORM, rng, (len(stacks), self.num_actions)), None, None)


@dataclass
class TrainedPolicy:
    kind = "trained"
    network: QNetwork
    device: torch.device
    env: EnvParams  # the environment settings it was trained with
    action_meanings: list[str]
    checkpoint_hash: str
    step: int

    @property
    def feature_width(self) -> int:
        return self.network.head[0].out_features

    def decide(
        self, stacks: np.ndarray, exploration: Exploration, rng: np.random.Generator, outputs: bool = False
    ) -> Decision:
        """The actions under `exploration`; with `outputs` (or when exploring needs them) the Q-values and features."""
        q = features = None
        if outputs or exploration.needs_q_values:
            q, features = q_values_and_features(self.network, stacks, self.device)
        return Decision(choose(q, exploration, rng, (len(stacks), len(self.action_meanings))), q, features)


def policy_from_checkpoint(data: dict, checkpoint_hash: str, device: str = "auto") -> TrainedPolicy:
    """The online network of a loaded checkpoint (a file's, or a training run's state in memory), in eval mode."""
    env = EnvParams(**data["params"]["env"])
    train = data["params"]["train"]
    network = QNetwork(
        env.frame_stack,
        len(data["action_meanings"]),
        env.screen_size,
        bool(train.get("dueling", False)),
        train.get("network", "nature"),
    )
    network.load_state_dict(data["agent"]["online"])
    torch_device = pick_device(device)
    return TrainedPolicy(
        network.to(torch_device).eval(),
        torch_device,
        env,
        list(data["action_meanings"]),
        checkpoint_hash,
        int(data["step"]),
    )


def load_policy(path: Path, device: str = "auto") -> TrainedPolicy:
    """The online network of a checkpoint file, in eval mode, with the env settings it needs. A file that loads but
    does not hold what `pipeline train` writes (a missing entry, other layers, invalid settings) is an InputError."""
    data = load_checkpoint(path)
    try:
        params_from_dict({"env": data["params"]["env"], "train": data["params"]["train"]})
        return policy_from_checkpoint(data, file_hash(path), device)
    except InputError as err:
        raise InputError(f"checkpoint '{path}' holds invalid params: {err}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError) as err:
        raise InputError(
            f"checkpoint '{path}' does not hold a network this version can play: {what_failed(err)}"
        ) from None


def what_failed(err: Exception) -> str:
    """One line on why a checkpoint's contents did not fit: the missing entry, or torch's first complaint."""
    if isinstance(err, KeyError):
        return f"it has no {err.args[0]!r} entry"
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return " ".join((lines[1] if len(lines) > 1 else lines[0] if lines else type(err).__name__).split())[:200]


def check_env_matches(policy: TrainedPolicy, env: EnvParams) -> None:
    """The agent sees what it was trained on: same game, stack depth, screen size and frame skip."""
    for key in ("game", "frame_stack", "screen_size", "frameskip"):
        if getattr(policy.env, key) != getattr(env, key):
            raise InputError(
                f"env.{key} = {getattr(env, key)!r}, but the checkpoint was trained with "
                f"{getattr(policy.env, key)!r}; set env.{key} to match or train again"
            )
