"""The PNG export (`record.png`, `record.png_observations`): frames/episode_<k>/frame_<n>.png (native RGB screens)
and observation_<n>.png (the agent's grayscale observations) plus actions.json, the folder layout users already have
tools for. Numbers are zero-padded (episode_00003/frame_000012.png), so sorted names are in play order. Image n is
row n of episode k in the HDF5 file, lossless."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from pipeline.config.errors import EnvironmentFault
from pipeline.core.atomic import real_name
from pipeline.data.schema import NO_ACTION, Row

EPISODE_DIGITS = 5  # up to 100,000 episodes sort by name
ROW_DIGITS = 6  # an episode has at most 108,001 rows (the 108,000-frame cap at frameskip 1)


def episode_folder(root: Path, episode_id: int) -> Path:
    return Path(root) / f"episode_{episode_id:0{EPISODE_DIGITS}d}"


def frame_path(root: Path, episode_id: int, n: int) -> Path:
    return episode_folder(root, episode_id) / f"frame_{n:0{ROW_DIGITS}d}.png"


def observation_path(root: Path, episode_id: int, n: int) -> Path:
    return episode_folder(root, episode_id) / f"observation_{n:0{ROW_DIGITS}d}.png"


def read_frame(path: Path) -> np.ndarray:
    """An exported frame as (210, 160, 3) RGB uint8."""
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def read_observation(path: Path) -> np.ndarray:
    """An exported observation as (S, S) grayscale uint8."""
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def write_png(path: Path, image: np.ndarray) -> None:
    """cv2.imwrite, which says only that it failed (a full disk, a folder that went): then so do we, in one line."""
    if not cv2.imwrite(str(path), image):
        raise EnvironmentFault(f"'{real_name(path)}': could not be written (is the disk full?)")


class PngEpisode:
    """Writes one episode's images as they are played (screens with `frames`, observations with `observations`), and
    on close its actions.json: {"episode", "agent", "seed", "action_meanings", "actions", "action_names", "rewards"},
    where actions[n] is taken at image n; the last image (the final state) has none, so there is one action fewer
    than images."""

    def __init__(
        self,
        root: Path,
        episode_id: int,
        agent: str,
        seed: int,
        action_meanings: list[str],
        *,
        frames: bool = True,
        observations: bool = False,
    ):
        self.root, self.episode_id, self.frames, self.observations = Path(root), episode_id, frames, observations
        self.folder = episode_folder(root, episode_id)
        self.folder.mkdir(parents=True)
        self.header = {"episode": episode_id, "agent": agent, "seed": seed, "action_meanings": action_meanings}
        self.meanings, self.n, self.actions, self.rewards = action_meanings, 0, [], []

    def add(self, row: Row) -> None:
        if self.frames:
            write_png(frame_path(self.root, self.episode_id, self.n), cv2.cvtColor(row.frames, cv2.COLOR_RGB2BGR))
        if self.observations:
            write_png(observation_path(self.root, self.episode_id, self.n), row.observations)
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
