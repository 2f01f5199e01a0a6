"""Where episodes are played: in worker processes on this machine (`local`), or as Ray tasks on a cluster (`ray`).

The choice changes where the work runs, never a result: every episode is played by the same per-episode code on the
same seeded environment and checkpoint, and the results reach the stage in episode order either way. So it is a
command-line flag, not a param, and it never enters an output.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable

from pipeline.config.errors import InputError
from pipeline.play.pool import EpisodePlayer, play_episodes

BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class Backend:
    kind: str = "local"
    address: str | None = None  # ray: the cluster to join ("auto", "ray://head:10001"); None starts a local Ray

    def __post_init__(self) -> None:
        if self.kind not in BACKENDS:
            raise InputError(f"--backend {self.kind!r}: one of {', '.join(BACKENDS)}")
        if self.address is not None and self.kind != "ray":
            raise InputError("--ray-address is for --backend ray")
        if self.kind == "ray":  # a missing extra is bad input, told before anything starts
            from pipeline.play.ray_pool import import_ray

            import_ray()


@dataclass(frozen=True)
class Players:
    """How a stage's episode player is built, wherever it runs: `build(inputs, outputs)` (picklable) gets the files
    the player reads by name (the checkpoint) and the folders it writes by name (videos, shards...). Here those are
    `inputs` and `outputs`; a Ray worker gets copies of the inputs and folders of its own, whose files it hands back."""

    build: Callable[[dict[str, Path], dict[str, Path]], EpisodePlayer]
    inputs: dict[str, Path]
    outputs: dict[str, Path]


def play_on(
    backend: Backend,
    players: Players,
    jobs: int,
    num_envs: int,
    on_progress: Callable[[int, int], None],
    on_result: Callable[[int, Any], None],
    check: Callable[[], None] = lambda: None,
) -> None:
    """Play episodes 0 .. jobs-1 on `backend` (see pipeline.play.pool.play_episodes for the callbacks); `num_envs`
    is the local backend's number of players, a Ray cluster runs one per CPU it has."""
    if backend.kind == "ray":
        from pipeline.play.ray_pool import play_on_ray  # Ray is imported only when asked for

        play_on_ray(
            players.build, players.inputs, players.outputs, jobs, backend.address, on_progress, on_result, check
        )
    else:
        make_player = partial(players.build, players.inputs, players.outputs)
        play_episodes(make_player, jobs, num_envs, on_progress, on_result, check)
