"""`inspect`: what is in a recorded dataset, for a person deciding whether to train on it.

Episodes and frames per split and source, return statistics, the action histogram per source, size on disk and
compression ratio, and a contact sheet of sampled frames (the diversity metrics are pipeline.data.metrics').
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import h5py
import numpy as np
from rich.console import Console
from rich.table import Table

from pipeline.config.errors import InputError
from pipeline.core.atomic import atomic_path
from pipeline.core.outputs import check_output
from pipeline.data.reader import action_meanings, damage_reported, open_gameplay, read_episodes
from pipeline.data.schema import FRAME_SHAPE, EpisodeTable
from pipeline.data.splits import load_split_ids, splits_beside

SHEET_COLUMNS = 8
CAPTION_HEIGHT = 14
GAP = 4


@dataclass(frozen=True)
class Group:
    """The episodes of one split played by one source."""

    split: str
    source: str
    agent: str
    episodes: int
    steps: int
    frames: int
    returns: np.ndarray


@dataclass(frozen=True)
class Storage:
    name: str
    stored: int  # bytes on disk
    raw: int  # bytes uncompressed


@dataclass(frozen=True)
class Summary:
    path: Path
    attrs: dict[str, str]
    groups: list[Group]
    meanings: list[str]
    action_counts: dict[str, np.ndarray]  # source -> count per action
    storage: list[Storage]
    file_size: int
    split_note: str


def split_of_episodes(table: EpisodeTable, splits_path: Path | None, dataset: Path) -> tuple[np.ndarray, str]:
    """Each episode's split name ("all" without an index) and a note on where the split came from.
    An explicit `splits_path` must be valid; the default one next to the dataset is used only when it is."""
    default = splits_path is None
    path = splits_beside(dataset) if default else Path(splits_path)
    names = np.full(len(table), "all", dtype=object)
    if default and not path.is_file():
        return names, "no split index (run `pipeline split`)"
    try:
        split_ids = load_split_ids(path, dataset)
    except InputError as err:
        if not default:
            raise
        return names, f"ignored {path}: {err}"
    for name, ids in split_ids.items():
        names[np.isin(table["id"], ids)] = name
    return names, f"splits from {path}"


def storage_of(f: h5py.File) -> list[Storage]:
    found: list[Storage] = []
    f.visititems(
        lambda name, obj: (
            found.append(Storage(name, obj.id.get_storage_size(), obj.size * obj.dtype.itemsize))
            if isinstance(obj, h5py.Dataset)
            else None
        )
    )
    return found


def summarise(path: Path, splits_path: Path | None = None) -> Summary:
    path = Path(path)
    with open_gameplay(path) as f, damage_reported(path):
        table = read_episodes(f)
        meanings = action_meanings(f)
        actions = f["actions"][:]
        storage = storage_of(f)
        attrs = {k: str(f.attrs[k]) for k in ("env_id", "format_version", "package_version", "git_commit")}
    splits, note = split_of_episodes(table, splits_path, path)
    groups = []
    sources = list(dict.fromkeys(table["source"]))
    for split in dict.fromkeys(sorted(splits, key=lambda s: (s == "val", s))):
        for source in sources:
            mine = (splits == split) & (table["source"] == source)
            if mine.any():
                groups.append(
                    Group(
                        split,
                        source,
                        table["agent"][mine][0],
                        int(mine.sum()),
                        int(table["length"][mine].sum()),
                        int((table["length"][mine] + 1).sum()),
                        table["return"][mine],
                    )
                )
    source_of_row = np.repeat(table["source"], table["length"] + 1)
    counts = {
        source: np.bincount(actions[(source_of_row == source) & (actions >= 0)], minlength=len(meanings))
        for source in sources
    }
    return Summary(path, attrs, groups, meanings, counts, storage, os.path.getsize(path), note)


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.2f} GiB"


def render(s: Summary, console: Console) -> None:
    console.print(
        f"[bold]{s.path}[/]: {s.attrs['env_id']}, format {s.attrs['format_version']}, recorded by "
        f"pipeline {s.attrs['package_version']} at {s.attrs['git_commit']}; {s.split_note}",
        highlight=False,
        soft_wrap=True,
    )
    episodes = Table(title="Episodes and returns")
    for column in ("split", "source", "episodes", "steps", "frames", "return mean", "std", "min", "median", "max"):
        episodes.add_column(column, justify="left" if column in ("split", "source") else "right")
    for g in s.groups:
        r = g.returns
        episodes.add_row(
            g.split,
            g.source,
            f"{g.episodes:,}",
            f"{g.steps:,}",
            f"{g.frames:,}",
            f"{r.mean():,.1f}",
            f"{r.std():,.1f}",
            f"{r.min():,g}",
            f"{np.median(r):,g}",
            f"{r.max():,g}",
        )
    console.print(episodes)

    histogram = Table(title="Actions taken")
    histogram.add_column("action")
    for source in s.action_counts:
        histogram.add_column(source, justify="right")
        histogram.add_column("", justify="left")
    for a, meaning in enumerate(s.meanings):
        cells = []
        for counts in s.action_counts.values():
            share = counts[a] / max(counts.sum(), 1)
            cells += [f"{counts[a]:,} ({share:.0%})", "█" * round(share * 30)]
        histogram.add_row(meaning, *cells)
    console.print(histogram)

    storage = Table(title="Storage")
    for column in ("dataset", "on disk", "uncompressed", "ratio"):
        storage.add_column(column, justify="left" if column == "dataset" else "right")
    big = [x for x in s.storage if x.name in ("frames", "observations")]
    rest = [x for x in s.storage if x not in big]
    rest_total = Storage("everything else", sum(x.stored for x in rest), sum(x.raw for x in rest))
    for item in (*big, rest_total):
        storage.add_row(item.name, _size(item.stored), _size(item.raw), f"{item.raw / max(item.stored, 1):.1f}x")
    raw = sum(x.raw for x in s.storage)
    storage.add_row("[bold]file", _size(s.file_size), _size(raw), f"{raw / s.file_size:.1f}x")
    console.print(storage)


def check_sheet(out: Path, samples: int) -> None:
    """What contact_sheet checks before it reads anything: the sample count, and that `out` can be written."""
    if samples < 1:
        raise InputError(f"--samples {samples}: must be an integer >= 1")
    check_output(out, "contact sheet")


def contact_sheet(path: Path, out: Path, samples: int, seed: int) -> Path:
    """A grid of `samples` frames drawn uniformly from all rows, in order, captioned with episode, frame and agent."""
    check_sheet(out, samples)
    with open_gameplay(path) as f, damage_reported(path):
        table = read_episodes(f)
        rows = np.sort(
            np.random.default_rng(seed).choice(len(f["frames"]), size=min(samples, len(f["frames"])), replace=False)
        )
        frames = [f["frames"][r] for r in rows]
    positions = np.searchsorted(table["first_row"], rows, side="right") - 1
    height, width = FRAME_SHAPE[0] + CAPTION_HEIGHT + GAP, FRAME_SHAPE[1] + GAP
    columns = min(SHEET_COLUMNS, len(rows))
    sheet = np.zeros((-(-len(rows) // columns) * height - GAP, columns * width - GAP, 3), np.uint8)
    for i, (row, pos, frame) in enumerate(zip(rows, positions, frames)):
        y, x = (i // columns) * height, (i % columns) * width
        sheet[y : y + FRAME_SHAPE[0], x : x + FRAME_SHAPE[1]] = frame
        caption = f"ep {table['id'][pos]} f {row - table['first_row'][pos]} {table['source'][pos]}"
        cv2.putText(
            sheet,
            caption,
            (x + 3, y + FRAME_SHAPE[0] + CAPTION_HEIGHT - 3),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.35,
            (230, 230, 230),
            1,
            cv2.LINE_AA,
        )
    _, png = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    with atomic_path(Path(out)) as tmp:
        tmp.write_bytes(png.tobytes())
    return Path(out)
