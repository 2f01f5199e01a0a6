"""Exact resume: a run stopped anywhere (SIGINT, SIGTERM or SIGKILL) and resumed as `dvc repro` resumes it ends with
the very bytes of an uninterrupted run, with one environment and with several; a damaged newest checkpoint is
passed over; a replay buffer larger than memory is refused before anything is touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.config.params import load_params
from stages.cli import app
from tests.helpers import run_state, tiny_params, write_params

PIPELINE = str(Path(sys.executable).with_name("pipeline"))


def resumable_params(tmp_path: Path, num_envs: int) -> Path:
    """Long enough to be stopped in the middle, with n-step returns and PER so every part of the state matters."""
    train = {"steps": 480, "checkpoint_interval": 120, "eval_interval": 240, "n_step": 3, "keep_checkpoints": 2}
    return write_params(tmp_path / "params.yaml", tiny_params(env={"num_envs": num_envs}, train=train))


def train(params: Path, out: Path, *flags: str) -> subprocess.CompletedProcess:
    command = [PIPELINE, "train", "--params", str(params), "--out-dir", str(out), *flags]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def stopped_run(params: Path, out: Path, signum: int) -> int:
    """Start a run and send `signum` to its process group once its first checkpoint is on disk; its exit code."""
    command = [PIPELINE, "train", "--params", str(params), "--out-dir", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    state, deadline = run_state(out, load_params(params)), time.monotonic() + 300
    while not state.checkpoints() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signum)
    try:
        process.communicate(timeout=300)
    finally:
        process.kill()
    return process.returncode


@pytest.mark.slow
@pytest.mark.parametrize("num_envs", [1, 3])
def test_a_run_stopped_anywhere_and_resumed_ends_with_the_same_bytes(tmp_path, num_envs):
    params = resumable_params(tmp_path, num_envs)
    done = train(params, tmp_path / "uninterrupted")
    assert done.returncode == 0, done.stderr
    expected = {name: (tmp_path / "uninterrupted" / name).read_bytes() for name in ("dqn.pt", "best.pt")}
    for signum, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -signal.SIGKILL)):
        out = tmp_path / signal.Signals(signum).name
        assert stopped_run(params, out, signum) == code
        resumed = train(params, out, "--auto-resume")  # what `dvc repro` runs
        assert resumed.returncode == 0, resumed.stderr
        assert "exactly" in resumed.stderr, resumed.stderr
        for name, content in expected.items():
            assert (out / name).read_bytes() == content, f"{name} after {signal.Signals(signum).name}"


@pytest.mark.slow
def test_a_damaged_newest_checkpoint_is_passed_over_for_the_one_before(trained_dir, tmp_path):
    import shutil

    out = tmp_path / "models"
    shutil.copytree(trained_dir, out)
    state = run_state(out, tiny_params())
    state.checkpoints()[-1].write_bytes(b"")  # as a full disk or a crash might leave it
    params = write_params(tmp_path / "params.yaml", tiny_params(train={"steps": 400}))
    result = CliRunner().invoke(app, ["train", "--params", str(params), "--out-dir", str(out), "--resume"])
    assert result.exit_code == 0, result.output
    assert "Skipping" in result.stderr and "Resuming from step 200 " in result.stderr
    assert "approximately" in result.stderr  # only the newest checkpoint's replay buffer is kept


def test_a_replay_buffer_larger_than_memory_is_refused_before_anything_changes(tmp_path):
    out = tmp_path / "models"
    out.mkdir()
    (out / "dqn.pt").write_bytes(b"an earlier model")
    params = write_params(tmp_path / "params.yaml", tiny_params())
    result = CliRunner().invoke(
        app, ["train", "--params", str(params), "--out-dir", str(out), "--capacity", str(10**11)]
    )
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "train.capacity = 100,000,000,000" in line and "GiB" in line, line
    assert [p.name for p in out.iterdir()] == ["dqn.pt"] and (out / "dqn.pt").read_bytes() == b"an earlier model"
