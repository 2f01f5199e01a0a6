"""dvc.yaml and the stage commands agree on every output path: both come from pipeline.config.layout."""

from __future__ import annotations

import yaml

from pipeline.config.layout import EvalLayout, RecordLayout, TrainLayout
from tests.helpers import ROOT

TRAIN, EVAL, RECORD = TrainLayout(), EvalLayout(), RecordLayout()
# stage: (data it reads, what it writes as outs, metrics or plots)
EXPECTED = {
    "train": (set(), {TRAIN.model, TRAIN.best, TRAIN.live, TRAIN.snapshots}),
    "evaluate": ({TRAIN.model, TRAIN.best}, {EVAL.metrics, EVAL.episodes, EVAL.plot}),
    "record": (
        {TRAIN.model, TRAIN.best, TRAIN.snapshots},
        {RECORD.dataset, RECORD.card, RECORD.videos, RECORD.metrics},
    ),
    "split": ({RECORD.dataset}, {RECORD.splits}),
}


def paths(entries: list) -> set[str]:
    """The paths of a dvc.yaml list, whose entries are a path or a {path: options} mapping."""
    return {next(iter(e)) if isinstance(e, dict) else e for e in entries or []}


def test_each_stage_reads_and_writes_the_declared_paths():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert set(stages) == set(EXPECTED)
    for name, (reads, writes) in EXPECTED.items():
        stage = stages[name]
        data_deps = {d for d in stage["deps"] if not d.endswith(".py")}
        written = paths(stage.get("outs")) | paths(stage.get("metrics")) | paths(stage.get("plots"))
        assert data_deps == {p.as_posix() for p in reads}, name
        assert written == {p.as_posix() for p in writes}, name


def test_top_level_plots_and_metrics_point_into_declared_outputs():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    declared = [TRAIN.live, EVAL.episodes]
    for entry in paths(dvc["metrics"]) | {p for p in paths(dvc["plots"]) if "/" in p}:
        assert any(entry == d.as_posix() or entry.startswith(d.as_posix() + "/") for d in declared), entry
    for entry in dvc["plots"]:
        if isinstance(entry, dict) and "y" in next(iter(entry.values())):
            assert set(next(iter(entry.values()))["y"]) <= {EVAL.episodes.as_posix()}
