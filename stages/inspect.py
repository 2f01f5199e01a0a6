"""`pipeline inspect PATH`: summarise a recorded dataset in the terminal and write a contact sheet of sampled frames."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from pipeline.config.layout import RecordLayout
from pipeline.data.inspection import check_sheet, contact_sheet, render, summarise
from stages.common import reported_errors


def inspect_command(
    path: Path = typer.Argument(RecordLayout().dataset, help="recorded gameplay file"),
    splits: Optional[Path] = typer.Option(
        None, "--splits", help="split index (default: splits.json beside the dataset, if valid)"
    ),
    sheet: Optional[Path] = typer.Option(
        None, "--contact-sheet", help="PNG of sampled frames (default: <dataset>_contact_sheet.png beside it)"
    ),
    samples: int = typer.Option(32, "--samples", help="frames on the contact sheet"),
    seed: int = typer.Option(0, "--seed", help="which frames are sampled"),
) -> None:
    """Episodes and frames per split and agent, returns, actions, storage; and a contact sheet PNG."""
    report = Console()
    sheet = sheet or path.with_name(f"{path.stem}_contact_sheet.png")
    with reported_errors():
        check_sheet(sheet, samples)  # before the summary is printed
        render(summarise(path, splits), report)
        out = contact_sheet(path, sheet, samples, seed)
    report.print(f"Contact sheet: {out}", highlight=False, soft_wrap=True)
