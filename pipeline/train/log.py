"""What a training run reports: DVCLive curves (one TSV per metric, x = agent step), PER replay snapshots and a rich
progress bar."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from dvclive import Live
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from pipeline.core.atomic import atomic_path

SNAPSHOT_SIZE = 20_000  # priorities kept per replay snapshot: enough for a histogram, small beside the curves


def snapshot_path(live_dir: Path, step: int) -> Path:
    return Path(live_dir) / "snapshots" / f"step_{step:010d}.npz"


def truncate_history(live_dir: Path, after_step: int, eval_from: int | None = None) -> None:
    """Drop rows logged after `after_step` (by a run that was interrupted past its last checkpoint), and evaluations
    from `eval_from` on (those the checkpoint had sent but not heard back from: the resumed run plays them again)."""
    metrics = Path(live_dir) / "plots" / "metrics"
    for tsv in metrics.glob("**/*.tsv"):
        with open(tsv, newline="") as f:
            rows = list(csv.reader(f, delimiter="\t"))
        if not rows:
            continue
        step_col = rows[0].index("step")
        last = after_step
        if eval_from is not None and tsv.relative_to(metrics).parts[0] == "eval":
            last = min(last, eval_from - 1)
        kept = [rows[0]] + [r for r in rows[1:] if int(r[step_col]) <= last]
        with open(tsv, "w", newline="") as f:
            csv.writer(f, delimiter="\t", lineterminator="\n").writerows(kept)
    for snapshot in snapshot_path(live_dir, 0).parent.glob("step_*.npz"):
        if int(snapshot.stem[len("step_") :]) > after_step:
            snapshot.unlink()


class TrainingLog:
    """Metrics under `live_dir` for `dvc plots`; names are the same for every replay mode so experiments compare."""

    def __init__(self, live_dir: Path, resume_step: int | None, eval_from: int | None = None):
        if resume_step is not None:
            truncate_history(live_dir, resume_step, eval_from)
        self.live_dir = Path(live_dir)
        self.live = Live(str(live_dir), resume=resume_step is not None, save_dvc_exp=False, dvcyaml=None)

    def log(self, step: int, metrics: dict[str, float]) -> None:
        self.live.step = step
        for name, value in metrics.items():
            self.live.log_metric(name, float(value))

    def log_replay_snapshot(self, step: int, priorities: np.ndarray, beta: float) -> None:
        """A seeded subsample of the PER priorities with beta, from which the diagnostics figure draws the priority and
        importance-weight distributions. The buffer's smallest priority is kept too: the weights are relative to it."""
        kept = priorities
        if len(priorities) > SNAPSHOT_SIZE:
            kept = np.random.default_rng(step).choice(priorities, SNAPSHOT_SIZE, replace=False)
        with atomic_path(snapshot_path(self.live_dir, step)) as tmp, open(tmp, "wb") as f:
            np.savez(f, priorities=kept, beta=float(beta), min_priority=float(priorities.min()))

    def close(self) -> None:
        self.live.make_summary()


def training_progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]train"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>7.1f} steps/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("return {task.fields[last_return]}  {task.fields[schedule]}  {task.fields[evaluation]}"),
        console=console,
        refresh_per_second=4,
    )
