"""`pipeline evaluate`: score the trained agent against the random baseline; writes DVC metrics, episodes, a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.config.layout import EvalLayout
from pipeline.config.params import Params
from pipeline.evaluate.run import evaluate
from pipeline.play.backends import Backend
from stages.common import BACKEND, RAY_ADDRESS, chosen_model, console, with_params, writing

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
    backend: str = BACKEND,
    ray_address: Optional[str] = RAY_ADDRESS,
) -> None:
    """Play evaluate.episodes episodes with the trained agent and the random agent on the same seeds; report scores."""
    path, model = chosen_model(checkpoint, params.evaluate.model)
    where = Backend(backend, ray_address)  # a bad flag is refused before the output folders are held
    layout = EvalLayout(metrics, episodes_csv, plot)
    with writing(metrics.parent, episodes_csv.parent, plot.parent):
        evaluate(params, path, layout, console=console, model=model, backend=where)
