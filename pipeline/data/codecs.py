"""The HDF5 compressions a gameplay file may use (record.compression), for writing and for reading.

gzip level 1 is the default: every HDF5 tool reads it. Zstandard (level 3) stores RGB frames smaller and reads them
faster but is not built into HDF5: it comes from the optional `hdf5plugin` package (`pip install .[zstd]`), which
registers the filter when imported. Files written with it need the plugin to be read, so readers import it when a
file needs it and otherwise stop with one line saying what to install.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py

from pipeline.config.errors import InputError

COMPRESSIONS = ("gzip", "lzf", "zstd")
ZSTD_FILTER = 32015  # the HDF5 filter id registered for Zstandard
ZSTD_LEVEL = 3
PLUGIN_HINT = "pip install hdf5plugin (or the pipeline's zstd extra: pip install '.[zstd]')"


def _hdf5plugin():
    """The hdf5plugin module, imported (which registers its filters), or None where it is not installed."""
    try:
        import hdf5plugin
    except ImportError:
        return None
    return hdf5plugin


def dataset_options(compression: str) -> dict[str, Any]:
    """h5py create_dataset keyword arguments for a compression; zstd without hdf5plugin is an InputError."""
    if compression == "gzip":
        return {"compression": "gzip", "compression_opts": 1}
    if compression == "lzf":
        return {"compression": "lzf"}
    if compression == "zstd":
        plugin = _hdf5plugin()
        if plugin is None:
            raise InputError(f"record.compression = 'zstd' needs the hdf5plugin package: {PLUGIN_HINT}")
        return dict(plugin.Zstd(clevel=ZSTD_LEVEL))
    raise InputError(f"record.compression = {compression!r}: must be one of {', '.join(COMPRESSIONS)}")


def check_available(compression: str) -> None:
    """Raise the InputError dataset_options would, before anything is written."""
    dataset_options(compression)


def filters_of(ds: h5py.Dataset) -> list[int]:
    plist = ds.id.get_create_plist()
    return [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]


def describe_compression(ds: h5py.Dataset) -> str:
    """How a dataset is compressed, in words a reader acts on (h5py names a plugin's filter only 'unknown')."""
    names = {h5py.h5z.FILTER_DEFLATE: f"gzip level {ds.compression_opts}", h5py.h5z.FILTER_LZF: "lzf"}
    names[ZSTD_FILTER] = f"Zstandard: to read it, {PLUGIN_HINT}"
    found = [names[i] for i in filters_of(ds) if i in names]
    return ", ".join(found) or "uncompressed"


def ensure_readable(f: h5py.File, path: Path) -> None:
    """Make every filter the file's datasets use available (importing hdf5plugin for Zstandard), or raise an
    InputError naming what to install. Cheap: it reads each dataset's header, never its data."""
    needed: set[int] = set()
    f.visititems(lambda _name, obj: needed.update(filters_of(obj)) if isinstance(obj, h5py.Dataset) else None)
    missing = {i for i in needed if not h5py.h5z.filter_avail(i)}
    if missing and _hdf5plugin() is not None:
        missing = {i for i in missing if not h5py.h5z.filter_avail(i)}
    if ZSTD_FILTER in missing:
        raise InputError(f"dataset '{path}' is compressed with Zstandard; to read it, {PLUGIN_HINT}")
    if missing:
        raise InputError(f"dataset '{path}' uses HDF5 filters {sorted(missing)} that this installation lacks")
