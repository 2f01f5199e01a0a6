"""Every command and the loader, fed bad input: each case must end with its exit code, exactly one line on stderr, no
traceback, and the whole folder it ran in byte for byte as it was (nothing deleted, written or left behind).

Each case runs in its own copy of a small world: a params file, a trained-model folder with real (untrained) policy
checkpoints, a recorded dataset with its split index, and earlier evaluation outputs. A case changes one thing in it
(a file it writes, a folder another run holds) and runs one command line or one loader call. Faults that need other
processes or file systems of their own (a full disk, a read-only mount, SIGKILL) are in tests/project/test_faults.py.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from pipeline.config.errors import EnvironmentFault, InputError
from pipeline.core.outputs import claimed
from pipeline.dataset import GameplayDataset
from pipeline.rl.checkpoint import save_checkpoint
from stages.cli import app
from stages.common import reported_errors
from tests.data.synthetic import write_dataset
from tests.project.world import MEANINGS, policy_payload, snapshot


@pytest.fixture
def world(template, tmp_path) -> Path:
    w = tmp_path / "w"
    shutil.copytree(template, w)
    return w


# ---- what a case changes in the world --------------------------------------------------------------------------


def put(name: str, content: bytes | str) -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        (w / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            (w / name).write_text(content)
        else:
            (w / name).write_bytes(content)

    return setup


def folder(name: str) -> Callable[[Path], None]:
    return lambda w: (w / name).mkdir(parents=True, exist_ok=True)


def replaced_by_folder(name: str) -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        shutil.rmtree(w / name) if (w / name).is_dir() else (w / name).unlink()
        (w / name).mkdir()

    return setup


def replaced_by_file(name: str) -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        shutil.rmtree(w / name) if (w / name).is_dir() else (w / name).unlink()
        (w / name).write_text("a file where a folder belongs")

    return setup


def checkpoint(name: str, change: Callable[[dict], object]) -> Callable[[Path], None]:
    """A checkpoint written by our own save_checkpoint from a policy payload that `change` edited."""

    def setup(w: Path) -> None:
        payload = policy_payload()
        change(payload)
        save_checkpoint(w / name, payload)

    return setup


def torch_file(name: str, obj: object) -> Callable[[Path], None]:
    return lambda w: torch.save(obj, w / name)


class RunsCode:
    """Unpickling this calls os.system: a hostile checkpoint. If it ever ran, the marker file would appear in the world
    and the snapshot comparison would fail."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def hostile(name: str, plain_pickle: bool = False) -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        payload = {"format": 1, "step": RunsCode(w / "HACKED")}
        if plain_pickle:
            (w / name).write_bytes(pickle.dumps(payload))
        else:
            torch.save(payload, w / name)

    return setup


def truncated(name: str) -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        data = (w / name).read_bytes()
        (w / name).write_bytes(data[: len(data) // 2])

    return setup


def dataset(change: Callable[[h5py.File], None], name: str = "data/gameplay.h5") -> Callable[[Path], None]:
    """The world's dataset, edited in place with h5py (its split index then belongs to another file)."""

    def setup(w: Path) -> None:
        with h5py.File(w / name, "a") as f:
            change(f)

    return setup


def resized(dataset_name: str, rows: int) -> Callable[[h5py.File], None]:
    return lambda f: f[dataset_name].resize(rows, axis=0)


def damaged_chunk(w: Path) -> None:
    """Overwrite the middle of one compressed frame's bytes, as a bad disk or a careless copy would."""
    path = w / "data/gameplay.h5"
    with h5py.File(path, "r") as f:
        info = f["frames"].id.get_chunk_info(7)
    with open(path, "r+b") as raw:
        raw.seek(info.byte_offset + info.size // 2)
        raw.write(b"\x00\xff" * 64)


def splits_doc(w: Path, **changes) -> str:
    index = json.loads((w / "data/splits.json").read_text())
    index.update(changes)
    return json.dumps(index)


def splits(name: str, **changes) -> Callable[[Path], None]:
    """The world's split index with some entries replaced (still for this very dataset)."""
    return lambda w: (w / name).write_text(splits_doc(w, **changes))


def params_with(text: str) -> Callable[[Path], None]:
    return put("bad.yaml", text)


# ---- the cases -----------------------------------------------------------------------------------------------------

P = ["--params", "{w}/params.yaml"]
BAD = ["--params", "{w}/bad.yaml"]


def train(*args: str) -> list[str]:
    return ["train", *P, "--out-dir", "{w}/models", *args]


def evaluate(*args: str) -> list[str]:
    return ["evaluate", *P, "--checkpoint", "{w}/models/dqn.pt", *args]


def record(*args: str) -> list[str]:
    return ["record", *P, "--out-dir", "{w}/data", "--checkpoint", "{w}/models/dqn.pt", *args]


def sourced(sources: str, *args: str) -> list[str]:
    """record with record.sources (and so without --checkpoint)."""
    return ["record", *P, "--out-dir", "{w}/data", "--sources", sources, *args]


def merge(*args: str) -> list[str]:
    return ["merge", "{w}/data/gameplay.h5", "--out", "{w}/m.h5", *args]


def latents(*args: str) -> list[str]:
    return ["latents", "{w}/data/gameplay.h5", "--out", "{w}/l.png", *args]


def split(*args: str) -> list[str]:
    return ["split", *P, "--dataset", "{w}/data/gameplay.h5", "--out", "{w}/data/splits.json", *args]


def inspect(*args: str) -> list[str]:
    return ["inspect", "{w}/data/gameplay.h5", "--contact-sheet", "{w}/data/sheet.png", *args]


def plot(*args: str) -> list[str]:
    return ["plot", "--live-dir", "{w}/models/training", "--out", "{w}/models/training/diagnostics.png", *args]


def load(**kwargs) -> Callable[[Path], object]:
    """A loader call on the world's dataset; paths in kwargs are relative to the world."""

    def call(w: Path) -> object:
        given = {k: (w / v if k in ("path", "splits_path") and isinstance(v, str) else v) for k, v in kwargs.items()}
        ds = GameplayDataset(**{"path": w / "data/gameplay.h5", **given})
        return [ds[i] for i in range(len(ds))]  # reading every window finds a damaged chunk too

    return call


@dataclass(frozen=True)
class Case:
    run: list[str] | Callable[[Path], object]  # a command line ({w}: the world) or a loader call
    words: str  # in the one line
    setup: Callable[[Path], None] = lambda w: None
    code: int = 2
    hold: str | None = None  # a folder another run holds while this one runs


CASES: dict[str, Case] = {
    # params files
    "params file empty": Case(train(*BAD), "sets no params", params_with("")),
    "params file empty, split": Case(split(*BAD), "sets no params", params_with("")),
    "params file of comments": Case(record(*BAD), "sets no params", params_with("# nothing yet\n")),
    "params file an empty mapping": Case(evaluate(*BAD), "sets no params", params_with("{}\n")),
    "params file with a keyless section": Case(train(*BAD), "sets no params", params_with("train:\n")),
    "params file not UTF-8": Case(train(*BAD), "not UTF-8 text (byte 0xff", put("bad.yaml", b"seed: 0\n\xff\xfe\n")),
    "params file UTF-16": Case(train(*BAD), "not UTF-8", put("bad.yaml", "seed: 0\n".encode("utf-16"))),
    "params file not YAML": Case(train(*BAD), "is not valid YAML", params_with("train: [1, \n")),
    "params file a list": Case(train(*BAD), "must hold a mapping of sections, not a list", params_with("- 1\n")),
    "params file a string": Case(split(*BAD), "must hold a mapping of sections, not a str", params_with("hello\n")),
    "params file a folder": Case(train(*BAD), "is a folder", folder("bad.yaml")),
    "params file missing": Case(train(*BAD), "bad.yaml' does not exist"),
    "learning_rate": Case(train(*BAD), "did you mean 'train.lr'", params_with("train: {learning_rate: 0.1}\n")),
    "key in another section": Case(
        train(*BAD), "did you mean 'env.screen_size'", params_with("train: {screen_size: 84}\n")
    ),
    "section key at the top": Case(train(*BAD), "did you mean 'train.steps'", params_with("steps: 10\n")),
    "misspelled section": Case(record(*BAD), "did you mean 'record'", params_with("recrod: {episodes: 2}\n")),
    "section not a mapping": Case(train(*BAD), "must be a mapping", params_with("train: 5\n")),
    "integer key": Case(train(*BAD), "unknown params key '1'", params_with("1: 2\n")),
    "steps a word": Case(train(*BAD), "train.steps = 'abc'", params_with("train: {steps: abc}\n")),
    "lr not a number": Case(train(*BAD), "train.lr = nan", params_with("train: {lr: .nan}\n")),
    "steps a boolean": Case(train(*BAD), "train.steps = True", params_with("train: {steps: true}\n")),
    "capacity below the batch": Case(train("--capacity", "16"), "train.capacity = 16"),
    "gamma above 1": Case(train("--gamma", "1.5"), "train.gamma = 1.5"),
    "unknown game": Case(train("--game", "Pacmann"), "no such ALE game"),
    "mode the game lacks": Case(train("--mode", "99"), "env.mode = 99"),
    "seed below 0": Case(split("--seed", "-1"), "seed = -1"),
    # the command line itself
    "--steps abc": Case(train("--steps", "abc"), "Invalid value for '--steps'"),
    "--steps 1.5": Case(train("--steps", "1.5"), "Invalid value for '--steps'"),
    "--episodes x": Case(record("--episodes", "x"), "Invalid value for '--episodes'"),
    "--val-fraction abc": Case(split("--val-fraction", "abc"), "Invalid value for '--val-fraction'"),
    "--epsilon abc": Case(evaluate("--epsilon", "abc"), "Invalid value for '--epsilon'"),
    "--samples abc": Case(inspect("--samples", "abc"), "Invalid value for '--samples'"),
    "misspelled option": Case(train("--stpes", "3"), "No such option: --stpes"),
    "misspelled command": Case(["trian"], "No such command 'trian'"),
    "option without its value": Case(train("--replay"), "requires an argument"),
    "extra arguments": Case(inspect("a", "b"), "unexpected extra argument"),
    "a value for a switch": Case(train("--dueling=yes"), "does not take a value"),
    "plot without --live-dir's value": Case(["plot", "--live-dir"], "requires an argument"),
    "export without an id": Case(["export", "minari", "{w}/data/gameplay.h5"], "Missing option '--id'"),
    "export to an unknown format": Case(["export", "parquet"], "No such command 'parquet'"),
    # train: what it checks before a fresh start clears earlier results
    **(
        {}
        if torch.cuda.is_available()
        else {"device cuda without CUDA": Case(train("--device", "cuda"), "no CUDA device is available")}
    ),
    "device mps": Case(train("--device", "mps"), "train.device = 'mps'"),
    "screen too small for the network": Case(train("--screen-size", "32", "--network", "nature"), "at least 36x36"),
    "screen too small for RND": Case(
        train("--screen-size", "33", "--exploration", "rnd", "--n-step", "1"), "the nature network (RND's)"
    ),
    "out-dir a file": Case(train("--out-dir", "{w}/params.yaml"), "is a file; it must be a folder"),
    "out-dir inside a file": Case(train("--out-dir", "{w}/params.yaml/models"), "is a file"),
    "dqn.pt a folder": Case(train(), "final model", replaced_by_folder("models/dqn.pt")),
    "best.pt a folder": Case(train(), "best model", replaced_by_folder("models/best.pt")),
    "state a file": Case(train(), "resumable state folder", replaced_by_file("models/state")),
    "training a file": Case(train(), "training log folder", replaced_by_file("models/training")),
    "resume without checkpoints": Case(train("--resume", "--out-dir", "{w}/new"), "no checkpoint of a run"),
    "models held by another run": Case(train(), "is being written by another run", code=1, hold="models"),
    # evaluate: its checkpoint and its outputs, before it plays
    "checkpoint missing": Case(evaluate("--checkpoint", "{w}/none.pt"), "does not exist"),
    "checkpoint empty": Case(evaluate("--checkpoint", "{w}/c.pt"), "is empty (0 bytes)", put("c.pt", b"")),
    "checkpoint text": Case(evaluate("--checkpoint", "{w}/c.pt"), "not a torch checkpoint", put("c.pt", "hello")),
    "checkpoint running code": Case(
        evaluate("--checkpoint", "{w}/c.pt"), "code or objects that our checkpoints never contain", hostile("c.pt")
    ),
    "checkpoint a bare pickle running code": Case(
        evaluate("--checkpoint", "{w}/c.pt"), "refused without running any of it", hostile("c.pt", plain_pickle=True)
    ),
    "checkpoint holding an exception object": Case(
        evaluate("--checkpoint", "{w}/c.pt"), "never contain", torch_file("c.pt", {"format": 1, "e": ValueError()})
    ),
    "checkpoint truncated": Case(evaluate(), "damaged or not a torch checkpoint", truncated("models/dqn.pt")),
    "checkpoint a list": Case(evaluate("--checkpoint", "{w}/c.pt"), "no format entry", torch_file("c.pt", [1, 2])),
    "checkpoint a tensor": Case(
        evaluate("--checkpoint", "{w}/c.pt"), "no format entry", torch_file("c.pt", torch.zeros(3))
    ),
    "checkpoint of another format": Case(
        evaluate("--checkpoint", "{w}/c.pt"), "has format 99", torch_file("c.pt", {"format": 99})
    ),
    "checkpoint without params": Case(
        evaluate("--checkpoint", "{w}/c.pt"), "no 'params' entry", checkpoint("c.pt", lambda p: p.pop("params"))
    ),
    "checkpoint without a network": Case(
        evaluate("--checkpoint", "{w}/c.pt"), "no 'agent' entry", checkpoint("c.pt", lambda p: p.pop("agent"))
    ),
    "checkpoint with params a list": Case(
        evaluate("--checkpoint", "{w}/c.pt"), "can play", checkpoint("c.pt", lambda p: p.update(params=[1]))
    ),
    "checkpoint with other layer sizes": Case(
        evaluate("--checkpoint", "{w}/c.pt"),
        "size mismatch",
        checkpoint("c.pt", lambda p: p.update(action_meanings=MEANINGS + ["UP", "DOWN"])),
    ),
    "checkpoint with an extra layer": Case(
        evaluate("--checkpoint", "{w}/c.pt"),
        "Unexpected key(s)",
        checkpoint("c.pt", lambda p: p["agent"]["online"].update(extra=torch.zeros(1))),
    ),
    "checkpoint with invalid params": Case(
        evaluate("--checkpoint", "{w}/c.pt"),
        "holds invalid params: env.screen_size = -3",
        checkpoint("c.pt", lambda p: p["params"]["env"].update(screen_size=-3)),
    ),
    "checkpoint a folder": Case(evaluate("--checkpoint", "{w}/models"), "is a folder"),
    "checkpoint of another game": Case(
        evaluate("--checkpoint", "{w}/c.pt"),
        "the checkpoint was trained with 'Pong'",
        checkpoint("c.pt", lambda p: p["params"]["env"].update(game="Pong")),
    ),
    "checkpoint of another screen size": Case(evaluate("--screen-size", "64"), "env.screen_size = 64"),
    "metrics a folder": Case(evaluate("--metrics", "{w}/metrics"), "metrics file"),
    "episodes table inside a file": Case(evaluate("--episodes-csv", "{w}/params.yaml/e.csv"), "is a file"),
    "plot a folder": Case(evaluate("--plot", "{w}/plots"), "is a folder"),
    "no best model": Case(
        ["evaluate", *P], "models/best.pt' does not exist", lambda w: (w / "models/best.pt").unlink()
    ),
    "zero episodes": Case(evaluate("--episodes", "0"), "evaluate.episodes = 0"),
    "outputs in one folder spelled two ways": Case(
        evaluate("--plot", "{w}/metrics/../metrics/p.png", "--checkpoint", "{w}/c.pt"), "(0 bytes)", put("c.pt", b"")
    ),
    "metrics held by another run": Case(evaluate(), "is being written by another run", code=1, hold="metrics"),
    "evaluate on an unknown backend": Case(evaluate("--backend", "slurm"), "--backend 'slurm': one of local, ray"),
    "evaluate with a Ray address but no Ray backend": Case(
        evaluate("--ray-address", "auto"), "--ray-address is for --backend ray"
    ),
    # record
    "record out-dir a file": Case(record("--out-dir", "{w}/params.yaml"), "is a file; it must be a folder"),
    "gameplay.h5 a folder": Case(record(), "dataset", replaced_by_folder("data/gameplay.h5")),
    "videos a file": Case(record(), "videos folder", replaced_by_file("data/videos")),
    "frames a file with --png": Case(record("--png"), "PNG folder", put("data/frames", "a file")),
    "record checkpoint running code": Case(
        record("--checkpoint", "{w}/c.pt"), "refused without running any of it", hostile("c.pt")
    ),
    "record checkpoint empty": Case(record("--checkpoint", "{w}/c.pt"), "(0 bytes)", put("c.pt", b"")),
    "record checkpoint with other layer sizes": Case(
        record("--checkpoint", "{w}/c.pt"),
        "size mismatch",
        checkpoint("c.pt", lambda p: p.update(action_meanings=MEANINGS + ["UP", "DOWN"])),
    ),
    "record checkpoint of another stack": Case(
        record("--frame-stack", "8"), "env.frame_stack = 8, but the checkpoint was trained with 4"
    ),
    "record percent above 100": Case(record("--percent-random", "150"), "record.percent_random = 150.0"),
    "record with an unknown x264 preset": Case(
        record("--video-preset", "slowest"), "record.video_preset = 'slowest': must be one of ultrafast"
    ),
    "record videos not a boolean": Case(
        record(*BAD), "record.videos = 'sometimes'", params_with("record: {videos: sometimes}\n")
    ),
    "record into a held folder": Case(record(), "is being written by another run", code=1, hold="data"),
    "record on an unknown backend": Case(record("--backend", "Ray"), "--backend 'Ray': one of local, ray"),
    "record with a Ray address but no Ray backend": Case(
        record("--ray-address", "ray://head:10001"), "--ray-address is for --backend ray"
    ),
    # split
    "dataset missing": Case(split("--dataset", "{w}/none.h5"), "does not exist"),
    "dataset a folder": Case(split("--dataset", "{w}/data"), "is a folder"),
    "dataset not HDF5": Case(split(), "is not a readable HDF5 file", put("data/gameplay.h5", "not hdf5")),
    "dataset truncated": Case(split(), "is not a readable HDF5 file", truncated("data/gameplay.h5")),
    "dataset without a format": Case(
        split(), "no format_version attribute", dataset(lambda f: f.attrs.__delitem__("format_version"))
    ),
    "dataset of another format": Case(
        split(), "format_version 99", dataset(lambda f: f.attrs.__setitem__("format_version", 99))
    ),
    "dataset without an episodes table": Case(
        split(), "has no 'episodes' table", dataset(lambda f: f.__delitem__("episodes"))
    ),
    "dataset without frames": Case(split(), "has no 'frames' dataset", dataset(lambda f: f.__delitem__("frames"))),
    "dataset without an episode column": Case(
        split(), "has no 'episodes/agent' column", dataset(lambda f: f.__delitem__("episodes/agent"))
    ),
    "dataset with rows of unequal length": Case(split(), "'rewards' has 10 rows", dataset(resized("rewards", 10))),
    "dataset with episodes past its rows": Case(
        split(),
        "points outside its",
        dataset(
            lambda f: [
                resized(n, 20)(f)
                for n in ("frames", "observations", "actions", "rewards", "terminated", "truncated", "lives")
            ]
        ),
    ),
    "dataset with frames of another shape": Case(
        split(),
        "'observations' holds",
        dataset(
            lambda f: (
                f.__delitem__("observations"),
                f.create_dataset("observations", data=np.zeros((29, 8), np.uint8)),
            )
        ),
    ),
    "dataset with a damaged chunk": Case(split(), "is damaged", damaged_chunk),
    "split out a folder": Case(split("--out", "{w}/data"), "is a folder"),
    "split out inside a file": Case(split("--out", "{w}/params.yaml/splits.json"), "is a file"),
    "split of one episode": Case(
        split(), "cannot hold out validation episodes", lambda w: write_dataset(w / "data/gameplay.h5", [3], ["random"])
    ),
    "split fraction above 1": Case(split("--val-fraction", "1.5"), "split.val_fraction = 1.5"),
    "split with a card without its splits section": Case(
        split(), "has no splits section", put("data/DATASET.md", "# a card edited by hand\n")
    ),
    "split with a card not UTF-8": Case(split(), "is not UTF-8 text", put("data/DATASET.md", b"\xff\xfe card")),
    "split into a held folder": Case(split(), "is being written by another run", code=1, hold="data"),
    # inspect
    "inspect a missing dataset": Case(["inspect", "{w}/none.h5"], "does not exist"),
    "inspect a text file": Case(inspect(), "is not a readable HDF5 file", put("data/gameplay.h5", "text")),
    "inspect without an episodes table": Case(
        inspect(), "has no 'episodes' table", dataset(lambda f: f.__delitem__("episodes"))
    ),
    "inspect a damaged chunk": Case(inspect(), "is damaged", damaged_chunk),
    "inspect splits not JSON": Case(inspect("--splits", "{w}/s.json"), "is not JSON", put("s.json", "{oops")),
    "inspect splits not UTF-8": Case(inspect("--splits", "{w}/s.json"), "is not JSON", put("s.json", b"\xff\xfe\xfa")),
    "inspect splits a list": Case(inspect("--splits", "{w}/s.json"), "holds a list", put("s.json", "[1, 2]")),
    "inspect splits without splits": Case(
        inspect("--splits", "{w}/s.json"),
        "has no 'splits' mapping",
        lambda w: (w / "s.json").write_text(splits_doc(w, splits=None)),
    ),
    "inspect splits with word ids": Case(
        inspect("--splits", "{w}/s.json"),
        "must be a list of episode ids",
        lambda w: (w / "s.json").write_text(splits_doc(w, splits={"train": ["a"]})),
    ),
    "inspect splits with huge ids": Case(
        inspect("--splits", "{w}/s.json"),
        "must be a list of episode ids",
        lambda w: (w / "s.json").write_text(splits_doc(w, splits={"train": [10**30]})),
    ),
    "inspect splits of another dataset": Case(
        inspect("--splits", "{w}/s.json"),
        "made for another version",
        lambda w: (w / "s.json").write_text(splits_doc(w, dataset_sha256="0" * 64)),
    ),
    "inspect splits a folder": Case(inspect("--splits", "{w}/data"), "is a folder"),
    "inspect splits missing": Case(inspect("--splits", "{w}/none.json"), "does not exist"),
    "inspect contact sheet a folder": Case(inspect("--contact-sheet", "{w}/data"), "contact sheet"),
    "inspect zero samples": Case(inspect("--samples", "0"), "--samples 0"),
    # sources, shards and merge, latents, compare (issue 15)
    "record --checkpoint with sources": Case(
        record("--sources", "[{name: b, policy: best, share: 100}]"), "names the trained agent without record.sources"
    ),
    "record first episode past the end": Case(
        record("--first-episode", "3"), "--first-episode 3: the recording has episodes 0 .. 2"
    ),
    "record shard past the end": Case(
        record("--first-episode", "1", "--shard-episodes", "5"), "--shard-episodes 5: from episode 1 there are 1 .. 2"
    ),
    "record source of an unknown policy": Case(
        sourced("[{name: g, policy: grandmaster, share: 100}]"), "must be random, best, final, snapshot"
    ),
    "record source of a snapshot never kept": Case(
        sourced("[{name: e, policy: snapshot, step: 7, share: 100}]"), "step must be one of train.snapshot_steps"
    ),
    "record sources not a list": Case(sourced("7"), "record.sources = 7: must be a list of mappings"),
    "record source checkpoint missing": Case(
        sourced("[{name: b, policy: best, share: 100}]", "--models-dir", "{w}/none"), "source 'b': checkpoint"
    ),
    "merge into an existing file": Case(merge("--out", "{w}/data/gameplay.h5"), "exists: pass --append"),
    "merge appending an overlap": Case(merge("--out", "{w}/data/gameplay.h5", "--append"), "overlaps"),
    "merge --append to nothing": Case(merge("--append"), "does not exist; merge without --append"),
    "merge a shard named twice": Case(
        ["merge", "{w}/data/gameplay.h5", "{w}/data/../data/gameplay.h5", "--out", "{w}/m.h5"], "named twice"
    ),
    "merge a missing shard": Case(["merge", "{w}/none.h5", "--out", "{w}/m.h5"], "does not exist"),
    "merge a shard without sources": Case(
        merge(), "has no sources attribute", dataset(lambda f: f.attrs.__delitem__("sources"))
    ),
    "merge out a folder": Case(merge("--out", "{w}/data"), "is a folder"),
    "merge into a held folder": Case(
        merge("--out", "{w}/out/m.h5"), "is being written by another run", code=1, hold="out"
    ),
    "latents without features": Case(latents(), "gameplay.h5' has no agent features"),
    "latents of one point": Case(latents("--max-points", "1"), "--max-points 1"),
    "latents out a folder": Case(latents("--out", "{w}/data"), "is a folder"),
    "inspect compare missing": Case(inspect("--compare", "{w}/none.h5"), "none.h5' does not exist"),
    "inspect figure a folder": Case(inspect("--figure", "{w}/data"), "diversity figure"),
    # plot
    "plot an empty folder": Case(plot("--live-dir", "{w}/empty"), "holds no training logs", folder("empty")),
    "plot a missing folder": Case(plot("--live-dir", "{w}/none"), "does not exist"),
    "plot a file": Case(plot("--live-dir", "{w}/params.yaml"), "is a file"),
    "plot out a folder": Case(plot("--out", "{w}/models"), "is a folder"),
    "plot a damaged curve": Case(
        plot(), "training log", put("models/training/plots/metrics/episode/return.tsv", "step\treturn\nten\t1\n")
    ),
    "plot a damaged snapshot": Case(
        plot(), "training log", put("models/training/snapshots/step_0000000010.npz", "junk")
    ),
    # the loader
    "window a string": Case(load(window="2"), "window = '2'"),
    "window zero": Case(load(window=0), "window = 0"),
    "window a float": Case(load(window=1.5), "window = 1.5"),
    "window a boolean": Case(load(window=True), "window = True"),
    "keys a string": Case(load(keys="frames"), "keys = 'frames'"),
    "keys empty": Case(load(keys=()), "keys = ()"),
    "keys unknown": Case(load(keys=("pixels",)), "each must be one of"),
    "split a number": Case(load(split=1), "split = 1"),
    "path None": Case(load(path=None), "path = None"),
    "path missing": Case(load(path="none.h5"), "does not exist"),
    "path a folder": Case(load(path="data"), "is a folder"),
    "loader on a damaged chunk": Case(load(), "is damaged", damaged_chunk),
    "loader without an episodes table": Case(
        load(), "has no 'episodes' table", dataset(lambda f: f.__delitem__("episodes"))
    ),
    "loader splits not JSON": Case(load(split="train"), "is not JSON", put("data/splits.json", "nope")),
    "loader splits not UTF-8": Case(load(split="train"), "is not JSON", put("data/splits.json", b"\x80\x81")),
    "loader splits a list": Case(load(split="train"), "holds a list", put("data/splits.json", "[]")),
    "loader splits without splits": Case(
        load(split="train"), "has no 'splits'", splits("data/splits.json", splits=None)
    ),
    "loader splits empty": Case(load(split="train"), "has no 'splits'", splits("data/splits.json", splits={})),
    "loader splits with word ids": Case(
        load(split="train"), "list of episode ids", splits("data/splits.json", splits={"train": ["0"]})
    ),
    "loader splits with float ids": Case(
        load(split="train"), "list of episode ids", splits("data/splits.json", splits={"train": [0.5]})
    ),
    "loader splits with huge ids": Case(
        load(split="train"), "list of episode ids", splits("data/splits.json", splits={"train": [2**64]})
    ),
    "loader splits with negative ids": Case(
        load(split="train"), "list of episode ids", splits("data/splits.json", splits={"train": [-1]})
    ),
    "loader splits not a list": Case(
        load(split="train"), "list of episode ids", splits("data/splits.json", splits={"train": 3})
    ),
    "loader splits of another version": Case(
        load(split="train"), "format_version 7", splits("data/splits.json", format_version=7)
    ),
    "loader splits of another dataset": Case(
        load(split="train"), "made for another version", splits("data/splits.json", dataset_sha256="x")
    ),
    "loader split not in the index": Case(load(split="test"), "split 'test' is not in the split index"),
    "loader splits_path a folder": Case(load(split="train", splits_path="data"), "is a folder"),
    "loader splits_path a number": Case(load(split="train", splits_path=3), "splits_path = 3"),
}


def invoke(case: Case, w: Path) -> tuple[int, str]:
    """Run the case; return its exit code and what it printed to stderr (for the loader: 2 and its InputError)."""
    if callable(case.run):
        with pytest.raises(InputError) as raised:
            case.run(w)
        return 2, f"Error: {raised.value}"
    args = [a.replace("{w}", str(w)) for a in case.run]
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_fails_in_one_line_and_changes_nothing(world, case, monkeypatch):
    monkeypatch.chdir(world)  # the default paths (params.yaml, models/best.pt) are the world's
    case.setup(world)
    with claimed(world / case.hold, "held") if case.hold else contextlib.nullcontext():
        before = snapshot(world)
        code, stderr = invoke(case, world)
        after = snapshot(world)
    lines = stderr.strip().splitlines()
    assert code == case.code, stderr
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in stderr, stderr
    assert case.words in lines[0]
    assert after == before, "the world changed: " + ", ".join(
        sorted(set(after.items()) ^ set(before.items()), key=str)[:5]
    )


@pytest.mark.parametrize(
    "content, reason",
    [("nope", "is not JSON"), ("[]", "holds a list"), ('{"format_version": 1}', "has no 'splits'")],
)
def test_inspect_ignores_an_invalid_default_split_index_with_a_note(world, content, reason):
    (world / "data/splits.json").write_text(content)
    result = CliRunner().invoke(app, ["inspect", str(world / "data/gameplay.h5")])
    assert result.exit_code == 0, result.output
    assert f"ignored {world / 'data/splits.json'}" in result.stdout and reason in result.stdout
    assert "all" in result.stdout  # every episode under the split name used without an index


@pytest.mark.parametrize(
    "error, code, line",
    [
        (InputError("a bad value"), 2, "Error: a bad value"),
        (EnvironmentFault("a full disk"), 1, "Error: a full disk"),
        (OSError(errno.ENOSPC, "No space left on device", "out/.x.h5.tmp-1"), 1, "Error: 'out/x.h5': No space left"),
        (OSError(errno.EROFS, "Read-only file system", "out"), 2, "Error: 'out': Read-only file system"),
        (RuntimeError("a\nbug [zstd]"), 1, "Error: unexpected RuntimeError: a bug [zstd] (a bug; PIPELINE_TRACEBACK"),
    ],
)
def test_every_failure_is_reported_in_one_line_with_its_exit_code(error, code, line, capsys):
    with pytest.raises(typer.Exit) as stopped, reported_errors():
        raise error
    lines = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.exit_code == code and len(lines) == 1 and lines[0].startswith(line), lines


def test_pipeline_traceback_shows_a_bugs_traceback(monkeypatch):
    monkeypatch.setenv("PIPELINE_TRACEBACK", "1")
    with pytest.raises(RuntimeError, match="a bug"), reported_errors():
        raise RuntimeError("a bug")
