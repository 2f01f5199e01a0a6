"""`pipeline latents DATASET`: the recorded agent features projected to 2-D (PCA), coloured by source and return."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.config.layout import RecordLayout
from pipeline.data.latents import write_latents
from stages.common import console, reported_errors


def latents_command(
    path: Path = typer.Argument(RecordLayout().dataset, help="gameplay file recorded with record.agent_outputs"),
    out: Optional[Path] = typer.Option(None, "--out", help="the figure (default: <dataset>_latents.png beside it)"),
    max_points: int = typer.Option(5000, "--max-points", help="rows projected (a uniform sample of those played)"),
    seed: int = typer.Option(0, "--seed", help="which rows are sampled"),
) -> None:
    """Project the penultimate features of the rows a network played to 2-D by PCA; one panel coloured by source,
    one by the episode's return."""
    with reported_errors():
        out = out or path.with_name(f"{path.stem}_latents.png")
        projection = write_latents(path, out, max_points, seed)
    explained = ", ".join(f"{e:.1%}" for e in projection.explained)
    console.print(
        f"Projected {len(projection.points):,} rows (variance explained by PC 1, 2: {explained}): {out}",
        highlight=False,
    )
