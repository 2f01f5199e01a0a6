"""What tests share besides fixtures: tiny params that train in seconds, and a one-stream replay step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from pipeline.config.params import Params, params_from_dict, params_to_dict

ROOT = Path(__file__).resolve().parents[1]  # the repository

TINY = {
    "seed": 0,
    "env": {"game": "Breakout", "frame_stack": 4},
    "train": {
        "steps": 300,
        "capacity": 1000,
        "learning_starts": 100,
        "batch_size": 32,
        "train_frequency": 4,
        "target_update_interval": 100,
        "log_interval": 100,
        "checkpoint_interval": 100,
        "epsilon_decay_steps": 300,
        "device": "cpu",
        "eval_interval": 100,
        "eval_episodes": 2,
        "snapshot_steps": [100, 200],
    },
    "evaluate": {"episodes": 2},
    "record": {"episodes": 3, "percent_random": 34, "max_episode_steps": 40, "video_scale": 2},
    "split": {"val_fraction": 0.34},
}


def tiny_params(**sections) -> Params:
    """TINY with some keys replaced: tiny_params(train={"replay": "uniform"})."""
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in TINY.items()}
    for section, values in sections.items():
        if isinstance(values, dict):
            raw.setdefault(section, {}).update(values)
        else:
            raw[section] = values
    return params_from_dict(raw)


def write_params(path: Path, params: Params) -> Path:
    path.write_text(yaml.safe_dump(params_to_dict(params), sort_keys=False))
    return path


def replay_step(
    replay,
    action: int,
    reward: float,
    terminal: bool,
    next_frame: np.ndarray,
    episode_over: bool,
    restarted: bool = False,
) -> None:
    """One step of a one-stream replay buffer (see ReplayBuffer.step)."""
    replay.step(
        np.array([action]),
        np.array([reward], np.float32),
        np.array([terminal]),
        next_frame[None],
        np.array([episode_over]),
        np.array([restarted]),
    )


def file_contents(path: Path) -> dict:
    """Every dataset of an HDF5 file as an array, and its attributes as plain lists ("attrs"): to compare files
    array for array."""
    import h5py

    found = {}
    with h5py.File(path) as f:
        f.visititems(lambda name, obj: found.update({name: obj[:]}) if isinstance(obj, h5py.Dataset) else None)
        found["attrs"] = {k: np.asarray(v).tolist() for k, v in f.attrs.items()}
    return found


def assert_same_contents(a: Path, b: Path) -> None:
    """The two files hold the same datasets with equal arrays (NaN equal to NaN) and equal attributes."""
    first, second = file_contents(a), file_contents(b)
    assert first.keys() == second.keys()
    for name, values in first.items():
        if name == "attrs":
            assert values == second[name]
        else:
            assert np.array_equal(values, second[name], equal_nan=values.dtype.kind == "f"), name


def run_state(out: Path, params: Params):
    """Where `pipeline train --out-dir out` keeps the resumable state of a run with these params."""
    from pipeline.config.layout import TrainLayout
    from pipeline.train.resume import RunState, state_key

    return RunState(TrainLayout(out).states / state_key(params))
