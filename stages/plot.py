"""`pipeline plot`: the training diagnostics figure, on demand (training writes it too, when it ends)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from pipeline.config.errors import InputError
from pipeline.config.layout import TrainLayout
from pipeline.train.diagnostics import logged_anything, write_diagnostics
from stages.common import reported_errors


def plot_command(
    live_dir: Path = typer.Option(TrainLayout().live, "--live-dir", help="folder a training run logged to"),
    out: Optional[Path] = typer.Option(None, "--out", help="PNG to write (default: <live-dir>/diagnostics.png)"),
) -> None:
    """One PNG of a training run: return, loss, mean Q, |TD error|, exploration and beta curves, and with prioritized
    replay the spread of priorities and importance weights at a few steps."""
    with reported_errors():
        if live_dir.is_dir() and not logged_anything(live_dir):
            raise InputError(
                f"'{live_dir}' holds no training logs (no curves, no replay snapshots): pass the folder "
                "a training run logged to (models/training)"
            )
        path = write_diagnostics(live_dir, out)
    Console().print(f"Diagnostics: {path}", highlight=False, soft_wrap=True)
