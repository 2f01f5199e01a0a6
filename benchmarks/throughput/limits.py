"""The physical limit: the bare emulator stepping random actions as fast as one core runs it."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import ale_py
import gymnasium as gym
import numpy as np

from pipeline.envs.atari import env_id


def rom_id(game: str) -> str:
    """The ROM name ale_py.roms knows a game by (MsPacman -> ms_pacman), from its registered v5 environment."""
    return gym.spec(env_id(game)).kwargs["game"]


def ale_interface(game: str, seed: int = 0) -> ale_py.ALEInterface:
    """The bare emulator on the game's ROM: frame skip 1, no sticky actions."""
    ale = ale_py.ALEInterface()
    ale.setInt("random_seed", seed)
    ale.setFloat("repeat_action_probability", 0.0)
    ale.setInt("frame_skip", 1)
    ale.loadROM(str(ale_py.roms.get_rom_path(rom_id(game))))
    return ale


@dataclass
class Emulation:
    frames: int  # act() calls, one emulated frame each
    games_over: int  # reset_game() calls
    seconds: float


def emulate(
    ale: ale_py.ALEInterface, seconds: float, rng: np.random.Generator, max_frames: int | None = None, chunk: int = 256
) -> Emulation:
    """Random minimal-set actions, one act() per frame, reset at game over, for `seconds` (or `max_frames`)."""
    actions = ale.getMinimalActionSet()
    limit = max_frames if max_frames is not None else math.inf
    frames, over, start = 0, 0, time.perf_counter()
    while frames < limit and time.perf_counter() - start < seconds:
        picks = rng.integers(len(actions), size=int(min(chunk, limit - frames)))
        for i in picks:
            ale.act(actions[i])
            if ale.game_over():
                ale.reset_game()
                over += 1
        frames += len(picks)
    return Emulation(frames, over, time.perf_counter() - start)
