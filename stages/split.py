"""`pipeline split`: hold out validation episodes of a recorded dataset; writes a small index, never a copy."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.config.layout import RecordLayout
from pipeline.config.params import Params
from pipeline.data.splits import split_dataset
from stages.common import console, with_params, writing


@with_params("split")
def split_command(
    params: Params,
    dataset: Path = typer.Option(RecordLayout().dataset, "--dataset", help="recorded gameplay file to split"),
    out: Path = typer.Option(RecordLayout().splits, "--out", help="where to write the split index"),
) -> None:
    """Split a dataset by whole episodes into train and val, stratified by agent kind, deterministic for the seed."""
    with writing(out.parent):
        index = split_dataset(dataset, out, params.split.val_fraction, params.seed)
    for name, counts in index["counts"].items():
        console.print(
            f"{name:>5}: {len(index['splits'][name])} episodes ("
            + ", ".join(f"{n} {kind}" for kind, n in counts.items())
            + ")",
            highlight=False,
        )
    console.print(f"Split index: {out}", highlight=False)
