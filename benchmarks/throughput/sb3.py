"""Stable-Baselines3's DQN as a peer, configured to the shared settings; imported only when installed (the `bench`
extra), and only in the worker process that runs it."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from benchmarks.throughput.measure import Setup
from pipeline.config.params import EnvParams
from pipeline.envs.atari import env_id


def sb3_installed() -> bool:
    return importlib.util.find_spec("stable_baselines3") is not None


def train_sb3(s: Setup, gate: Callable[[int], None]) -> None:
    """SB3's DQN on one environment of SB3's own Atari pipeline (make_atari_env: no-op starts, frame skip 4 with the
    max of the last two frames, FIRE on reset, 84x84 grayscale, clipped rewards; VecFrameStack), with the sticky
    actions and episode ends of ours (ALE's repeat_action_probability, episodes end at game over), the settings `s`,
    CnnPolicy (the Nature network), epsilon held at s.epsilon, and `gate` called from a callback at every
    train_frequency-th step: there SB3 has stepped the env but not yet stored the step or trained on it, so every
    window holds steps / train_frequency updates."""
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    class GateCallback(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % s.train_frequency == 0:
                gate(self.num_timesteps)
            return True

    env = make_atari_env(
        env_id(s.game),
        n_envs=1,
        seed=s.seed,
        env_kwargs={"frameskip": 1, "repeat_action_probability": EnvParams().sticky_action_prob},
        wrapper_kwargs={"terminal_on_life_loss": False},
    )
    model = DQN(
        "CnnPolicy",
        VecFrameStack(env, n_stack=s.frame_stack),
        buffer_size=s.capacity,
        learning_starts=s.learning_starts,
        batch_size=s.batch_size,
        train_freq=s.train_frequency,
        gradient_steps=1,
        exploration_initial_eps=s.epsilon,
        exploration_final_eps=s.epsilon,
        device=s.device,
        seed=s.seed,
        verbose=0,
    )
    try:
        model.learn(total_timesteps=10**12, callback=GateCallback())
    finally:
        model.env.close()
