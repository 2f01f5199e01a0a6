"""The real DVC pipeline, end to end, in a temporary copy of the repository on tiny params."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
import torch

from pipeline.data.schema import FORMAT_VERSION
from tests.helpers import ROOT as REPO
from tests.helpers import tiny_params, write_params

pytestmark = pytest.mark.slow  # every test here trains, records or runs a subprocess

BIN = Path(sys.executable).parent
# random play and two skill levels: the snapshot at step 100 of the 300 and the best network; two random episodes, so
# that split has a source to hold one out from
SOURCES = [
    {"name": "random", "policy": "random", "share": 50},
    {"name": "early", "policy": "snapshot", "step": 100, "share": 25},
    {"name": "best", "policy": "best", "share": 25},
]
EPISODES = 4


def pipeline_params(**record):
    return tiny_params(record={"sources": SOURCES, "agent_outputs": True, "episodes": EPISODES, **record})


def run(cmd: list[str], cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def ran_stages(output: str) -> set[str]:
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")}


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    """The tracked files of this repository in a fresh git repo, with tiny params."""
    dest = tmp_path_factory.mktemp("repo")
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, tracked):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    write_params(dest / "params.yaml", pipeline_params())
    for cmd in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"],
    ):
        run(cmd, dest)
    return dest


def test_repro_builds_every_output_then_has_nothing_to_do(repo_copy):
    first = run(["dvc", "repro"], repo_copy)
    assert ran_stages(first) == {"train", "evaluate", "record", "split"}

    assert torch.load(repo_copy / "models/dqn.pt", weights_only=True)["complete"] is True
    assert list((repo_copy / "models/state").glob("*/step_*.pt"))  # the resumable state, no output
    assert (repo_copy / "models/training/plots/metrics/train/loss.tsv").is_file()
    metrics = json.loads((repo_copy / "metrics/eval.json").read_text())
    assert {"trained", "random"} <= set(metrics)
    with h5py.File(repo_copy / "data/gameplay.h5") as f:
        assert f.attrs["format_version"] == FORMAT_VERSION
        assert len(f["episodes/id"]) == EPISODES
        assert len(f["frames"]) == int(f["episodes/length"][:].sum()) + len(f["episodes/id"])
        assert f["episodes/source"][:].astype(str).tolist() == ["random", "random", "early", "best"]
        assert f["episodes/checkpoint_step"][2] == 100 and f["features"].shape[1] == 512
    assert sorted(p.name for p in (repo_copy / "models/snapshots").iterdir()) == ["step_100.pt", "step_200.pt"]
    dataset_metrics = json.loads((repo_copy / "metrics/dataset.json").read_text())
    assert list(dataset_metrics["sources"]) == ["random", "early", "best"]
    assert len(list((repo_copy / "data/videos").glob("*.mp4"))) == EPISODES
    splits = json.loads((repo_copy / "data/splits.json").read_text())
    assert splits["splits"]["train"] and splits["splits"]["val"]

    assert "up to date" in run(["dvc", "status"], repo_copy).lower()
    assert ran_stages(run(["dvc", "repro"], repo_copy)) == set()


def test_changing_a_record_param_reruns_only_record_and_split(repo_copy):
    run(["dvc", "repro"], repo_copy)
    write_params(repo_copy / "params.yaml", pipeline_params(episodes=EPISODES + 1))
    assert ran_stages(run(["dvc", "repro"], repo_copy)) == {"record", "split"}


def test_switching_experiments_back_and_forth_never_retrains(repo_copy):
    """The README's experiment workflow, then switching between the experiments with `dvc exp apply` and with
    git checkout + dvc checkout: `dvc repro` runs nothing each time (the resumable state is no output)."""
    run(["dvc", "repro"], repo_copy)
    run(["git", "add", "-A"], repo_copy)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "baseline"], repo_copy)
    run(["dvc", "exp", "run", "-n", "per"], repo_copy)
    run(["dvc", "exp", "run", "-n", "uniform", "-S", "train.replay=uniform"], repo_copy)
    for name in ("per", "uniform", "per"):
        run(["dvc", "exp", "apply", name], repo_copy)
        assert ran_stages(run(["dvc", "repro"], repo_copy)) == set(), name
    run(["dvc", "exp", "branch", "uniform", "uniform-branch"], repo_copy)
    run(["git", "checkout", "-q", "uniform-branch"], repo_copy)
    run(["dvc", "checkout"], repo_copy)
    assert ran_stages(run(["dvc", "repro"], repo_copy)) == set()
    assert "up to date" in run(["dvc", "status"], repo_copy).lower()
