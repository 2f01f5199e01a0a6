"""Evaluation during training: the network is evaluated every eval_interval steps and at the end, on seeds of its
own, the same whether played in a background process or inline; best.pt is the best evaluated network (ties to the
later step) and survives resuming."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from pipeline.config.params import EnvParams
from pipeline.core.seeding import derive_seed
from pipeline.rl.networks import QNetwork
from pipeline.train.evaluation import Best, EvalResult, Evaluator, Snapshot, eval_seeds
from stages.cli import app
from tests.helpers import run_state, tiny_params, write_params


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def logged_evaluations(out: Path) -> list[tuple[int, float]]:
    with open(out / "training" / "plots" / "metrics" / "eval" / "return_mean.tsv", newline="") as f:
        return [(int(r["step"]), float(r["return_mean"])) for r in csv.DictReader(f, delimiter="\t")]


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_evaluations_are_logged_at_each_interval_and_best_pt_is_the_best_of_them(trained_dir):
    """The tiny run evaluates at 100, 200 and 300 (its end); best.pt holds the weights checkpointed at the step whose
    evaluation was highest, the later one among equals."""
    evaluations = logged_evaluations(trained_dir)
    assert [step for step, _ in evaluations] == [100, 200, 300]
    top = max(mean for _, mean in evaluations)
    best_step = max(step for step, mean in evaluations if mean == top)
    best = load(trained_dir / "best.pt")
    assert best["step"] == best["evaluation"]["step"] == best_step
    assert best["evaluation"]["return_mean"] == pytest.approx(top)
    assert best["evaluation"]["episodes"] == 2 and best["evaluation"]["epsilon"] == 0.05
    at_best = load(run_state(trained_dir, tiny_params()).checkpoint(best_step))
    assert same_weights(best["agent"]["online"], at_best["agent"]["online"])
    assert set(best["agent"]) == {"online"}  # a policy, not a training state
    final = load(trained_dir / "dqn.pt")
    assert final["evaluation"]["best"]["step"] == best_step and final["evaluation"]["pending"] == []


def test_evaluation_seeds_are_their_own():
    seeds = eval_seeds(0, 5)
    assert len(set(seeds)) == 5
    assert not set(seeds) & {derive_seed(0, "evaluate-episode", k) for k in range(100)}
    assert eval_seeds(0, 3) == seeds[:3] and eval_seeds(1, 3) != seeds[:3]


def snapshot(step: int, seed: int) -> Snapshot:
    params = tiny_params(env={"max_episode_frames": 400})
    torch.manual_seed(seed)
    online = QNetwork(4, 4).state_dict()
    policy = {
        "step": step,
        "params": {"env": vars(params.env), "train": vars(params.train)},
        "action_meanings": ["NOOP", "FIRE", "RIGHT", "LEFT"],
        "agent": {"online": online},
    }
    return Snapshot(step, policy)


def test_a_background_evaluation_equals_an_inline_one():
    env = EnvParams(game="Breakout", frame_stack=4, max_episode_frames=400)
    seeds = eval_seeds(0, 2)
    results = {}
    for background in (False, True):
        evaluator = Evaluator(env, seeds, 0.05, background=background)
        try:
            for step in (10, 20):
                evaluator.submit(snapshot(step, seed=step))
            results[background] = [result for _, result in evaluator.finished(block=True)]
        finally:
            evaluator.close()
    assert [r.step for r in results[True]] == [10, 20]
    assert results[True] == results[False]


def test_ties_go_to_the_later_evaluation_and_worse_ones_change_nothing():
    best = Best()
    assert best.improved_by(EvalResult(100, (3.0, 5.0)))
    assert not best.improved_by(EvalResult(200, (1.0, 2.0)))
    assert best.improved_by(EvalResult(300, (4.0, 4.0)))  # the same mean, later
    assert (best.step, best.mean, best.std) == (300, 4.0, 0.0)


@pytest.mark.slow
def test_resuming_keeps_the_best_so_far_and_restores_a_best_pt_from_a_lost_future(trained_dir, tmp_path):
    """A best.pt written after the checkpoint a run resumes from (as when the run was killed) is replaced by the
    checkpoint's best; evaluations go on from there and the best of all of them is kept."""
    out = tmp_path / "models"
    shutil.copytree(trained_dir, out)
    before = load(trained_dir / "best.pt")
    for path in run_state(out, tiny_params()).checkpoints():
        if not path.name.endswith("0000000200.pt"):
            path.unlink()  # resume from step 200, as if killed before the 300 checkpoint
    stale = {**before, "step": 12345}
    torch.save(stale, out / "best.pt")
    params = write_params(tmp_path / "params.yaml", tiny_params())
    result = CliRunner().invoke(
        app, ["train", "--params", str(params), "--out-dir", str(out), "--resume", "--steps", "400"]
    )
    assert result.exit_code == 0, result.output
    evaluations = logged_evaluations(out)
    assert [step for step, _ in evaluations] == [100, 200, 300, 400]  # 300 played again, no row twice
    top = max(mean for _, mean in evaluations)
    best = load(out / "best.pt")
    assert best["step"] == max(step for step, mean in evaluations if mean == top)
    assert best["step"] != 12345
