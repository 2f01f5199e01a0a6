"""`pipeline export FORMAT DATASET`: a recorded dataset converted to another format (not a DVC stage: run on demand)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.config.layout import RecordLayout
from pipeline.export.minari_export import export_minari, plan_export
from stages.common import console, reported_errors

export_app = typer.Typer(no_args_is_help=True, help="Convert a recorded dataset to a format other tools load.")


@export_app.command("minari")
def minari_command(
    dataset: Path = typer.Argument(RecordLayout().dataset, help="recorded gameplay file"),
    dataset_id: str = typer.Option(
        ..., "--id", help="Minari dataset id, (namespace/)name-v<version>, e.g. atari/breakout/mixed-v0"
    ),
    rgb: bool = typer.Option(
        False, "--rgb", help="observations are the 210x160 RGB screens instead of the agent's 84x84 grayscale views"
    ),
    author: Optional[str] = typer.Option(None, "--author", help="Minari metadata: who made the dataset"),
    author_email: Optional[str] = typer.Option(None, "--author-email", help="Minari metadata: a contact address"),
    code_permalink: Optional[str] = typer.Option(
        None, "--code-permalink", help="Minari metadata: a link to the code at the commit that recorded it"
    ),
) -> None:
    """Write DATASET as a lossless Minari dataset under MINARI_DATASETS_PATH (default ~/.minari/datasets):
    minari.load_dataset(ID) loads it and its recover_environment() rebuilds the recorded environment."""
    with reported_errors():
        plan = plan_export(dataset, dataset_id, rgb)
        shape = "x".join(map(str, plan.observation_shape))
        console.print(
            f"Exporting {plan.episodes} episodes ({plan.steps:,} steps, {shape} observations) to Minari dataset "
            f"{plan.dataset_id!r} in {plan.folder}: about {plan.estimated_bytes / 2**20:,.1f} MiB, stored "
            f"uncompressed (Minari's lossless image storage); {dataset} takes "
            f"{dataset.stat().st_size / 2**20:,.1f} MiB",
            highlight=False,
            soft_wrap=True,
        )
        done = export_minari(dataset, plan, rgb, author, author_email, code_permalink)
    console.print(
        f"Wrote {plan.dataset_id!r}: {done.total_episodes} episodes, {done.total_steps:,} steps, "
        f"{done.storage.get_size():,.1f} MB. Load it with minari.load_dataset({plan.dataset_id!r}).",
        highlight=False,
        soft_wrap=True,
    )
