"""Joining recordings: shards of one recording (`record --first-episode`) into one file whose arrays, episode table
and attributes are those of a single run, or new episodes appended to an existing dataset.

What is checked, each failure one line naming the file: every input is a gameplay file of this format; the shards
were recorded with the same params and sources and by the same code and libraries (every attribute equal); their
episode ids, taken in order, follow each other with no gap and no overlap; their storage (compression, agent
outputs) is the same. With `append`, the existing dataset comes first and the shards must continue its ids; it may
come from a recording with other sources (a source added since, or more episodes), but then each of its episodes
must be the very one the shards' recording plays at that id: same source, index, seed, exploration and checkpoint.
The output is written under a temporary name with the writer's chunk copy (no frame is decompressed) and renamed
into place with its card beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress

from pipeline.config.errors import InputError
from pipeline.core.atomic import atomic_path
from pipeline.core.outputs import check_output
from pipeline.data.card import card_beside, dataset_card
from pipeline.data.codecs import check_available
from pipeline.data.metrics import dataset_metrics
from pipeline.data.reader import damage_reported, open_gameplay, read_episodes
from pipeline.data.schema import EpisodeTable
from pipeline.data.sources import SourceEntry, episode_seed
from pipeline.data.writer import GameplayWriter

RECORDING = ("params", "sources")  # the attributes an appended-to dataset may have from another recording
NEEDED = ("params", "sources", "screen_size")  # the attributes merging reads


@dataclass(frozen=True)
class Recording:
    """What merging needs of one input file."""

    path: Path
    attrs: dict[str, Any]
    table: EpisodeTable
    storage: tuple  # compression and agent outputs
    agent_outputs: tuple[int, int] | None  # (actions, feature width), as GameplayWriter takes them

    @property
    def ids(self) -> range:
        return range(int(self.table["id"][0]), int(self.table["id"][-1]) + 1)


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    return value.item() if isinstance(value, np.generic) else value


def read_recording(path: Path) -> Recording:
    with open_gameplay(path) as f, damage_reported(path):
        table = read_episodes(f)
        attrs = {k: _plain(v) for k, v in f.attrs.items()}
        outputs = (f["q_values"].shape[1], f["features"].shape[1]) if "q_values" in f else None
        storage = (f["frames"].compression, f["frames"].compression_opts, outputs)
    missing = [k for k in NEEDED if k not in attrs]
    if missing:
        raise InputError(
            f"'{path}' has no {', '.join(missing)} attribute: it was not written by `pipeline record` or `merge`"
        )
    try:
        readable = isinstance(json.loads(attrs["params"])["record"]["compression"], str)
        readable = readable and isinstance(json.loads(attrs["sources"]), list)
    except (TypeError, ValueError, KeyError):
        readable = False
    if not readable:
        raise InputError(f"'{path}': its params or sources attribute is not what `pipeline record` writes")
    if not len(table):
        raise InputError(f"'{path}' holds no episodes")
    if not np.array_equal(table["id"], np.arange(table["id"][0], table["id"][0] + len(table))):
        raise InputError(f"'{path}': its episode ids are not consecutive; it is no recording or shard of one")
    return Recording(Path(path), attrs, table, storage, outputs)


def _differences(a: Recording, b: Recording, allowed: tuple[str, ...] = ()) -> list[str]:
    keys = sorted((set(a.attrs) | set(b.attrs)) - set(allowed))
    return [k for k in keys if a.attrs.get(k) != b.attrs.get(k)]


def check_shards(shards: list[Recording]) -> list[Recording]:
    """The shards in id order, checked to be parts of one recording that follow each other."""
    ordered = sorted(shards, key=lambda s: s.ids.start)
    for shard in ordered[1:]:
        differ = _differences(ordered[0], shard)
        if differ:
            raise InputError(
                f"'{shard.path}' and '{ordered[0].path}' are not shards of one recording: their {', '.join(differ)} "
                "differ (record each shard with the same params, sources and code)"
            )
    check_follow(ordered)
    return ordered


def check_follow(ordered: list[Recording]) -> None:
    """Each input's ids start right after the previous one's: no gap, no overlap, same storage."""
    for before, after in zip(ordered, ordered[1:]):
        if after.ids.start <= before.ids.stop - 1:
            raise InputError(
                f"'{after.path}' (episodes {after.ids.start} .. {after.ids.stop - 1}) overlaps '{before.path}' "
                f"(episodes {before.ids.start} .. {before.ids.stop - 1})"
            )
        if after.ids.start > before.ids.stop:
            raise InputError(
                f"episodes {before.ids.stop} .. {after.ids.start - 1} are missing between '{before.path}' and "
                f"'{after.path}'; record them with --first-episode {before.ids.stop} --shard-episodes "
                f"{after.ids.start - before.ids.stop}"
            )
        if after.storage != before.storage:
            raise InputError(
                f"'{after.path}' is stored otherwise than '{before.path}' (compression or agent outputs differ)"
            )


def check_base(base: Recording, shards: Recording) -> None:
    """The existing dataset of an append: the same recording but for its params and sources, whose episodes are each
    what the shards' recording plays at its id."""
    differ = _differences(base, shards, allowed=RECORDING)
    if differ:
        raise InputError(f"cannot append '{shards.path}' to '{base.path}': their {', '.join(differ)} differ")
    if not _differences(base, shards):
        return  # parts of one recording
    plan = [SourceEntry(**e) for e in json.loads(shards.attrs["sources"])]
    seed = json.loads(shards.attrs["params"])["seed"]
    t = base.table
    for i, episode_id in enumerate(t["id"].tolist()):
        owner = next((e for e in plan if e.owns(episode_id)), None)
        expected = None if owner is None else _episode_of(owner, episode_id - owner.first_id, seed)
        found = (t["source"][i], int(t["source_episode"][i]), int(t["seed"][i]), t["exploration"][i])
        found += (float(t["exploration_value"][i]), t["checkpoint_hash"][i])
        if expected != found:
            raise InputError(
                f"cannot append to '{base.path}': its episode {episode_id} ({found[0]} #{found[1]}) is not the one "
                f"the recording of '{shards.path}' plays at that id"
                + (f" ({expected[0]} #{expected[1]})" if expected else " (none: it has no such id)")
            )


def _episode_of(entry: SourceEntry, index: int, seed: int) -> tuple:
    return (
        entry.name,
        index,
        episode_seed(seed, entry.name, index),
        entry.exploration,
        entry.exploration_value,
        entry.checkpoint_hash,
    )


def merge(shards: list[Path], out: Path, append: bool = False, console: Console | None = None) -> dict:
    """Write `out` from the shards (and, with `append`, the dataset already at `out` first), its card beside it;
    return the merged dataset's metrics."""
    console = console or Console(stderr=True)
    out = Path(out)
    if not shards:
        raise InputError("merge: name at least one shard")
    named = [Path(p).resolve() for p in shards]
    twice = next((p for p, r in zip(shards, named) if named.count(r) > 1), None)
    if twice is not None:
        raise InputError(f"shard '{twice}' is named twice; name each shard once")
    check_output(out, "merged dataset")
    check_output(card_beside(out), "dataset card")
    if append and not out.is_file():
        raise InputError(f"--append: '{out}' does not exist; merge without --append to create it")
    if not append and out.exists():
        raise InputError(f"'{out}' exists: pass --append to add the shards' episodes to it, or choose another --out")
    parts = check_shards([read_recording(p) for p in shards])
    if append:
        base = read_recording(out)
        check_base(base, parts[-1])
        check_follow([base, *parts])
        parts = [base, *parts]
    last = parts[-1]
    attrs = {k: v for k, v in last.attrs.items() if k != "format_version"}
    compression = json.loads(attrs["params"])["record"]["compression"]
    check_available(compression)  # a zstd recording needs hdf5plugin here too
    total = sum(len(p.table) for p in parts)
    with atomic_path(out) as tmp, atomic_path(card_beside(out)) as tmp_card, Progress(console=console) as progress:
        task = progress.add_task(f"merging {len(parts)} files", total=total)
        with GameplayWriter(
            tmp,
            screen_size=int(attrs["screen_size"]),
            compression=compression,
            attrs=attrs,
            agent_outputs=last.agent_outputs,
        ) as writer:
            for part in parts:
                writer.append(part.path)
                progress.advance(task, len(part.table))
        metrics = dataset_metrics(tmp, progress=(progress, "measuring diversity"))
        tmp_card.write_text(dataset_card(tmp, out.name, {}, None, metrics))
    ids = f"{parts[0].ids.start} .. {parts[-1].ids.stop - 1}"
    console.print(f"Wrote {out}: episodes {ids} from {len(parts)} files; card {card_beside(out)}", highlight=False)
    return metrics
