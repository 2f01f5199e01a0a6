"""Bad params stop `pipeline train` before anything runs: one line naming the key, exit code 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.config.params import closest_key, params_to_dict
from stages.cli import app
from tests.helpers import tiny_params

# (changes to params.yaml, train flags, what the one-line error must say)
BAD = {
    "misspelled key": ({"train": {"batch_sise": 32}}, [], ["train.batch_sise", "did you mean 'train.batch_size'"]),
    "misspelled section": ({"trian": {"steps": 10}}, [], ["'trian'", "did you mean 'train'"]),
    "wrong type": ({"train": {"steps": "many"}}, [], ["train.steps = 'many'", "an integer"]),
    "wrong type of bool": ({"train": {"clip_rewards": "sometimes"}}, [], ["train.clip_rewards", "true or false"]),
    "alpha above 1": ({"train": {"alpha": 1.5}}, [], ["train.alpha = 1.5", "<= 1"]),
    "alpha flag below 0": ({}, ["--alpha", "-0.1"], ["train.alpha = -0.1", ">= 0"]),
    "beta0 above 1": ({"train": {"beta0": 1.2}}, [], ["train.beta0 = 1.2", "<= 1"]),
    "gamma 0": ({"train": {"gamma": 0.0}}, [], ["train.gamma = 0.0", "> 0"]),
    "gamma above 1": ({}, ["--gamma", "1.01"], ["train.gamma = 1.01", "<= 1"]),
    "capacity below batch": ({"train": {"capacity": 16}}, [], ["train.capacity = 16", "train.batch_size (32)"]),
    "batch flag above capacity": ({}, ["--batch-size", "2000"], ["train.capacity = 1000", "train.batch_size (2000)"]),
    "learning_starts below batch": (
        {"train": {"learning_starts": 8}},
        [],
        ["train.learning_starts = 8", "train.batch_size (32)"],
    ),
    "zero steps": ({}, ["--steps", "0"], ["train.steps = 0", "> 0"]),
    "replay mode": ({"train": {"replay": "prioritized"}}, [], ["train.replay = 'prioritized'", "one of per, uniform"]),
    "replay flag": ({}, ["--replay", "rank"], ["train.replay = 'rank'", "one of per, uniform"]),
    "frame stack": ({"env": {"frame_stack": 6}}, [], ["env.frame_stack = 6", "one of 4, 8"]),
    "unknown game": ({"env": {"game": "Breakot"}}, [], ["env.game = 'Breakot'", "closest: Breakout"]),
    "unknown game flag": ({}, ["--game", "MsPacmann"], ["env.game = 'MsPacmann'", "closest: MsPacman"]),
    "exploration mode": (
        {},
        ["--exploration", "softmax"],
        ["train.exploration = 'softmax'", "one of epsilon, boltzmann, rnd"],
    ),
    "temperature decay above 1": ({"train": {"temperature_decay": 1.5}}, [], ["train.temperature_decay = 1.5", "<= 1"]),
    "temperature end above start": (
        {"train": {"temperature_end": 2.0}},
        [],
        ["train.temperature_end = 2.0", "train.temperature_start (1.0)"],
    ),
    "rnd alpha above 1": ({}, ["--rnd-alpha-start", "2"], ["train.rnd_alpha_start = 2.0", "<= 1"]),
    "n-step 0": ({}, ["--n-step", "0"], ["train.n_step = 0", ">= 1"]),
    "n-step with rnd": ({"train": {"exploration": "rnd", "n_step": 3}}, [], ["train.n_step = 3", "exploration rnd"]),
    "negative penalty": ({}, ["--living-penalty", "-0.1"], ["train.living_penalty = -0.1", ">= 0"]),
    "zero gradient steps": ({"train": {"gradient_steps": 0}}, [], ["train.gradient_steps = 0", "> 0"]),
    "dueling not a bool": ({"train": {"dueling": "yes"}}, [], ["train.dueling = 'yes'", "true or false"]),
}


def params_file(folder: Path, changes: dict) -> Path:
    """The tiny test params with `changes` merged in, keys unchecked (as a user's editor would leave them)."""
    raw = params_to_dict(tiny_params())
    for section, values in changes.items():
        raw.setdefault(section, {}).update(values)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("changes, flags, words", BAD.values(), ids=BAD.keys())
def test_bad_params_stop_train_with_one_line_and_exit_code_2(tmp_path, changes, flags, words):
    out = tmp_path / "models"
    (out / "state" / "0123456789abcdef").mkdir(parents=True)
    (out / "dqn.pt").write_bytes(b"an earlier model")  # a bad run must not touch what is there
    (out / "state" / "0123456789abcdef" / "step_0000000100.pt").write_bytes(b"an earlier checkpoint")
    before = snapshot(out)
    result = CliRunner().invoke(
        app, ["train", "--params", str(params_file(tmp_path, changes)), "--out-dir", str(out), *flags]
    )
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for word in words:
        assert word in lines[0]
    assert snapshot(out) == before


@pytest.mark.parametrize(
    "name, valid, meant",
    [
        ("learning_rate", ["lr", "learning_starts"], "lr"),  # initials before spelling
        ("buffer_size", ["capacity", "batch_size"], "capacity"),  # a known synonym
        ("eps", ["epsilon", "max_episode_steps"], "epsilon"),  # a key it begins
        ("num_episodes", ["episodes", "epsilon"], "episodes"),  # a key whose words it has
        ("n_steps", ["n_step", "steps"], "n_step"),  # a near-identical spelling first
        ("epsilon_decay_step", ["epsilon_decay", "epsilon_decay_steps"], "epsilon_decay_steps"),
        ("zzz", ["lr", "gamma"], None),
    ],
)
def test_closest_key_finds_what_was_meant(name, valid, meant):
    assert closest_key(name, valid) == meant
