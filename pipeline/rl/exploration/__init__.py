"""Exploration modes, one class per mode with its schedule, its way of acting and what it logs.

`EXPLORATIONS` maps each value of train.exploration to its class. Adding a mode is a module here with a `Learner`
subclass, its line below, its name among the params' allowed values (a test checks the two agree) and the README.
"""

from __future__ import annotations

import torch

from pipeline.config.params import TrainParams
from pipeline.rl.exploration.boltzmann import Boltzmann
from pipeline.rl.exploration.epsilon import EpsilonGreedy
from pipeline.rl.exploration.learner import Learner
from pipeline.rl.exploration.rnd import RNDExploration

EXPLORATIONS: dict[str, type[Learner]] = {"epsilon": EpsilonGreedy, "boltzmann": Boltzmann, "rnd": RNDExploration}


def make_learner(t: TrainParams, frame_stack: int, num_actions: int, screen_size: int, device: torch.device) -> Learner:
    return EXPLORATIONS[t.exploration](t, frame_stack, num_actions, screen_size, device)


def schedule_curves() -> tuple[str, ...]:
    """The logged metric that shows each mode's exploration over training (one per mode, as train/<name>)."""
    return tuple(dict.fromkeys(f"train/{cls.schedule_names[0]}" for cls in EXPLORATIONS.values()))
