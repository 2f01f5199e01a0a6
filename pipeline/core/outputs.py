"""Before a command writes anything: can its output paths be written, is there room, and is no other run writing the
same folder? Each check says in one line what is wrong, so a command stops before it deletes, plays or writes."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
from pathlib import Path
from typing import Iterator, Sequence

from pipeline.config.errors import EnvironmentFault, InputError
from pipeline.core.atomic import remove_stale_temporaries, temporary_sibling
from pipeline.core.faults import os_failure

LOCK_NAME = ".pipeline.lock"  # in a folder being written: the writer's pid, held with flock while it runs


def nearest_existing(path: Path, what: str) -> Path:
    """The folder `path` would be created in (itself if it exists): the nearest existing ancestor, which must be a
    folder."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise InputError(f"{what} '{path}' cannot be created: '{candidate}' is a file")
            return candidate
    raise InputError(f"{what} '{path}': no folder above it exists (was the working folder removed?)")


def check_writable(folder: Path) -> None:
    """Create and remove a file in `folder`: the only test that holds for root, read-only mounts and full disks."""
    probe = temporary_sibling(folder / "write-probe")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        os.unlink(probe)
    except OSError as err:
        raise os_failure(err, folder) from None


def check_output(path: Path, what: str, folder: bool = False) -> None:
    """`path` can be written as a file (or with `folder`, a folder): not the other kind already, under folders that
    exist or can be created, on a file system that takes new files."""
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise InputError(f"{what} '{path}' is a file; it must be a folder (or not exist yet)")
    if not folder and path.is_dir():
        raise InputError(f"{what} '{path}' is a folder; it must be a file path")
    check_writable(nearest_existing(path if folder else path.parent, what))


def check_free_space(folder: Path, needed: int, what: str) -> None:
    """At least `needed` bytes free where `folder` is (or would be created)."""
    free = shutil.disk_usage(nearest_existing(Path(folder), what)).free
    if free < needed:
        raise EnvironmentFault(
            f"{what} needs about {needed / 2**20:,.1f} MiB in '{folder}' but {free / 2**20:,.1f} MiB is free"
        )


@contextlib.contextmanager
def claimed(folder: Path, what: str, inside: Sequence[Path] = ()) -> Iterator[None]:
    """Hold `folder` for this run: a second run writing there stops with one line instead of one silently replacing
    the other's outputs. A lock left by a killed run is free (flock dies with its process) and is taken over; the
    temporaries such runs left in `folder` and in the subfolders `inside` are removed. Folders created for the lock
    that are still empty at the end go again."""
    folder = Path(folder)
    check_output(folder, what, folder=True)
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    try:
        fd = _lock(folder / LOCK_NAME, what, folder)
        try:
            for swept in (folder, *inside):
                remove_stale_temporaries(swept)
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):  # the folder went while the run held it
                os.unlink(folder / LOCK_NAME)
            os.close(fd)
    finally:
        for path in created:  # deepest first
            with contextlib.suppress(OSError):
                path.rmdir()


def _lock(path: Path, what: str, folder: Path) -> int:
    """Open and flock the lock file, or raise naming its holder; where the file system has no locks, go on without."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                break
            if not isinstance(err, BlockingIOError):
                os.close(fd)
                raise
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise EnvironmentFault(
                f"{what} '{folder}' is being written by another run (pid {holder}); wait for it to end or stop it"
            ) from None
        if path.exists() and os.stat(path).st_ino == os.fstat(fd).st_ino:
            break
        os.close(fd)  # the holder removed the file as we opened it: lock the new one
    os.ftruncate(fd, 0)
    with contextlib.suppress(OSError):  # a full disk has no room for the pid; the flock alone still holds the folder
        os.write(fd, f"{os.getpid()}\n".encode())
    return fd
