"""The quality and diversity metrics against values worked out by hand on a small real gameplay file, and the
diversity figure drawn from them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import pipeline.data.metrics as metrics_module
from pipeline.data.diversity import write_diversity_figure
from pipeline.data.metrics import dataset_metrics, jaccard_matrix
from pipeline.data.schema import FRAME_SHAPE, NO_ACTION, Row
from pipeline.data.writer import GameplayWriter
from tests.data.synthetic import attributes

# Three episodes. Screens are numbered (screen n is filled with n); "a" plays two whose screens are the same,
# row for row, "b" one that shares its first screen with them. Actions are Breakout's (NOOP, FIRE, RIGHT, LEFT).
EPISODES = [
    # source, screens (T + 1), observations (T + 1), actions (T), rewards (T), exploratory (T)
    ("a", [1, 2, 3], [10, 11, 12], [0, 0], [1.0, 0.0], [False, True]),
    ("a", [1, 2, 3], [10, 11, 12], [0, 1], [0.0, 2.0], [False, False]),
    ("b", [1, 4, 5, 6], [10, 13, 14, 15], [1, 2, 3], [0.0, 0.0, 5.0], [True, True, True]),
]


def write(path: Path, outputs: bool = True) -> Path:
    with GameplayWriter(
        path, screen_size=84, compression="gzip", attrs=attributes(), agent_outputs=(4, 8) if outputs else None
    ) as w:
        for k, (source, screens, observations, actions, rewards, exploratory) in enumerate(EPISODES):
            for t, (screen, observation) in enumerate(zip(screens, observations)):
                final = t == len(actions)
                extra = {}
                if outputs:
                    extra = dict(
                        q_values=np.zeros(4, np.float32),
                        features=np.zeros(8, np.float16),
                        exploratory=False if final else exploratory[t],
                    )
                w.add(
                    Row(
                        frames=np.full(FRAME_SHAPE, screen, np.uint8),
                        observations=np.full((84, 84), observation, np.uint8),
                        actions=NO_ACTION if final else actions[t],
                        rewards=0.0 if final else rewards[t],
                        terminated=t == len(actions) - 1,
                        truncated=False,
                        lives=3,
                        **extra,
                    )
                )
            w.end_episode(
                id=k,
                agent="trained",
                seed=k,
                checkpoint_hash="",
                source=source,
                source_episode=0 if k != 1 else 1,
                checkpoint_step=100,
                exploration="epsilon",
                exploration_value=0.1,
            )
    return path


@pytest.fixture(scope="module")
def metrics(tmp_path_factory) -> dict:
    return dataset_metrics(write(tmp_path_factory.mktemp("metrics") / "gameplay.h5"))


def entropy(*counts: int) -> float:
    total = sum(counts)
    return -sum(c / total * math.log2(c / total) for c in counts)


def test_counts_and_returns(metrics):
    assert (metrics["episodes"], metrics["actions"], list(metrics["sources"])) == (3, 4, ["a", "b"])
    a, b, every = metrics["sources"]["a"], metrics["sources"]["b"], metrics["overall"]
    assert (a["episodes"], a["steps"], a["rows"]) == (2, 4, 6)
    assert (b["episodes"], b["steps"], b["rows"]) == (1, 3, 4)
    assert (every["episodes"], every["steps"], every["rows"]) == (3, 7, 10)
    # returns 1, 2 and 5
    assert every["return_mean"] == pytest.approx(8 / 3) and every["return_std"] == pytest.approx(np.std([1, 2, 5]))
    assert [every[k] for k in ("return_min", "return_p25", "return_median", "return_p75", "return_max")] == [
        1.0,
        1.5,
        2.0,
        3.5,
        5.0,
    ]
    assert (b["agent"], b["exploration"], b["exploration_value"], b["checkpoint_step"]) == (
        "trained",
        "epsilon",
        0.1,
        100,
    )


def test_actions(metrics):
    a, every = metrics["sources"]["a"], metrics["overall"]
    # a: NOOP, NOOP, NOOP, FIRE; all: NOOP x3, FIRE x2, RIGHT, LEFT
    assert a["action_entropy_bits"] == pytest.approx(entropy(3, 1))
    assert (a["top_action"], a["top_action_share"]) == ("NOOP", 0.75)
    assert every["action_entropy_bits"] == pytest.approx(entropy(3, 2, 1, 1))
    assert every["action_entropy_normalised"] == pytest.approx(entropy(3, 2, 1, 1) / 2)
    assert (every["top_action"], every["top_action_share"]) == ("NOOP", pytest.approx(3 / 7))
    assert metrics["sources"]["b"]["action_entropy_bits"] == pytest.approx(math.log2(3))


def test_unique_screens_and_observations(metrics):
    a, b, every = metrics["sources"]["a"], metrics["sources"]["b"], metrics["overall"]
    assert a["unique_frames"] == 3 / 6 and a["unique_observations"] == 3 / 6
    assert b["unique_frames"] == 1.0 and b["unique_observations"] == 1.0
    assert every["unique_frames"] == 6 / 10 and every["unique_observations"] == 6 / 10


def test_duplicate_and_near_duplicate_episodes(metrics):
    a, b, every = metrics["sources"]["a"], metrics["sources"]["b"], metrics["overall"]
    assert (a["duplicate_episodes"], a["near_duplicate_episodes"]) == (1, 2)
    assert a["episode_similarity_mean"] == 1.0 == a["episode_similarity_max"]
    assert (b["duplicate_episodes"], b["near_duplicate_episodes"], b["episode_similarity_mean"]) == (0, 0, None)
    # the pairs: (0, 1) share all 3 screens; (0, 2) and (1, 2) share screen 1 of the 6 they show together
    assert (every["duplicate_episodes"], every["near_duplicate_episodes"]) == (1, 2)
    assert every["episode_similarity_mean"] == pytest.approx((1 + 1 / 6 + 1 / 6) / 3)


def test_exploratory_share(metrics):
    assert metrics["sources"]["a"]["exploratory_share"] == 1 / 4
    assert metrics["sources"]["b"]["exploratory_share"] == 1.0
    assert metrics["overall"]["exploratory_share"] == 4 / 7


def test_without_agent_outputs_the_exploratory_share_is_unknown(tmp_path):
    assert dataset_metrics(write(tmp_path / "plain.h5", outputs=False))["overall"]["exploratory_share"] is None


@pytest.mark.parametrize("block", [8192, 1])  # one block, or one shared screen per block
def test_jaccard_of_episode_screen_sets(monkeypatch, block):
    monkeypatch.setattr(metrics_module, "BLOCK", block)
    screens = np.array([1, 2, 2, 3, 1, 2, 9, 7], np.uint64)  # episode 0: {1, 2, 3}, 1: {1, 2, 9}, 2: {7}
    owner = np.array([0, 0, 0, 0, 1, 1, 1, 2])
    np.testing.assert_allclose(jaccard_matrix(screens, owner, 3), [[1, 0.5, 0], [0.5, 1, 0], [0, 0, 1]])


def test_the_figure_draws_one_or_two_datasets(metrics, tmp_path):
    import cv2

    for datasets in ([("A", metrics)], [("A", metrics), ("B", metrics)]):
        out = write_diversity_figure(datasets, tmp_path / f"{len(datasets)}.png")
        assert cv2.imread(str(out)).shape == (850, 1500, 3)
