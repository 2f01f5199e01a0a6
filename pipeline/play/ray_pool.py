"""Playing numbered episodes on a Ray cluster, with pipeline.play.pool's contract: the same per-episode player,
results handed back in episode order, a stop check that cancels everything.

A pool of Ray actors, one per CPU of the cluster (at most one per episode), each owning a player built once, takes
the episodes one at a time as it finishes the last. No filesystem is shared: the files the player reads (the
checkpoint) travel through Ray's object store and are written to a private folder on the worker, and the files an
episode writes (its dataset shard, video, PNGs) go to the worker's own folders, come back as bytes and are written
into this machine's folders at the same relative paths before its result is handed on. A result that is a path in
one of those folders is handed on as the path of the copy here. An episode's progress arrives when it ends.
The parent keeps only references to finished episodes until their turn, so their bytes wait in the object store
(which spills to disk), not in this process.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pipeline.config.errors import EnvironmentFault, InputError
from pipeline.rl.device import one_cpu_thread

POLL_S = 0.2  # how often the parent checks for a stop while it waits
STOP_WAIT_S = 10.0  # how long stopped actors get to close their players and remove their folders


def import_ray():
    try:
        import ray
    except ImportError:
        raise InputError("--backend ray needs Ray, which is not installed: pip install '.[ray]'") from None
    return ray


@dataclass(frozen=True)
class _Here:
    """A result that was a path in an output folder of the worker: that folder's name and the relative path."""

    folder: str
    relative: str


class EpisodeActor:
    """A Ray worker's player, built on local copies of the inputs (name -> bytes) and folders of its own."""

    def __init__(self, build: Callable, inputs: dict[str, bytes], absent: dict[str, Path], outputs: list[str]):
        one_cpu_thread()  # as every process that plays
        self.root = Path(tempfile.mkdtemp(prefix="pipeline-ray-"))
        local = dict(absent)  # inputs that do not exist here are passed on as they are (the player may not need them)
        for name, data in inputs.items():
            local[name] = self.root / "inputs" / name
            local[name].parent.mkdir(parents=True, exist_ok=True)
            local[name].write_bytes(data)
        self.outputs = {name: self.root / "outputs" / name for name in outputs}
        for folder in self.outputs.values():
            folder.mkdir(parents=True)
        self.player = build(local, self.outputs)

    def play(self, job: int) -> tuple[int, tuple[Any, dict[tuple[str, str], bytes]]]:
        """(agent steps, (result, files written by the episode: (folder name, relative path) -> bytes)); the files
        are removed here."""
        ticks = 0

        def tick() -> None:
            nonlocal ticks
            ticks += 1

        result = self.player.play(job, tick)
        files = {}
        for name, folder in self.outputs.items():
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                files[(name, str(path.relative_to(folder)))] = path.read_bytes()
            shutil.rmtree(folder)
            folder.mkdir()
        if isinstance(result, Path):
            name = next((n for n, f in self.outputs.items() if result.is_relative_to(f)), None)
            result = _Here(name, str(result.relative_to(self.outputs[name]))) if name else result
        return ticks, (result, files)

    def close(self) -> None:
        self.player.close()
        shutil.rmtree(self.root, ignore_errors=True)


def _hand_over(outcome: tuple[Any, dict], outputs: dict[str, Path]) -> Any:
    """Write an episode's files into this machine's folders; its result, with a worker's path made local."""
    result, files = outcome
    for (name, relative), data in files.items():
        path = outputs[name] / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return outputs[result.folder] / result.relative if isinstance(result, _Here) else result


def play_on_ray(
    build: Callable[[dict[str, Path], dict[str, Path]], Any],
    inputs: dict[str, Path],
    outputs: dict[str, Path],
    jobs: int,
    address: str | None,
    on_progress: Callable[[int, int], None],
    on_result: Callable[[int, Any], None],
    check: Callable[[], None] = lambda: None,
) -> None:
    """Play episodes 0 .. jobs-1 with players build(inputs, outputs) (pipeline.play.backends.Players) on the Ray
    this process has joined, else on the cluster at `address` (None: a new local Ray), which is left at the end;
    on_result(job, result) in job order. check() may raise to stop (as any error does): the episodes playing are
    cancelled and the actors ended before the exception leaves. An episode's own exception is raised here as itself
    (an InputError stays one); a cluster that cannot be reached or loses a worker is an EnvironmentFault."""
    ray = import_ray()
    started = not ray.is_initialized()
    if started:
        local = address is None
        try:
            ray.init(
                address="local" if local else address, include_dashboard=False if local else None, log_to_driver=False
            )
        except (ConnectionError, TimeoutError, RuntimeError, ValueError) as err:  # no cluster there, or none reachable
            where = "could not start a local Ray" if local else f"--ray-address {address}: could not join the cluster"
            raise EnvironmentFault(f"{where}: {one_line(err)}") from err
    try:
        _play(ray, build, inputs, outputs, jobs, on_progress, on_result, check)
    except ray.exceptions.RayTaskError as err:  # an episode's own exception: raised here as the local pool does
        cause = err.cause if isinstance(err.cause, Exception) else None
        if cause is None:
            raise
        raise cause from err
    except ray.exceptions.RayError as err:  # a worker, node or object lost: the cluster's fault, not the input's
        what = "could not build its player" if getattr(err, "actor_init_failed", False) else "was lost"
        raise EnvironmentFault(f"a Ray episode worker {what}: {one_line(err)}") from err
    finally:
        if started:
            ray.shutdown()


def one_line(err: BaseException) -> str:
    """The first line of an exception's message (Ray's run to many), or its type."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(err).__name__


def _play(ray, build, inputs, outputs, jobs, on_progress, on_result, check) -> None:
    actors: list = []
    steps: dict[Any, tuple[int, Any, Any]] = {}  # a playing episode's steps ref -> (job, outcome ref, actor)
    try:
        present = {name: path for name, path in inputs.items() if path.is_file()}
        shipped = ray.put({name: path.read_bytes() for name, path in present.items()})
        absent = {name: path for name, path in inputs.items() if name not in present}
        workers = max(1, min(jobs, int(ray.cluster_resources().get("CPU", 1))))
        remote = ray.remote(num_cpus=1)(EpisodeActor)
        actors = [remote.remote(build, shipped, absent, list(outputs)) for _ in range(workers)]
        finished: dict[int, Any] = {}  # job -> outcome ref, until its turn
        next_job = due = 0

        def start(actor) -> None:
            nonlocal next_job
            ticks, outcome = actor.play.options(num_returns=2).remote(next_job)
            steps[ticks] = (next_job, outcome, actor)
            next_job += 1

        for actor in actors:
            start(actor)
        while due < jobs:
            check()
            ready, _ = ray.wait(list(steps), num_returns=1, timeout=POLL_S)
            for ref in ready:
                job, outcome, actor = steps.pop(ref)
                on_progress(job, ray.get(ref))
                finished[job] = outcome
                if next_job < jobs:
                    start(actor)
            while due in finished:
                on_result(due, _hand_over(ray.get(finished.pop(due)), outputs))
                due += 1
    finally:
        _stop(ray, actors, list(steps))


def _stop(ray, actors: list, playing: list) -> None:
    """Cancel the episodes still playing, let each actor close its player and remove its folder, then end it."""
    for ref in playing:
        ray.cancel(ref)
    closing = [actor.close.remote() for actor in actors]
    ray.wait(closing, num_returns=len(closing), timeout=STOP_WAIT_S)
    for actor in actors:
        ray.kill(actor)
