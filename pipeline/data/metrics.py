"""How much a gameplay dataset holds and how diverse it is, per source and overall: what `record` writes to
metrics/dataset.json (DVC metrics), what `inspect` shows and compares, and what the dataset card summarises.

For each group of episodes (a source's, and all of them):

- episodes, steps (agent steps) and rows (steps plus each episode's final state);
- return: mean, std, min, 25th percentile, median, 75th percentile and max of the raw episode returns;
- action_entropy_bits: the Shannon entropy of the actions taken, in bits (0 when one action is always taken, log2 of
  the number of actions when all are equally frequent), action_entropy_normalised the same divided by that maximum,
  and top_action with top_action_share, the most frequent action and its share of the actions taken;
- unique_observations and unique_frames: distinct agent observations and distinct RGB screens over all the group's
  rows, divided by its rows (a screen shown by several rows or episodes counts once);
- duplicate_episodes: episodes whose screens equal, row for row, those of an earlier episode of the group;
- near_duplicate_episodes: episodes that have a near-duplicate in the group: another episode whose set of distinct
  screens A has a Jaccard similarity |A ∩ B| / |A ∪ B| >= NEAR_DUPLICATE (0.5) with theirs, B; that is, at least
  half of the screens either of them shows are shown by both (duplicates are near-duplicates too);
  episode_similarity_mean and _max, the Jaccard similarity over the group's pairs of episodes;
- exploratory_share: the share of actions that were not the playing network's greedy one (files recorded with
  record.agent_outputs; null otherwise, and 1 for the random agent).

Screens and observations are compared by a 64-bit hash of each. RGB frames are stored one per chunk, and lossless
compression maps equal images to equal bytes and different images to different bytes, so a frame's hash is its stored
chunk's and no frame is decompressed; observations (several per chunk) are hashed decompressed, row by row.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from rich.progress import Progress

from pipeline.data.chunks import ChunkedRows
from pipeline.data.reader import action_meanings, damage_reported, open_gameplay, read_episodes
from pipeline.data.schema import EpisodeTable

NEAR_DUPLICATE = 0.5  # Jaccard similarity of two episodes' sets of distinct screens from which they are near-duplicates
HASH_ROWS = 512  # image rows hashed at a time (bounded memory where they are decompressed)
BLOCK = 8192  # shared screens per block of the episode-by-screen incidence matrix
PERCENTILES = {"return_min": 0, "return_p25": 25, "return_median": 50, "return_p75": 75, "return_max": 100}


def _hash(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def image_hashes(ds: h5py.Dataset, progress: tuple[Progress, str] | None = None) -> np.ndarray:
    """A 64-bit hash per row of an image dataset: of its stored chunk where it is one row per chunk (nothing is
    decompressed), else of its pixels (equal images, equal hashes, either way)."""
    hashes = np.empty(len(ds), np.uint64)
    inside = (0,) * (ds.ndim - 1)
    task = progress[0].add_task(progress[1], total=len(ds)) if progress else None
    rows = ChunkedRows(ds)  # the loader's reader: whole chunks, inflated by libdeflate
    for start in range(0, len(ds), HASH_ROWS):
        stop = min(start + HASH_ROWS, len(ds))
        if ds.chunks[0] == 1:
            for i in range(start, stop):
                mask, chunk = ds.id.read_direct_chunk((i, *inside))
                hashes[i] = _hash(chunk + bytes([mask % 256]))
        else:
            hashes[start:stop] = [_hash(row.tobytes()) for row in rows.rows(start, stop)]
        if task is not None:
            progress[0].update(task, completed=stop)
    if task is not None:
        progress[0].remove_task(task)
    return hashes


def jaccard_matrix(frames: np.ndarray, owner: np.ndarray, episodes: int) -> np.ndarray:
    """The Jaccard similarity of every pair of episodes' sets of distinct screens (1 on the diagonal)."""
    pairs = np.unique(np.stack([owner, frames.view(np.int64)], axis=1), axis=0)  # (episode, screen), each once
    sizes = np.bincount(pairs[:, 0], minlength=episodes).astype(np.float64)
    _, column, shared_by = np.unique(pairs[:, 1], return_inverse=True, return_counts=True)
    shared = shared_by[column] > 1  # screens of one episode only add to no intersection
    kept = np.unique(column[shared], return_inverse=True)[1]
    common = np.zeros((episodes, episodes), np.float32)  # counts below 2**24 are exact
    for start in range(0, int(kept.max()) + 1 if len(kept) else 0, BLOCK):  # bounded memory: episodes x BLOCK
        inside = (kept >= start) & (kept < start + BLOCK)
        incidence = np.zeros((episodes, BLOCK), np.float32)
        incidence[pairs[shared, 0][inside], kept[inside] - start] = 1.0
        common += incidence @ incidence.T
    union = sizes[:, None] + sizes[None, :] - common
    similarity = np.where(union > 0, common / np.maximum(union, 1), 0.0)
    np.fill_diagonal(similarity, 1.0)  # each episode's own screens, shared or not
    return similarity


def group_metrics(
    table: EpisodeTable, members: np.ndarray, rows: dict[str, np.ndarray], jaccard: np.ndarray, meanings: list[str]
) -> dict[str, Any]:
    """The metrics above for the episodes at table positions `members`; `rows` holds per-row arrays (episode
    position, frame and observation hashes, actions and, where recorded, exploratory)."""
    mine = np.isin(rows["owner"], members)
    returns = table["return"][members]
    actions = rows["actions"][mine]
    taken = actions[actions >= 0]
    counts = np.bincount(taken, minlength=len(meanings))
    p = counts[counts > 0] / max(len(taken), 1)
    entropy = float(-(p * np.log2(p)).sum()) if len(taken) else 0.0
    similarity = jaccard[np.ix_(members, members)]
    upper = similarity[np.triu_indices(len(members), k=1)]
    np.fill_diagonal(similarity, 0.0)
    starts, ends = table["first_row"][members], table["first_row"][members] + table["length"][members] + 1
    sequences = [rows["frames"][start:end].tobytes() for start, end in zip(starts, ends)]
    exploratory = rows.get("exploratory")
    return {
        "episodes": int(len(members)),
        "steps": int(table["length"][members].sum()),
        "rows": int(mine.sum()),
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        **{name: float(np.percentile(returns, q)) for name, q in PERCENTILES.items()},
        "action_entropy_bits": entropy,
        "action_entropy_normalised": entropy / np.log2(len(meanings)) if len(meanings) > 1 else 0.0,
        "top_action": meanings[int(counts.argmax())],
        "top_action_share": float(counts.max() / max(len(taken), 1)),
        "unique_observations": len(np.unique(rows["observations"][mine])) / int(mine.sum()),
        "unique_frames": len(np.unique(rows["frames"][mine])) / int(mine.sum()),
        "duplicate_episodes": len(sequences) - len(set(sequences)),
        "near_duplicate_episodes": int((similarity.max(axis=1, initial=0.0) >= NEAR_DUPLICATE).sum()),
        "episode_similarity_mean": float(upper.mean()) if len(upper) else None,
        "episode_similarity_max": float(upper.max()) if len(upper) else None,
        "exploratory_share": float(exploratory[mine & (rows["actions"] >= 0)].mean())
        if exploratory is not None
        else None,
    }


def dataset_metrics(path: Path, progress: tuple[Progress, str] | None = None) -> dict[str, Any]:
    """The metrics of a gameplay file: {"episodes", "actions", "near_duplicate_jaccard", "overall": {...},
    "sources": {name: {agent, exploration, exploration_value, checkpoint_step, ...}}}, in source order."""
    with open_gameplay(path) as f, damage_reported(path):
        table, meanings = read_episodes(f), action_meanings(f)
        rows = {
            "actions": f["actions"][:],
            "frames": image_hashes(f["frames"], progress),
            "observations": image_hashes(f["observations"]),
        }
        if "exploratory" in f:
            rows["exploratory"] = f["exploratory"][:]
    owner = np.repeat(np.arange(len(table)), table["length"] + 1)
    rows["owner"] = owner
    jaccard = jaccard_matrix(rows["frames"], owner, len(table))
    sources = {}
    for name in dict.fromkeys(table["source"]):
        members = np.flatnonzero(table["source"] == name)
        first = members[0]
        sources[name] = {
            "agent": table["agent"][first],
            "exploration": table["exploration"][first],
            "exploration_value": float(table["exploration_value"][first]),
            "checkpoint_step": int(table["checkpoint_step"][first]),
            **group_metrics(table, members, rows, jaccard, meanings),
        }
    return {
        "episodes": len(table),
        "actions": len(meanings),
        "near_duplicate_jaccard": NEAR_DUPLICATE,
        "overall": group_metrics(table, np.arange(len(table)), rows, jaccard, meanings),
        "sources": sources,
    }


def write_metrics(path: Path, metrics: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(metrics, indent=2) + "\n")
