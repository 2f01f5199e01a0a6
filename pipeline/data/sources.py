"""A recording's sources as its file records them (attribute `sources`), and the seed of each of their episodes.

Episode ids run over the sources one after the other, in the order they are listed; the seed of a source's i-th
episode depends on the global seed, the source's name and i only. So adding, removing or resizing a source never
changes another source's episodes (their ids may move, their rows do not), and any range of ids can be played
on its own (a shard) exactly as in the whole recording.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import h5py

from pipeline.core.seeding import derive_seed


def episode_seed(seed: int, source: str, index: int) -> int:
    """The reset and action-RNG seed of the `index`-th episode of source `source`."""
    return derive_seed(seed, f"record-episode:{source}", index)


@dataclass(frozen=True)
class SourceEntry:
    """One source of a recording: who played, how it explored, and which episode ids are its."""

    name: str
    agent: str  # "random" or "trained"
    policy: str  # as record.sources gives it: random, best, final, snapshot, or a checkpoint's file name
    checkpoint_hash: str  # SHA-256 of the checkpoint; "" for the random agent
    checkpoint_step: int  # -1 for the random agent
    exploration: str  # "epsilon" or "boltzmann"
    exploration_value: float  # the epsilon or the temperature
    episodes: int  # in the whole recording
    first_id: int  # its first episode's id

    def owns(self, episode_id: int) -> bool:
        return self.first_id <= episode_id < self.first_id + self.episodes


def sources_attribute(entries: list[SourceEntry]) -> str:
    return json.dumps([asdict(e) for e in entries], sort_keys=True)


def read_sources(f: h5py.File) -> list[SourceEntry]:
    return [SourceEntry(**entry) for entry in json.loads(f.attrs["sources"])]


def source_of(entries: list[SourceEntry], episode_id: int) -> tuple[SourceEntry, int]:
    """The source that plays episode `episode_id` and the episode's index among that source's."""
    entry = next(e for e in entries if e.owns(episode_id))
    return entry, episode_id - entry.first_id
