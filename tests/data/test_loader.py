"""The loader: windows inside episodes, tensors per key, what models need (ids, steps, action counts, padding,
masks, float frames, transforms), DataLoader workers, splits and format checks.

The files (tests.data.synthetic) are written by the real GameplayWriter with rows whose pixels say where they come
from (red = episode id, green = step), so every window can be checked against its origin.
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
from pipeline.data.reader import read_episodes
from pipeline.data.schema import FORMAT_VERSION, FRAME_SHAPE, NO_ACTION
from pipeline.data.splits import split_dataset
from pipeline.dataset import GameplayDataset
from tests.data.synthetic import LENGTHS, write_dataset


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


def test_items_say_where_they_come_from(dataset):
    ds = GameplayDataset(dataset, window=3)
    assert ds.keys == ("frames", "actions", "rewards", "dones", "episode", "step", "is_first")
    for i in range(len(ds)):
        episode, step = ds.locate(i)
        item = ds[i]
        assert item["episode"].tolist() == [episode] * 3 and item["episode"].dtype == torch.int64
        assert item["step"].tolist() == list(range(step, step + 3))
        assert item["is_first"].tolist() == [t == 0 for t in range(step, step + 3)]
        assert (item["frames"][:, 0, 0, 0] == item["episode"]).all()  # red = episode id in this file
        assert (item["frames"][:, 0, 0, 1] == item["step"]).all()  # green = step


def test_the_dataset_tells_what_models_are_built_from(dataset):
    index = split_dataset(dataset, dataset.with_name("splits.json"), val_fraction=0.34, seed=0)
    ds = GameplayDataset(dataset, split="val", window=2)
    assert ds.action_meanings == ["NOOP", "FIRE", "RIGHT", "LEFT"] and ds.num_actions == 4
    assert ds.screen_size == 84 and ds.frameskip == 4 and ds.fps == 60 / 4 and ds.video_fps == 30
    assert ds.split == "val" and ds.env_recipe["env_id"] == "ALE/Breakout-v5"
    assert ds.episodes["id"].tolist() == index["splits"]["val"]
    with h5py.File(dataset) as f:
        table = read_episodes(f)
    for column in ("length", "return", "agent", "seed", "first_row"):
        assert ds.episodes[column].tolist() == [table[column][k] for k in index["splits"]["val"]], column


@pytest.mark.parametrize("window", [1, 2, 3])
def test_include_final_false_leaves_out_every_final_row(dataset, window):
    ds = GameplayDataset(dataset, window=window, keys=("actions", "step", "episode"), include_final=False)
    assert len(ds) == sum(max(n + 1 - window, 0) for n in LENGTHS)
    last_steps = set()
    for i in range(len(ds)):
        item = ds[i]
        assert (item["actions"] >= 0).all()
        last_steps.add((int(item["episode"][0]), int(item["step"][-1])))
    for k, n in enumerate(LENGTHS):
        if n >= window:
            assert (k, n - 1) in last_steps and (k, n) not in last_steps


def test_mask_actions_gives_rows_without_an_action_an_embedding_index(dataset):
    ds = GameplayDataset(dataset, window=2, keys=("actions", "step"), mask_actions=True)
    batch = next(iter(DataLoader(ds, batch_size=len(ds))))
    final = batch["step"] == torch.tensor([LENGTHS[k] for k in GameplayDataset(dataset, window=2).owner])[:, None]
    assert (batch["actions"][final] == ds.num_actions).all() and final.sum() == len(LENGTHS) - LENGTHS.count(0)
    assert (batch["actions"][~final] < ds.num_actions).all() and (batch["actions"] >= 0).all()
    embedding = torch.nn.Embedding(ds.num_actions + 1, 8, padding_idx=ds.num_actions)
    assert embedding(batch["actions"]).shape == (len(ds), 2, 8)


@pytest.mark.parametrize("mask", [False, True])
def test_pad_start_zero_fills_windows_as_the_agent_stacks_frames(dataset, mask):
    from pipeline.envs.stacks import FrameStacks

    window = 4
    keys = ("observations", "actions", "rewards", "lives", "episode", "step", "is_first", "padding")
    ds = GameplayDataset(dataset, window=window, keys=keys, pad_start=True, mask_actions=mask)
    assert len(ds) == sum(n + 1 for n in LENGTHS)  # one window ending at each row
    with h5py.File(dataset) as f:
        observations, first_rows = f["observations"][:], f["episodes/first_row"][:]
    items = {(int(ds[i]["episode"][-1]), int(ds[i]["step"][-1])): ds[i] for i in range(len(ds))}
    no_action = ds.num_actions if mask else -1
    for k, n in enumerate(LENGTHS):
        rows = observations[first_rows[k] : first_rows[k] + n + 1]
        stacks = FrameStacks(1, window, (84, 84))
        for t in range(n + 1):
            state = stacks.start(rows[:1]) if t == 0 else stacks.push(rows[t : t + 1], np.zeros(1, bool))
            item = items[(k, t)]
            np.testing.assert_array_equal(item["observations"].numpy(), state[0])
            padded = item["padding"].numpy()
            assert padded.tolist() == [s < 0 for s in range(t - window + 1, t + 1)] == (item["step"] < 0).tolist()
            assert (item["actions"][padded] == no_action).all() and (item["rewards"][padded] == 0).all()
            assert (item["lives"][padded] == 0).all() and (item["lives"][~padded] == 3).all()
            assert item["is_first"].tolist() == [s == 0 for s in range(t - window + 1, t + 1)]


def test_float_chw_gives_channel_first_floats_of_the_same_pixels(dataset):
    plain = GameplayDataset(dataset, window=2, keys=("frames", "observations"))
    floats = GameplayDataset(dataset, window=2, keys=("frames", "observations"), float_chw=True)
    a, b = plain[7], floats[7]
    assert b["frames"].shape == (2, 3, 210, 160) and b["frames"].dtype == torch.float32
    assert b["observations"].shape == (2, 1, 84, 84) and b["observations"].dtype == torch.float32
    torch.testing.assert_close(b["frames"], a["frames"].permute(0, 3, 1, 2).float() / 255)
    torch.testing.assert_close(b["observations"][:, 0], a["observations"].float() / 255)
    assert 0 <= b["frames"].min() and b["frames"].max() <= 1


def difference(item: dict) -> dict:
    """A transform: next observation minus this one (module level, so DataLoader workers can pickle it)."""
    return {"delta": item["observations"][1].float() - item["observations"][0].float(), "action": item["actions"][0]}


def test_transform_is_applied_to_every_item_also_in_workers(dataset):
    ds = GameplayDataset(dataset, window=2, keys=("observations", "actions"), transform=difference)
    plain = GameplayDataset(dataset, window=2, keys=("observations", "actions"))
    batches = list(DataLoader(ds, batch_size=5, num_workers=2))
    delta = torch.cat([b["delta"] for b in batches])
    expected = torch.stack(
        [plain[i]["observations"][1].float() - plain[i]["observations"][0].float() for i in range(len(ds))]
    )
    torch.testing.assert_close(delta, expected)
    assert torch.cat([b["action"] for b in batches]).tolist() == [plain[i]["actions"][0].item() for i in range(len(ds))]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"window": "2"}, r"window = '2' \(str\): must be an integer >= 1"),
        ({"window": True}, r"window = True \(bool\): must be an integer >= 1"),
        ({"window": 2.0}, r"window = 2.0 \(float\): must be an integer >= 1"),
        ({"keys": "frames"}, "keys = 'frames': must be a non-empty list or tuple of key names"),
        ({"keys": ("frames", "frames")}, "named once"),
        ({"include_final": "no"}, r"include_final = 'no' \(str\): must be True or False"),
        ({"pad_start": 1}, r"pad_start = 1 \(int\): must be True or False"),
        ({"transform": 5}, "transform = 5: must be a callable"),
        ({"split": 0}, "split = 0: must be a split name"),
        ({"window": 11}, r"window = 11: no episode of the dataset has 11 rows \(the longest has 10\)"),
        ({"window": 10, "include_final": False}, r"has 10 rows \(the longest has 9\)"),
    ],
)
def test_bad_argument_types_and_unfillable_windows_are_named(dataset, kwargs, message):
    with pytest.raises(InputError, match=message):
        GameplayDataset(dataset, **kwargs)


def test_a_path_that_is_not_one_is_named():
    with pytest.raises(InputError, match=r"path = 3 \(int\): must be the path of a gameplay file"):
        GameplayDataset(3)


def test_a_window_longer_than_every_episode_works_with_padding(dataset):
    ds = GameplayDataset(dataset, window=11, keys=("padding",), pad_start=True)
    assert len(ds) == sum(n + 1 for n in LENGTHS) and ds[0]["padding"].sum() == 10
