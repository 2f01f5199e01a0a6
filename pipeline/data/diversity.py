"""The diversity metrics (pipeline.data.metrics) of one dataset, or of two side by side (PER against uniform, say), as
a terminal table and as a figure: per source and overall, the returns, the action entropy, the most frequent action's
share, the unique screens, the near-duplicate episodes and the exploratory actions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from rich.console import Console
from rich.table import Table

from pipeline.core.atomic import atomic_path

ALL = "all"  # the group of every episode
COLOURS = ("#1f77b4", "#ff7f0e")


def groups(metrics: dict) -> dict[str, dict]:
    """A dataset's groups in order: its sources, then all its episodes."""
    return {**metrics["sources"], ALL: metrics["overall"]}


def group_names(datasets: list[tuple[str, dict]]) -> list[str]:
    """Every group of the datasets, in the first's order, then the others' new ones; "all" last."""
    names = dict.fromkeys(name for _, m in datasets for name in m["sources"])
    return [*names, ALL]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def render_diversity(datasets: list[tuple[str, dict]], console: Console) -> None:
    """One row per group (and per dataset, when there are two), the groups of both datasets next to each other."""
    table = Table(
        title="Quality and diversity (entropy in bits; dup / near: duplicate / near-duplicate episodes, Jaccard of "
        "distinct screens >= 0.5)"
    )
    columns = ["source", *(["dataset"] if len(datasets) > 1 else []), "episodes", "return", "entropy", "top action"]
    for column in [*columns, "unique obs", "unique frames", "dup / near", "explored"]:
        table.add_column(column, justify="left" if column in ("source", "dataset", "top action") else "right")
    for name in group_names(datasets):
        for label, metrics in datasets:
            m = groups(metrics).get(name)
            if m is None:
                continue
            table.add_row(
                name,
                *([label] if len(datasets) > 1 else []),
                f"{m['episodes']:,}",
                f"{m['return_mean']:,.1f}",
                f"{m['action_entropy_bits']:.2f}",
                f"{m['top_action']} {m['top_action_share']:.0%}",
                _percent(m["unique_observations"]),
                _percent(m["unique_frames"]),
                f"{m['duplicate_episodes']} / {m['near_duplicate_episodes']}",
                _percent(m["exploratory_share"]),
            )
        if len(datasets) > 1:
            table.add_section()
    console.print(table)


BARS = (
    ("action_entropy_normalised", "action entropy / its maximum"),
    ("top_action_share", "most frequent action's share"),
    ("unique_frames", "unique screens / rows"),
    ("near_duplicate_share", "near-duplicate episodes / episodes"),
    ("exploratory_share", "exploratory actions / actions"),
)


def _value(m: dict, key: str) -> float:
    if key == "near_duplicate_share":
        return m["near_duplicate_episodes"] / m["episodes"]
    return np.nan if m[key] is None else m[key]


def diversity_figure(datasets: list[tuple[str, dict]]) -> Figure:
    """Six panels over the groups: the return distribution (box: quartiles, whiskers: min and max, dot: mean) and
    five shares, one bar per dataset in each group."""
    names = group_names(datasets)
    x, width = np.arange(len(names)), 0.8 / len(datasets)
    fig = Figure(figsize=(15, 8.5), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    for d, (label, metrics) in enumerate(datasets):
        present = [(i, groups(metrics)[n]) for i, n in enumerate(names) if n in groups(metrics)]
        offset = (d - (len(datasets) - 1) / 2) * width
        stats = [
            {"med": m["return_median"], "q1": m["return_p25"], "q3": m["return_p75"], "whislo": m["return_min"],
             "whishi": m["return_max"], "mean": m["return_mean"]}
            for _, m in present
        ]  # fmt: skip
        boxes = axes[0].bxp(
            stats,
            positions=[i + offset for i, _ in present],
            widths=width * 0.9,
            showmeans=True,
            showfliers=False,
            patch_artist=True,
        )
        for box in boxes["boxes"]:
            box.set(facecolor=COLOURS[d], alpha=0.5)
        for ax, (key, title) in zip(axes[1:], BARS):
            ax.bar([i + offset for i, _ in present], [_value(m, key) for _, m in present], width, color=COLOURS[d])
            ax.set_title(title)
            ax.set_ylim(0, 1.05)
        axes[0].plot([], [], color=COLOURS[d], linewidth=8, alpha=0.5, label=label)
    axes[0].set_title("episode return (raw)")
    axes[0].legend(loc="upper left")
    for ax in axes:
        ax.set_xticks(x, names, rotation=30, ha="right")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(" vs ".join(label for label, _ in datasets) + ": quality and diversity per source")
    return fig


def write_diversity_figure(datasets: list[tuple[str, dict]], out: Path) -> Path:
    with atomic_path(Path(out)) as tmp:
        diversity_figure(datasets).savefig(tmp, format="png", dpi=100)
    return Path(out)
