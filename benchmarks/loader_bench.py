"""Frames per second served to a DataLoader: the HDF5 dataset through GameplayDataset against the same windows
read from the PNG export (data/frames/episode_<k>/frame_<n>.png, zero-padded), same sampler, batch size and workers.

Prepare a dataset with the PNG export first, e.g. `pipeline record --png --percent-random 100 --out-dir /tmp/bench`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import typer
from rich.console import Console
from rich.table import Table
from torch.utils.data import DataLoader, Dataset

from pipeline.dataset import GameplayDataset
from pipeline.record.png import frame_path, read_frame


class PngWindows(Dataset):
    """The windows of a GameplayDataset, read from the PNG export instead of the HDF5 file."""

    def __init__(self, frames_root: Path, windows: GameplayDataset):
        self.root, self.windows = frames_root, windows

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        episode, step = self.windows.locate(i)
        frames = [read_frame(frame_path(self.root, episode, n)) for n in range(step, step + self.windows.window)]
        return {"frames": torch.from_numpy(np.stack(frames))}


def frames_per_second(dataset: Dataset, order: list[int], batch_size: int, workers: int, window: int) -> float:
    """Frames delivered per second after the first batch (which pays for starting the workers)."""
    loader = DataLoader(dataset, batch_size=batch_size, sampler=order, num_workers=workers)
    batches = iter(loader)
    next(batches)
    start, frames = time.perf_counter(), 0
    for batch in batches:
        frames += batch["frames"].shape[0] * window
    return frames / (time.perf_counter() - start)


def main(
    data: Path = typer.Option(Path("data/gameplay.h5"), help="recorded gameplay file"),
    frames: Optional[Path] = typer.Option(None, help="its PNG export (default: frames/ beside the file)"),
    window: int = typer.Option(8, help="consecutive frames per item"),
    batch_size: int = typer.Option(32, help="items per batch"),
    workers: int = typer.Option(2, help="DataLoader worker processes"),
    batches: int = typer.Option(60, help="batches timed per source (plus one warm-up batch)"),
    repeats: int = typer.Option(3, help="timed runs per source; the median is reported"),
    seed: int = typer.Option(0, help="seed of the random window order, shared by both sources"),
) -> None:
    """Time random-order windows from HDF5 and from PNGs through the same DataLoader."""
    windows = GameplayDataset(data, window=window, keys=("frames",))
    png = PngWindows(frames or data.with_name("frames"), windows)
    count = min(len(windows), (batches + 1) * batch_size)
    order = np.random.default_rng(seed).permutation(len(windows))[:count].tolist()
    table = Table(title=f"{count - batch_size:,} windows of {window} frames, batch {batch_size}, {workers} workers")
    for column in ("source", "frames/s (median)", "runs"):
        table.add_column(column, justify="left" if column == "source" else "right")
    results = {}
    for name, source in (("HDF5 (GameplayDataset)", windows), ("PNG export", png)):
        runs = [frames_per_second(source, order, batch_size, workers, window) for _ in range(repeats)]
        results[name] = float(np.median(runs))
        table.add_row(name, f"{results[name]:,.0f}", ", ".join(f"{r:,.0f}" for r in runs))
    console = Console()
    console.print(table)
    hdf5, png_rate = results.values()
    console.print(f"HDF5 serves {hdf5 / png_rate:.2f}x the frames per second of the PNG export.", highlight=False)


if __name__ == "__main__":
    typer.run(main)
