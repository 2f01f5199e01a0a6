"""`pipeline inspect` on a real recording: the summary's numbers, the terminal report, the contact sheet, bad input."""

from __future__ import annotations

from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.data.inspection import CAPTION_HEIGHT, GAP, summarise
from pipeline.data.schema import FRAME_SHAPE
from stages.cli import app
from tests.helpers import tiny_params, write_params


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, tiny_checkpoint) -> Path:
    """4 episodes (2 random, 2 trained) of at most 30 steps, split 2/2, through the CLI as a user would."""
    root = tmp_path_factory.mktemp("inspect")
    params = write_params(
        root / "params.yaml", tiny_params(record={"episodes": 4, "percent_random": 50, "max_episode_steps": 30})
    )
    for args in (
        ["record", "--checkpoint", str(tiny_checkpoint), "--out-dir", str(root / "data")],
        ["split", "--dataset", str(root / "data/gameplay.h5"), "--out", str(root / "data/splits.json")],
    ):
        result = CliRunner().invoke(app, [*args, "--params", str(params)])
        assert result.exit_code == 0, result.output
    return root / "data/gameplay.h5"


def test_summary_counts_match_the_file(recorded):
    s = summarise(recorded)
    assert "splits from" in s.split_note
    assert sorted((g.split, g.agent, g.episodes) for g in s.groups) == [
        ("train", "random", 1),
        ("train", "trained", 1),
        ("val", "random", 1),
        ("val", "trained", 1),
    ]
    with h5py.File(recorded) as f:
        assert sum(g.frames for g in s.groups) == len(f["frames"])
        assert sum(g.steps for g in s.groups) == (f["actions"][:] >= 0).sum()
        assert sorted(np.concatenate([g.returns for g in s.groups])) == sorted(f["episodes/return"][:])
    assert sum(c.sum() for c in s.action_counts.values()) == sum(g.steps for g in s.groups)
    frames = next(x for x in s.storage if x.name == "frames")
    assert frames.raw == sum(g.frames for g in s.groups) * np.prod(FRAME_SHAPE) and frames.raw > 5 * frames.stored


def test_inspect_prints_the_report_and_writes_the_contact_sheet(recorded, tmp_path):
    sheet = tmp_path / "sheet.png"
    result = CliRunner().invoke(app, ["inspect", str(recorded), "--contact-sheet", str(sheet), "--samples", "5"])
    assert result.exit_code == 0, result.output
    for text in (
        "Episodes and returns",
        "train",
        "val",
        "random",
        "dqn.pt",  # the trained source, named by its checkpoint
        "Actions taken",
        "Quality and diversity",
        "FIRE",
        "Storage",
        "ratio",
        f"Contact sheet: {sheet}",
        "Diversity figure: ",
    ):
        assert text in result.stdout, text
    image = cv2.imread(str(sheet))
    assert image.shape == (FRAME_SHAPE[0] + CAPTION_HEIGHT, 5 * (FRAME_SHAPE[1] + GAP) - GAP, 3)


def test_inspect_without_a_split_index_reports_all_episodes(recorded, tmp_path):
    lone = tmp_path / "gameplay.h5"
    lone.write_bytes(recorded.read_bytes())
    result = CliRunner().invoke(app, ["inspect", str(lone), "--samples", "2"])
    assert result.exit_code == 0, result.output
    assert "no split index" in result.stdout and (tmp_path / "gameplay_contact_sheet.png").is_file()
    assert {g.split for g in summarise(lone).groups} == {"all"}


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.h5", "does not exist; run `pipeline record` first"),
        (lambda d: (d / "junk.h5").write_bytes(b"junk") and d / "junk.h5", "is not a readable HDF5 file"),
    ],
)
def test_bad_paths_exit_2_with_one_line(tmp_path, make, message):
    result = CliRunner().invoke(app, ["inspect", str(make(tmp_path))])
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_explicit_stale_split_index_is_an_error(recorded, tmp_path):
    other = tmp_path / "gameplay.h5"
    other.write_bytes(recorded.read_bytes() + b"\0")
    result = CliRunner().invoke(app, ["inspect", str(other), "--splits", str(recorded.with_name("splits.json"))])
    assert result.exit_code == 2 and "made for another version" in result.stderr, result.output
