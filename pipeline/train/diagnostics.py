"""One PNG that shows how a training run went, so a person can judge it without DVC: the curves from the run's
DVCLive TSVs and, with prioritized replay, how the priorities and importance weights were spread at a few steps."""

from __future__ import annotations

import contextlib
import csv
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from pipeline.config.errors import InputError
from pipeline.core.atomic import atomic_path
from pipeline.core.outputs import check_output
from pipeline.rl.exploration import schedule_curves
from pipeline.train.log import snapshot_path

# (title, metrics to plot, the first one logged wins); exploration is each mode's own schedule curve
CURVES = (
    ("Loss", ("train/loss",)),
    ("Mean Q", ("train/mean_q",)),
    ("Mean |TD error|", ("train/mean_abs_td",)),
    ("Exploration", schedule_curves()),
    ("PER beta", ("train/beta",)),
)
SNAPSHOTS_SHOWN = 4
FIGSIZE, DPI = (18, 8), 100


@dataclass(frozen=True)
class ReplaySnapshot:
    step: int
    priorities: np.ndarray  # a subsample of the buffer's priorities
    beta: float
    min_priority: float  # over the whole buffer

    @property
    def weights(self) -> np.ndarray:
        """Importance weights (N * P(i))^-beta divided by their largest; N and the total priority cancel out."""
        return (self.min_priority / self.priorities) ** self.beta


def read_metric(live_dir: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of one DVCLive metric; both empty when it was never logged."""
    path = Path(live_dir) / "plots" / "metrics" / f"{name}.tsv"
    if not path.is_file():
        return np.empty(0, np.int64), np.empty(0)
    column = name.rsplit("/", 1)[-1]
    with unreadable_reported(path), open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
        return np.array([int(r["step"]) for r in rows], np.int64), np.array([float(r[column]) for r in rows])


@contextlib.contextmanager
def unreadable_reported(path: Path) -> Iterator[None]:
    """A log file that is not what DVCLive or the trainer writes becomes one InputError naming it."""
    try:
        yield
    except (ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as err:
        raise InputError(f"training log '{path}' is damaged ({type(err).__name__}: {err})") from None


def logged_anything(live_dir: Path) -> bool:
    """Whether a training run logged to `live_dir`: any curve or replay snapshot."""
    live_dir = Path(live_dir)
    return any((live_dir / "plots" / "metrics").glob("**/*.tsv")) or any(
        snapshot_path(live_dir, 0).parent.glob("step_*.npz")
    )


def read_snapshots(live_dir: Path) -> list[ReplaySnapshot]:
    """Every replay snapshot of the run, oldest first."""
    snapshots = []
    for path in sorted(snapshot_path(live_dir, 0).parent.glob("step_*.npz")):
        with unreadable_reported(path), np.load(path) as data:
            snapshots.append(
                ReplaySnapshot(
                    int(path.stem[len("step_") :]), data["priorities"], float(data["beta"]), float(data["min_priority"])
                )
            )
    return snapshots


def spread_out(snapshots: list[ReplaySnapshot], count: int) -> list[ReplaySnapshot]:
    """At most `count` snapshots evenly spaced over training, the first and the last included."""
    picks = np.unique(np.linspace(0, len(snapshots) - 1, min(count, len(snapshots))).round().astype(int))
    return [snapshots[i] for i in picks]


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each value and the up to `window - 1` before it."""
    sums = np.concatenate([[0.0], np.cumsum(values)])
    end = np.arange(1, len(values) + 1)
    start = np.maximum(end - window, 0)
    return (sums[end] - sums[start]) / (end - start)


def no_data(ax: Axes, why: str) -> None:
    ax.text(0.5, 0.5, f"no data\n{why}", ha="center", va="center", transform=ax.transAxes, color="0.45")
    ax.set(xticks=[], yticks=[])


def plot_returns(ax: Axes, live_dir: Path) -> None:
    ax.set_title("Episode return")
    steps, returns = read_metric(live_dir, "episode/return")
    if not len(steps):
        return no_data(ax, "no episode has ended yet")
    window = int(np.clip(len(returns) // 10, 1, 100))
    ax.scatter(steps, returns, s=6, alpha=0.35, color="tab:blue", label="episodes")
    ax.plot(steps, trailing_mean(returns, window), color="tab:red", label=f"mean of the last {window}")
    ax.set(xlabel="agent step", ylabel="return (raw)")
    ax.legend(loc="upper left", fontsize="small")


def plot_curve(ax: Axes, live_dir: Path, title: str, names: tuple[str, ...]) -> None:
    ax.set_title(title)
    for name in names:
        steps, values = read_metric(live_dir, name)
        if len(steps):
            ax.plot(steps, values, marker="." if len(steps) < 30 else None)
            ax.set(xlabel="agent step", ylabel=name.rsplit("/", 1)[-1])
            return
    no_data(ax, "not logged yet" if len(names) == 1 else f"none of {', '.join(names)} logged yet")


def plot_distributions(ax: Axes, title: str, xlabel: str, samples: dict[str, np.ndarray]) -> None:
    """Overlaid step histograms on log-spaced bins, one per labelled sample, each summing to 1 so sizes compare."""
    ax.set_title(title)
    if not samples:
        return no_data(ax, "uniform replay, or no replay snapshot yet")
    low, high = min(v.min() for v in samples.values()), max(v.max() for v in samples.values())
    if high <= low * (1 + 1e-9):  # every value equal, as before the first priority update
        low, high = low / 1.5, high * 1.5
    bins = np.geomspace(low, high, 41)
    for label, values in samples.items():
        ax.hist(
            values,
            bins=bins,
            weights=np.full(len(values), 1 / len(values)),
            histtype="step",
            linewidth=1.5,
            label=label,
        )
    ax.set(xscale="log", xlabel=xlabel, ylabel="share of stored transitions (sampled)")
    ax.legend(fontsize="small")


def diagnostics_figure(live_dir: Path) -> Figure:
    """The training curves, then the PER priority and importance-weight distributions; missing data says so."""
    live_dir = Path(live_dir)
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    axes = fig.subplots(2, 4).ravel()
    plot_returns(axes[0], live_dir)
    for ax, (title, names) in zip(axes[1:], CURVES):
        plot_curve(ax, live_dir, title, names)
    shown = spread_out(read_snapshots(live_dir), SNAPSHOTS_SHOWN)
    snapshots = {f"step {s.step:,} (beta {s.beta:.2f})": s for s in shown}
    plot_distributions(
        axes[6],
        "PER priorities",
        "priority (|TD error| + eps)^alpha",
        {label: s.priorities for label, s in snapshots.items()},
    )
    plot_distributions(
        axes[7],
        "PER importance weights",
        "weight (p_min / p)^beta",
        {label: s.weights for label, s in snapshots.items()},
    )
    fig.suptitle(f"Training diagnostics: {live_dir}")
    return fig


def write_diagnostics(live_dir: Path, out: Path | None = None) -> Path:
    """Write the diagnostics figure of the run logged in `live_dir` as a PNG (default: `<live_dir>/diagnostics.png`)."""
    live_dir = Path(live_dir)
    if not live_dir.is_dir():
        found = "is a file" if live_dir.exists() else "does not exist"
        raise InputError(f"'{live_dir}' {found}: pass the folder a training run logged to (models/training)")
    out = Path(out) if out is not None else live_dir / "diagnostics.png"
    check_output(out, "diagnostics figure")
    fig = diagnostics_figure(live_dir)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    return out
