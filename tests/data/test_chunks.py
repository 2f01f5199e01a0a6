"""The storage layout and the chunk-aligned reading: observations several rows a chunk and frames one, as the writer
declares; the loader's rows equal plain h5py slices wherever a window lies (across chunk boundaries, in the last,
partly filled chunk, with padding), for every codec; shards and files of the earlier layout (one observation a chunk)
append into the arrays and chunks of a file written in one go, and still load."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from benchmarks.loader_bench import relayout
from pipeline.config.errors import InputError
from pipeline.data.chunks import ChunkedRows
from pipeline.data.metrics import dataset_metrics
from pipeline.data.schema import FRAME_SHAPE, ROW_FIELDS
from pipeline.data.writer import FRAME_CHUNK, OBSERVATION_CHUNK, GameplayWriter
from pipeline.dataset import GameplayDataset
from tests.data.synthetic import AGENTS, LENGTHS, attributes, write_dataset
from tests.helpers import assert_same_contents

ROWS = sum(LENGTHS) + len(LENGTHS)  # 29: the last observation chunk holds 5 of its 8 rows


def _codec(name: str) -> str:
    if name == "zstd":
        pytest.importorskip("hdf5plugin")
    return name


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_dataset(tmp_path / "gameplay.h5")


def stored_chunks(ds: h5py.Dataset) -> list[bytes]:
    return [ds.id.read_direct_chunk(ds.id.get_chunk_info(i).chunk_offset)[1] for i in range(ds.id.get_num_chunks())]


def test_the_writer_stores_observations_several_a_chunk_and_frames_one(dataset):
    assert OBSERVATION_CHUNK > 1 and FRAME_CHUNK == 1
    assert ROWS % OBSERVATION_CHUNK  # the fixture's last chunk is partly filled
    with h5py.File(dataset) as f:
        assert f["observations"].chunks == (OBSERVATION_CHUNK, 84, 84)
        assert f["frames"].chunks == (FRAME_CHUNK, *FRAME_SHAPE)
        assert f["observations"].id.get_num_chunks() == -(-ROWS // OBSERVATION_CHUNK)
        assert f["observations"].compression == "gzip"  # plain HDF5: no plugin needed to read it


@pytest.mark.parametrize("codec", ["gzip", "lzf", "zstd"])
def test_rows_equal_plain_slices_wherever_they_lie(tmp_path, codec):
    path = write_dataset(tmp_path / "gameplay.h5", compression=_codec(codec))
    rng = np.random.default_rng(0)
    with h5py.File(path) as f:
        for field in ROW_FIELDS:
            ds, reader = f[field.name], ChunkedRows(f[field.name], cache_bytes=3 * 84 * 84 * OBSERVATION_CHUNK)
            whole = ds[:]
            spans = [(0, ROWS), (ROWS - 1, ROWS), (ROWS - 3, ROWS), (7, 9), (8, 16), (5, 5), (0, 1)]
            spans += [tuple(sorted(rng.integers(0, ROWS + 1, 2))) for _ in range(40)]
            for start, stop in spans:
                got = reader.rows(int(start), int(stop))
                assert got.dtype == whole.dtype and np.array_equal(got, whole[start:stop]), (field.name, start, stop)
                assert got.flags.writeable


def test_a_reader_keeps_only_its_last_chunks(dataset):
    with h5py.File(dataset) as f:
        reader = ChunkedRows(f["observations"], cache_bytes=2 * OBSERVATION_CHUNK * 84 * 84)
        for start in range(0, ROWS, 3):
            reader.rows(start, min(start + 8, ROWS))
        assert len(reader.cache) == 2 and list(reader.cache) == [2, 3]  # the last two chunks, in order of use


@pytest.mark.parametrize("window, pad_start", [(1, False), (3, False), (8, False), (8, True), (12, True)])
def test_every_item_equals_a_plain_slice_of_the_arrays(dataset, window, pad_start):
    keys = ("frames", "observations", "actions", "rewards", "terminated", "truncated", "lives")
    ds = GameplayDataset(dataset, window=window, keys=keys, pad_start=pad_start)
    with h5py.File(dataset) as f:
        arrays = {key: f[key][:] for key in keys}
    for i in range(len(ds)):
        item, start = ds[i], int(ds.starts[i])
        first = int(ds.table["first_row"][ds.owner[i]])
        pad = max(first - start, 0)
        for key in keys:
            expected = arrays[key][start + pad : start + window]
            got = item[key].numpy()
            assert np.array_equal(got[pad:], expected), (key, i)
            assert not got[:pad].any() if key != "actions" else (got[:pad] == -1).all()


def old_layout(path: Path, out: Path) -> Path:
    """The file as records before this layout wrote it: one observation a chunk."""
    relayout(path, out, "gzip", 1)
    with h5py.File(out) as f:
        assert f["observations"].chunks == (1, 84, 84)
    return out


def test_files_of_one_observation_a_chunk_still_load_and_measure_the_same(dataset, tmp_path):
    old = old_layout(dataset, tmp_path / "old.h5")
    assert_same_contents(old, dataset)
    keys = ("observations", "frames", "actions")
    for window in (1, 8):
        now, before = (GameplayDataset(p, window=window, keys=keys, pad_start=True) for p in (dataset, old))
        for i in range(len(now)):
            assert all(np.array_equal(now[i][k], before[i][k]) for k in keys)
    assert dataset_metrics(old) == dataset_metrics(dataset)


def shard(folder: Path, first: int, count: int) -> Path:
    return write_dataset(
        folder / f"shard_{first}.h5", LENGTHS[first : first + count], AGENTS[first : first + count], first_id=first
    )


def append_all(out: Path, parts: list[Path]) -> Path:
    with GameplayWriter(out, screen_size=84, compression="gzip", attrs=attributes()) as writer:
        for part in parts:
            writer.append(part)
    return out


def test_appended_shards_give_the_arrays_and_stored_chunks_of_one_file(dataset, tmp_path):
    """Shards of 1, 2 and 2 episodes start at rows 0, 6 and 18, none on a chunk boundary but the first."""
    merged = append_all(tmp_path / "merged.h5", [shard(tmp_path, 0, 1), shard(tmp_path, 1, 2), shard(tmp_path, 3, 2)])
    assert_same_contents(merged, dataset)
    with h5py.File(merged) as a, h5py.File(dataset) as b:
        for name in ("observations", "frames"):
            assert a[name].chunks == b[name].chunks
            assert stored_chunks(a[name]) == stored_chunks(b[name]), name


def test_a_file_of_the_earlier_layout_appends_into_the_new_one(dataset, tmp_path):
    old = old_layout(shard(tmp_path, 0, 3), tmp_path / "old.h5")
    merged = append_all(tmp_path / "merged.h5", [old, shard(tmp_path, 3, 2)])
    assert_same_contents(merged, dataset)
    with h5py.File(merged) as f:
        assert f["observations"].chunks == (OBSERVATION_CHUNK, 84, 84)


def test_a_shard_of_another_compression_is_refused(tmp_path):
    other = write_dataset(tmp_path / "lzf.h5", compression="lzf")
    with pytest.raises((ValueError, InputError), match="cannot append"):
        append_all(tmp_path / "merged.h5", [other])
