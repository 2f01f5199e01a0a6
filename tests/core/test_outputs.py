"""Output folders: held by one run at a time, swept of what killed runs left, checked before anything is written."""

from __future__ import annotations

import os
import subprocess

import pytest

from pipeline.config.errors import EnvironmentFault, InputError
from pipeline.core.atomic import atomic_path, real_name, remove_stale_temporaries, scratch_folder
from pipeline.core.outputs import LOCK_NAME, check_free_space, check_output, claimed


def ended() -> int:
    """The pid of a process that has ended."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_held_folder_stops_a_second_claim_with_the_holders_pid(tmp_path):
    with claimed(tmp_path / "data", "output folder"):
        assert (tmp_path / "data" / LOCK_NAME).read_text().strip() == str(os.getpid())
        with pytest.raises(
            EnvironmentFault, match=rf"'{tmp_path / 'data'}' is being written by another run \(pid {os.getpid()}\)"
        ):
            with claimed(tmp_path / "data", "output folder"):
                pass
        assert (tmp_path / "data" / LOCK_NAME).exists(), "the refused claim must leave the holder's lock alone"
    assert not (tmp_path / "data").exists(), "a folder created for the claim and left empty goes again"


def test_a_lock_left_by_a_dead_run_is_taken_over_and_removed(tmp_path):
    (tmp_path / LOCK_NAME).write_text(f"{ended()}\n")
    (tmp_path / "kept.txt").write_text("an output")
    with claimed(tmp_path, "output folder"):
        assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]


def test_temporaries_of_dead_runs_are_swept_and_live_ones_kept(tmp_path):
    dead, alive = ended(), os.getppid()
    for name in (f".gameplay.h5.tmp-{dead}", f".splits.json.tmp-{dead}", f".videos.old-{dead}", f".x.tmp-{alive}"):
        (tmp_path / name).write_text("left behind")
    (tmp_path / f".shards.tmp-{dead}").mkdir()
    (tmp_path / f".shards.tmp-{dead}" / "episode_0.h5").write_text("a shard")
    (tmp_path / ".hidden.tmp-notapid").write_text("not ours")
    (tmp_path / "gameplay.h5").write_text("the output")
    removed = remove_stale_temporaries(tmp_path)
    assert len(removed) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden.tmp-notapid", f".x.tmp-{alive}", "gameplay.h5"]


def test_a_claim_sweeps_the_folder_and_the_subfolders_named(tmp_path):
    dead = ended()
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / f".step_0000000100.pt.tmp-{dead}").write_text("half a checkpoint")
    (tmp_path / f".dqn.pt.tmp-{dead}").write_text("half a model")
    with claimed(tmp_path, "output folder", inside=[tmp_path / "checkpoints"]):
        pass
    assert [p.name for p in tmp_path.rglob("*")] == ["checkpoints"]


def test_a_failed_rename_leaves_no_temporary(tmp_path):
    (tmp_path / "splits.json").mkdir()  # a folder where the file goes: the rename fails
    with pytest.raises(OSError):
        with atomic_path(tmp_path / "splits.json") as tmp:
            tmp.write_text("{}")
    assert [p.name for p in tmp_path.iterdir()] == ["splits.json"]


def test_a_scratch_folder_is_named_like_a_temporary_and_goes(tmp_path):
    with scratch_folder(tmp_path / "shards") as scratch:
        assert scratch.name == f".shards.tmp-{os.getpid()}" and scratch.is_dir()
        assert real_name(scratch) == tmp_path / "shards"
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "make, path, folder, message",
    [
        (lambda t: (t / "out").mkdir(), "out", False, "is a folder; it must be a file path"),
        (lambda t: (t / "out").write_text(""), "out", True, "is a file; it must be a folder"),
        (lambda t: (t / "f").write_text(""), "f/sub/out", False, "cannot be created: '{t}/f' is a file"),
        (lambda t: (t / "f").write_text(""), "f/sub", True, "cannot be created: '{t}/f' is a file"),
    ],
)
def test_outputs_of_the_wrong_kind_are_named(tmp_path, make, path, folder, message):
    make(tmp_path)
    with pytest.raises(InputError, match=message.format(t=tmp_path)):
        check_output(tmp_path / path, "output", folder=folder)


def test_room_is_checked_where_the_folder_would_be_created(tmp_path):
    check_free_space(tmp_path / "new" / "deeper", 1, "a run")
    with pytest.raises(EnvironmentFault, match=r"a run needs about .* MiB in '.*deeper' but .* MiB is free"):
        check_free_space(tmp_path / "new" / "deeper", 2**62, "a run")
