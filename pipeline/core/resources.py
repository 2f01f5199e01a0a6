"""What the machine has to spare, so that work too big for it is refused before anything is deleted or started."""

from __future__ import annotations

import os


def available_memory() -> int | None:
    """Bytes of memory that can be taken without swapping (Linux's MemAvailable), or None where it cannot be told."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB"
