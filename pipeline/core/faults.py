"""What an OSError means for the person who ran the command: their input (a path that cannot be written) or the
machine (a full disk), said in one line that names the file."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from pipeline.config.errors import EnvironmentFault, InputError
from pipeline.core.atomic import real_name

# the path the user gave cannot be used as it is; every other failure is the machine's
PATH_ERRORS = {
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.EISDIR,
    errno.ENOTDIR,
    errno.EEXIST,
    errno.ENOENT,
    errno.ENAMETOOLONG,
    errno.ELOOP,
    errno.ENOTEMPTY,
}
# failures that libraries (HDF5, ffmpeg) report without an errno, recognised by their system message
_KNOWN = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EIO)
_FILENAME = re.compile(r"filename = '([^']+)'")


def error_code(err: OSError) -> int | None:
    """The errno of an OSError, or the one whose message a library put in its text."""
    if err.errno is not None:
        return err.errno
    text = str(err)
    return next((code for code in _KNOWN if os.strerror(code) in text), None)


def os_failure(err: OSError, path: Path | None = None) -> InputError | EnvironmentFault:
    """The one-line error for an OSError met while reading or writing `path` (or the file the error names)."""
    code = error_code(err)
    named = err.filename or (m[1] if (m := _FILENAME.search(str(err))) else None) or path
    reason = os.strerror(code) if code is not None else " ".join((err.strerror or str(err)).split())[:300]
    message = f"'{real_name(Path(named))}': {reason}" if named else reason
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        message += " (the disk is full or the file outgrew a limit)"
    return (InputError if code in PATH_ERRORS else EnvironmentFault)(message)
