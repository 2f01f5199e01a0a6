"""Turn SIGINT and SIGTERM into a flag that a long loop polls, so it can save its state and stop cleanly."""

from __future__ import annotations

import contextlib
import signal
from typing import Iterator


class StopRequest:
    def __init__(self) -> None:
        self.signal: int | None = None

    def __bool__(self) -> bool:
        return self.signal is not None


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    request = StopRequest()

    def handler(signum, _frame):
        request.signal = signum

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


class Interrupted(Exception):
    """A loop stopped on a signal after saving what it needed; the exit code is 128 + the signal number."""

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.exit_code = 128 + signum
