"""What a recording shows while it runs: who plays what (before anything is played), a bar per episode in flight
and a total line with the time left."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from pipeline.config.params import Params
from pipeline.data.sources import SourceEntry
from pipeline.play.backends import Backend
from pipeline.record.plan import PlannedEpisode


def announce(
    console: Console, params: Params, entries: list[SourceEntry], ids: range, backend: Backend = Backend()
) -> None:
    """Who plays what, before anything is played: a line for the simple case's rounding, then a table of sources."""
    r = params.record
    if not r.sources:
        n_random = entries[0].episodes
        console.print(
            f"Recording {r.episodes} episodes: {n_random} random + {r.episodes - n_random} trained "
            f"({r.percent_random:g}% of {r.episodes} = {r.episodes * r.percent_random / 100:g}, rounded to the "
            f"nearest episode, halves up; random episodes first; trained epsilon {r.epsilon:g})",
            highlight=False,
            soft_wrap=True,
        )
    shard = f"; this run plays ids {ids.start} .. {ids.stop - 1}" if len(ids) < r.episodes else ""
    where = "played on Ray" if backend.kind == "ray" else f"{min(params.env.num_envs, len(ids))} played at once"
    table = Table(
        title=f"Sources of the {r.episodes} episodes{shard}; {where}",
        title_justify="left",
    )
    for column in ("source", "policy", "checkpoint step", "exploration", "episodes", "ids"):
        table.add_column(column, justify="right" if column in ("checkpoint step", "episodes") else "left")
    for e in entries:
        explores = f"{e.exploration} {e.exploration_value:g}"
        last = e.first_id + e.episodes - 1
        table.add_row(
            e.name,
            e.policy,
            "-" if e.checkpoint_step < 0 else f"{e.checkpoint_step:,}",
            explores,
            str(e.episodes),
            f"{e.first_id} .. {last}" if e.episodes else "-",
        )
    console.print(table)


class Frames(ProgressColumn):
    """Frames and frames/s: of one episode at its recent rate, or on the total line (whose bar counts episodes)
    of every episode in flight since recording began."""

    def render(self, task: Task) -> Text:
        if "frames" in task.fields:
            frames, speed = task.fields["frames"], task.fields["frames"] / task.elapsed if task.elapsed else 0.0
        else:
            frames, speed = task.completed, task.speed or 0.0
        return Text(f"{frames:,.0f} frames ") + Text(f"{speed:,.0f} frames/s", style="cyan")


class RecordProgress:
    """A bar per episode in flight and a total line with the time left; episode lines print in id order."""

    def __init__(self, console: Console, episodes: list[PlannedEpisode], max_steps: int):
        self.console, self.episodes, self.max_steps = console, episodes, max_steps
        self.bars = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            Frames(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.total = self.bars.add_task(f"0/{len(episodes)} episodes", total=len(episodes), frames=0)
        self.tasks: dict[int, TaskID] = {}
        self.frames, self.done = 0, 0

    def played(self, j: int, rows: int) -> None:
        if j not in self.tasks:
            episode = self.episodes[j]
            self.tasks[j] = self.bars.add_task(
                f"episode {episode.id} ({episode.source} #{episode.index})",
                total=self.max_steps + 1 if self.max_steps else None,
            )
        self.bars.advance(self.tasks[j], rows)
        self.frames += rows
        self.bars.update(self.total, frames=self.frames)

    def finished(self, j: int, entry: dict) -> None:
        self.bars.remove_task(self.tasks.pop(j))
        self.done += 1
        self.bars.update(self.total, advance=1, description=f"{self.done}/{len(self.episodes)} episodes")
        self.console.print(
            f"episode {entry['id']} ({entry['source']}): {entry['length']} steps, return {entry['return']:g}",
            highlight=False,
        )
