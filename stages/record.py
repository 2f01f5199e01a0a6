"""`pipeline record`: play episodes with the random and the trained agent; writes data/gameplay.h5, data/videos/
and, with --png, data/frames/."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.config.layout import RecordLayout, TrainLayout
from pipeline.config.params import Params
from pipeline.record.run import record
from stages.common import console, with_params


@with_params("env", "record")
def record_command(
    params: Params,
    checkpoint: Path = typer.Option(
        TrainLayout().model, "--checkpoint", help="trained model (read only when trained episodes are asked for)"
    ),
    out_dir: Path = typer.Option(RecordLayout().root, "--out-dir", help="folder for gameplay.h5, videos/ and frames/"),
) -> None:
    """Record gameplay: record.percent_random % of the episodes by a random agent, the rest by the trained agent."""
    record(params, checkpoint, out_dir, console=console)
