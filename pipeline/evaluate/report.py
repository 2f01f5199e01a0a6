"""What an evaluation reports: DVC metrics JSON, a per-episode CSV for `dvc plots`, a score plot, and terminal output.

The CSV is wide (one row per episode seed, one column per agent and quantity) because `dvc plots` draws one
series per y column: `y: {metrics/eval_episodes.csv: [trained_return, random_return]}` compares the agents.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from pipeline.core.atomic import atomic_path
from pipeline.evaluate.scores import RANDOM_AND_HUMAN


@dataclass(frozen=True)
class EpisodeResult:
    agent: str
    episode: int
    seed: int
    score: float  # raw, unclipped episode return
    length: int  # agent steps
    truncated: bool  # hit env.max_episode_frames before game over


STATS = (
    ("return_mean", "mean return"),
    ("return_std", "std"),
    ("return_median", "median"),
    ("return_min", "min"),
    ("return_max", "max"),
    ("length_mean", "mean length (steps)"),
    ("truncated_episodes", "hit the frame cap"),
    ("human_normalised_mean", "human-normalised mean"),
)


def write_metrics(path: Path, metrics: dict) -> None:
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(json.dumps(metrics, indent=2) + "\n")


def write_episode_table(path: Path, results: Sequence[EpisodeResult], agents: Sequence[str]) -> None:
    """Columns: episode, seed, then <agent>_return and <agent>_length for each agent."""
    by_key = {(r.agent, r.episode): r for r in results}
    episodes = sorted({r.episode for r in results})
    header = ["episode", "seed"] + [f"{a}_return" for a in agents] + [f"{a}_length" for a in agents]
    with atomic_path(Path(path)) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for k in episodes:
            first = by_key[(agents[0], k)]
            writer.writerow(
                [k, first.seed]
                + [f"{by_key[(a, k)].score:g}" for a in agents]
                + [by_key[(a, k)].length for a in agents]
            )


def plot_scores(path: Path, results: Sequence[EpisodeResult], agents: Sequence[str], game: str, epsilon: float) -> None:
    """Box plot of each agent's episode returns with every episode as a dot, and the published random and human
    scores as reference lines where known."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    scores = [[r.score for r in results if r.agent == a] for a in agents]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.boxplot(scores, showfliers=False)
    ax.set_xticks(range(1, len(agents) + 1), agents)
    jitter = np.random.default_rng(0)
    for i, s in enumerate(scores, start=1):
        ax.scatter(i + jitter.uniform(-0.12, 0.12, len(s)), s, s=14, alpha=0.6, zorder=3)
    if game in RANDOM_AND_HUMAN:
        for value, label, style in zip(RANDOM_AND_HUMAN[game], ("published random", "published human"), (":", "--")):
            ax.axhline(value, color="grey", linestyle=style, linewidth=1, label=f"{label} ({value:g})")
        ax.legend(loc="best", fontsize="small")
    ax.set(ylabel="episode return (raw)", title=f"{game}: {len(scores[0])} episodes per agent, trained eps={epsilon:g}")
    fig.tight_layout()
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def results_table(metrics: dict, agents: Sequence[str]) -> Table:
    table = Table(
        title=f"{metrics['game']}: {metrics['episodes']} episodes per agent (trained at epsilon {metrics['epsilon']:g})"
    )
    table.add_column("")
    for agent in agents:
        table.add_column(agent, justify="right")
    for key, label in STATS:
        if all(key in metrics[a] for a in agents):
            table.add_row(label, *(_cell(key, metrics[a][key]) for a in agents))
    return table


def _cell(key: str, value: float | int) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.3f}" if key == "human_normalised_mean" else f"{value:,.1f}"


def evaluation_progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:>7}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("episodes"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[steps]:,} steps  {task.fields[rate]:,.0f} steps/s  last return {task.fields[last]}"),
        console=console,
        refresh_per_second=4,
    )
