"""`pipeline record` on real ALE episodes: HDF5 layout, alignment, determinism, videos, PNGs, interrupts, bad input."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import imageio.v2 as imageio
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from pipeline.core.hashing import file_hash
from pipeline.data.reader import read_episodes
from pipeline.data.schema import (
    EPISODE_COLUMNS,
    FILE_ATTRIBUTES,
    FORMAT_VERSION,
    NO_ACTION,
    ROW_FIELDS,
)
from pipeline.data.sources import episode_seed
from pipeline.data.writer import FRAME_CHUNK, OBSERVATION_CHUNK
from pipeline.envs.atari import make_env
from pipeline.record.plan import random_count
from pipeline.record.png import episode_folder, frame_path, observation_path, read_frame, read_observation
from pipeline.record.run import record
from pipeline.record.video import video_size
from stages.cli import app
from tests.helpers import tiny_params, write_params

STEPS = 40  # tiny_params: record.max_episode_steps
PNGS = {"png": True, "png_observations": True}
PYTHON = Path(sys.executable)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, tiny_checkpoint) -> Path:
    """3 episodes (1 random, 2 trained) of at most 40 steps, with the PNG export of frames and observations."""
    out = tmp_path_factory.mktemp("data")
    record(tiny_params(record=PNGS), tiny_checkpoint, out)
    return out


def episodes_of(path: Path):
    with h5py.File(path) as f:
        return read_episodes(f)


def test_layout_dtypes_and_attributes(recorded, tiny_checkpoint):
    params = tiny_params(record=PNGS)
    with h5py.File(recorded / "gameplay.h5") as f:
        n = len(f["frames"])
        for name, dtype in ((f.name, f.dtype) for f in ROW_FIELDS):
            assert f[name].dtype == np.dtype(dtype) and len(f[name]) == n, name
        assert f["frames"].shape[1:] == (210, 160, 3) and f["frames"].chunks == (FRAME_CHUNK, 210, 160, 3)
        assert f["observations"].shape[1:] == (84, 84) and f["observations"].chunks == (OBSERVATION_CHUNK, 84, 84)
        assert f["frames"].compression == "gzip" and f["frames"].compression_opts == 1
        for name, dtype in ((c.name, c.dtype) for c in EPISODE_COLUMNS):
            assert f["episodes"][name].dtype == np.dtype(dtype) and len(f["episodes"][name]) == 3, name
        a = f.attrs
        assert sorted(a) == sorted(x.name for x in FILE_ATTRIBUTES)  # every attribute declared, and only those
        assert a["format_version"] == FORMAT_VERSION and a["env_id"] == "ALE/Breakout-v5"
        assert a["frameskip"] == 4 and a["sticky_action_prob"] == 0.25 and a["fps"] == 30
        assert list(a["action_meanings"]) == ["NOOP", "FIRE", "RIGHT", "LEFT"]
        assert json.loads(a["params"])["record"]["max_episode_steps"] == params.record.max_episode_steps
        assert a["package_version"] and a["git_commit"] and "T + 1" in a["layout"]
    table = episodes_of(recorded / "gameplay.h5")
    assert table["agent"].tolist() == ["random", "trained", "trained"]
    assert table["checkpoint_hash"].tolist() == ["", file_hash(tiny_checkpoint), file_hash(tiny_checkpoint)]
    assert table["seed"].tolist() == [
        episode_seed(0, "random", 0),
        episode_seed(0, "best", 0),
        episode_seed(0, "best", 1),
    ]
    assert table["source_episode"].tolist() == [0, 0, 1]
    assert table["exploration"].tolist() == ["epsilon"] * 3 and table["exploration_value"].tolist() == [1.0, 0.01, 0.01]
    step = torch.load(tiny_checkpoint, weights_only=True)["step"]
    assert table["checkpoint_step"].tolist() == [-1, step, step]
    assert table["source"].tolist() == ["random", "best", "best"]  # record.model, by default
    with h5py.File(recorded / "gameplay.h5") as f:
        assert f.attrs["model"] == "best"


def test_rows_align_within_episodes_and_keep_the_final_observation(recorded):
    """Replaying each episode's stored actions from its seed reproduces every stored observation, the final one
    included, and every reward and done flag: each (o_t, a_t, r_t, o_t+1) is in the file."""
    path = recorded / "gameplay.h5"
    table = episodes_of(path)
    assert table["first_row"].tolist() == np.concatenate([[0], np.cumsum(table["length"] + 1)[:-1]]).tolist()
    env = make_env(tiny_params().env)
    with h5py.File(path) as f:
        assert len(f["frames"]) == (table["length"] + 1).sum()
        for k in range(len(table)):
            rows = slice(table["first_row"][k], table["first_row"][k] + table["length"][k] + 1)
            obs, frames, actions = f["observations"][rows], f["frames"][rows], f["actions"][rows]
            rewards, term, trunc = f["rewards"][rows], f["terminated"][rows], f["truncated"][rows]
            assert ((actions[:-1] >= 0) & (actions[:-1] < 4)).all() and actions[-1] == NO_ACTION
            assert rewards[-1] == 0 and table["return"][k] == rewards.sum()
            assert (term | trunc).tolist() == [False] * (table["length"][k] - 1) + [True, False]
            assert table["length"][k] == STEPS or term[-2]

            replay_obs, _ = env.reset(seed=int(table["seed"][k]))
            for t in range(table["length"][k]):
                np.testing.assert_array_equal(replay_obs, obs[t])
                np.testing.assert_array_equal(env.unwrapped.ale.getScreenRGB(), frames[t])
                replay_obs, reward, terminated, _, _ = env.step(int(actions[t]))
                assert (reward, terminated) == (rewards[t], term[t])
            np.testing.assert_array_equal(replay_obs, obs[-1])
            np.testing.assert_array_equal(env.unwrapped.ale.getScreenRGB(), frames[-1])


def dataset_names(f: h5py.File) -> list[str]:
    names: list[str] = []
    f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return names


def test_parallel_recording_equals_the_sequential_one(recorded, tmp_path, tiny_checkpoint):
    """The same 3 episodes (1 random, 2 trained) played by 3 workers: the dataset file is byte for byte the
    sequential one (env.num_envs is no part of its identity), and so are the videos' frames and the PNG export."""
    parallel = tmp_path / "parallel"
    record(tiny_params(env={"num_envs": 3}, record=PNGS), tiny_checkpoint, parallel)
    assert file_hash(parallel / "gameplay.h5") == file_hash(recorded / "gameplay.h5")
    with h5py.File(parallel / "gameplay.h5") as f:
        assert "num_envs" not in json.loads(f.attrs["params"])["env"]
    videos = sorted(p.name for p in (recorded / "videos").iterdir())
    assert videos == sorted(p.name for p in (parallel / "videos").iterdir())
    for name in videos:
        with (
            imageio.get_reader(recorded / "videos" / name, format="FFMPEG") as a,
            imageio.get_reader(parallel / "videos" / name, format="FFMPEG") as b,
        ):
            assert a.count_frames() == b.count_frames(), name
    pngs = sorted(str(p.relative_to(recorded)) for p in (recorded / "frames").rglob("*"))
    assert pngs == sorted(str(p.relative_to(parallel)) for p in (parallel / "frames").rglob("*"))
    for k in range(3):
        assert (episode_folder(recorded / "frames", k) / "actions.json").read_text() == (
            episode_folder(parallel / "frames", k) / "actions.json"
        ).read_text()
    assert not [p.name for p in parallel.iterdir() if p.name.startswith(".")]  # no shards or temporaries left


def test_random_count_rounds_to_nearest_with_halves_up():
    assert random_count(20, 30) == 6
    assert random_count(10, 25) == 3
    assert random_count(3, 34) == 1
    assert random_count(7, 14.3) == 1
    assert random_count(1, 50) == 1
    assert random_count(5, 0) == 0 and random_count(5, 100) == 5


def test_same_seed_same_bytes_other_seed_other_arrays(tmp_path, tiny_checkpoint):
    def run(seed: int, name: str) -> Path:
        p = tiny_params(seed=seed, record={"episodes": 2, "percent_random": 50, "max_episode_steps": 20})
        return record(p, tiny_checkpoint, tmp_path / name).dataset

    first, again, other = run(0, "a"), run(0, "b"), run(1, "c")
    assert file_hash(first) == file_hash(again)
    with h5py.File(first) as a, h5py.File(other) as c:
        assert not np.array_equal(a["frames"][:], c["frames"][:])
        assert a["episodes/seed"][:].tolist() != c["episodes/seed"][:].tolist()


def test_videos_decode_with_one_frame_per_row_and_the_padded_size(recorded):
    table = episodes_of(recorded / "gameplay.h5")
    names = sorted(p.name for p in (recorded / "videos").iterdir())
    assert names == ["random_agent_0.mp4", "trained_agent_1.mp4", "trained_agent_2.mp4"]
    width, height = video_size(2)
    assert width % 16 == 0 and height % 16 == 0
    with h5py.File(recorded / "gameplay.h5") as f:
        first_frame = f["frames"][table["first_row"][1]]
    with imageio.get_reader(recorded / "videos/trained_agent_1.mp4", format="FFMPEG") as reader:
        meta = reader.get_meta_data()
        assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
        assert meta["fps"] == 30 and meta["size"] == (width, height)
        shown = reader.get_data(0)
    game = shown[:420, :320].astype(int)  # the game at scale 2, top left, beside the panel
    assert np.abs(game - first_frame.repeat(2, 0).repeat(2, 1)).mean() < 8  # lossy H.264, same picture
    for k, name in enumerate(names):
        with imageio.get_reader(recorded / "videos" / name, format="FFMPEG") as reader:
            assert reader.count_frames() == table["length"][k] + 1


def test_png_export_matches_the_hdf5_frames_observations_and_actions(recorded):
    table = episodes_of(recorded / "gameplay.h5")
    root = recorded / "frames"
    assert sorted(p.name for p in root.iterdir()) == [episode_folder(root, k).name for k in range(3)]
    with h5py.File(recorded / "gameplay.h5") as f:
        for k in range(len(table)):
            first, n = table["first_row"][k], table["length"][k]
            names = sorted(p.name for p in episode_folder(root, k).iterdir())
            frames = [frame_path(root, k, t).name for t in range(n + 1)]
            observations = [observation_path(root, k, t).name for t in range(n + 1)]
            assert names == sorted(["actions.json", *frames, *observations])
            assert [p.name for p in sorted(episode_folder(root, k).glob("frame_*.png"))] == frames  # play order
            assert frames[10] == "frame_000010.png"
            for t in range(n + 1):
                np.testing.assert_array_equal(read_frame(frame_path(root, k, t)), f["frames"][first + t])
                np.testing.assert_array_equal(
                    read_observation(observation_path(root, k, t)), f["observations"][first + t]
                )
            meta = json.loads((episode_folder(root, k) / "actions.json").read_text())
            assert meta["actions"] == f["actions"][first : first + n].tolist()
            assert meta["agent"] == table["agent"][k] and meta["seed"] == table["seed"][k]


def start_record(params_file: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(PYTHON), "-m", "stages.cli", "record", "--params", str(params_file), "--out-dir", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_recording(out: Path, proc: subprocess.Popen) -> None:
    """Until the second episode's video is being written: mid-way, with a partial dataset under its temp name."""
    deadline = time.monotonic() + 60
    while not list(out.glob(".videos.tmp-*/*_agent_1.mp4")):
        assert proc.poll() is None and time.monotonic() < deadline, "record finished or stalled before the signal"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("signum, num_envs", [(signal.SIGINT, 1), (signal.SIGKILL, 1), (signal.SIGTERM, 2)])
def test_interrupted_record_leaves_the_previous_dataset_or_none(tmp_path, signum, num_envs):
    params_file = write_params(
        tmp_path / "params.yaml",
        tiny_params(env={"num_envs": num_envs}, record={"episodes": 4, "percent_random": 100, "max_episode_steps": 0}),
    )
    previous = tmp_path / "previous"
    record(
        tiny_params(record={"episodes": 1, "percent_random": 100, "max_episode_steps": 5}), Path("none.pt"), previous
    )
    before = file_hash(previous / "gameplay.h5")

    for out in (previous, tmp_path / "fresh"):
        proc = start_record(params_file, out)
        wait_for_recording(out, proc)
        proc.send_signal(signum)
        log = proc.communicate(timeout=60)[0]
        if signum != signal.SIGKILL:
            assert proc.returncode == 128 + signum and "Interrupted during episode" in log, log
            assert not list(out.glob(".*tmp-*")), "a graceful stop removes its temporary outputs"
        else:
            assert proc.returncode == -signal.SIGKILL
        # a fresh folder that a stopped run left empty goes too
        visible = sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) if out.exists() else []
        if out == previous:
            assert file_hash(out / "gameplay.h5") == before and visible == ["DATASET.md", "gameplay.h5", "videos"]
            assert [p.name for p in (out / "videos").iterdir()] == ["random_agent_0.mp4"]
        else:
            assert visible == []


@pytest.mark.slow
def test_a_failing_worker_fails_the_recording_and_leaves_the_previous_one(tmp_path):
    """Workers whose shards outgrow RLIMIT_FSIZE (as on a full disk): the recording fails with the workers' own
    error, and the previous dataset and videos stay as they were, with no temporaries left."""
    out = tmp_path / "out"
    record(tiny_params(record={"episodes": 1, "percent_random": 100, "max_episode_steps": 5}), Path("none.pt"), out)
    before = file_hash(out / "gameplay.h5")
    params_file = write_params(
        tmp_path / "params.yaml",
        tiny_params(
            env={"num_envs": 2},
            record={"episodes": 3, "percent_random": 100, "max_episode_steps": 100, "video_scale": 1},
        ),
    )
    limit = 64 * 1024  # above the new dataset's header, below an episode's shard (about 2 KB a row)

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [str(PYTHON), "-m", "stages.cli", "record", "--params", str(params_file), "--out-dir", str(out)],
        capture_output=True,
        text=True,
        preexec_fn=small_files,
        timeout=120,
    )
    assert proc.returncode == 1 and "File too large" in " ".join(proc.stderr.split()), proc.stderr  # however wrapped
    assert sorted(p.name for p in out.iterdir()) == ["DATASET.md", "gameplay.h5", "videos"]
    assert file_hash(out / "gameplay.h5") == before
    assert [p.name for p in (out / "videos").iterdir()] == ["random_agent_0.mp4"]


def invoke(args: list[str], params_file: Path):
    return CliRunner().invoke(app, ["record", "--params", str(params_file), *args])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--episodes", "0"], "record.episodes = 0: must be an integer > 0"),
        (["--episodes", "-3"], "record.episodes = -3: must be an integer > 0"),
        (["--percent-random", "150"], "record.percent_random = 150.0: must be a number >= 0.0 and <= 100.0"),
        (["--percent-random", "50", "--checkpoint", "missing.pt"], "checkpoint 'missing.pt' does not exist"),
        (["--compression", "brotli"], "record.compression = 'brotli': must be one of gzip, lzf, zstd"),
        (["--first-episode", "3"], "--first-episode 3: the recording has episodes 0 .. 2 (record.episodes)"),
        (["--first-episode", "1", "--shard-episodes", "3"], "--shard-episodes 3: from episode 1 there are 1 .. 2"),
    ],
)
def test_bad_inputs_exit_2_with_one_line(tmp_path, args, message):
    result = invoke([*args, "--out-dir", str(tmp_path / "out")], write_params(tmp_path / "p.yaml", tiny_params()))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_zstd_without_hdf5plugin_exits_2_with_one_line_before_writing(tmp_path):
    params_file = write_params(tmp_path / "p.yaml", tiny_params(record={"episodes": 1, "percent_random": 100}))
    args = ["record", "--params", str(params_file), "--compression", "zstd", "--out-dir", str(tmp_path / "out")]
    hidden = "import sys; sys.modules['hdf5plugin'] = None; from stages.cli import app; app()"  # as if uninstalled
    proc = subprocess.run([str(PYTHON), "-c", hidden, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "Error: record.compression = 'zstd' needs the hdf5plugin package: pip install hdf5plugin (or the "
        "pipeline's zstd extra: pip install '.[zstd]')"
    ]
    assert not (tmp_path / "out").exists()


def test_all_random_needs_no_checkpoint(tmp_path):
    params_file = write_params(tmp_path / "p.yaml", tiny_params(record={"episodes": 1, "max_episode_steps": 5}))
    result = invoke(
        ["--percent-random", "100", "--checkpoint", "missing.pt", "--out-dir", str(tmp_path / "out")], params_file
    )
    assert result.exit_code == 0, result.output
    assert "1 random + 0 trained" in result.stderr
    assert episodes_of(tmp_path / "out/gameplay.h5")["agent"].tolist() == ["random"]
    assert not (tmp_path / "out/frames").exists()
