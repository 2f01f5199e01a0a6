"""Where the stages write by default: the one declaration of the project's output paths.

The stage commands take their default paths from here, and a test checks dvc.yaml's outs, metrics and plots
against these, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SPLITS_NAME = "splits.json"  # beside the dataset it splits
CARD_NAME = "DATASET.md"  # the dataset card, beside the dataset it describes


def snapshot_name(step: int) -> str:
    """The file name of the policy snapshot kept at training step `step` (train.snapshot_steps)."""
    return f"step_{step}.pt"


@dataclass(frozen=True)
class TrainLayout:
    """A training run's outputs under one folder."""

    root: Path = Path("models")

    @property
    def model(self) -> Path:
        """The final model, the one evaluate and record use by default."""
        return self.root / "dqn.pt"

    @property
    def best(self) -> Path:
        """The network that scored best in the evaluations during training (the final one included)."""
        return self.root / "best.pt"

    @property
    def live(self) -> Path:
        """DVCLive curves, replay snapshots and the diagnostics figure of the finished run."""
        return self.root / "training"

    @property
    def snapshots(self) -> Path:
        """The policy snapshots at train.snapshot_steps, step_<N>.pt, that record.sources play (policy: snapshot)."""
        return self.root / "snapshots"

    def snapshot(self, step: int) -> Path:
        return self.snapshots / snapshot_name(step)

    @property
    def states(self) -> Path:
        """Resumable state (checkpoints, replay buffer, curves so far), one folder per run: no output of the
        pipeline, see pipeline.train.resume."""
        return self.root / "state"


@dataclass(frozen=True)
class EvalLayout:
    """What an evaluation writes."""

    metrics: Path = Path("metrics/eval.json")
    episodes: Path = Path("metrics/eval_episodes.csv")
    plot: Path = Path("plots/eval_scores.png")


@dataclass(frozen=True)
class RecordLayout:
    """A recording's outputs under one folder, and its metrics in a sibling folder."""

    root: Path = Path("data")

    @property
    def metrics(self) -> Path:
        """Quality and diversity per source (DVC metrics): metrics/dataset.json beside data/."""
        return self.root.parent / "metrics" / "dataset.json"

    @property
    def dataset(self) -> Path:
        return self.root / "gameplay.h5"

    @property
    def videos(self) -> Path:
        return self.root / "videos"

    @property
    def frames(self) -> Path:
        """The PNG export, written only with record.png."""
        return self.root / "frames"

    @property
    def card(self) -> Path:
        """The dataset card record writes beside the dataset (`pipeline split` updates its splits section)."""
        return self.root / CARD_NAME

    @property
    def splits(self) -> Path:
        """The split index `pipeline split` writes beside the dataset, and the loader reads from there."""
        return self.root / SPLITS_NAME
