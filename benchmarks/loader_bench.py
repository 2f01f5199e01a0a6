"""Frames per second served to a DataLoader (random order, 2 workers, batch 32 by default): observations and RGB frames
in windows of 1 and 8, from the recorded HDF5 file in each storage layout through GameplayDataset and through plain
h5py slices (how the loader read before it read whole chunks), and from the PNG export of the same episodes.

One command: `python -m benchmarks.loader_bench` records its dataset first where --data does not exist (a random agent,
--episodes episodes, with the PNG export of frames and observations), then re-writes its arrays in each layout beside
it (a temporary folder) and times the same window order from each source.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import h5py
import numpy as np
import torch
import typer
from rich.console import Console
from rich.table import Table
from torch.utils.data import DataLoader, Dataset

from pipeline.config.errors import InputError
from pipeline.data.codecs import dataset_options
from pipeline.data.reader import open_gameplay
from pipeline.data.writer import OBSERVATION_CHUNK
from pipeline.dataset import GameplayDataset
from pipeline.record.png import frame_path, observation_path, read_frame, read_observation

ROOT = Path(__file__).resolve().parents[1]
CASES = (("observations", 8), ("observations", 1), ("frames", 8), ("frames", 1))  # (key, window), the table's columns
# (name, record.compression, observation rows per chunk); frames are one per chunk in each
LAYOUTS = (
    ("gzip-1, 1 obs./chunk (before)", "gzip", 1),
    (f"gzip-1, {OBSERVATION_CHUNK} obs./chunk (record's)", "gzip", OBSERVATION_CHUNK),
    (f"zstd-3, {OBSERVATION_CHUNK} obs./chunk", "zstd", OBSERVATION_CHUNK),
)
READERS = ("h5py slices", "GameplayDataset")
COPY_ROWS = 256  # rows re-written at a time (bounded memory)


class SliceWindows(Dataset):
    """The windows of a GameplayDataset as plain h5py slices, the file opened once per process."""

    def __init__(self, windows: GameplayDataset, key: str):
        self.windows, self.key, self.array, self.pid = windows, key, None, -1

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if self.pid != os.getpid():
            self.array, self.pid = h5py.File(self.windows.path, "r")[self.key], os.getpid()
        start = int(self.windows.starts[i])
        return {self.key: torch.from_numpy(self.array[start : start + self.windows.window])}

    def __getstate__(self) -> dict:
        return {**self.__dict__, "array": None, "pid": -1}


class PngWindows(Dataset):
    """The windows of a GameplayDataset, read from the PNG export instead of the HDF5 file."""

    def __init__(self, root: Path, windows: GameplayDataset, key: str):
        self.root, self.windows, self.key = root, windows, key
        self.path, self.read = (frame_path, read_frame) if key == "frames" else (observation_path, read_observation)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        episode, step = self.windows.locate(i)
        images = [self.read(self.path(self.root, episode, n)) for n in range(step, step + self.windows.window)]
        return {self.key: torch.from_numpy(np.stack(images))}


def window_order(windows: int, count: int, seed: int) -> list[int]:
    """`count` window indices in random order: shuffled passes over all windows, as epochs of shuffle=True are."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.permutation(windows) for _ in range(-(-count // windows))])[:count].tolist()


def frames_per_second(dataset: Dataset, key: str, order: list[int], batch_size: int, workers: int) -> float:
    """Images delivered per second after the first batch (which pays for starting the workers)."""
    loader = DataLoader(dataset, batch_size=batch_size, sampler=order, num_workers=workers)
    batches = iter(loader)
    next(batches)
    start, images = time.perf_counter(), 0
    for batch in batches:
        images += batch[key].shape[0] * batch[key].shape[1]
    return images / (time.perf_counter() - start)


def relayout(source: Path, out: Path, compression: str, observation_rows: int) -> Path:
    """A copy of a gameplay file with every row array stored with `compression`, `observation_rows` observations a
    chunk and the other arrays chunked as in the source; the episode table and attributes as they are."""
    options = dataset_options(compression)
    with h5py.File(source, "r") as src, h5py.File(out, "w") as dst:
        dst.attrs.update(src.attrs)
        src.copy(src["episodes"], dst, "episodes")
        for name, ds in src.items():
            if not isinstance(ds, h5py.Dataset):
                continue
            chunks = (observation_rows, *ds.shape[1:]) if name == "observations" else ds.chunks
            copy = dst.create_dataset(
                name, shape=ds.shape, maxshape=(None, *ds.shape[1:]), dtype=ds.dtype, chunks=chunks, **options
            )
            copy.attrs.update(ds.attrs)
            for start in range(0, len(ds), COPY_ROWS):
                copy[start : start + COPY_ROWS] = ds[start : start + COPY_ROWS]
    return out


def record_dataset(data: Path, episodes: int) -> None:
    """A random agent's episodes with the PNG export of frames and observations, as `pipeline record` writes them."""
    command = [sys.executable, "-m", "stages.cli", "record", "--percent-random", "100", "--episodes", str(episodes)]
    command += ["--png", "--png-observations", "--out-dir", str(data.parent), "--metrics", str(data.parent / "m.json")]
    Console(stderr=True).print(f"recording the benchmark's dataset: {' '.join(command[1:])}", highlight=False)
    subprocess.run(command, cwd=ROOT, check=True)


def main(
    data: Path = typer.Option(
        Path("/tmp/loader_bench/gameplay.h5"), help="recorded gameplay file with its PNG export (recorded if absent)"
    ),
    episodes: int = typer.Option(10, help="episodes of the random agent, where --data is recorded"),
    frames: Optional[Path] = typer.Option(None, help="its PNG export (default: frames/ beside the file)"),
    batch_size: int = typer.Option(32, help="windows per batch"),
    workers: int = typer.Option(2, help="DataLoader worker processes"),
    images: int = typer.Option(16384, help="images timed per measurement (plus one warm-up batch)"),
    repeats: int = typer.Option(5, help="rounds of timed runs; each cell is the median of its runs"),
    seed: int = typer.Option(0, help="seed of the random window order, the same for every source"),
) -> None:
    """Time random-order windows of observations and frames from each HDF5 layout and from the PNG export."""
    if not data.exists():
        record_dataset(data, episodes)
    png_root = frames or data.with_name("frames")
    open_gameplay(data).close()  # a file this version reads, or one clear line
    title = f"images/s (median of {repeats}); {data}; random order, batch {batch_size}, {workers} workers"
    table = Table(title=title)
    table.add_column("storage", justify="left")
    table.add_column("reader", justify="left")
    for key, window in CASES:
        table.add_column(f"{key}, window {window}", justify="right")
    console = Console(width=150)  # the table on one line per source, also when piped
    with tempfile.TemporaryDirectory(dir=data.parent) as folder:
        sources: list[tuple[str, str, Path | None]] = [("PNG export", "PngWindows (cv2)", None)]
        for name, compression, rows in LAYOUTS:
            try:
                path = relayout(data, Path(folder) / f"{compression}_{rows}.h5", compression, rows)
            except InputError as missing:  # zstd without hdf5plugin
                console.print(f"{name}: skipped, {missing}", highlight=False)
                continue
            sources += [(name, reader, path) for reader in READERS]
        runs: dict[tuple[int, int], list[float]] = {}
        for _ in range(repeats):  # rounds over every source and case, so the machine's drift hits all alike
            for s, (_name, reader, path) in enumerate(sources):
                for c, (key, window) in enumerate(CASES):
                    windows = GameplayDataset(path or data, window=window, keys=(key,))
                    if path is None:
                        dataset: Dataset = PngWindows(png_root, windows, key)
                    else:
                        dataset = windows if reader == "GameplayDataset" else SliceWindows(windows, key)
                    order = window_order(len(windows), images // window + batch_size, seed)
                    runs.setdefault((s, c), []).append(frames_per_second(dataset, key, order, batch_size, workers))
        for s, (name, reader, _path) in enumerate(sources):
            table.add_row(name, reader, *(f"{np.median(runs[s, c]):,.0f}" for c in range(len(CASES))))
    console.print(table)


if __name__ == "__main__":
    typer.run(main)
