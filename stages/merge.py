"""`pipeline merge SHARD... --out FILE`: join shards of one recording (`record --first-episode`) into one dataset,
or append them to an existing one (--append)."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.data.merge import merge
from stages.common import console, reported_errors, writing


def merge_command(
    shards: list[Path] = typer.Argument(..., help="gameplay files recorded with --first-episode, in any order"),
    out: Path = typer.Option(..., "--out", help="the merged dataset (its DATASET.md is written beside it)"),
    append: bool = typer.Option(
        False, "--append", help="add the shards' episodes to the dataset already at --out, whose ids they continue"
    ),
) -> None:
    """Merge shards of one recording into a file whose arrays equal a single run's; checked: same params, sources
    and code, no gap, no overlap."""
    with reported_errors(), writing(out.parent):
        merge(shards, out, append=append, console=console)
