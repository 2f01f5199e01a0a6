"""Train/validation split of a recorded dataset by whole episodes, stratified by source, as a small index.

Rounding rule: each source (who played: a skill level, an exploration setting, the random agent) with n >= 2
episodes holds out round(val_fraction * n) of them for validation (halves rounded up), but at least 1 and at most
n - 1, so both splits contain every source that has two or more episodes; a source with a single episode keeps it in
train. A split that would leave validation empty is an error. Which episodes are held out is a shuffle of each
source's sorted ids seeded by (seed, source), so the split depends only on the seed and the episode table, never on
the table's row order, and one source's choice never moves because another source gained episodes.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from pipeline.config.errors import InputError
from pipeline.config.layout import SPLITS_NAME
from pipeline.core.atomic import atomic_path
from pipeline.core.hashing import file_hash
from pipeline.core.outputs import check_output
from pipeline.core.seeding import derive_seed
from pipeline.data.reader import open_gameplay, read_episodes, verify_chunks

FORMAT_VERSION = 1


def splits_beside(dataset: Path) -> Path:
    """Where the loader and `inspect` look for a dataset's split index unless told otherwise."""
    return Path(dataset).with_name(SPLITS_NAME)


def held_out_count(n: int, val_fraction: float) -> int:
    """Validation episodes for a source with n episodes (see the module's rounding rule)."""
    if n < 2:
        return 0
    return min(n - 1, max(1, math.floor(val_fraction * n + 0.5)))


def split_episodes(
    episode_ids: Sequence[int], sources: Sequence[str], val_fraction: float, seed: int
) -> dict[str, list[int]]:
    """{"train": ids, "val": ids}, each sorted; every episode lands in exactly one split."""
    if not 0.0 < val_fraction < 1.0:
        raise InputError(f"split.val_fraction = {val_fraction!r}: must be a number > 0.0 and < 1.0")
    if len(episode_ids) != len(sources):
        raise InputError(f"episode table has {len(episode_ids)} ids but {len(sources)} sources")
    if len(set(episode_ids)) != len(episode_ids):
        raise InputError("episode table repeats an episode id; the dataset is damaged")
    val: list[int] = []
    for source in sorted(set(sources)):
        ids = np.array(sorted(i for i, k in zip(episode_ids, sources) if k == source), dtype=np.int64)
        rng = np.random.default_rng(derive_seed(seed, f"split-{source}"))
        val.extend(int(i) for i in rng.permutation(ids)[: held_out_count(len(ids), val_fraction)])
    if not val:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(Counter(sources).items())) or "none"
        raise InputError(
            f"cannot hold out validation episodes from {len(episode_ids)} episodes ({counts}): "
            "record at least 2 episodes of one source"
        )
    held = set(val)
    return {"train": sorted(int(i) for i in episode_ids if i not in held), "val": sorted(val)}


def source_counts(ids: Sequence[int], source_of: dict[int, str]) -> dict[str, int]:
    """Episodes per source, naming every source of the dataset (in table order)."""
    counts = dict.fromkeys(source_of.values(), 0)
    counts.update(Counter(source_of[i] for i in ids))
    return counts


def split_index(
    episode_ids: Sequence[int],
    sources: Sequence[str],
    val_fraction: float,
    seed: int,
    dataset: Path,
    dataset_sha256: str,
) -> dict:
    """The data/splits.json document: the split, its counts per source, and what it was made from."""
    splits = split_episodes(episode_ids, sources, val_fraction, seed)
    source_of = dict(zip((int(i) for i in episode_ids), sources))
    return {
        "format_version": FORMAT_VERSION,
        "seed": seed,
        "val_fraction": val_fraction,
        "dataset": Path(dataset).as_posix(),
        "dataset_sha256": dataset_sha256,
        "splits": splits,
        "counts": {name: source_counts(ids, source_of) for name, ids in splits.items()},
    }


def split_dataset(dataset: Path, out: Path, val_fraction: float, seed: int) -> dict:
    """Split a recorded gameplay file's episode table and write the index to `out` atomically; return the index.
    Every chunk of the dataset is read first: a damaged file is refused, not split."""
    check_output(out, "split index")
    with open_gameplay(dataset) as f:
        table = read_episodes(f)
        verify_chunks(f, dataset)
    index = split_index(table["id"].tolist(), table["source"].tolist(), val_fraction, seed, dataset, file_hash(dataset))
    with atomic_path(Path(out)) as tmp:
        tmp.write_text(json.dumps(index, indent=2) + "\n")
    return index


MAX_EPISODE_ID = 2**31 - 1  # the episode table's id column is int32


def load_split_index(splits_path: Path, dataset: Path) -> dict:
    """The split index document (see split_index), checked to be one and to belong to this very dataset file."""
    splits_path = Path(splits_path)
    if splits_path.is_dir():
        raise InputError(f"split index '{splits_path}' is a folder; pass the splits.json file")
    if not splits_path.is_file():
        raise InputError(f"split index '{splits_path}' does not exist; run `pipeline split` first")
    try:
        index = json.loads(splits_path.read_bytes())
    except ValueError as err:  # not UTF-8, or not JSON
        raise InputError(f"split index '{splits_path}' is not JSON ({' '.join(str(err).split())[:120]})") from None
    if not isinstance(index, dict):
        raise InputError(
            f"split index '{splits_path}' holds a {type(index).__name__}, not the object `pipeline split` writes"
        )
    if index.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"split index '{splits_path}' has format_version {index.get('format_version')!r}; "
            f"this version reads {FORMAT_VERSION}"
        )
    splits = index.get("splits")
    if not isinstance(splits, dict) or not splits:
        raise InputError(f"split index '{splits_path}' has no 'splits' mapping of split names to episode ids")
    for name, ids in splits.items():
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= MAX_EPISODE_ID for i in ids
        ):
            raise InputError(
                f"split index '{splits_path}': split {name!r} must be a list of episode ids (integers 0 .. "
                f"{MAX_EPISODE_ID})"
            )
    if index.get("dataset_sha256") != file_hash(dataset):
        raise InputError(
            f"split index '{splits_path}' was made for another version of '{dataset}'; run `pipeline split` again"
        )
    return index


def load_split_ids(splits_path: Path, dataset: Path) -> dict[str, list[int]]:
    """The {"train": ids, "val": ids} mapping of a split index, checked to belong to this very dataset file."""
    return {name: list(ids) for name, ids in load_split_index(splits_path, dataset)["splits"].items()}
