"""The training diagnostics figure: drawn from a real run's DVCLive folder and PER snapshots, with no data said so."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from pipeline.replay.samplers import PrioritizedSampler
from pipeline.train.diagnostics import (
    DPI,
    FIGSIZE,
    diagnostics_figure,
    read_snapshots,
    write_diagnostics,
)
from pipeline.train.log import SNAPSHOT_SIZE, TrainingLog
from stages.cli import app

TITLES = [
    "Episode return",
    "Loss",
    "Mean Q",
    "Mean |TD error|",
    "Exploration",
    "PER beta",
    "PER priorities",
    "PER importance weights",
]
SNAPSHOT_STEPS = [50, 100, 150, 200, 250, 300]


def says_no_data(ax) -> bool:
    return any(t.get_text().startswith("no data") for t in ax.texts)


def snapshot_run(live_dir: Path) -> None:
    """Snapshots of a prioritized sampler whose priorities come from TD errors, as during training."""
    sampler, rng = PrioritizedSampler(capacity=1000, alpha=0.6, eps=1e-6), np.random.default_rng(0)
    sampler.add(np.arange(600))
    log = TrainingLog(live_dir, resume_step=300)
    for step in SNAPSHOT_STEPS:
        picked = rng.choice(600, 64, replace=False)
        sampler.update(picked, rng.normal(0.0, 1.0 / step, 64))
        log.log_replay_snapshot(step, sampler.priorities(), beta=0.4 + 0.6 * step / 300)
    log.close()


@pytest.fixture
def live_dir(trained_dir, tmp_path) -> Path:
    """A copy of the tiny PER run's DVCLive folder with snapshots written at six steps."""
    live = tmp_path / "training"
    shutil.copytree(trained_dir / "training", live, ignore=shutil.ignore_patterns("snapshots", "diagnostics.png"))
    snapshot_run(live)
    return live


def test_a_real_run_gets_one_png_with_every_panel(live_dir):
    out = write_diagnostics(live_dir)
    assert out == live_dir / "diagnostics.png"
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (FIGSIZE[0] * DPI, FIGSIZE[1] * DPI)
    axes = diagnostics_figure(live_dir).axes
    assert [ax.get_title() for ax in axes] == TITLES
    # every panel has the run's data (the tiny run's 300 Breakout steps end two episodes)
    assert [says_no_data(ax) for ax in axes] == [False] * 8
    assert [len(ax.lines[0].get_xdata()) for ax in axes[1:6]] == [3, 3, 3, 3, 3]  # logged at steps 100, 200, 300
    assert axes[4].get_ylabel() == "epsilon"
    for ax in axes[6:]:  # a few snapshots spread over training, the first and the last among them
        assert [t.get_text().split(" (")[0] for t in ax.get_legend().get_texts()] == [
            "step 50",
            "step 150",
            "step 200",
            "step 300",
        ]


def test_weights_of_a_snapshot_are_n_p_to_the_minus_beta_over_their_max(tmp_path):
    priorities, beta = np.array([1.0, 2.0, 4.0, 8.0]), 0.5
    TrainingLog(tmp_path, resume_step=None).log_replay_snapshot(7, priorities, beta)
    [snapshot] = read_snapshots(tmp_path)
    by_definition = (len(priorities) * priorities / priorities.sum()) ** -beta
    np.testing.assert_allclose(snapshot.weights, by_definition / by_definition.max())
    np.testing.assert_allclose(snapshot.weights, [1.0, 2**-0.5, 0.5, 8**-0.5])
    assert snapshot.step == 7 and snapshot.beta == beta


def test_large_buffers_are_subsampled_reproducibly_keeping_the_true_minimum(tmp_path):
    priorities = np.linspace(2.0, 3.0, 3 * SNAPSHOT_SIZE)
    priorities[12_345] = 0.5
    for run in ("a", "b"):
        TrainingLog(tmp_path / run, resume_step=None).log_replay_snapshot(100, priorities, 0.4)
    [a], [b] = read_snapshots(tmp_path / "a"), read_snapshots(tmp_path / "b")
    assert len(a.priorities) == SNAPSHOT_SIZE and np.array_equal(a.priorities, b.priorities)
    # relative to the buffer's minimum, which the sample most likely lacks
    assert a.min_priority == 0.5 and a.weights.min() == pytest.approx((0.5 / 3.0) ** 0.4, rel=1e-3)


def test_resuming_drops_snapshots_from_after_the_checkpoint(live_dir):
    TrainingLog(live_dir, resume_step=200).close()
    assert [s.step for s in read_snapshots(live_dir)] == [50, 100, 150, 200]


def test_returns_show_every_episode_and_a_trailing_mean(tmp_path):
    returns = np.arange(30.0) ** 2
    log = TrainingLog(tmp_path, resume_step=None)
    for episode, value in enumerate(returns):
        log.log(10 * (episode + 1), {"episode/return": value})
    log.close()
    ax = diagnostics_figure(tmp_path).axes[0]
    assert len(ax.collections[0].get_offsets()) == 30
    mean = ax.lines[0].get_ydata()  # 30 episodes: a window of 3
    assert mean[0] == 0.0 and mean[1] == 0.5 and mean[5] == (9 + 16 + 25) / 3
    assert ax.get_legend().get_texts()[1].get_text() == "mean of the last 3"


def test_a_run_with_nothing_logged_yet_gets_every_panel_marked_no_data(tmp_path):
    axes = diagnostics_figure(tmp_path).axes
    assert [ax.get_title() for ax in axes] == TITLES and all(says_no_data(ax) for ax in axes)


def test_pipeline_plot_writes_where_asked_and_rejects_a_missing_folder(live_dir, tmp_path):
    out = tmp_path / "figures" / "run.png"
    done = CliRunner().invoke(app, ["plot", "--live-dir", str(live_dir), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert str(out) in done.stdout and Image.open(out).size == (FIGSIZE[0] * DPI, FIGSIZE[1] * DPI)
    missing = CliRunner().invoke(app, ["plot", "--live-dir", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
    assert len(missing.stderr.strip().splitlines()) == 1 and "nowhere' does not exist" in missing.stderr
    assert not (tmp_path / "nowhere").exists()
