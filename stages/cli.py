"""The `pipeline` command line: one command per stage."""

from __future__ import annotations

import typer

from stages.common import OneLineErrors
from stages.evaluate import evaluate_command
from stages.export import export_app
from stages.inspect import inspect_command
from stages.latents import latents_command
from stages.merge import merge_command
from stages.plot import plot_command
from stages.record import record_command
from stages.split import split_command
from stages.train import train_command

app = typer.Typer(
    cls=OneLineErrors,
    add_completion=False,
    rich_markup_mode="rich",
    no_args_is_help=True,
    help="Reproducible Atari gameplay datasets: train a DQN agent, evaluate it, record gameplay, split it.",
)
app.command("train")(train_command)
app.command("evaluate")(evaluate_command)
app.command("record")(record_command)
app.command("inspect")(inspect_command)
app.command("split")(split_command)
app.command("merge")(merge_command)
app.command("latents")(latents_command)
app.command("plot")(plot_command)
app.add_typer(export_app, name="export")


@app.command("games")
def games() -> None:
    """List the ALE games that can be named in env.game."""
    from pipeline.envs.atari import available_games

    typer.echo("\n".join(available_games()))


if __name__ == "__main__":
    app()
