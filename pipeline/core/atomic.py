"""Write outputs under a temporary name and rename them into place, so a reader never sees half a file.

Every temporary is named `.NAME.tmp-PID` (or `.NAME.old-PID` for a folder being swapped out) beside what it becomes,
so a run killed before it could clean up leaves names that say what they were and whose they were: the next run
that writes there removes those whose process is gone (remove_stale_temporaries).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path
from typing import Iterator

_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)-(?P<pid>\d+)$")


def temporary_sibling(path: Path, tag: str = "tmp") -> Path:
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` (a file or a folder); on success it replaces `path`, on error it goes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    remove(tmp)
    try:
        with naming(tmp):
            yield tmp
        if tmp.is_dir() and path.exists():
            old = temporary_sibling(path, "old")
            os.replace(path, old)
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old, path)
                raise
            remove(old)
        else:
            os.replace(tmp, path)
    except BaseException:
        remove(tmp)
        raise


@contextlib.contextmanager
def scratch_folder(path: Path) -> Iterator[Path]:
    """A temporary folder named like the others (`.NAME.tmp-PID` beside `path`), removed when done however it ends."""
    tmp = temporary_sibling(Path(path))
    remove(tmp)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    finally:
        remove(tmp)


def real_name(path: Path) -> Path:
    """What a path through temporaries stands for (`data/.videos.tmp-12/a.mp4` -> `data/videos/a.mp4`)."""
    path = Path(path)
    return Path(*((m["name"] if (m := _TEMPORARY.match(part)) else part) for part in path.parts))


@contextlib.contextmanager
def naming(path: Path) -> Iterator[None]:
    """An OSError that does not say which file it was about (Path.write_text's, ffmpeg's) gets `path` as its name."""
    try:
        yield
    except OSError as err:
        if err.filename is not None:
            raise
        raise OSError(err.errno, err.strerror or " ".join(str(err).split()), str(path)) from err


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the temporaries in `folder` (not below it) whose process is gone; return what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.iterdir() if (m := _TEMPORARY.match(p.name)) and not _alive(int(m["pid"]))]
    for path in stale:
        remove(path)
    return stale


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # gone, or a number no process can have
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
