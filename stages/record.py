"""`pipeline record`: play episodes with the random and the trained agent; writes data/gameplay.h5, data/videos/
and, with --png, data/frames/."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.config.layout import RecordLayout
from pipeline.config.params import Params
from pipeline.play.backends import Backend
from pipeline.record.run import record
from stages.common import BACKEND, RAY_ADDRESS, chosen_model, console, with_params, writing


@with_params("env", "record")
def record_command(
    params: Params,
    checkpoint: Optional[Path] = typer.Option(
        None,
        "--checkpoint",
        help="checkpoint of the trained agent (default: models/best.pt or models/dqn.pt, by --model); read only when "
        "trained episodes are asked for",
    ),
    out_dir: Path = typer.Option(RecordLayout().root, "--out-dir", help="folder for gameplay.h5, videos/ and frames/"),
    backend: str = BACKEND,
    ray_address: Optional[str] = RAY_ADDRESS,
) -> None:
    """Record gameplay: record.percent_random % of the episodes by a random agent, the rest by the trained agent."""
    path, model = chosen_model(checkpoint, params.record.model)
    where = Backend(backend, ray_address)  # a bad flag is refused before the output folder is held
    with writing(out_dir):
        record(params, path, out_dir, console=console, model=model, backend=where)
