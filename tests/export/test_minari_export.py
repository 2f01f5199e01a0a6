"""`pipeline export minari` on real recordings: minari.load_dataset gives back every array, the episode metadata and
the provenance, recover_environment() replays episodes (FIRE games included), and bad input changes nothing."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.core.hashing import file_hash
from pipeline.data.reader import read_episodes
from pipeline.envs.atari import FireOnReset
from pipeline.export.minari_export import export_minari, plan_export
from stages.cli import app

minari = pytest.importorskip("minari")


@pytest.fixture(autouse=True)
def minari_root(tmp_path, monkeypatch) -> Path:
    """Minari writes under MINARI_DATASETS_PATH: a fresh folder per test, never the user's ~/.minari."""
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    return tmp_path / "minari"


def export(dataset: Path, dataset_id: str, *args: str):
    return CliRunner().invoke(app, ["export", "minari", str(dataset), "--id", dataset_id, *args])


def stored(path: Path) -> tuple:
    with h5py.File(path) as f:
        rows = {
            name: f[name][:] for name in ("observations", "frames", "actions", "rewards", "terminated", "truncated")
        }
        rows["lives"] = f["lives"][:]
        return read_episodes(f), rows, dict(f.attrs)


@pytest.mark.parametrize("game", ["Breakout", "MsPacman"])
def test_minari_round_trips_every_episode_and_recovers_the_env(random_recording, game):
    path = random_recording(game) / "gameplay.h5"
    dataset_id = f"atari/{game.lower()}/random-v0"
    result = export(path, dataset_id)
    assert result.exit_code == 0, result.output
    assert "about" in result.stderr.splitlines()[0] and "MiB" in result.stderr.splitlines()[0]  # estimate first

    table, rows, attrs = stored(path)
    ds = minari.load_dataset(dataset_id)
    assert ds.total_episodes == len(table) and ds.total_steps == table["length"].sum()
    assert ds.observation_space.shape == (84, 84) and ds.action_space.n == len(attrs["action_meanings"])
    env = ds.recover_environment()
    assert isinstance(env, FireOnReset) == (game == "Breakout")
    metadata = list(ds.storage.get_episode_metadata(range(len(table))))
    for episode in ds.iterate_episodes():
        k, first, n = episode.id, table["first_row"][episode.id], table["length"][episode.id]
        np.testing.assert_array_equal(episode.observations, rows["observations"][first : first + n + 1])
        np.testing.assert_array_equal(episode.actions, rows["actions"][first : first + n])
        np.testing.assert_array_equal(episode.rewards, rows["rewards"][first : first + n])
        np.testing.assert_array_equal(episode.terminations, rows["terminated"][first : first + n])
        np.testing.assert_array_equal(episode.truncations, rows["truncated"][first : first + n])
        np.testing.assert_array_equal(episode.infos["lives"], rows["lives"][first : first + n + 1])
        meta = metadata[k]
        for column in ("agent", "source", "seed", "checkpoint_hash", "checkpoint_step", "return"):
            assert meta[column] == table[column][k], column
        assert meta["gameplay_episode_id"] == table["id"][k]

        obs, _ = env.reset(seed=int(meta["seed"]))  # the recovered env replays the episode
        replayed = [obs] + [env.step(int(a))[0] for a in episode.actions]
        np.testing.assert_array_equal(np.asarray(replayed), episode.observations)

    description = ds.storage.metadata["description"]
    assert file_hash(path) in description and str(attrs["git_commit"]) in description
    assert f"atari-gameplay-pipeline {attrs['package_version']}" in description
    needs_package = any(r.startswith("atari-gameplay-pipeline==") for r in ds.storage.metadata["requirements"])
    assert needs_package == (game == "Breakout")  # only FIRE games use our FireOnReset


def test_rgb_export_holds_the_screens(random_recording):
    path = random_recording("Pong") / "gameplay.h5"
    result = export(path, "pong/screens-v1", "--rgb")
    assert result.exit_code == 0, result.output
    assert "210x160x3 observations" in result.stderr
    table, rows, _ = stored(path)
    ds = minari.load_dataset("pong/screens-v1")
    assert ds.observation_space.shape == (210, 160, 3)
    for episode in ds.iterate_episodes():
        first, n = table["first_row"][episode.id], table["length"][episode.id]
        np.testing.assert_array_equal(episode.observations, rows["frames"][first : first + n + 1])


@pytest.mark.parametrize(
    "dataset_id, message",
    [
        ("breakout", "--id 'breakout': must be (namespace/)name-v<version>"),
        ("atari/breakout v0", "--id 'atari/breakout v0': must be"),
    ],
)
def test_a_malformed_id_is_one_line_and_writes_nothing(random_recording, minari_root, dataset_id, message):
    result = export(random_recording("Breakout") / "gameplay.h5", dataset_id)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not list(minari_root.rglob("main_data.hdf5"))


def test_an_existing_id_is_refused_and_left_alone(random_recording, minari_root):
    path = random_recording("Breakout") / "gameplay.h5"
    assert export(path, "breakout/random-v0").exit_code == 0
    data = minari_root / "breakout/random-v0/data/main_data.hdf5"
    before = file_hash(data)
    result = export(path, "breakout/random-v0")
    assert result.exit_code == 2 and "Minari dataset 'breakout/random-v0' already exists" in result.stderr
    assert file_hash(data) == before


def test_a_failed_export_leaves_the_id_free(random_recording, minari_root):
    path = random_recording("Breakout") / "gameplay.h5"
    plan = plan_export(path, "breakout/broken-v0", rgb=False)

    def disk_full() -> None:
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space left"):
        export_minari(path, plan, on_episode=disk_full)  # fails after the first episode is written
    assert not plan.folder.exists()
    assert export(path, "breakout/broken-v0").exit_code == 0


def test_a_missing_dataset_is_one_line(tmp_path):
    result = export(tmp_path / "nope.h5", "atari/missing-v0")
    assert result.exit_code == 2 and "does not exist; run `pipeline record` first" in result.stderr
