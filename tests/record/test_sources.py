"""Recording from several sources on real ALE episodes: who played how is in the table and the attributes, the agent
outputs are the playing network's own, adding a source leaves the other sources' episodes byte-identical, and shards
merged (or appended) equal a one-shot recording array for array."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from pipeline.config.errors import InputError
from pipeline.core.hashing import file_hash
from pipeline.data.merge import merge
from pipeline.data.reader import read_episodes
from pipeline.data.schema import ROW_DATASETS
from pipeline.data.sources import episode_seed
from pipeline.dataset import GameplayDataset, load_episode, replay_episode
from pipeline.play.policies import load_policy
from pipeline.record.run import record
from stages.cli import app
from tests.helpers import assert_same_contents, tiny_params

pytestmark = pytest.mark.slow  # every test here records

STEPS = 30
SOURCES = [
    {"name": "random", "policy": "random", "episodes": 1},
    {"name": "early", "policy": "snapshot", "step": 100, "epsilon": 0.0, "episodes": 1},
    {"name": "mid", "policy": "snapshot", "step": 200, "epsilon": 0.5, "episodes": 1},
    {"name": "hot", "policy": "best", "temperature": 1.0, "episodes": 2},
]


def params(sources: list[dict], **record):
    episodes = sum(s["episodes"] for s in sources)
    settings = {"sources": sources, "episodes": episodes, "max_episode_steps": STEPS, "agent_outputs": True}
    return tiny_params(record={**settings, "video_scale": 1, **record})


def recording(out: Path, sources: list[dict], models: Path, **options) -> Path:
    return record(params(sources), None, out, models=models, **options).dataset


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, trained_dir) -> Path:
    out = tmp_path_factory.mktemp("sources")
    return recording(out / "data", SOURCES, trained_dir, metrics=out / "metrics/dataset.json")


def table_of(path: Path):
    with h5py.File(path) as f:
        return read_episodes(f)


def test_the_table_and_attributes_say_who_played_how(recorded, trained_dir):
    t = table_of(recorded)
    assert t["source"].tolist() == ["random", "early", "mid", "hot", "hot"]
    assert t["source_episode"].tolist() == [0, 0, 0, 0, 1]
    assert t["agent"].tolist() == ["random"] + ["trained"] * 4
    best_step = torch.load(trained_dir / "best.pt", weights_only=True)["step"]
    assert t["checkpoint_step"].tolist() == [-1, 100, 200, best_step, best_step]
    hashes = [file_hash(trained_dir / p) for p in ("snapshots/step_100.pt", "snapshots/step_200.pt", "best.pt")]
    assert t["checkpoint_hash"].tolist() == ["", *hashes, hashes[2]]
    assert list(zip(t["exploration"], t["exploration_value"])) == [
        ("epsilon", 1.0),
        ("epsilon", 0.0),
        ("epsilon", 0.5),
        ("boltzmann", 1.0),
        ("boltzmann", 1.0),
    ]
    assert t["seed"].tolist() == [episode_seed(0, s, i) for s, i in zip(t["source"], t["source_episode"])]
    with h5py.File(recorded) as f:
        sources = json.loads(f.attrs["sources"])
    assert [(s["name"], s["policy"], s["first_id"], s["episodes"]) for s in sources] == [
        ("random", "random", 0, 1),
        ("early", "snapshot", 1, 1),
        ("mid", "snapshot", 2, 1),
        ("hot", "best", 3, 2),
    ]
    assert [s["checkpoint_hash"] for s in sources] == ["", *hashes]


def test_agent_outputs_are_the_playing_networks_own(recorded, trained_dir, tmp_path):
    """Through the loader, as a downstream script reads them: each row's stored Q-values and features are what the
    source's network computes from that row's stack (the observations, zero-padded at the start); greedy rows take
    the argmax; random-agent and final rows hold NaN."""
    keys = ("observations", "actions", "q_values", "exploratory", "features", "episode")
    ds = GameplayDataset(recorded, window=4, keys=keys, pad_start=True)
    t = table_of(recorded)
    networks = {
        "early": load_policy(trained_dir / "snapshots/step_100.pt").network,
        "mid": load_policy(trained_dir / "snapshots/step_200.pt").network,
        "hot": load_policy(trained_dir / "best.pt").network,
    }
    assert ds[0]["features"].shape == (4, 512) and ds[0]["features"].dtype == torch.float16
    assert ds[0]["q_values"].shape == (4, 4) and ds[0]["exploratory"].dtype == torch.bool
    for i in range(len(ds)):
        item = {k: v[-1] for k, v in ds[i].items()}  # the window's last row; the window is its stack
        source = t["source"][int(item["episode"])]
        if source == "random" or item["actions"] < 0:
            assert torch.isnan(item["q_values"]).all() and torch.isnan(item["features"]).all()
            assert bool(item["exploratory"]) == (source == "random" and item["actions"] >= 0)
            continue
        with torch.no_grad():
            q, hidden = networks[source].q_and_hidden(ds[i]["observations"][None])
        assert torch.equal(item["q_values"], q[0]) and torch.equal(item["features"], hidden[0].half())
        assert bool(item["exploratory"]) == bool(item["actions"] != q[0].argmax())
        if source == "early":  # epsilon 0: always greedy
            assert not item["exploratory"]
    with pytest.raises(InputError, match="has no agent outputs"):
        GameplayDataset(plain_copy(recorded, tmp_path), keys=("q_values",))


def plain_copy(path: Path, folder: Path) -> Path:
    """The file without its agent outputs, as one recorded without record.agent_outputs."""
    plain = folder / "plain.h5"
    shutil.copy(path, plain)
    with h5py.File(plain, "a") as f:
        for name in ("q_values", "exploratory", "features"):
            del f[name]
    return plain


def test_episodes_with_agent_outputs_still_replay(recorded):
    for episode in (0, 3):
        stored, replayed = load_episode(recorded, episode), replay_episode(recorded, episode)
        assert all(np.array_equal(replayed[k], stored[k]) for k in stored)


def test_metrics_and_card_per_source(recorded):
    metrics = json.loads((recorded.parent.parent / "metrics/dataset.json").read_text())
    assert list(metrics["sources"]) == ["random", "early", "mid", "hot"]
    assert metrics["overall"]["episodes"] == 5 and metrics["sources"]["hot"]["episodes"] == 2
    assert metrics["sources"]["random"]["exploratory_share"] == 1.0
    assert metrics["sources"]["early"]["exploratory_share"] == 0.0  # epsilon 0
    card = (recorded.parent / "DATASET.md").read_text()
    assert "## Diversity" in card and "| hot | trained | boltzmann 1 |" in card


def contents(path: Path, episodes: dict[tuple[str, int], int] | None = None) -> dict:
    """Every row field of a file, per (source, index) episode, with its table row: what must not change."""
    t = table_of(path)
    found = {}
    with h5py.File(path) as f:
        for i in range(len(t)):
            rows = slice(int(t["first_row"][i]), int(t["first_row"][i] + t["length"][i] + 1))
            arrays = {name: f[name][rows].tobytes() for name in ROW_DATASETS}
            columns = {c: t[c][i] for c in ("seed", "return", "length", "checkpoint_hash", "exploration")}
            found[(t["source"][i], int(t["source_episode"][i]))] = (arrays, columns)
    return found


def test_adding_a_source_leaves_the_other_sources_episodes_byte_identical(recorded, trained_dir, tmp_path):
    """A source inserted before the others and one added at the end: the other sources' episodes (and their seeds
    and returns) stay byte for byte what they were, though their ids move."""
    added = [
        SOURCES[0],
        {"name": "final", "policy": "final", "epsilon": 0.1, "episodes": 1},
        *SOURCES[1:],
        {"name": "late", "policy": "random", "episodes": 1},
    ]
    grown = contents(recording(tmp_path / "grown", added, trained_dir))
    before = contents(recorded)
    assert set(before) < set(grown) and set(grown) - set(before) == {("final", 0), ("late", 0)}
    for key, (arrays, columns) in before.items():
        assert grown[key][1] == columns, key
        assert grown[key][0] == arrays, key
    ids = table_of(tmp_path / "grown/gameplay.h5")
    assert ids["id"][ids["source"] == "hot"].tolist() == [4, 5]


def test_shards_merged_equal_the_one_shot_recording(recorded, trained_dir, tmp_path):
    shards = [
        recording(tmp_path / f"shard_{first}", SOURCES, trained_dir, first_episode=first, shard_episodes=count)
        for first, count in ((3, 2), (0, 2), (2, 1))
    ]
    assert table_of(shards[0])["id"].tolist() == [3, 4]
    merge(shards, tmp_path / "merged.h5")
    assert_same_contents(tmp_path / "merged.h5", recorded)


def test_a_new_source_recorded_alone_and_appended_equals_recording_everything(recorded, trained_dir, tmp_path):
    """The workflow that grows a dataset: add a source at the end of record.sources, record only its episodes
    (--first-episode at the old total) and append them: the result is the one-shot recording of the new sources."""
    grown = [*SOURCES, {"name": "final", "policy": "final", "epsilon": 0.2, "episodes": 2}]
    one_shot = recording(tmp_path / "one_shot", grown, trained_dir)
    new = recording(tmp_path / "new", grown, trained_dir, first_episode=5)
    dataset = tmp_path / "data/gameplay.h5"
    dataset.parent.mkdir()
    shutil.copy(recorded, dataset)
    merge([new], dataset, append=True)
    assert_same_contents(dataset, one_shot)
    # a dataset whose episodes the new recording would not play is refused
    other = [{**SOURCES[0], "name": "uniform"}, *SOURCES[1:], grown[-1]]
    moved = recording(tmp_path / "moved", other, trained_dir, first_episode=5)
    result = CliRunner().invoke(app, ["merge", str(moved), "--out", str(dataset), "--append"])
    assert result.exit_code == 2 and "its episode 0 (random #0) is not the one" in result.stderr, result.output


def test_latents_and_compare_figures(recorded, tmp_path):
    import cv2

    result = CliRunner().invoke(app, ["latents", str(recorded), "--out", str(tmp_path / "latents.png")])
    assert result.exit_code == 0, result.output
    assert cv2.imread(str(tmp_path / "latents.png")).shape == (580, 1300, 3)
    plain = plain_copy(recorded, tmp_path)
    result = CliRunner().invoke(app, ["latents", str(plain)])
    assert result.exit_code == 2 and "has no agent features" in result.stderr, result.output
    figure = tmp_path / "compare.png"
    result = CliRunner().invoke(
        app, ["inspect", str(recorded), "--compare", str(plain), "--figure", str(figure), "--samples", "2"]
    )
    assert result.exit_code == 0, result.output
    assert f"A: {recorded}" in result.stdout and "hot" in result.stdout and figure.is_file()


def test_a_downstream_script_reads_chosen_sources_through_the_loader(recorded):
    ds = GameplayDataset(recorded, window=2, keys=("actions", "q_values", "episode"), sources=["hot", "early"])
    assert ds.episodes["source"].tolist() == ["early", "hot", "hot"]
    assert {int(ds[i]["episode"][0]) for i in range(len(ds))} == {1, 3, 4}
    assert not torch.isnan(ds[0]["q_values"]).any()  # a network played every action row of these
    with pytest.raises(InputError, match=r"sources = \['bets'\]: must be a list of the dataset's sources"):
        GameplayDataset(recorded, sources=["bets"])
