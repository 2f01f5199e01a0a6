"""`pipeline evaluate`: score the trained agent against the random baseline; writes DVC metrics, episodes, a plot."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.config.layout import EvalLayout, TrainLayout
from pipeline.config.params import Params
from pipeline.evaluate.run import evaluate
from stages.common import console, with_params

DEFAULT = EvalLayout()


@with_params("env", "evaluate")
def evaluate_command(
    params: Params,
    checkpoint: Path = typer.Option(TrainLayout().model, "--checkpoint", help="trained model to evaluate"),
    metrics: Path = typer.Option(DEFAULT.metrics, "--metrics", help="summary statistics (DVC metrics)"),
    episodes_csv: Path = typer.Option(
        DEFAULT.episodes, "--episodes-csv", help="per-episode returns and lengths of both agents (DVC plots)"
    ),
    plot: Path = typer.Option(DEFAULT.plot, "--plot", help="both agents' score distributions"),
) -> None:
    """Play evaluate.episodes episodes with the trained agent and the random agent on the same seeds; report scores."""
    evaluate(params, checkpoint, EvalLayout(metrics, episodes_csv, plot), console=console)
