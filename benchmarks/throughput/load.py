"""A synthetic load: busy processes that keep cores taken, as other users' jobs do on a shared machine."""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from collections.abc import Iterator

START_WAIT_S = 60.0


def _spin(started) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # stopped by the parent, never by a Ctrl-C meant for it
    started.set()
    while True:
        pass


@contextlib.contextmanager
def busy_load(processes: int) -> Iterator[None]:
    """`processes` pure-Python busy loops for the duration of the block; each is spinning before the block starts
    and killed when it ends."""
    ctx = multiprocessing.get_context("spawn")
    procs = []
    try:
        for _ in range(processes):
            started = ctx.Event()
            proc = ctx.Process(target=_spin, args=(started,), daemon=True, name="busy-load")
            proc.start()
            procs.append(proc)
            if not started.wait(START_WAIT_S):
                raise RuntimeError("a load process did not start")
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.join()
