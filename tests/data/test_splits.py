"""`pipeline split`: whole episodes, disjoint and complete, deterministic for a seed, stratified by agent kind."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.config.errors import InputError
from pipeline.data.reader import open_gameplay, read_episodes
from pipeline.data.schema import FRAME_SHAPE, Row
from pipeline.data.splits import held_out_count, split_episodes
from pipeline.data.writer import GameplayWriter
from stages.cli import app
from tests.helpers import tiny_params, write_params


def write_dataset(path: Path, kinds: list[str]) -> Path:
    """A real gameplay file whose episode k is played by kinds[k] and lasts k % 3 + 1 steps (blank screens)."""
    with GameplayWriter(path, screen_size=84, compression="lzf", attrs={"env_id": "ALE/Breakout-v5"}) as writer:
        for k, kind in enumerate(kinds):
            steps = k % 3 + 1
            for t in range(steps + 1):
                last = t == steps
                writer.add(
                    Row(
                        frames=np.full(FRAME_SHAPE, k, np.uint8),
                        observations=np.zeros((84, 84), np.uint8),
                        actions=-1 if last else 0,
                        rewards=0.0 if last else 1.0,
                        terminated=t == steps - 1,
                        truncated=False,
                        lives=3,
                    )
                )
            writer.end_episode(
                id=k,
                agent=kind,
                seed=k,
                checkpoint_hash="" if kind == "random" else "ab" * 32,
                source=kind,
                source_episode=k,
                checkpoint_step=-1 if kind == "random" else 100,
                exploration="epsilon",
                exploration_value=1.0 if kind == "random" else 0.01,
            )
    return path


def split(tmp: Path, dataset: Path, *flags: str):
    params = write_params(tmp / "params.yaml", tiny_params())
    return CliRunner().invoke(
        app, ["split", "--params", str(params), "--dataset", str(dataset), "--out", str(tmp / "splits.json"), *flags]
    )


KINDS = ["random"] * 12 + ["trained"] * 28


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("split") / "gameplay.h5", KINDS)


def test_split_index_is_complete_disjoint_and_stratified(tmp_path, dataset):
    result = split(tmp_path, dataset, "--val-fraction", "0.25", "--seed", "7")
    assert result.exit_code == 0, result.output
    index = json.loads((tmp_path / "splits.json").read_text())
    train, val = index["splits"]["train"], index["splits"]["val"]
    assert sorted(train + val) == list(range(len(KINDS))) and not set(train) & set(val)
    assert (index["format_version"], index["seed"], index["val_fraction"]) == (1, 7, 0.25)
    assert index["dataset"] == dataset.as_posix()
    assert index["dataset_sha256"] == hashlib.sha256(dataset.read_bytes()).hexdigest()
    assert index["counts"] == {"train": {"random": 9, "trained": 21}, "val": {"random": 3, "trained": 7}}
    assert [KINDS[i] for i in val].count("random") == 3
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries left behind


def test_split_takes_whole_episodes(tmp_path, dataset):
    """The rows of each split's episodes tile the file without overlap: no episode is cut between splits."""
    assert split(tmp_path, dataset).exit_code == 0
    index = json.loads((tmp_path / "splits.json").read_text())
    with open_gameplay(dataset) as f:
        table, rows = read_episodes(f), len(f["actions"])
    owner = np.full(rows, "", dtype=object)
    for name, ids in index["splits"].items():
        for i in ids:
            start, length = table["first_row"][i], table["length"][i]
            assert (owner[start : start + length + 1] == "").all()
            owner[start : start + length + 1] = name
    assert (owner != "").all()


def test_same_seed_same_split_other_seed_other_split():
    ids = list(range(len(KINDS)))
    first = split_episodes(ids, KINDS, 0.1, seed=0)
    assert split_episodes(ids, KINDS, 0.1, seed=0) == first
    assert split_episodes(ids, KINDS, 0.1, seed=1) != first
    order = np.random.default_rng(3).permutation(len(ids))  # the table's row order does not matter
    assert split_episodes([ids[i] for i in order], [KINDS[i] for i in order], 0.1, seed=0) == first


def test_more_episodes_of_one_kind_leave_the_other_kinds_choice_alone():
    before = split_episodes(list(range(len(KINDS))), KINDS, 0.1, seed=0)
    kinds = KINDS + ["random"] * 5
    after = split_episodes(list(range(len(kinds))), kinds, 0.1, seed=0)
    assert [i for i in after["val"] if kinds[i] == "trained"] == [i for i in before["val"] if KINDS[i] == "trained"]


def test_both_kinds_in_both_splits_when_each_has_two_episodes():
    kinds = ["random", "random", "trained", "trained", "trained"]
    splits = split_episodes(list(range(5)), kinds, 0.1, seed=0)
    for ids in splits.values():
        assert {kinds[i] for i in ids} == {"random", "trained"}


@pytest.mark.parametrize(
    "n, fraction, held",
    [
        (10, 0.1, 1),
        (20, 0.1, 2),
        (15, 0.1, 2),
        (25, 0.1, 3),  # halves round up
        (5, 0.1, 1),  # at least one, so the kind is in val
        (2, 0.9, 1),  # at most n - 1, so the kind stays in train
        (1, 0.5, 0),  # a single episode stays in train
    ],
)
def test_rounding_rule(n, fraction, held):
    assert held_out_count(n, fraction) == held


def test_too_few_episodes_to_hold_any_out():
    with pytest.raises(InputError, match="at least 2 episodes"):
        split_episodes([0, 1], ["random", "trained"], 0.5, seed=0)


@pytest.mark.parametrize("fraction", ["0", "1", "1.5", "-0.1"])
def test_bad_val_fraction_is_refused(tmp_path, dataset, fraction):
    result = split(tmp_path, dataset, "--val-fraction", fraction)
    assert result.exit_code == 2 and "split.val_fraction" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "splits.json").exists()


def test_missing_or_foreign_dataset_is_refused(tmp_path):
    foreign = tmp_path / "notes.h5"
    foreign.write_text("not hdf5")
    for path in (tmp_path / "missing.h5", foreign):
        result = split(tmp_path, path)
        assert result.exit_code == 2 and path.name in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
