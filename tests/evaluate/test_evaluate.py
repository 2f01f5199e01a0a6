"""`pipeline evaluate` end to end on the tiny Breakout checkpoint, with the frame cap lowered so episodes stay short."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from pipeline.core.seeding import derive_seed
from pipeline.envs.atari import available_games
from pipeline.evaluate.scores import RANDOM_AND_HUMAN, human_normalised
from stages.cli import app
from tests.helpers import tiny_params, write_params


def evaluate(tmp: Path, checkpoint: Path, *flags: str, **sections):
    """Run `pipeline evaluate` with outputs under `tmp`; returns the CliRunner result."""
    tmp.mkdir(parents=True, exist_ok=True)
    params = write_params(tmp / "params.yaml", tiny_params(**sections))
    return CliRunner().invoke(
        app,
        [
            "evaluate",
            "--params",
            str(params),
            "--checkpoint",
            str(checkpoint),
            "--metrics",
            str(tmp / "eval.json"),
            "--episodes-csv",
            str(tmp / "episodes.csv"),
            "--plot",
            str(tmp / "scores.png"),
            *flags,
        ],
    )


def episode_table(tmp: Path) -> list[dict[str, str]]:
    with open(tmp / "episodes.csv", newline="") as f:
        return list(csv.DictReader(f))


def assert_one_line_error(result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    assert all(w in lines[0] for w in words), lines[0]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, tiny_checkpoint) -> Path:
    tmp = tmp_path_factory.mktemp("evaluate")
    result = evaluate(tmp, tiny_checkpoint, evaluate={"episodes": 3}, env={"max_episode_frames": 600})
    assert result.exit_code == 0, result.output
    return tmp


def test_metrics_agree_with_the_episode_table(evaluated):
    metrics = json.loads((evaluated / "eval.json").read_text())
    rows = episode_table(evaluated)
    assert [int(r["episode"]) for r in rows] == [0, 1, 2]
    assert (metrics["game"], metrics["episodes"], metrics["epsilon"]) == ("Breakout", 3, 0.05)
    for agent in ("trained", "random"):
        scores = np.array([float(r[f"{agent}_return"]) for r in rows])
        lengths = np.array([int(r[f"{agent}_length"]) for r in rows])
        m = metrics[agent]
        assert m["return_mean"] == pytest.approx(scores.mean())
        assert m["return_std"] == pytest.approx(scores.std())
        assert m["return_median"] == pytest.approx(np.median(scores))
        assert (m["return_min"], m["return_max"]) == (scores.min(), scores.max())
        assert m["length_mean"] == pytest.approx(lengths.mean())
        assert lengths.max() <= 600 // 4  # the frame cap holds
        assert 0 <= m["truncated_episodes"] <= 3
        assert m["human_normalised_mean"] == pytest.approx((scores.mean() - 1.7) / (30.5 - 1.7))


def test_parallel_evaluation_equals_the_sequential_one(evaluated, tmp_path, tiny_checkpoint):
    """Both agents' 3 episodes played by 2 workers: the same metrics and episode table, byte for byte."""
    result = evaluate(
        tmp_path, tiny_checkpoint, evaluate={"episodes": 3}, env={"max_episode_frames": 600, "num_envs": 2}
    )
    assert result.exit_code == 0, result.output
    for name in ("eval.json", "episodes.csv"):
        assert (tmp_path / name).read_text() == (evaluated / name).read_text(), name


def test_outputs_are_complete_files(evaluated):
    assert (evaluated / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p.name for p in evaluated.iterdir() if p.name.startswith(".")]  # no temporaries left behind


@pytest.mark.slow
def test_random_baseline_plays_the_trained_agents_seeds(tmp_path, tiny_checkpoint):
    """At epsilon 1 the trained agent acts uniformly at random, so on the same seeds it must play exactly the
    random agent's episodes; another global seed must give other episodes."""
    runs = {}
    for seed in (0, 1):
        result = evaluate(
            tmp_path / str(seed),
            tiny_checkpoint,
            "--epsilon",
            "1",
            "--seed",
            str(seed),
            evaluate={"episodes": 3},
            env={"max_episode_frames": 2000},
        )
        assert result.exit_code == 0, result.output
        runs[seed] = episode_table(tmp_path / str(seed))
    for seed, rows in runs.items():
        assert [int(r["seed"]) for r in rows] == [derive_seed(seed, "evaluate-episode", k) for k in range(3)]
        for r in rows:
            assert (r["trained_return"], r["trained_length"]) == (r["random_return"], r["random_length"])
    lengths = {seed: [r["random_length"] for r in rows] for seed, rows in runs.items()}
    assert lengths[0] != lengths[1]


@pytest.mark.parametrize("env, key", [({"game": "Pong"}, "env.game"), ({"frame_stack": 8}, "env.frame_stack")])
def test_checkpoint_from_another_env_is_refused(tmp_path, tiny_checkpoint, env, key):
    assert_one_line_error(evaluate(tmp_path, tiny_checkpoint, env=env), key, "checkpoint")
    assert not (tmp_path / "eval.json").exists()


def test_unreadable_or_missing_checkpoint_is_refused(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    assert_one_line_error(evaluate(tmp_path, garbage), "garbage.pt")
    assert_one_line_error(evaluate(tmp_path, tmp_path / "missing.pt"), "missing.pt", "does not exist")
    assert not (tmp_path / "eval.json").exists()


def test_human_normalised_score_by_hand():
    assert human_normalised("Breakout", 1.7) == pytest.approx(0.0)
    assert human_normalised("Breakout", 30.5) == pytest.approx(1.0)
    assert human_normalised("Pong", 0.0) == pytest.approx(20.7 / 35.3)
    assert human_normalised("Skiing", -4336.9) == pytest.approx(1.0)  # negative scores normalise the same way
    assert human_normalised("Adventure", 5.0) is None  # no published scores


def test_score_table_names_real_ale_games():
    assert len(RANDOM_AND_HUMAN) >= 50
    assert set(RANDOM_AND_HUMAN) <= set(available_games())
    assert all(human > random for random, human in RANDOM_AND_HUMAN.values())


@pytest.mark.parametrize("model, file", [("best", "best.pt"), ("final", "dqn.pt")])
def test_the_model_param_picks_best_pt_or_dqn_pt_and_the_metrics_say_which(
    tmp_path, trained_dir, monkeypatch, model, file
):
    shutil.copytree(trained_dir, tmp_path / "models")
    monkeypatch.chdir(tmp_path)
    params = write_params(
        tmp_path / "params.yaml", tiny_params(evaluate={"episodes": 1, "model": model}, env={"max_episode_frames": 400})
    )
    result = CliRunner().invoke(app, ["evaluate", "--params", str(params)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics" / "eval.json").read_text())
    expected_step = torch.load(tmp_path / "models" / file, weights_only=True)["step"]
    assert (metrics["model"], metrics["checkpoint_step"]) == (model, expected_step)
