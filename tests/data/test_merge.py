"""`pipeline merge` on real gameplay files: shards in any order give the arrays of one file; a gap, an overlap,
shards of other recordings or other storage, and an output that exists (or not, with --append) are refused with one
line, leaving nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.data.reader import read_episodes
from stages.cli import app
from tests.data.synthetic import AGENTS, LENGTHS, attributes, write_dataset
from tests.helpers import assert_same_contents, file_contents


def shard(folder: Path, first: int, count: int, **kwargs) -> Path:
    """Episodes first .. first + count - 1 of the synthetic recording."""
    path = folder / f"shard_{first}.h5"
    return write_dataset(path, LENGTHS[first : first + count], AGENTS[first : first + count], first_id=first, **kwargs)


def merge(*args: str):
    return CliRunner().invoke(app, ["merge", *args])


def test_shards_in_any_order_merge_into_the_arrays_of_one_file(tmp_path):
    whole = write_dataset(tmp_path / "whole.h5")
    parts = [shard(tmp_path, 3, 2), shard(tmp_path, 0, 2), shard(tmp_path, 2, 1)]
    result = merge(*map(str, parts), "--out", str(tmp_path / "out/merged.h5"))
    assert result.exit_code == 0, result.output
    assert_same_contents(tmp_path / "out/merged.h5", whole)
    assert "5 episodes" in (tmp_path / "out/DATASET.md").read_text()


def test_append_adds_the_episodes_that_follow(tmp_path):
    out = tmp_path / "gameplay.h5"
    assert merge(str(shard(tmp_path, 0, 3)), "--out", str(out)).exit_code == 0
    result = merge(str(shard(tmp_path, 3, 2)), "--out", str(out), "--append")
    assert result.exit_code == 0, result.output
    with h5py.File(out) as f:
        assert read_episodes(f)["id"].tolist() == [0, 1, 2, 3, 4]
        assert np.array_equal(f["frames"][:], file_contents(write_dataset(tmp_path / "whole.h5"))["frames"])


def other_params() -> dict:
    attrs = dict(attributes())
    params = json.loads(attrs["params"])
    params["seed"] = 5
    return {**attrs, "params": json.dumps(params, sort_keys=True)}


@pytest.mark.parametrize(
    "make, flags, says",
    [
        (lambda d: [shard(d, 0, 2), shard(d, 3, 2)], [], "episodes 2 .. 2 are missing between"),
        (lambda d: [shard(d, 0, 3), shard(d, 2, 3)], [], "(episodes 2 .. 4) overlaps"),
        (lambda d: [shard(d, 0, 2), shard(d, 2, 3, attrs=other_params())], [], "their params differ"),
        (lambda d: [shard(d, 0, 2), shard(d, 2, 3, compression="lzf")], [], "is stored otherwise"),
        (lambda d: [shard(d, 0, 2)], ["--append"], "--append: "),
        (lambda d: [shard(d, 2, 3)], ["--append", "existing"], "(episodes 2 .. 4) overlaps"),  # it holds 0 .. 4
        (lambda d: [shard(d, 3, 2, attrs=other_params())], ["--append", "existing"], "is not the one the recording"),
        (lambda d: [d / "missing.h5"], [], "dataset '"),
    ],
    ids=[
        "gap",
        "overlap",
        "other params",
        "other storage",
        "append to nothing",
        "append overlapping",
        "append another recording",
        "no file",
    ],
)
def test_bad_merges_exit_2_with_one_line_and_write_nothing(tmp_path, make, flags, says):
    out = tmp_path / "out" / "merged.h5"
    if "existing" in flags:
        flags.remove("existing")
        out.parent.mkdir()
        write_dataset(out, LENGTHS[:3], AGENTS[:3]) if "recording" in says else write_dataset(out)
    before = out.read_bytes() if out.exists() else None
    result = merge(*map(str, make(tmp_path)), "--out", str(out), *flags)
    assert result.exit_code == 2, result.output
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert (out.read_bytes() if out.exists() else None) == before
    assert not (out.parent / "DATASET.md").exists()


def test_an_existing_output_needs_append(tmp_path):
    out = write_dataset(tmp_path / "gameplay.h5")
    result = merge(str(shard(tmp_path, 0, 2)), "--out", str(out))
    assert result.exit_code == 2 and "exists: pass --append" in result.stderr, result.output
