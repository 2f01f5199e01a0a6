"""The loader: windows inside episodes, tensors per key, DataLoader workers, splits and format checks.

The files are written by the real GameplayWriter with rows whose pixels say where they come from
(red = episode id, green = step), so every window can be checked against its origin.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from pipeline.config.errors import InputError
from pipeline.data.schema import FORMAT_VERSION, FRAME_SHAPE, NO_ACTION, Row
from pipeline.data.splits import split_dataset
from pipeline.data.writer import GameplayWriter
from pipeline.dataset import GameplayDataset

LENGTHS = [5, 1, 9, 3, 6]  # agent steps; each episode has one more row
AGENTS = ["random", "random", "trained", "trained", "trained"]


def write_dataset(path: Path, lengths: list[int] = LENGTHS, agents: list[str] = AGENTS) -> Path:
    attrs = {"action_meanings": ["NOOP", "FIRE", "LEFT"]}
    with GameplayWriter(path, screen_size=84, compression="gzip", attrs=attrs) as w:
        row = 0
        for k, (n, agent) in enumerate(zip(lengths, agents)):
            for t in range(n + 1):
                frame = np.zeros(FRAME_SHAPE, np.uint8)
                frame[..., 0], frame[..., 1] = k, t
                last_step, final = t == n - 1, t == n
                w.add(
                    Row(
                        frames=frame,
                        observations=np.full((84, 84), row % 251, np.uint8),
                        actions=NO_ACTION if final else t % 3,
                        rewards=0.0 if final else float(t),
                        terminated=last_step and k % 2 == 0,
                        truncated=last_step and k % 2 == 1,
                        lives=3,
                    )
                )
                row += 1
            w.end_episode(id=k, agent=agent, seed=1000 + k, checkpoint_hash="", source=agent, checkpoint_step=-1)
    return path


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_dataset(tmp_path / "gameplay.h5")


@pytest.mark.parametrize("window", [1, 2, 4, 8])
def test_windows_never_cross_an_episode_boundary(dataset, window):
    ds = GameplayDataset(dataset, window=window, keys=("frames",))
    assert len(ds) == sum(max(n + 2 - window, 0) for n in LENGTHS)
    seen = set()
    for i in range(len(ds)):
        episode, step = ds.locate(i)
        frames = ds[i]["frames"]
        assert frames.shape == (window, *FRAME_SHAPE) and frames.dtype == torch.uint8
        assert (frames[..., 0] == episode).all()
        assert frames[:, 0, 0, 1].tolist() == list(range(step, step + window))
        assert step + window <= LENGTHS[episode] + 1
        seen.add((episode, step))
    assert len(seen) == len(ds)


def test_keys_give_tensors_of_the_documented_types(dataset):
    keys = ("frames", "observations", "actions", "rewards", "terminated", "truncated", "dones", "lives")
    ds = GameplayDataset(dataset, window=2, keys=keys)
    assert len(ds) == sum(n for n in LENGTHS)
    item = ds[len(ds) - 1]  # the last transition of the last episode: (s_T-1, a, r, s_T)
    assert list(item) == list(keys)
    assert item["observations"].shape == (2, 84, 84) and item["observations"].dtype == torch.uint8
    assert item["actions"].dtype == torch.int64 and item["actions"][1] == NO_ACTION
    assert item["rewards"].dtype == torch.float32 and item["rewards"].tolist() == [LENGTHS[-1] - 1, 0.0]
    assert item["dones"].tolist() == [True, False] == (item["terminated"] | item["truncated"]).tolist()
    assert item["terminated"].tolist() == [True, False]  # episode 4: even ids end terminated in this file
    assert item["lives"].dtype == torch.uint8


def test_dataloader_with_two_workers_returns_the_windows(dataset):
    ds = GameplayDataset(dataset, window=3, keys=("frames", "observations", "actions"))
    expected = [ds[i] for i in range(len(ds))]  # opens the file in this process before the workers fork
    pickle.dumps(ds)  # never carries an open handle
    loader = DataLoader(ds, batch_size=4, num_workers=2, shuffle=False)
    batches = list(loader)
    for key in ("frames", "observations", "actions"):
        got = torch.cat([b[key] for b in batches])
        torch.testing.assert_close(got, torch.stack([e[key] for e in expected]), rtol=0, atol=0)


def test_splits_select_whole_episodes_by_id(dataset):
    index = split_dataset(dataset, dataset.with_name("splits.json"), val_fraction=0.34, seed=0)
    episodes = {}
    for split in ("train", "val"):
        ds = GameplayDataset(dataset, split=split, window=2)
        episodes[split] = {ds.locate(i)[0] for i in range(len(ds))}
        assert episodes[split] == set(index["splits"][split])
        assert len(ds) == sum(LENGTHS[k] for k in index["splits"][split])
    assert episodes["train"].isdisjoint(episodes["val"]) and episodes["train"] | episodes["val"] == set(range(5))


def test_a_split_of_another_dataset_is_refused(dataset):
    split_dataset(dataset, dataset.with_name("splits.json"), val_fraction=0.34, seed=0)
    write_dataset(dataset, lengths=[4, 4, 4, 4, 4])
    with pytest.raises(InputError, match="made for another version"):
        GameplayDataset(dataset, split="train")
    with pytest.raises(InputError, match="does not exist; run `pipeline split`"):
        GameplayDataset(dataset, split="train", splits_path=dataset.with_name("nope.json"))


def test_unreadable_format_versions_are_refused_clearly(dataset, tmp_path):
    with h5py.File(dataset, "a") as f:
        f.attrs["format_version"] = FORMAT_VERSION + 1
    expected = (
        f"has format_version {FORMAT_VERSION + 1}; this version of the pipeline reads gameplay format {FORMAT_VERSION}"
    )
    with pytest.raises(InputError, match=expected):
        GameplayDataset(dataset)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="is not a readable HDF5 file"):
        GameplayDataset(tmp_path / "junk.h5")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"window": 0}, "window = 0"),
        ({"keys": ("pixels",)}, "each must be one of"),
        ({"split": "test", "splits_path": None}, "split 'test' is not in the split index"),
    ],
)
def test_bad_arguments_are_named(dataset, kwargs, message):
    split_dataset(dataset, dataset.with_name("splits.json"), val_fraction=0.34, seed=0)
    with pytest.raises(InputError, match=message):
        GameplayDataset(dataset, **kwargs)
