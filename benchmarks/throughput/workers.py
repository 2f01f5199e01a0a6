"""Each program in its own process, paused in place between timed windows, so that programs can take turns.

A program's training loop calls its Gate at step boundaries where its learning is even (every train_frequency
agent steps, after that step's update). Once the fill is over the gate reports ready and blocks; the parent then
sends the seconds of the next window, and the gate lets the loop run until the first boundary past that deadline,
reports the agent steps and the exact seconds between the two boundaries, and blocks again. Every window so holds
whole update periods of the learning phase only, and a blocked program takes no CPU while the others run.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

READY, WINDOW, ERROR = "ready", "window", "error"
CLOSE_WAIT_S = 20.0  # how long a closed worker gets to unwind (close its environments) before it is killed


class Stopped(Exception):
    """Raised by a gate when the parent closes the worker: unwinds the training loop, closing what it opened."""


@dataclass(frozen=True)
class Window:
    steps: int  # agent steps between the boundaries that opened and closed the window
    seconds: float

    @property
    def rate(self) -> float:
        return self.steps / self.seconds


class Gate:
    """Called by a training loop with its agent step count at each boundary; blocks between windows."""

    def __init__(self, conn, learning_starts: int):
        self.conn, self.learning_starts = conn, learning_starts
        self.deadline: float | None = None  # None while the replay fills
        self.step, self.start = 0, 0.0

    def __call__(self, step: int) -> None:
        now = time.perf_counter()
        if self.deadline is None:
            if step < self.learning_starts:
                return
            self.conn.send((READY,))
        elif now < self.deadline:
            return
        else:
            self.conn.send((WINDOW, step - self.step, now - self.start))
        seconds = self.conn.recv()
        if seconds is None:
            raise Stopped
        self.step, self.start = step, time.perf_counter()
        self.deadline = self.start + seconds


def _serve(run: Callable, args: tuple, conn) -> None:
    """A worker's life: run the program against its gate until the parent closes it; report any failure."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and closes its workers
    try:
        run(*args, conn)
    except Stopped:
        pass
    except BaseException:
        conn.send((ERROR, traceback.format_exc()))


class Worker:
    """The parent's handle on one worker process running `run(*args, conn)`."""

    def __init__(self, name: str, run: Callable, args: tuple):
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: torch's threads as the program sets them
        self.name = name
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(run, args, child), name=name)
        self.proc.start()
        child.close()  # so that a dead worker reads as EOF here

    def receive(self):
        try:
            message = self.conn.recv()
        except EOFError:
            raise RuntimeError(f"{self.name}: the worker ended with exit code {self.proc.exitcode}") from None
        if message[0] == ERROR:
            raise RuntimeError(f"{self.name} failed in its worker:\n{message[1]}")
        return message

    def ready(self) -> None:
        """Wait until the program has filled its replay and stands at its first learning boundary."""
        self.receive()

    def window(self, seconds: float) -> Window:
        self.conn.send(seconds)
        _, steps, took = self.receive()
        return Window(steps, took)

    def ask(self, message):
        """Send a request to a worker that answers one message per request (not a gated program)."""
        self.conn.send(message)
        return self.receive()[1]

    def close(self) -> None:
        try:
            self.conn.send(None)
        except OSError:  # already gone
            pass
        self.proc.join(CLOSE_WAIT_S)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
