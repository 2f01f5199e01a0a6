"""Faults from outside the input: a full disk, a read-only folder, two runs into one folder, SIGKILL at a random moment.
Each ends in one line naming what went wrong (exit 1 for the machine, 2 for a path that cannot be written), leaves
what was there before, and the next run leaves nothing behind.

The disk and read-only cases mount a small tmpfs or a read-only bind mount of their own (root with CAP_SYS_ADMIN, as
in this project's sandbox and CI); where mounting is not allowed they are skipped and say why. Permission bits would
not do: root ignores them.
"""

from __future__ import annotations

import contextlib
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
from typer.testing import CliRunner

from pipeline.core.outputs import LOCK_NAME
from pipeline.data.reader import open_gameplay, verify_chunks
from stages.cli import app
from tests.data.synthetic import write_dataset
from tests.helpers import ROOT, tiny_params, write_params
from tests.project.world import snapshot

TEMPORARY = re.compile(r"^\..+\.(tmp|old)-\d+$")


def leftovers(folder: Path) -> list[str]:
    """Temporaries and locks anywhere under `folder`."""
    return sorted(str(p) for p in folder.rglob("*") if TEMPORARY.match(p.name) or p.name == LOCK_NAME)


@contextlib.contextmanager
def mounted(target: Path, *how: str, then: tuple[str, ...] = ()) -> Iterator[Path]:
    """`mount *how target` (and `mount *then target`), unmounted afterwards; the test is skipped where it cannot."""
    target.mkdir(parents=True, exist_ok=True)
    steps = [["mount", *how, str(target)]] + ([["mount", *then, str(target)]] if then else [])
    for i, step in enumerate(steps):
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            if i:
                subprocess.run(["umount", "-l", str(target)])
            pytest.skip(f"cannot {' '.join(step[:3])} here ({done.stderr.strip()}): needs root with CAP_SYS_ADMIN")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=True)


def small_disk(target: Path, size: str = "1m"):
    return mounted(target, "-t", "tmpfs", "-o", f"size={size}", "tmpfs")


def read_only(source: Path, target: Path):
    return mounted(target, "--bind", str(source), then=("-o", "remount,ro,bind"))


def fill(folder: Path) -> None:
    """Write one file until the file system is full."""
    with contextlib.suppress(OSError), open(folder / "filler", "wb", buffering=0) as f:
        while True:
            f.write(b"\0" * 4096)


def cli(*args: str | Path) -> tuple[int, list[str]]:
    """Run the command in this process; its exit code and stderr lines (asserting that no exception escaped)."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stderr.strip().splitlines()


def start(*args: str | Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "stages.cli", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_one_error(code: int, lines: list[str], expected_code: int, words: str) -> None:
    errors = [line for line in lines if line.startswith("Error:")]
    assert code == expected_code and len(errors) == 1 and words in errors[0], lines
    assert not any("Traceback" in line for line in lines), lines


# ---- a full disk -------------------------------------------------------------------------------------------------


def test_train_on_a_small_disk_stops_before_clearing_earlier_results(tmp_path):
    params = write_params(tmp_path / "params.yaml", tiny_params())
    with small_disk(tmp_path / "disk") as disk:
        (disk / "models/state/0123456789abcdef").mkdir(parents=True)
        (disk / "models/dqn.pt").write_bytes(b"an earlier model")
        (disk / "models/state/0123456789abcdef/step_0000000100.pt").write_bytes(b"an earlier checkpoint")
        before = snapshot(disk)
        code, lines = cli("train", "--params", params, "--out-dir", disk / "models")
        assert_one_error(code, lines, 1, "training needs about")
        assert len(lines) == 1 and snapshot(disk) == before


def test_split_on_a_full_disk_keeps_the_previous_index(tmp_path, template):
    with small_disk(tmp_path / "disk") as disk:
        shutil.copy(template / "data/gameplay.h5", disk)
        (disk / "splits.json").write_text("an earlier index")
        fill(disk)
        before = snapshot(disk)
        params = write_params(tmp_path / "params.yaml", tiny_params())
        code, lines = cli("split", "--params", params, "--dataset", disk / "gameplay.h5", "--out", disk / "splits.json")
        assert_one_error(code, lines, 1, f"'{disk / 'splits.json'}': No space left on device")
        assert len(lines) == 1 and snapshot(disk) == before


@pytest.mark.slow
def test_record_on_a_full_disk_fails_in_one_line_and_keeps_the_previous_dataset(tmp_path):
    small = write_params(tmp_path / "small.yaml", tiny_params(record={"episodes": 1, "percent_random": 100}))
    large = write_params(
        tmp_path / "large.yaml",
        tiny_params(record={"episodes": 3, "percent_random": 100, "max_episode_steps": 400, "png": True}),
    )
    with small_disk(tmp_path / "disk") as disk:
        code, _ = cli("record", "--params", small, "--out-dir", disk / "data")
        assert code == 0
        before = snapshot(disk)
        code, lines = cli("record", "--params", large, "--out-dir", disk / "data")
        assert_one_error(code, lines, 1, "No space left on device")
        assert snapshot(disk) == before


# ---- read-only folders ---------------------------------------------------------------------------------------------

READ_ONLY_RUNS = {
    "train": ["train", "--params", "{w}/params.yaml", "--out-dir", "{w}/models"],
    "evaluate": ["evaluate", "--params", "{w}/params.yaml", "--metrics", "{w}/metrics/eval.json"],
    "record": ["record", "--params", "{w}/params.yaml", "--out-dir", "{w}/data", "--checkpoint", "{w}/models/dqn.pt"],
    "split": ["split", "--params", "{w}/params.yaml", "--dataset", "{w}/data/gameplay.h5", "--out", "{w}/data/s.json"],
    "inspect": ["inspect", "{w}/data/gameplay.h5"],
    "plot": ["plot", "--live-dir", "{w}/models/training"],
}


@pytest.mark.parametrize("args", READ_ONLY_RUNS.values(), ids=READ_ONLY_RUNS.keys())
def test_a_read_only_folder_is_refused_before_anything_runs(tmp_path, template, args, monkeypatch):
    with read_only(template, tmp_path / "ro") as w:
        monkeypatch.chdir(w)
        before = snapshot(w)
        code, lines = cli(*(a.replace("{w}", str(w)) for a in args))
        assert_one_error(code, lines, 2, "Read-only file system")
        assert len(lines) == 1 and snapshot(w) == before


# ---- two runs at once --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_recordings_into_one_folder_one_stops_in_one_line(tmp_path):
    params = write_params(tmp_path / "params.yaml", tiny_params(record={"percent_random": 100}))
    runs = [start("record", "--params", params, "--out-dir", tmp_path / "data") for _ in range(2)]
    results = sorted((proc.wait(timeout=300), proc.stderr.read()) for proc in runs)
    (ok, _), (refused, message) = results
    assert ok == 0 and refused == 1, results
    assert message.strip().splitlines() == [
        f"Error: output folder '{tmp_path / 'data'}' is being written by another run (pid "
        + re.search(r"pid (\d+)", message)[1]
        + "); wait for it to end or stop it"
    ]
    with open_gameplay(tmp_path / "data/gameplay.h5") as f:
        verify_chunks(f, tmp_path / "data/gameplay.h5")
    assert leftovers(tmp_path) == []


# ---- SIGKILL at a random moment ------------------------------------------------------------------------------------

# command line, params changes, seconds after it has claimed its folder within which it is killed (within its run)
KILLED_RUNS = {
    # record holds its folder about 3 s on a quiet 2-core machine (longer under load), then takes 0.5 s to exit
    "record": (["record", "--out-dir", "{w}/data"], {"env": {"num_envs": 2}, "record": {"percent_random": 100}}, 1.5),
    "split": (["split", "--dataset", "{w}/data/gameplay.h5", "--out", "{w}/data/splits.json"], {}, 0.3),
    "train": (["train", "--out-dir", "{w}/models"], {"train": {"steps": 200, "checkpoint_interval": 20}}, 8.0),
}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("command", KILLED_RUNS)
def test_a_run_killed_at_a_random_moment_leaves_nothing_after_the_next_run(tmp_path, template, command, seed):
    args, changes, window = KILLED_RUNS[command]
    w = tmp_path / "w"
    shutil.copytree(template, w)
    if command == "split":  # a dataset that takes split a while to verify
        write_dataset(w / "data/gameplay.h5", [250] * 40, ["random", "trained"] * 20)
    params = write_params(w / "params.yaml", tiny_params(**changes))
    argv = [a.replace("{w}", str(w)) for a in args] + ["--params", str(params)]
    proc = start(*argv)
    while not list(w.glob(f"*/{LOCK_NAME}")):  # it has claimed its folder: it writes from now on
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.01)
    time.sleep(random.Random(seed).uniform(0.0, window))
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL, "it ended before it was killed: shorten the window"
    assert leftovers(w), "a killed run leaves at least its lock"
    time.sleep(0.5)  # workers notice that their parent is gone
    rerun = start(*argv)
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read()
    assert leftovers(w) == []
