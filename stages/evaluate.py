"""`pipeline evaluate`: score the trained agent against the random baseline; writes DVC metrics, episodes, a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.config.layout import EvalLayout
from pipeline.config.params import Params
from pipeline.evaluate.run import evaluate
from stages.common import chosen_model, console, with_params, writing

DEFAULT = EvalLayout()


@with_params("env", "evaluate")
def evaluate_command(
    params: Params,
    checkpoint: Optional[Path] = typer.Option(
        None, "--checkpoint", help="checkpoint to evaluate (default: models/best.pt or models/dqn.pt, by --model)"
    ),
    metrics: Path = typer.Option(DEFAULT.metrics, "--metrics", help="summary statistics (DVC metrics)"),
    episodes_csv: Path = typer.Option(
        DEFAULT.episodes, "--episodes-csv", help="per-episode returns and lengths of both agents (DVC plots)"
    ),
    plot: Path = typer.Option(DEFAULT.plot, "--plot", help="both agents' score distributions"),
) -> None:
    """Play evaluate.episodes episodes with the trained agent and the random agent on the same seeds; report scores."""
    path, model = chosen_model(checkpoint, params.evaluate.model)
    with writing(metrics.parent, episodes_csv.parent, plot.parent):
        evaluate(params, path, EvalLayout(metrics, episodes_csv, plot), console=console, model=model)
