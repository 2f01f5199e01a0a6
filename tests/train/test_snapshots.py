"""Policy snapshots at train.snapshot_steps: declared outputs that load as policies, written with the same bytes by a
run that was stopped and resumed, and a resume that would need a snapshot it never kept is refused."""

from __future__ import annotations

import signal

import pytest
import torch
from typer.testing import CliRunner

from pipeline.config.sources import snapshot_schedule
from pipeline.play.policies import load_policy
from stages.cli import app
from tests.helpers import tiny_params, write_params
from tests.train.test_resume import stopped_run, train


def load(path):
    return torch.load(path, weights_only=True)


def test_snapshots_are_kept_at_the_listed_steps_and_play(trained_dir):
    """tiny_params keeps snapshots at steps 100 and 200 of 300."""
    assert sorted(p.name for p in (trained_dir / "snapshots").iterdir()) == ["step_100.pt", "step_200.pt"]
    early, mid, final = (
        load(trained_dir / name) for name in ("snapshots/step_100.pt", "snapshots/step_200.pt", "dqn.pt")
    )
    assert (early["step"], mid["step"]) == (100, 200)
    assert set(early) >= {"params", "action_meanings", "agent"} and "optimizer" not in early["agent"]
    weights = [c["agent"]["online"]["head.2.weight"] for c in (early, mid, final)]
    assert not torch.equal(weights[0], weights[1]) and not torch.equal(weights[1], weights[2])  # it learnt between
    assert load_policy(trained_dir / "snapshots/step_100.pt").step == 100


def test_a_count_spreads_snapshots_evenly_with_halves_up():
    assert snapshot_schedule(3, 300) == (100, 200, 300)
    assert snapshot_schedule(4, 10) == (3, 5, 8, 10)  # 2.5 -> 3, 7.5 -> 8
    assert snapshot_schedule((5, 50), 100) == (5, 50)
    assert tiny_params(train={"snapshot_steps": 2}).train.snapshot_steps == 2


@pytest.mark.slow
def test_a_stopped_and_resumed_run_writes_the_same_snapshot_bytes(tmp_path):
    # stopped once the checkpoint at step 100 is on disk: one snapshot kept before it, two after
    train_params = {"steps": 300, "checkpoint_interval": 100, "snapshot_steps": [50, 150, 250], "n_step": 3}
    params = write_params(tmp_path / "params.yaml", tiny_params(train=train_params))
    done = train(params, tmp_path / "uninterrupted")
    assert done.returncode == 0, done.stderr
    assert stopped_run(params, tmp_path / "stopped", signal.SIGKILL) == -signal.SIGKILL
    resumed = train(params, tmp_path / "stopped", "--auto-resume")
    assert resumed.returncode == 0 and "exactly" in resumed.stderr, resumed.stderr
    for name in ("step_50.pt", "step_150.pt", "step_250.pt"):
        expected = (tmp_path / "uninterrupted/snapshots" / name).read_bytes()
        assert (tmp_path / "stopped/snapshots" / name).read_bytes() == expected, name


@pytest.mark.slow
def test_extending_a_run_whose_count_of_snapshots_moves_them_is_refused_before_anything_changes(tmp_path):
    """A count of 3 over 300 steps keeps 100, 200 and 300; extended to 400 it would need 133 and 267, which the run
    passed without a snapshot: --resume stops with one line and leaves the outputs alone."""
    out = tmp_path / "models"
    first = write_params(tmp_path / "params.yaml", tiny_params(train={"snapshot_steps": 3}))
    assert train(first, out).returncode == 0
    assert sorted(p.name for p in (out / "snapshots").iterdir()) == ["step_100.pt", "step_200.pt", "step_300.pt"]
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = CliRunner().invoke(
        app, ["train", "--params", str(first), "--out-dir", str(out), "--resume", "--steps", "400"]
    )
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "train.snapshot_steps" in line and "133, 267" in line, line
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
