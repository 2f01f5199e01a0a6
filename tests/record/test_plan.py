"""Which source plays which episode: counts by largest remainder, ids source after source, seeds by (source, index),
and the range a shard plays. No emulator: the plan is a function of the params alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config.errors import InputError
from pipeline.config.layout import TrainLayout
from pipeline.config.params import SourceParams
from pipeline.data.sources import episode_seed
from pipeline.record.plan import (
    checkpoint_of,
    episode_range,
    plan_sources,
    planned_episodes,
    random_count,
    source_counts,
    sources_of,
)
from tests.helpers import tiny_params


def shares(*percent: float) -> tuple[SourceParams, ...]:
    return tuple(SourceParams(name=f"s{i}", policy="best", share=p) for i, p in enumerate(percent))


@pytest.mark.parametrize(
    "sources, total, counts",
    [
        (shares(50, 50), 5, [3, 2]),  # 2.5 and 2.5: the tie goes to the earlier source
        (shares(33.3, 33.3, 33.4), 10, [3, 3, 4]),  # 3.33, 3.33, 3.34: the largest remainder gets the one left
        (shares(25, 25, 25, 25), 6, [2, 2, 1, 1]),
        (shares(20, 20, 20, 25, 15), 20, [4, 4, 4, 5, 3]),  # params.yaml's sources
        ((SourceParams(name="r", policy="random", episodes=2), *shares(50, 50)), 7, [2, 3, 2]),  # fixed first
        ((SourceParams(name="r", policy="random", episodes=0), *shares(100)), 4, [0, 4]),
    ],
)
def test_counts_by_largest_remainder(sources, total, counts):
    assert source_counts(sources, total) == counts


@pytest.mark.parametrize("total", [1, 2, 3, 7, 10, 20, 33])
@pytest.mark.parametrize("percent", [0, 14.3, 25, 30, 34, 50, 62.5, 99.9, 100])
def test_two_shares_round_the_first_to_the_nearest_halves_up_as_the_simple_case_does(total, percent):
    assert source_counts(shares(percent, 100 - percent), total)[0] == random_count(total, percent)


def test_the_simple_case_is_the_random_agent_then_the_trained_model():
    params = tiny_params(record={"episodes": 10, "percent_random": 25, "epsilon": 0.02})
    random, trained = sources_of(params, "best", Path("models/best.pt"))
    assert (random.policy, random.episodes) == ("random", 3)
    assert (trained.name, trained.policy, trained.epsilon, trained.episodes) == ("best", "models/best.pt", 0.02, 7)


SOURCES = (
    SourceParams(name="random", policy="random", episodes=2),
    SourceParams(name="early", policy="snapshot", step=100, episodes=1),
    SourceParams(name="hot", policy="best", temperature=0.5, episodes=3),
    SourceParams(name="best", policy="best", episodes=2),
)


def test_entries_say_who_plays_how_and_which_ids():
    entries = plan_sources(SOURCES, tiny_params(record={"episodes": 8, "epsilon": 0.03}).record)
    assert [(e.name, e.agent, e.first_id, e.episodes) for e in entries] == [
        ("random", "random", 0, 2),
        ("early", "trained", 2, 1),
        ("hot", "trained", 3, 3),
        ("best", "trained", 6, 2),
    ]
    assert [(e.exploration, e.exploration_value) for e in entries] == [
        ("epsilon", 1.0),
        ("epsilon", 0.03),  # record.epsilon where a source gives none
        ("boltzmann", 0.5),
        ("epsilon", 0.03),
    ]
    models = TrainLayout(Path("run"))
    assert [checkpoint_of(s, models) for s in SOURCES] == [None, Path("run/snapshots/step_100.pt"), *[models.best] * 2]
    assert checkpoint_of(SourceParams(name="x", policy="final", episodes=1), models) == models.model
    assert checkpoint_of(SourceParams(name="x", policy="other/run.pt", episodes=1), models) == Path("other/run.pt")
    # the file names a checkpoint by its file name, so shards recorded from other folders still merge
    record = tiny_params(record={"episodes": 1}).record
    other = plan_sources((SourceParams(name="x", policy="/abs/other/run.pt", episodes=1),), record)
    assert other[0].policy == "run.pt"


def test_a_shard_plays_its_range_with_the_seeds_of_the_whole_recording():
    entries = plan_sources(SOURCES, tiny_params(record={"episodes": 8}).record)
    whole = planned_episodes(entries, 7, range(8))
    assert [(e.id, e.source, e.index) for e in whole] == [
        (0, "random", 0),
        (1, "random", 1),
        (2, "early", 0),
        (3, "hot", 0),
        (4, "hot", 1),
        (5, "hot", 2),
        (6, "best", 0),
        (7, "best", 1),
    ]
    assert [e.seed for e in whole] == [episode_seed(7, e.source, e.index) for e in whole]
    assert len({e.seed for e in whole}) == 8
    assert planned_episodes(entries, 7, range(1, 5)) == whole[1:5]


def test_adding_a_source_moves_ids_but_never_another_sources_episodes():
    record = tiny_params(record={"episodes": 8}).record
    before = planned_episodes(plan_sources(SOURCES, record), 0, range(8))
    added = (*SOURCES[:2], SourceParams(name="mid", policy="snapshot", step=200, episodes=2), *SOURCES[2:])
    after = planned_episodes(plan_sources(added, tiny_params(record={"episodes": 10}).record), 0, range(10))
    kept = {(e.source, e.index): e.seed for e in after if e.source != "mid"}
    assert kept == {(e.source, e.index): e.seed for e in before}


@pytest.mark.parametrize(
    "first, count, says",
    [
        (8, None, "--first-episode 8: the recording has episodes 0 .. 7"),
        (-1, None, "--first-episode -1"),
        (5, 4, "--shard-episodes 4: from episode 5 there are 1 .. 3 episodes"),
        (0, 0, "--shard-episodes 0"),
    ],
)
def test_a_range_outside_the_recording_is_refused(first, count, says):
    with pytest.raises(InputError, match=says):
        episode_range(8, first, count)


def test_a_range_runs_to_the_end_by_default():
    assert episode_range(8, 5, None) == range(5, 8) and episode_range(8, 0, 3) == range(0, 3)
