"""The Ray backend on a real local Ray instance: a recording and an evaluation equal the local backend's, array for
array and byte for byte; Ctrl-C cancels the episodes and leaves the previous outputs; without Ray, one line, exit 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from pipeline.config.errors import EnvironmentFault, InputError
from pipeline.core.hashing import file_hash
from pipeline.data.reader import read_episodes
from pipeline.play.backends import Backend
from pipeline.record.run import record
from tests.helpers import ROOT, tiny_params, write_params


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


def dataset_names(f: h5py.File) -> list[str]:
    names: list[str] = []
    f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return names


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_ray_recording_equals_the_local_one(local_ray, tmp_path, tiny_checkpoint):
    """3 episodes (1 random, 2 trained) with the PNG export, played by 2 Ray actors from the checkpoint's bytes:
    every array and attribute, the videos and the PNGs are the local recording's; no temporaries are left."""
    params = tiny_params(record={"png": True})
    record(params, tiny_checkpoint, tmp_path / "local")
    record(params, tiny_checkpoint, tmp_path / "ray", backend=Backend("ray"))
    with h5py.File(tmp_path / "local/gameplay.h5") as a, h5py.File(tmp_path / "ray/gameplay.h5") as b:
        assert dataset_names(a) == dataset_names(b) and "episodes/checkpoint_hash" in dataset_names(a)
        for name in dataset_names(a):
            np.testing.assert_array_equal(a[name][:], b[name][:], err_msg=name)
        assert sorted(a.attrs) == sorted(b.attrs)
        for key in a.attrs:
            assert np.array_equal(a.attrs[key], b.attrs[key]), key
        assert list(b["episodes/agent"][:]) == [b"random", b"trained", b"trained"]
    assert file_hash(tmp_path / "local/gameplay.h5") == file_hash(tmp_path / "ray/gameplay.h5")
    assert (tmp_path / "ray/DATASET.md").read_text() == (tmp_path / "local/DATASET.md").read_text()
    for folder in ("videos", "frames"):
        local, remote = files_under(tmp_path / "local" / folder), files_under(tmp_path / "ray" / folder)
        assert sorted(local) == sorted(remote) and len(local) >= 3, folder
        assert local == remote, folder
    assert not [p.name for p in (tmp_path / "ray").iterdir() if p.name.startswith(".")]
    deadline = time.monotonic() + 30
    while local_ray.available_resources().get("CPU") != 2:  # the actors are ended: their CPUs come back
        assert time.monotonic() < deadline, local_ray.available_resources()
        time.sleep(0.1)


SOURCES = [
    {"name": "random", "policy": "random", "episodes": 1},
    {"name": "early", "policy": "snapshot", "step": 100, "epsilon": 0.0, "episodes": 1},
    {"name": "hot", "policy": "best", "temperature": 1.0, "episodes": 2},
]


def sources_params(**record):
    settings = {"sources": SOURCES, "episodes": 4, "max_episode_steps": 30, "video_scale": 1, "agent_outputs": True}
    return tiny_params(record={**settings, **record})


@pytest.mark.slow
def test_a_ray_recording_with_sources_equals_the_local_one(local_ray, tmp_path, trained_dir):
    """record.sources with the random agent, a snapshot and best.pt (two checkpoints, each shipped to the actors as
    bytes) and their agent outputs: the whole recording and a shard of it equal the local ones array for array."""
    params = sources_params(png=True)
    for name, backend in (("local", Backend()), ("ray", Backend("ray"))):
        record(
            params, None, tmp_path / name, models=trained_dir, metrics=tmp_path / name / "metrics.json", backend=backend
        )
        record(
            params,
            None,
            tmp_path / f"{name}_shard",
            models=trained_dir,
            first_episode=1,
            shard_episodes=2,
            backend=backend,
        )
    for local, remote in (("local", "ray"), ("local_shard", "ray_shard")):
        with h5py.File(tmp_path / local / "gameplay.h5") as a, h5py.File(tmp_path / remote / "gameplay.h5") as b:
            assert dataset_names(a) == dataset_names(b) and "features" in dataset_names(a)
            for name in dataset_names(a):
                np.testing.assert_array_equal(a[name][:], b[name][:], err_msg=name)
            for key in a.attrs:
                assert np.array_equal(a.attrs[key], b.attrs[key]), key
        assert file_hash(tmp_path / local / "gameplay.h5") == file_hash(tmp_path / remote / "gameplay.h5")
        assert (tmp_path / remote / "DATASET.md").read_text() == (tmp_path / local / "DATASET.md").read_text()
        for folder in ("videos", "frames"):
            assert files_under(tmp_path / local / folder) == files_under(tmp_path / remote / folder), folder
    for name, sources in (("ray", ["random", "early", "hot", "hot"]), ("ray_shard", ["early", "hot"])):
        with h5py.File(tmp_path / name / "gameplay.h5") as f:
            assert read_episodes(f)["source"].tolist() == sources, name
    assert (tmp_path / "ray/metrics.json").read_text() == (tmp_path / "local/metrics.json").read_text()


def test_a_ray_worker_gets_the_checkpoints_its_episodes_play_and_no_other(tmp_path):
    """Each checkpoint once, whichever sources share it; none for a range of random episodes; the recorder built
    from the shipped copies plays them in place of the originals."""
    from pipeline.config.layout import TrainLayout
    from pipeline.record.plan import episode_range, plan_sources, planned_episodes, sources_of
    from pipeline.record.run import build_recorder, checkpoint_inputs
    from pipeline.record.sources import Player

    sources = [*SOURCES, {"name": "greedy", "policy": "best", "epsilon": 0.0, "episodes": 1}]
    params = tiny_params(record={"sources": sources, "episodes": 5})
    models = TrainLayout(tmp_path / "models")
    entries = plan_sources(sources_of(params, "best", models.best), params.record)
    players = {
        e.name: Player(e, None if e.policy == "random" else models.snapshot(100) if e.name == "early" else models.best)
        for e in entries
    }

    def planned(first: int, count: int):
        return planned_episodes(entries, params.seed, episode_range(5, first, count))

    everything = checkpoint_inputs(players, planned(0, 5))
    assert sorted(everything.values()) == sorted([models.best, models.snapshot(100)])
    assert checkpoint_inputs(players, planned(0, 1)) == {}
    assert list(checkpoint_inputs(players, planned(2, 3)).values()) == [models.best]
    copies = {name: tmp_path / "copies" / name for name in everything}
    shipped = {path: copies[name] for name, path in everything.items()}
    folders = {"videos": tmp_path / "v", "shards": tmp_path / "s"}
    recorder = build_recorder(params, planned(0, 5), players, None, copies, folders)
    try:
        assert {n: p.checkpoint for n, p in recorder.players.items()} == {
            n: shipped.get(p.checkpoint) for n, p in players.items()
        }
    finally:
        recorder.close()


@pytest.mark.slow
def test_a_ray_evaluation_equals_the_local_one(local_ray, tmp_path, tiny_checkpoint):
    from pipeline.config.layout import EvalLayout
    from pipeline.evaluate.run import evaluate

    params = tiny_params(evaluate={"episodes": 3}, env={"max_episode_frames": 600})
    for name, backend in (("local", Backend()), ("ray", Backend("ray"))):
        out = tmp_path / name
        evaluate(
            params,
            tiny_checkpoint,
            EvalLayout(out / "eval.json", out / "episodes.csv", out / "scores.png"),
            backend=backend,
        )
    for name in ("eval.json", "episodes.csv"):
        assert (tmp_path / "ray" / name).read_text() == (tmp_path / "local" / name).read_text(), name
    assert json.loads((tmp_path / "ray/eval.json").read_text())["episodes"] == 3


@pytest.mark.slow
def test_ctrl_c_cancels_a_ray_recording_and_leaves_the_previous_dataset(tmp_path):
    """`pipeline record --backend ray` (a local Ray of its own) gets SIGINT in its whole process group, as from a
    terminal, once an episode is handed over: exit 130, the previous dataset and videos as they were."""
    pytest.importorskip("ray")
    out = tmp_path / "out"
    record(tiny_params(record={"episodes": 1, "percent_random": 100, "max_episode_steps": 5}), Path("none.pt"), out)
    before = file_hash(out / "gameplay.h5"), (out / "DATASET.md").read_text()
    params = write_params(
        tmp_path / "params.yaml",
        tiny_params(record={"episodes": 6, "percent_random": 100, "max_episode_steps": 400, "video_scale": 1}),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "stages.cli", "record", "--params", str(params), "--out-dir", str(out)]
        + ["--backend", "ray"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while not list(out.glob(".videos.tmp-*/random_agent_0.mp4")):
        assert proc.poll() is None and time.monotonic() < deadline, "record finished or stalled before the signal"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    log = proc.communicate(timeout=120)[0]
    assert proc.returncode == 130 and "Interrupted during episode" in log, log
    assert sorted(p.name for p in out.iterdir()) == ["DATASET.md", "gameplay.h5", "videos"]
    assert (file_hash(out / "gameplay.h5"), (out / "DATASET.md").read_text()) == before
    assert [p.name for p in (out / "videos").iterdir()] == ["random_agent_0.mp4"]


class BadEpisode:
    """A player whose episode 1 is bad input, as a player's own check would find it on a worker."""

    def play(self, job, tick):
        if job == 1:
            raise InputError("episode 1 is bad")
        return job

    def close(self):
        pass


def bad_episode(inputs, outputs):
    return BadEpisode()


def no_player(inputs, outputs):
    raise RuntimeError("no player here")


@pytest.mark.slow
def test_a_ray_failure_is_raised_as_the_local_pool_raises_it(local_ray):
    """An episode's own InputError arrives as an InputError (exit 2); a worker that cannot build its player is an
    EnvironmentFault (exit 1), never Ray's exception types, which the CLI would report as a bug."""
    from pipeline.play.ray_pool import play_on_ray

    results = []
    with pytest.raises(InputError, match="episode 1 is bad"):
        play_on_ray(bad_episode, {}, {}, 3, None, lambda j, n: None, lambda j, r: results.append(r))
    assert results in ([], [0])  # episode 0 may finish before episode 1 fails, or not; nothing is handed on after
    with pytest.raises(EnvironmentFault, match="could not build its player"):
        play_on_ray(no_player, {}, {}, 2, None, lambda j, n: None, lambda j, r: None)


def test_without_ray_the_backend_is_one_line_exit_2(tmp_path):
    """With `import ray` failing, as where the extra is not installed: one line naming the extra, nothing written."""
    params = write_params(tmp_path / "params.yaml", tiny_params(record={"episodes": 1, "percent_random": 100}))
    code = "import sys; sys.modules['ray'] = None; from stages.cli import app; app()"
    args = ["record", "--params", str(params), "--out-dir", str(tmp_path / "out"), "--backend", "ray"]
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "Error: --backend ray needs Ray, which is not installed: pip install '.[ray]'"
    assert not (tmp_path / "out").exists()
