"""`pipeline evaluate`: score the trained agent against the random baseline; writes DVC metrics, a per-episode table and a plot."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.evaluation import EvalOutputs, evaluate
from pipeline.params import Params
from stages.common import console, with_params


@with_params("env", "evaluate")
def evaluate_command(
    params: Params,
    checkpoint: Path = typer.Option(Path("models/dqn.pt"), "--checkpoint", help="trained model to evaluate"),
    metrics: Path = typer.Option(Path("metrics/eval.json"), "--metrics", help="summary statistics (DVC metrics)"),
    episodes_csv: Path = typer.Option(Path("metrics/eval_episodes.csv"), "--episodes-csv",
                                      help="per-episode returns and lengths of both agents (DVC plots)"),
    plot: Path = typer.Option(Path("plots/eval_scores.png"), "--plot", help="both agents' score distributions"),
) -> None:
    """Play evaluate.episodes episodes with the trained agent and the random agent on the same seeds; report scores."""
    evaluate(params, checkpoint, EvalOutputs(metrics, episodes_csv, plot), console=console)
