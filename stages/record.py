"""`pipeline record`: play the recording's episodes (record.sources, or the random and the trained agent); writes
data/gameplay.h5, data/DATASET.md, metrics/dataset.json, data/videos/ (but with --no-videos) and, with --png,
data/frames/."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.config.layout import RecordLayout, TrainLayout
from pipeline.config.params import Params
from pipeline.play.backends import Backend
from pipeline.record.run import record
from stages.common import BACKEND, RAY_ADDRESS, console, with_params, writing


@with_params("env", "record")
def record_command(
    params: Params,
    checkpoint: Optional[Path] = typer.Option(
        None,
        "--checkpoint",
        help="checkpoint of the trained agent without record.sources (default: models/best.pt or models/dqn.pt, by "
        "--model); read only when trained episodes are asked for",
    ),
    out_dir: Path = typer.Option(RecordLayout().root, "--out-dir", help="folder for gameplay.h5, videos/ and frames/"),
    models: Path = typer.Option(
        TrainLayout().root, "--models-dir", help="the training run whose best.pt, dqn.pt and snapshots/ sources play"
    ),
    first_episode: int = typer.Option(
        0,
        "--first-episode",
        help="play the recording's episodes from this id on (a shard: same seeds and sources as the whole "
        "recording; `pipeline merge` joins shards)",
    ),
    shard_episodes: Optional[int] = typer.Option(
        None, "--shard-episodes", help="with --first-episode: how many episodes (default: to the end)"
    ),
    metrics: Optional[Path] = typer.Option(
        None,
        "--metrics",
        help="quality and diversity metrics, JSON (default: metrics/dataset.json beside the --out-dir folder for a "
        "whole recording, none for a shard)",
    ),
    backend: str = BACKEND,
    ray_address: Optional[str] = RAY_ADDRESS,
) -> None:
    """Record gameplay: the sources of record.sources play their episodes, or without them record.percent_random %
    of the episodes are played by a random agent and the rest by the trained agent."""
    where = Backend(backend, ray_address)  # a bad flag is refused before the output folder is held
    whole = first_episode == 0 and shard_episodes is None
    metrics = metrics or (RecordLayout(out_dir).metrics if whole else None)
    with writing(out_dir, *([metrics.parent] if metrics is not None else [])):
        record(
            params,
            checkpoint,
            out_dir,
            console=console,
            model=checkpoint.name if checkpoint is not None else None,
            models=models,
            first_episode=first_episode,
            shard_episodes=shard_episodes,
            metrics=metrics,
            backend=where,
        )
