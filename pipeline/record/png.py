"""The PNG export (`record.png`): frames/episode_<k>/frame_<n>.png plus actions.json, the folder layout users
already have tools for. frame_<n>.png is row n of episode k in the HDF5 file (native RGB, lossless)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from pipeline.config.errors import EnvironmentFault
from pipeline.core.atomic import real_name
from pipeline.data.schema import NO_ACTION, Row


def episode_folder(root: Path, episode_id: int) -> Path:
    return Path(root) / f"episode_{episode_id}"


def frame_path(root: Path, episode_id: int, n: int) -> Path:
    return episode_folder(root, episode_id) / f"frame_{n}.png"


def read_frame(path: Path) -> np.ndarray:
    """An exported frame as (210, 160, 3) RGB uint8."""
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


class PngEpisode:
    """Writes one episode's frames as they are played, and on close its actions.json:
    {"episode", "agent", "seed", "action_meanings", "actions", "action_names", "rewards"}, where actions[n]
    is taken at frame_<n>.png; the last frame (the final state) has none, so there is one action fewer than frames."""

    def __init__(self, root: Path, episode_id: int, agent: str, seed: int, action_meanings: list[str]):
        self.root, self.episode_id = Path(root), episode_id
        self.folder = episode_folder(root, episode_id)
        self.folder.mkdir(parents=True)
        self.header = {"episode": episode_id, "agent": agent, "seed": seed, "action_meanings": action_meanings}
        self.meanings, self.n, self.actions, self.rewards = action_meanings, 0, [], []

    def add(self, row: Row) -> None:
        path = frame_path(self.root, self.episode_id, self.n)
        if not cv2.imwrite(str(path), cv2.cvtColor(row.frames, cv2.COLOR_RGB2BGR)):  # OpenCV says no more than that
            raise EnvironmentFault(
                f"'{real_name(path.parent.parent)}': could not write {path.name} (is the disk full?)"
            )
        self.n += 1
        if row.actions != NO_ACTION:
            self.actions.append(row.actions)
            self.rewards.append(row.rewards)

    def close(self) -> None:
        body = {
            **self.header,
            "actions": self.actions,
            "action_names": [self.meanings[a] for a in self.actions],
            "rewards": self.rewards,
        }
        (self.folder / "actions.json").write_text(json.dumps(body, indent=1) + "\n")

    def __enter__(self) -> PngEpisode:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()
