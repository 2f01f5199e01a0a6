"""Reading rows of a gzip array a whole stored chunk at a time: how the loader serves windows.

Through h5py a small read pays HDF5's selection machinery and its deflate filter (zlib) for every chunk it touches,
and inflating is most of a random window's cost. Here a gzip array's stored chunk is read as it is (read_direct_chunk)
and inflated by libdeflate (the `deflate` package), 3.5-4.6x faster than zlib on Atari frames and observations; the
files stay plain gzip HDF5 that any tool reads. The last decoded chunks are kept (CACHE_BYTES per array), so a
one-value-per-row array (4096 rows per chunk) is inflated once for many windows rather than once per window, and the
rest of an observation chunk is there for the window that follows. Arrays with another codec (lzf, Zstandard) are
read through h5py, one call per window, HDF5 decoding and caching their chunks.
"""

from __future__ import annotations

from collections import OrderedDict

import deflate
import h5py
import numpy as np

from pipeline.data.codecs import filters_of

CACHE_BYTES = 4 * 2**20  # decoded chunks kept per array and process: 74 chunks of 8 observations, or 39 frames


class ChunkedRows:
    """Rows start .. stop - 1 of one row dataset (rows along axis 0): assembled from whole decoded chunks where it is
    gzip (its only filter), else read through h5py."""

    def __init__(self, ds: h5py.Dataset, cache_bytes: int = CACHE_BYTES):
        # h5py's properties (shape, dtype, ndim, id) each cost microseconds a call: looked up once here
        self.ds, self.dsid, self.dtype, self.row_shape = ds, ds.id, ds.dtype, ds.shape[1:]
        self.inside = (0,) * len(self.row_shape)  # a chunk's offset within a row
        self.chunk_rows = ds.chunks[0] if ds.chunks else 0
        self.chunk_shape = (self.chunk_rows, *self.row_shape)
        self.chunk_bytes = int(np.prod(self.chunk_shape)) * ds.dtype.itemsize
        self.inflate = ds.chunks is not None and filters_of(ds) == [h5py.h5z.FILTER_DEFLATE]
        self.capacity = max(1, cache_bytes // max(self.chunk_bytes, 1))
        self.cache: OrderedDict[int, np.ndarray] = OrderedDict()

    def rows(self, start: int, stop: int) -> np.ndarray:
        """A new array of rows start .. stop - 1 (0 <= start <= stop <= len)."""
        if not self.inflate:  # one h5py read: HDF5 decodes the chunks the rows lie in, and keeps them in its cache
            return self.ds[start:stop]
        out = np.empty((stop - start, *self.row_shape), self.dtype)
        n = self.chunk_rows
        for k in range(start // n, -(-stop // n)):  # the chunks that rows start .. stop - 1 lie in
            lo, hi = max(start, k * n), min(stop, (k + 1) * n)
            out[lo - start : hi - start] = self.chunk(k)[lo - k * n : hi - k * n]
        return out

    def chunk(self, k: int) -> np.ndarray:
        """Chunk k decoded (its rows beyond the array's end, in the last chunk, are the fill value)."""
        found = self.cache.get(k)
        if found is not None:
            self.cache.move_to_end(k)
            return found
        decoded = self._decode(k)
        self.cache[k] = decoded
        if len(self.cache) > self.capacity:
            self.cache.popitem(last=False)
        return decoded

    def _decode(self, k: int) -> np.ndarray:
        start = k * self.chunk_rows
        mask, stored = self.dsid.read_direct_chunk((start, *self.inside))
        try:  # bit 0 of the mask set: the filter was skipped when writing, the chunk is stored as it is
            data = stored if mask & 1 else deflate.zlib_decompress(stored, self.chunk_bytes)
        except deflate.DeflateError as err:  # a damaged chunk: the loader reports the file as damaged
            raise ValueError(f"chunk {k} of '{self.ds.name}' does not decompress ({err})") from None
        if len(data) != self.chunk_bytes:
            raise ValueError(f"chunk {k} of '{self.ds.name}' holds {len(data)} bytes, not {self.chunk_bytes}")
        return np.frombuffer(data, self.dtype).reshape(self.chunk_shape)
