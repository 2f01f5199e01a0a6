"""record.compression zstd: written and read through hdf5plugin, the same rows as gzip; without the plugin, one line
saying what to install, for writing and for reading."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from pipeline.data.codecs import ZSTD_FILTER, filters_of
from pipeline.dataset import GameplayDataset
from tests.data.synthetic import write_dataset
from tests.helpers import ROOT

KEYS = ("frames", "observations", "actions", "rewards", "dones", "lives")
WITHOUT_PLUGIN = "import sys; sys.modules['hdf5plugin'] = None\n"  # `import hdf5plugin` then fails, as uninstalled


def test_zstd_files_hold_the_same_rows_as_gzip_ones(tmp_path):
    pytest.importorskip("hdf5plugin")
    gzip = write_dataset(tmp_path / "gzip.h5")
    zstd = write_dataset(tmp_path / "zstd.h5", compression="zstd")
    with h5py.File(zstd) as f:
        assert filters_of(f["frames"])[-1] == ZSTD_FILTER and f["frames"].chunks == (1, 210, 160, 3)
    a, b = GameplayDataset(gzip, window=3, keys=KEYS), GameplayDataset(zstd, window=3, keys=KEYS)
    for x, y in zip(DataLoader(a, batch_size=8), DataLoader(b, batch_size=8, num_workers=2)):
        for key in KEYS:
            torch.testing.assert_close(x[key], y[key], rtol=0, atol=0)


def run_without_plugin(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_PLUGIN + code], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.slow
def test_without_hdf5plugin_a_zstd_file_is_refused_in_one_line(tmp_path):
    pytest.importorskip("hdf5plugin")
    zstd = write_dataset(tmp_path / "zstd.h5", compression="zstd")
    done = run_without_plugin(
        "from pipeline.config.errors import InputError\nfrom pipeline.dataset import GameplayDataset\n"
        f"try:\n    GameplayDataset({str(zstd)!r})\nexcept InputError as err:\n    print(err)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines() == [
        f"dataset '{zstd}' is compressed with Zstandard; to read it, pip install hdf5plugin "
        "(or the pipeline's zstd extra: pip install '.[zstd]')"
    ]


@pytest.mark.slow
def test_without_hdf5plugin_writing_zstd_is_refused_before_the_file_exists(tmp_path):
    target = tmp_path / "new.h5"
    done = run_without_plugin(
        "from pipeline.config.errors import InputError\nfrom tests.data.synthetic import write_dataset\n"
        f"try:\n    write_dataset(__import__('pathlib').Path({str(target)!r}), compression='zstd')\n"
        "except InputError as err:\n    print(err)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("record.compression = 'zstd' needs the hdf5plugin package: pip install")
    assert not target.exists()


@pytest.mark.slow
def test_spawned_workers_load_the_plugin_themselves(tmp_path):
    """A spawned DataLoader worker starts without hdf5plugin imported; opening the file there loads it."""
    pytest.importorskip("hdf5plugin")
    zstd = write_dataset(tmp_path / "zstd.h5", compression="zstd")
    ds = GameplayDataset(zstd, window=2, keys=("observations", "actions"))
    loader = DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="spawn")
    got = torch.cat([batch["observations"] for batch in loader])
    torch.testing.assert_close(got, torch.stack([ds[i]["observations"] for i in range(len(ds))]), rtol=0, atol=0)


def test_a_zstd_recording_holds_what_a_gzip_one_does_and_replays(random_recording, tmp_path):
    """The same episodes recorded with zstd (shards appended chunk for chunk, as with gzip): identical arrays."""
    pytest.importorskip("hdf5plugin")
    from pipeline.dataset import load_episode, replay_episode
    from pipeline.record.run import record
    from tests.conftest import RECORDING_CAPS
    from tests.helpers import tiny_params

    cap = RECORDING_CAPS["MsPacman"]
    params = tiny_params(
        env={"game": "MsPacman", "num_envs": 2},
        record={"episodes": 2, "percent_random": 100, "max_episode_steps": cap, "compression": "zstd"},
    )
    zstd = record(params, tmp_path / "none.pt", tmp_path / "zstd").dataset
    gzip = random_recording("MsPacman") / "gameplay.h5"
    with h5py.File(gzip) as a, h5py.File(zstd) as b:
        assert filters_of(b["frames"])[-1] == ZSTD_FILTER
        for name in ("frames", "observations", "actions", "rewards", "terminated", "truncated", "lives"):
            np.testing.assert_array_equal(a[name][:], b[name][:], err_msg=name)
    card = zstd.with_name("DATASET.md").read_text().split("\n## ")[0]
    assert "(Zstandard: to read it, pip install hdf5plugin" in card
    replayed, stored = replay_episode(zstd, 1), load_episode(zstd, 1)
    for name in stored:
        np.testing.assert_array_equal(replayed[name], stored[name], err_msg=name)
