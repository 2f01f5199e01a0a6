"""Real short training runs on ALE games: checkpoints, flags, resumption and interruption."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from pipeline.config.params import EnvParams, TrainParams, field_docs, load_params, params_from_dict, params_to_dict
from pipeline.rl.networks import QNetwork
from pipeline.rl.schedules import beta_at, epsilon_at
from stages.cli import app
from tests.helpers import run_state, tiny_params, write_params

pytestmark = pytest.mark.slow  # every test here trains, records or runs a subprocess

VERSIONS = {"pipeline", "torch", "gymnasium", "ale_py", "numpy"}


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def adam_steps(checkpoint: dict) -> int:
    """Gradient steps taken so far, as Adam counts them."""
    return int(checkpoint["agent"]["optimizer"]["state"][0]["step"])


def train_cli(params: Path, out: Path, *flags: str):
    return CliRunner().invoke(app, ["train", "--params", str(params), "--out-dir", str(out), *flags])


def logged_steps(out: Path, metric: str) -> list[int]:
    with open(out / "training" / "plots" / "metrics" / f"{metric}.tsv", newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f, delimiter="\t")]


def test_a_short_run_writes_periodic_and_final_checkpoints_that_load_weights_only(trained_dir):
    """300 Breakout steps, a checkpoint every 100: learning from step 100 every 4 steps is 51 Adam steps."""
    state = run_state(trained_dir, tiny_params())
    periodic = state.checkpoints()
    assert [p.name for p in periodic] == [f"step_{s:010d}.pt" for s in (100, 200, 300)]
    assert [adam_steps(load(p)) for p in periodic] == [1, 26, 51]
    assert sorted(p.name for p in state.folder.glob("replay_*")) == ["replay_0000000300.h5"]  # the newest's only
    final = load(trained_dir / "dqn.pt")
    assert final["complete"] is True and final["step"] == 300
    assert final["params"] == params_to_dict(tiny_params())
    assert set(final["versions"]) == VERSIONS
    assert set(final["rng"]) == {"act", "replay", "torch"}
    assert final["env_id"] == "ALE/Breakout-v5" and len(final["action_meanings"]) == 4
    for name in ("online", "target"):
        QNetwork(4, 4).load_state_dict(final["agent"][name])  # strict: every weight of the real network
    assert adam_steps(final) == 51
    assert logged_steps(trained_dir, "train/loss") == [100, 200, 300]


def test_extending_a_finished_run_continues_from_its_final_state(trained_dir, tmp_path):
    """From the finished run's step 300 to 420: its replay buffer and episodes come back, so learning goes on at
    once (an update every 4 steps: Adam's count goes from 51 to 81); beta and epsilon follow the new length."""
    out = tmp_path / "models"
    shutil.copytree(trained_dir, out)
    result = train_cli(write_params(tmp_path / "params.yaml", tiny_params()), out, "--resume", "--steps", "420")
    assert result.exit_code == 0, result.output
    assert "Resuming from step 300 " in result.stderr and "exactly" in result.stderr
    final = load(out / "dqn.pt")
    assert final["step"] == 420 and adam_steps(final) == 51 + 30  # steps 304, 308, ..., 420
    at_400 = load(run_state(out, tiny_params()).checkpoint(400))
    t = tiny_params().train
    assert at_400["beta"] == pytest.approx(beta_at(400, t.beta0, 420, t.learning_starts))
    assert at_400["exploration"]["epsilon"] == pytest.approx(
        epsilon_at(400, t.epsilon_start, t.epsilon_end, t.epsilon_decay_steps, t.epsilon_decay)
    )
    assert logged_steps(out, "train/epsilon") == [100, 200, 300, 400]  # no step logged twice


def test_resume_refuses_a_checkpoint_trained_with_other_params(trained_dir, tmp_path):
    out = tmp_path / "models"
    shutil.copytree(trained_dir, out)
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    result = train_cli(write_params(tmp_path / "params.yaml", tiny_params()), out, "--resume", "--gamma", "0.9")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "train.gamma" in result.stderr
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before
    empty = train_cli(tmp_path / "params.yaml", tmp_path / "nothing", "--resume")
    assert empty.exit_code == 2 and "no checkpoint" in empty.stderr


# a value for every env and train key, each different from the tiny params.yaml, chosen for a fast run
FLAG_VALUES = {
    "game": "MsPacman",
    "frame_stack": 8,
    "frameskip": 3,
    "noop_max": 5,
    "sticky_action_prob": 0.0,
    "terminal_on_life_loss": True,
    "max_episode_frames": 3_000,
    "screen_size": 64,
    "mode": 2,
    "difficulty": 0,
    "num_envs": 2,
    "steps": 120,
    "replay": "uniform",
    "capacity": 500,
    "batch_size": 16,
    "learning_starts": 40,
    "train_frequency": 2,
    "target_update_interval": 30,
    "gamma": 0.95,
    "lr": 1e-4,
    "adam_eps": 1e-5,
    "max_grad_norm": 5.0,
    "clip_rewards": False,
    "epsilon_start": 0.9,
    "epsilon_end": 0.2,
    "epsilon_decay": "linear",
    "epsilon_decay_steps": 100,
    "alpha": 0.5,
    "beta0": 0.5,
    "priority_eps": 1e-3,
    "device": "cpu",
    "checkpoint_interval": 60,
    "keep_checkpoints": 1,
    "log_interval": 30,
    "exploration": "boltzmann",
    "temperature_start": 2.0,
    "temperature_end": 0.1,
    "temperature_decay": 0.9,
    "rnd_alpha_start": 0.3,
    "rnd_alpha_end": 0.1,
    "rnd_alpha_decay_steps": 50,
    "rnd_lr": 1e-3,
    "living_penalty": 0.01,
    "life_loss_penalty": 0.5,
    "dueling": True,
    "compile": False,
    "split_update": True,
    "gradient_steps": 2,
    "prefill_steps": 10,
    "n_step": 2,
    "network": "der",
    "eval_interval": 50,
    "eval_episodes": 1,
    "snapshot_steps": [60, 120],
}


def flag(name: str, value) -> list[str]:
    option = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return [option if value else "--no-" + option[2:]]
    return [option, str(value)]


def test_every_train_flag_overrides_params_yaml_on_mspacman(tmp_path):
    sections = {"env": EnvParams, "train": TrainParams}
    keys = {section: [name for name, *_ in field_docs(cls)] for section, cls in sections.items()}
    assert sorted(FLAG_VALUES) == sorted(keys["env"] + keys["train"]), "give every new key a test value"
    file_params = tiny_params(train={"device": "auto", "compile": True})  # the flag turns compiling off
    written = params_to_dict(file_params)
    assert all(FLAG_VALUES[key] != written[section][key] for section in sections for key in keys[section])
    params = write_params(tmp_path / "params.yaml", file_params)
    flags = [f for name, value in FLAG_VALUES.items() for f in flag(name, value)] + ["--seed", "7"]
    out = tmp_path / "models"
    result = train_cli(params, out, *flags)
    assert result.exit_code == 0, result.output
    final = load(out / "dqn.pt")
    for section in sections:
        assert final["params"][section] == {key: FLAG_VALUES[key] for key in keys[section]}
    assert final["params"]["seed"] == 7
    # and the run behaved accordingly
    assert final["step"] == 120 and final["env_id"] == "ALE/MsPacman-v5"
    flagged = params_from_dict(
        {
            "seed": 7,
            "env": dict(final["params"]["env"]),
            "train": dict(final["params"]["train"]),
            "evaluate": dict(final["params"]["evaluate"]),
        }
    )
    assert [p.name for p in run_state(out, flagged).checkpoints()] == ["step_0000000120.pt"]
    QNetwork(8, 9, 64, dueling=True, architecture="der").load_state_dict(final["agent"]["online"])
    assert load(out / "best.pt")["evaluation"]["step"] in (50, 100, 120)  # evaluated at 50, 100 and the end
    assert final["agent"]["optimizer"]["param_groups"][0]["lr"] == 1e-4
    assert adam_steps(final) == 2 * 41  # gradient_steps 2 at steps 40, 42, ..., 120
    assert set(final["exploration"]) == {"temperature"}
    snapshots = [load(out / "snapshots" / f"step_{n}.pt")["step"] for n in (60, 120)]
    assert 60 <= snapshots[0] <= 61 and snapshots[1] == 120  # two environments: the step passed, by at most 1


def train_until_interrupted(tmp_path: Path, num_envs: int = 1):
    """Start `pipeline train` in its own process group and send the group SIGINT, as a terminal's Ctrl-C does,
    once its first periodic checkpoint is on disk."""
    params = write_params(
        tmp_path / "params.yaml",
        # no snapshots: the run is then extended to a few steps past the interruption, before TINY's snapshot steps
        tiny_params(
            train={"steps": 100_000, "checkpoint_interval": 25, "snapshot_steps": []}, env={"num_envs": num_envs}
        ),
    )
    out = tmp_path / "models"
    command = [str(Path(sys.executable).with_name("pipeline")), "train", "--params", str(params), "--out-dir", str(out)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 120
    state = run_state(out, load_params(params))
    while not state.checkpoints() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()  # no-op once it has exited; otherwise it ignored the signal
    return params, out, process.returncode, stderr


@pytest.mark.parametrize("num_envs", [1, 3])
def test_sigint_saves_a_checkpoint_says_how_to_resume_and_exits_130(tmp_path, num_envs):
    """With several envs the Ctrl-C reaches their subprocesses too; they leave it to the trainer."""
    params, out, code, stderr = train_until_interrupted(tmp_path, num_envs)
    assert code == 130, stderr
    newest = run_state(out, load_params(params)).checkpoints()[-1]
    step = load(newest)["step"]
    assert step >= 25
    assert f"Interrupted at step {step:,}" in stderr and "pipeline train --resume" in stderr
    result = train_cli(params, out, "--resume", "--steps", str(step + 30))
    assert result.exit_code == 0, result.output
    assert f"Resuming from step {step:,} " in result.stderr and "exactly" in result.stderr
    assert step + 30 <= load(out / "dqn.pt")["step"] < step + 30 + num_envs


def test_several_envs_keep_one_gradient_step_per_train_frequency_agent_steps(tmp_path):
    """Three Breakout envs to 300 agent steps: steps advance up to 3 at a time (a reset is not a step), and Adam
    counts one update per multiple of train_frequency (4) from learning_starts (100), as with one env."""
    out = tmp_path / "models"
    result = train_cli(write_params(tmp_path / "params.yaml", tiny_params(env={"num_envs": 3})), out)
    assert result.exit_code == 0, result.output
    final = load(out / "dqn.pt")
    assert 300 <= final["step"] < 303
    assert adam_steps(final) == final["step"] // 4 - 99 // 4
    periodic = [load(p)["step"] for p in run_state(out, tiny_params(env={"num_envs": 3})).checkpoints()]
    assert [s // 100 for s in periodic] == [1, 2, 3] and all(s % 100 < 3 for s in periodic)
    returns = out / "training" / "plots" / "metrics" / "episode" / "return.tsv"
    assert final["episode"] == (len(logged_steps(out, "episode/return")) if returns.exists() else 0)
