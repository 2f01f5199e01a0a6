"""The record.compression choices for the frame array (gzip level 1, lzf, Zstandard level 3 where hdf5plugin is
installed, and none): size, write speed and random-window read speed, on real recorded frames, with the layout
record uses (one frame per chunk). Why record.compression defaults to gzip, and what zstd buys."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from pipeline.config.errors import InputError
from pipeline.data.codecs import dataset_options
from pipeline.data.reader import open_gameplay
from pipeline.data.schema import FRAME_SHAPE

CODECS = {"gzip-1": "gzip", "lzf": "lzf", "zstd-3": "zstd", "none": None}


def measure(
    frames: np.ndarray, codec: str | None, reads: np.ndarray, window: int, folder: Path
) -> tuple[int, float, float]:
    """(bytes on disk, frames written per second, frames read per second) for one record.compression (None: none)."""
    path = folder / f"{codec}.h5"
    options = dataset_options(codec) if codec else {}
    start = time.perf_counter()
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("frames", shape=frames.shape, dtype="uint8", chunks=(1, *FRAME_SHAPE), **options)
        for i in range(0, len(frames), 256):
            ds[i : i + 256] = frames[i : i + 256]
    write = len(frames) / (time.perf_counter() - start)
    with h5py.File(path, "r") as f:
        start = time.perf_counter()
        for r in reads:
            f["frames"][r : r + window]
        read = len(reads) * window / (time.perf_counter() - start)
    return os.path.getsize(path), write, read


def main(
    data: Path = typer.Option(Path("data/gameplay.h5"), help="recorded gameplay file whose frames are re-encoded"),
    limit: int = typer.Option(4000, help="at most this many frames (from the start of the file)"),
    window: int = typer.Option(8, help="consecutive frames per random read"),
    reads: int = typer.Option(500, help="random windows read per codec"),
) -> None:
    with open_gameplay(data) as f:
        frames = f["frames"][:limit]
    starts = np.random.default_rng(0).integers(0, len(frames) - window, size=reads)
    table = Table(title=f"{len(frames):,} frames of {data} ({frames.nbytes / 2**20:,.0f} MiB raw), one frame per chunk")
    for column in ("codec", "size", "ratio", "write frames/s", "read frames/s"):
        table.add_column(column, justify="left" if column == "codec" else "right")
    with tempfile.TemporaryDirectory() as folder:
        for name, codec in CODECS.items():
            try:
                size, write, read = measure(frames, codec, starts, window, Path(folder))
            except InputError as missing:  # zstd without hdf5plugin
                table.add_row(name, str(missing), "", "", "")
                continue
            table.add_row(
                name, f"{size / 2**20:,.1f} MiB", f"{frames.nbytes / size:.1f}x", f"{write:,.0f}", f"{read:,.0f}"
            )
    Console().print(table)


if __name__ == "__main__":
    typer.run(main)
