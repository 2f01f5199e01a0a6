"""`pipeline inspect PATH [--compare OTHER]`: summarise a recorded dataset in the terminal, with its quality and
diversity per source, and write a contact sheet of sampled frames and a diversity figure (both datasets side by side
with --compare)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import Progress

from pipeline.config.layout import RecordLayout
from pipeline.core.outputs import check_output
from pipeline.data.diversity import render_diversity, write_diversity_figure
from pipeline.data.inspection import check_sheet, contact_sheet, render, summarise
from pipeline.data.metrics import dataset_metrics
from stages.common import reported_errors


def inspect_command(
    path: Path = typer.Argument(RecordLayout().dataset, help="recorded gameplay file"),
    compare: Optional[Path] = typer.Option(
        None, "--compare", help="another gameplay file to put side by side with it (PER against uniform, say)"
    ),
    splits: Optional[Path] = typer.Option(
        None, "--splits", help="split index (default: splits.json beside the dataset, if valid)"
    ),
    sheet: Optional[Path] = typer.Option(
        None, "--contact-sheet", help="PNG of sampled frames (default: <dataset>_contact_sheet.png beside it)"
    ),
    figure: Optional[Path] = typer.Option(
        None,
        "--figure",
        help="PNG of the diversity per source (default: <dataset>_diversity.png, or <dataset>_vs_<other>.png with "
        "--compare, beside the dataset)",
    ),
    samples: int = typer.Option(32, "--samples", help="frames on the contact sheet"),
    seed: int = typer.Option(0, "--seed", help="which frames are sampled"),
) -> None:
    """Episodes and frames per split and agent, returns, actions, storage, and quality and diversity per source;
    a contact sheet PNG and a diversity figure."""
    report = Console()
    sheet = sheet or path.with_name(f"{path.stem}_contact_sheet.png")
    with reported_errors():
        paths = [path] if compare is None else [path, compare]
        name = f"{path.stem}_diversity.png" if compare is None else f"{path.stem}_vs_{compare.stem}.png"
        figure = figure or path.with_name(name)
        check_sheet(sheet, samples)  # before anything is read or printed
        check_output(figure, "diversity figure")
        summaries = [summarise(p, splits if p == path else None) for p in paths]
        with Progress(console=report, transient=True) as progress:
            measured = [dataset_metrics(p, progress=(progress, f"measuring {p.name}")) for p in paths]
        for summary in summaries:
            render(summary, report)
        labels = ["A", "B"][: len(paths)] if compare is not None else [path.stem]
        if compare is not None:
            report.print(f"A: {path}\nB: {compare}", highlight=False, soft_wrap=True)
        render_diversity(list(zip(labels, measured)), report)
        out = contact_sheet(path, sheet, samples, seed)
        shown = [f"{label}: {p}" if compare is not None else str(p) for label, p in zip(labels, paths)]
        drawn = write_diversity_figure(list(zip(shown, measured)), figure)
    report.print(f"Contact sheet: {out}\nDiversity figure: {drawn}", highlight=False, soft_wrap=True)
