"""`pipeline train`: train the DQN agent; writes models/dqn.pt, periodic checkpoints and training curves."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.config.layout import TrainLayout
from pipeline.config.params import Params
from pipeline.train.log import snapshot_path
from pipeline.train.resume import RunState, state_key
from pipeline.train.trainer import train
from stages.common import console, with_params, writing


@with_params("env", "train")
def train_command(
    params: Params,
    out_dir: Path = typer.Option(TrainLayout().root, "--out-dir", help="folder for dqn.pt, checkpoints/ and training/"),
    resume: bool = typer.Option(False, "--resume", help="continue from the newest checkpoint (same params required)"),
    auto_resume: bool = typer.Option(
        False,
        "--auto-resume",
        help="continue from the newest checkpoint if its params match, else start fresh "
        "(what dvc.yaml uses, so an interrupted `dvc repro` picks up where it stopped)",
    ),
) -> None:
    """Train a DQN agent (Double DQN, PER or uniform replay) on an Atari game."""
    mode = "yes" if resume else "auto" if auto_resume else "no"
    layout, state = TrainLayout(out_dir), RunState(TrainLayout(out_dir).states / state_key(params))
    swept = (layout.live, state.folder, state.live, state.snapshots)  # where a killed run's temporaries can be
    with writing(out_dir, inside=(*swept, *(snapshot_path(live, 0).parent for live in (layout.live, state.live)))):
        train(params, out_dir, resume=mode, console=console)
