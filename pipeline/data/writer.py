"""Writing a gameplay file: rows streamed episode by episode (bounded memory), shards appended chunk for chunk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pipeline.data.codecs import dataset_options
from pipeline.data.reader import read_episodes
from pipeline.data.schema import (
    ACTIONS,
    AGENT_OUTPUT_FIELDS,
    COMPUTED_COLUMNS,
    EPISODE_COLUMNS,
    FORMAT_VERSION,
    HIDDEN,
    ROW_FIELDS,
    SCREEN,
    Row,
)

FLUSH_ROWS = 256  # rows buffered in memory before they are written (bounded memory for 27,000-step episodes)
SCALAR_CHUNK = 4096  # rows per chunk of the one-value-per-row datasets
VECTOR_CHUNK_BYTES = 64 * 1024  # chunk size of the one-vector-per-row datasets: a random read decompresses one
# Rows per chunk of the image datasets. An observation (84x84 = 7 KB) is small: 8 a chunk store 2.4x smaller than one
# and serve random windows of 8 fastest (a window lies in 1 or 2 chunks); an RGB frame (100 KB) is one per chunk, so a
# single-frame read decompresses no other frame, and shards append by copying their stored chunks.
OBSERVATION_CHUNK = 8
FRAME_CHUNK = 1
COPY_ROWS = 4096  # rows copied at a time when a shard's rows must be decompressed to be appended (bounded memory)


def _chunks(shape: tuple[int, ...], dtype: str) -> tuple[int, ...]:
    if len(shape) == 3:
        return (FRAME_CHUNK, *shape)
    if len(shape) == 2:
        return (OBSERVATION_CHUNK, *shape)
    if not shape:
        return (SCALAR_CHUNK,)
    return (max(1, VECTOR_CHUNK_BYTES // (shape[0] * np.dtype(dtype).itemsize)), *shape)


class GameplayWriter:
    """Writes a new gameplay file episode by episode, streaming rows so memory stays bounded.

    `attrs` (numbers, strings, lists of strings) become the file attributes; the episode table is written on
    close. `agent_outputs` = (number of actions, feature width) adds the agent-output row fields, which every row
    must then carry. Timestamps are off, so the same inputs give the same bytes (and the split's dataset hash is
    stable).
    """

    def __init__(
        self,
        path: Path,
        *,
        screen_size: int,
        compression: str,
        attrs: dict[str, Any],
        agent_outputs: tuple[int, int] | None = None,
    ):
        options = dataset_options(compression)
        # no chunk cache: every write goes to disk as it is made, so a full disk fails that write and the file still
        # closes (with dirty cached chunks, HDF5 cannot close it after ENOSPC and crashes when it is freed)
        self.file = h5py.File(path, "w", rdcc_nbytes=0)
        self.fields = ROW_FIELDS + (AGENT_OUTPUT_FIELDS if agent_outputs else ())
        sizes = {SCREEN: screen_size, **dict(zip((ACTIONS, HIDDEN), agent_outputs or ()))}
        for field in self.fields:
            shape = field.row_shape(sizes)
            ds = self.file.create_dataset(
                field.name,
                shape=(0, *shape),
                maxshape=(None, *shape),
                dtype=field.dtype,
                chunks=_chunks(shape, field.dtype),
                track_times=False,
                **options,
            )
            ds.attrs["meaning"] = field.meaning
        for key, value in {**attrs, "format_version": FORMAT_VERSION}.items():
            self.file.attrs[key] = value
        self.rows, self.episode_start, self.episode_return = 0, 0, 0.0
        self.episodes: list[dict[str, Any]] = []
        self.pending: list[Row] = []

    def add(self, row: Row) -> None:
        self.pending.append(row)
        self.episode_return += row.rewards
        if len(self.pending) >= FLUSH_ROWS:
            self._flush()

    def end_episode(self, **columns: Any) -> dict[str, Any]:
        """Close the episode whose rows were just added (its final state included) with its table columns (every
        column of EPISODE_COLUMNS but the computed ones); returns its table row."""
        given = {c.name for c in EPISODE_COLUMNS} - set(COMPUTED_COLUMNS)
        if set(columns) != given:
            raise TypeError(f"end_episode takes the columns {sorted(given)}, got {sorted(columns)}")
        self._flush()
        entry = {
            **columns,
            "first_row": self.episode_start,
            "length": self.rows - self.episode_start - 1,
            "return": self.episode_return,
        }
        self.episodes.append(entry)
        self.episode_start, self.episode_return = self.rows, 0.0
        return entry

    def append(self, path: Path) -> list[dict[str, Any]]:
        """Append every episode of another gameplay file written with the same compression (a worker's shard);
        returns their table rows. Frames are one per chunk, so their compressed chunks are copied as they are: 11x
        faster than decompressing and compressing them again (23,000 against 2,100 rows/s of Ms. Pac-Man). The
        other datasets hold several rows per chunk and are copied row for row, so their chunks are those of a file
        written in one go (also from a file chunked otherwise, such as one with an observation per chunk)."""
        self._flush()
        with h5py.File(path, "r") as source:
            rows = len(source["actions"])
            outputs = {f.name for f in AGENT_OUTPUT_FIELDS}
            if outputs & set(source) != outputs & {f.name for f in self.fields}:
                raise ValueError(f"cannot append '{path}': one of the two files has agent outputs, the other not")
            for field in self.fields:
                _append_rows(source[field.name], self.file[field.name], self.rows)
            table = read_episodes(source)
        entries = []
        for i in range(len(table)):
            entry = {c.name: table[c.name][i].item() for c in EPISODE_COLUMNS}
            entry["first_row"] += self.rows
            entries.append(entry)
        self.episodes += entries
        self.rows += rows
        self.episode_start = self.rows
        return entries

    def _flush(self) -> None:
        if not self.pending:
            return
        end = self.rows + len(self.pending)
        for field in self.fields:
            ds = self.file[field.name]
            ds.resize(end, axis=0)
            ds[self.rows : end] = np.asarray([getattr(r, field.name) for r in self.pending], dtype=field.dtype)
        self.rows, self.pending = end, []

    def close(self) -> None:
        """Write what is pending and the episode table, and close the file (however that goes); closing again does
        nothing."""
        if not self.file.id.valid:
            return
        try:
            self._flush()
            group = self.file.create_group("episodes")
            for column in EPISODE_COLUMNS:
                values = np.asarray([e[column.name] for e in self.episodes], dtype=column.dtype)
                group.create_dataset(column.name, data=values, dtype=column.dtype, track_times=False).attrs[
                    "meaning"
                ] = column.meaning
        finally:
            self.file.close()

    def __enter__(self) -> GameplayWriter:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()
        else:
            self.file.close()


def _storage(d: h5py.Dataset) -> tuple:
    return d.dtype, d.shape[1:], d.compression, d.compression_opts


def _append_rows(source: h5py.Dataset, target: h5py.Dataset, start: int) -> None:
    """Rows of `source` after row `start` of `target`: stored chunks copied where both hold one row per chunk
    (a raw chunk of another codec would be read back as garbage, so the compressions must agree), otherwise
    decompressed and written in blocks that end on the target's chunk boundaries, so each chunk is written once
    (the target's last, partly filled one twice)."""
    if _storage(source) != _storage(target):
        raise ValueError(f"cannot append '{source.name}' stored as {_storage(source)} to {_storage(target)}")
    end = start + len(source)
    target.resize(end, axis=0)
    if source.chunks == target.chunks and target.chunks[0] == 1:
        inside = (0,) * (source.ndim - 1)
        for i in range(len(source)):
            mask, chunk = source.id.read_direct_chunk((i, *inside))
            target.id.write_direct_chunk((start + i, *inside), chunk, mask)
        return
    step = target.chunks[0] * max(1, COPY_ROWS // target.chunks[0])
    row = start
    while row < end:
        stop = min(end, (row // step + 1) * step)
        target[row:stop] = source[row - start : stop - start]
        row = stop
