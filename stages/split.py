"""`pipeline split`: hold out validation episodes of a recorded dataset; writes a small index, never a copy."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.config.layout import RecordLayout
from pipeline.config.params import Params
from pipeline.data.card import card_beside, check_card, update_card_splits
from pipeline.data.splits import split_dataset
from stages.common import console, with_params, writing


@with_params("split")
def split_command(
    params: Params,
    dataset: Path = typer.Option(RecordLayout().dataset, "--dataset", help="recorded gameplay file to split"),
    out: Path = typer.Option(RecordLayout().splits, "--out", help="where to write the split index"),
    card: bool = typer.Option(
        True,
        "--card/--no-card",
        help="update the splits section of the dataset card (DATASET.md beside the dataset) when there is one; "
        "dvc.yaml says --no-card, as the card is the record stage's output",
    ),
) -> None:
    """Split a dataset by whole episodes into train and val, stratified by source, deterministic for the seed."""
    card_path = card_beside(dataset) if card and card_beside(dataset).is_file() else None
    with writing(out.parent, *([card_path.parent] if card_path else [])):  # both checked before anything is written
        if card_path:
            check_card(card_path)
        index = split_dataset(dataset, out, params.split.val_fraction, params.seed)
        if card_path:
            update_card_splits(card_path, index, dataset.name)
            console.print(f"Updated the splits in {card_path}", highlight=False)
    for name, counts in index["counts"].items():
        console.print(
            f"{name:>5}: {len(index['splits'][name])} episodes ("
            + ", ".join(f"{n} {source}" for source, n in counts.items())
            + ")",
            highlight=False,
        )
    console.print(f"Split index: {out}", highlight=False)
