"""Playing numbered episodes in worker processes, whole episodes each, with the results handed back in order.

Why whole episodes per worker rather than one vector env acting with one batched forward pass: on the CPU
the network's Q-values for a state differ by about 1e-8 between a batch of 1 and a batch of 16, so a near-tie
in the argmax could change an action, and a parallel recording would differ from the sequential one. Here
every episode is played by the same per-episode code with batch-1 forward passes, so it is a function of its
seed and policy alone, and the results are the same whatever the number of workers.

One worker plays in this process. More are forked by multiprocessing's fork server (the parent has torch loaded
with OpenMP threads, which fork is unsafe with; the server has run nothing), which imports torch and the player's
module once, so a worker starts in a fraction of a second where a spawned one would import them again. Each worker
builds its player once (policy, env), runs torch on one thread, leaves SIGINT and SIGTERM to the parent (which
stops the workers through an event checked every tick, so they close their files), and sends its progress every
PROGRESS_EVERY ticks.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import queue
import signal
import time
import traceback
from typing import Any, Callable, Protocol

from pipeline.rl.device import one_cpu_thread

Tick = Callable[[], None]

PROGRESS_EVERY = 64  # ticks between a worker's progress messages and its checks that the parent is alive
POLL_S = 0.1  # how often the parent checks for a stop and for dead workers while it waits
STOP_WAIT_S = 30.0  # how long stopped workers get to close their files before they are killed


class EpisodePlayer(Protocol):
    def play(self, job: int, tick: Tick) -> Any:
        """Play episode `job`, calling tick() once per step; the result goes to the parent."""

    def close(self) -> None: ...


class WorkerDied(RuntimeError):
    """A worker process ended without reporting why (killed, out of memory, crashed in native code)."""


class WorkerTraceback(Exception):
    """Where an exception re-raised in the parent was raised in its worker: chained as its cause."""

    def __str__(self) -> str:
        return self.args[0]


class _Stopped(Exception):
    """Unwinds a worker's episode (closing its files) when the parent stopped the pool or is gone."""


def play_episodes(
    make_player: Callable[[], EpisodePlayer],
    jobs: int,
    num_envs: int,
    on_progress: Callable[[int, int], None],
    on_result: Callable[[int, Any], None],
    check: Callable[[], None] = lambda: None,
) -> None:
    """Play episodes 0 .. jobs-1 with min(num_envs, jobs) players; on_result(job, result) is called in job order.

    on_progress(job, ticks) reports steps played; check() is called often in this process and may raise to stop
    everything (workers are stopped and joined before any exception leaves). A worker's exception is re-raised
    here as itself. With more than one player, `make_player` and the results must pickle.
    """
    workers = min(num_envs, jobs)
    one_cpu_thread()  # a batch-1 forward pass gains nothing from more, and results must not depend on the machine
    if workers == 1:
        _play_here(make_player, jobs, on_progress, on_result, check)
    else:
        _play_in_workers(make_player, jobs, workers, on_progress, on_result, check)


def _play_here(make_player, jobs, on_progress, on_result, check) -> None:
    player = make_player()
    try:
        for job in range(jobs):

            def tick(job: int = job) -> None:
                on_progress(job, 1)
                check()

            on_result(job, player.play(job, tick))
    finally:
        player.close()


def _play_in_workers(make_player, jobs, workers, on_progress, on_result, check) -> None:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["__main__", getattr(make_player, "func", make_player).__module__])
    next_job, messages, stop = ctx.Value("i", 0), ctx.Queue(), ctx.Event()
    procs: list[multiprocessing.process.BaseProcess] = []
    try:
        for _ in range(workers):
            proc = ctx.Process(target=_work, args=(make_player, jobs, next_job, messages, stop), daemon=True)
            proc.start()
            procs.append(proc)
        results, due = {}, 0
        while due < jobs:
            check()
            # sampled before reading: a worker that had exited had sent all its messages
            exited = [p.exitcode for p in procs if p.exitcode is not None]
            try:
                kind, job, ticks, payload = messages.get(timeout=POLL_S)
            except queue.Empty:
                if any(exited) or len(exited) == len(procs):
                    check()  # a Ctrl-C that also reached a worker is an interrupt, not a crash
                    code = next((c for c in exited if c), 0)
                    raise WorkerDied(
                        f"an episode worker ended with exit code {code} (-N: killed by signal N) "
                        f"before all {jobs} episodes were played"
                    ) from None
                continue
            if kind == "error":
                error, where = payload
                raise error from WorkerTraceback(where)
            if ticks:
                on_progress(job, ticks)
            if kind == "done":
                results[job] = payload
                while due in results:
                    on_result(due, results.pop(due))
                    due += 1
    finally:
        _stop(procs, messages, stop)


def _stop(procs, messages, stop) -> None:
    """Ask the workers to stop, let them close their files (reading their messages, so none blocks on a full
    pipe), then kill any that are left."""
    stop.set()
    deadline = time.monotonic() + STOP_WAIT_S
    while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            messages.get(timeout=POLL_S)
    for p in procs:
        p.kill()
        p.join()


def _take(next_job, jobs: int) -> int | None:
    with next_job.get_lock():
        job, next_job.value = next_job.value, next_job.value + 1
    return job if job < jobs else None


def _work(make_player, jobs: int, next_job, messages, stop) -> None:
    """A worker's life: build the player, then play the next unplayed episode until none is left."""
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_IGN)
    one_cpu_thread()
    parent = multiprocessing.parent_process()
    job, ticks = None, 0

    def tick() -> None:
        nonlocal ticks
        ticks += 1
        if ticks == PROGRESS_EVERY:
            messages.put(("progress", job, ticks, None))
            ticks = 0
            if not parent.is_alive():
                raise _Stopped
        if stop.is_set():
            raise _Stopped

    try:
        player = make_player()
        try:
            while (job := _take(next_job, jobs)) is not None:
                result = player.play(job, tick)
                messages.put(("done", job, ticks, result))
                ticks = 0
        finally:
            player.close()
    except _Stopped:
        pass
    except BaseException as error:
        messages.put(("error", job, 0, (_picklable(error), traceback.format_exc())))


def _picklable(error: BaseException) -> BaseException:
    """The exception itself when it survives pickling (InputError stays InputError), else a RuntimeError naming it."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
