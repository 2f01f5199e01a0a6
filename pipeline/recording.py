"""Recording: the random and the trained agent play seeded episodes into the gameplay dataset, MP4s and PNGs.

Who plays: n_random = episodes * percent_random / 100 rounded to the nearest integer, halves up, in exact
decimal arithmetic (30% of 20 = 6, 25% of 10 = 2.5 -> 3, 34% of 3 = 1.02 -> 1); episodes 0 .. n_random - 1
are played by the uniformly random agent, the rest by the trained agent at record.epsilon.
Episode k resets the environment and seeds its action RNG with derive_seed(seed, "record-episode", k), so the
same params and checkpoint give the same dataset, and changing the agent mix leaves each episode's seed alone.
All outputs are built under temporary names and renamed into place only when every episode is done.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

import pipeline
from pipeline.atomic import atomic_path, remove
from pipeline.checkpoint import library_versions
from pipeline.envs import action_meanings, env_id, make_env
from pipeline.gameplay_h5 import LAYOUT_NOTE, GameplayWriter
from pipeline.params import Params, RecordParams, params_to_dict
from pipeline.playing import play_rows
from pipeline.png_export import PngEpisode
from pipeline.policy import RandomPolicy, check_env_matches, load_policy
from pipeline.seeding import derive_seed
from pipeline.signals import Interrupted, stop_on_signals
from pipeline.video import EpisodeVideo


@dataclass(frozen=True)
class RecordLayout:
    """Where a recording goes, under one output folder."""

    root: Path

    @property
    def dataset(self) -> Path:
        return self.root / "gameplay.h5"

    @property
    def videos(self) -> Path:
        return self.root / "videos"

    @property
    def frames(self) -> Path:
        return self.root / "frames"


def agent_counts(episodes: int, percent_random: float) -> tuple[int, int]:
    """(random, trained) episode counts under the rounding rule above."""
    exact = Fraction(str(percent_random)) * episodes / 100
    n_random = int(exact + Fraction(1, 2))  # floor(x + 1/2): nearest, halves up
    return n_random, episodes - n_random


def episode_seed(seed: int, k: int) -> int:
    return derive_seed(seed, "record-episode", k)


def git_commit() -> str:
    """The commit of the code that recorded, "-dirty" if tracked files differ from it; "unknown" outside git."""
    here = Path(pipeline.__file__).parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=here, capture_output=True).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty else "")


def file_attributes(params: Params, meanings: list[str]) -> dict:
    e = params.env
    return {
        "env_id": env_id(e.game), "game": e.game, "frameskip": e.frameskip, "sticky_action_prob": e.sticky_action_prob,
        "noop_max": e.noop_max, "max_episode_frames": e.max_episode_frames, "screen_size": e.screen_size,
        "mode": e.mode, "difficulty": e.difficulty,
        "fps": params.record.fps, "action_meanings": meanings, "layout": LAYOUT_NOTE,
        "params": json.dumps(params_to_dict(params), sort_keys=True),
        "package_version": pipeline.__version__, "library_versions": json.dumps(library_versions(), sort_keys=True),
        "git_commit": git_commit(),
    }


class FramesPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:,.0f} frames/s", style="cyan")


def record_progress(console: Console) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed:,.0f} frames"),
                    FramesPerSecond(), TimeElapsedColumn(), console=console)


def episode_writers(stack: contextlib.ExitStack, videos: Path, frames: Path | None, k: int, kind: str, seed: int,
                    meanings: list[str], r: RecordParams) -> list:
    """The per-episode outputs a row goes to besides the dataset: the MP4 and, with the PNG export, its folder."""
    writers = [stack.enter_context(EpisodeVideo(videos / f"{kind}_agent_{k}.mp4", fps=r.fps, scale=r.video_scale,
                                                action_meanings=meanings, agent=kind, episode_id=k))]
    if frames is not None:
        writers.append(stack.enter_context(PngEpisode(frames, k, kind, seed, meanings)))
    return writers


def record(params: Params, checkpoint: Path, out_dir: Path, console: Console | None = None) -> RecordLayout:
    """Play record.episodes episodes and write gameplay.h5, videos/ and (with record.png) frames/ under out_dir.
    The checkpoint is only read when trained episodes are asked for."""
    console = console or Console(stderr=True)
    r, layout = params.record, RecordLayout(Path(out_dir))
    n_random, n_trained = agent_counts(r.episodes, r.percent_random)
    trained = load_policy(checkpoint) if n_trained else None
    if trained is not None:
        check_env_matches(trained, params.env)
    env = make_env(params.env)
    meanings = action_meanings(env)
    agents = {"random": RandomPolicy(len(meanings)), "trained": trained}
    console.print(f"Recording {r.episodes} episodes: {n_random} random + {n_trained} trained "
                  f"({r.percent_random:g}% of {r.episodes} = {r.episodes * r.percent_random / 100:g}, rounded to the "
                  f"nearest episode, halves up; random episodes first; trained epsilon {r.epsilon:g})",
                  highlight=False, soft_wrap=True)

    with contextlib.ExitStack() as outputs, stop_on_signals() as stop, record_progress(console) as progress:
        # entered first, renamed last: a dataset in place means its videos and frames are in place too
        tmp_dataset = outputs.enter_context(atomic_path(layout.dataset))
        tmp_videos = outputs.enter_context(atomic_path(layout.videos))
        tmp_videos.mkdir()
        tmp_frames = outputs.enter_context(atomic_path(layout.frames)) if r.png else None
        dataset = outputs.enter_context(GameplayWriter(tmp_dataset, screen_size=params.env.screen_size,
                                                       compression=r.compression,
                                                       attrs=file_attributes(params, meanings)))
        for k in range(r.episodes):
            kind, seed = "random" if k < n_random else "trained", episode_seed(params.seed, k)
            task = progress.add_task(f"episode {k + 1}/{r.episodes} ({kind})",
                                     total=r.max_episode_steps + 1 if r.max_episode_steps else None)
            with contextlib.ExitStack() as stack:
                writers = [dataset, *episode_writers(stack, tmp_videos, tmp_frames, k, kind, seed, meanings, r)]
                for row in play_rows(env, agents[kind], params.env.frame_stack, seed, r.epsilon, r.max_episode_steps):
                    for writer in writers:
                        writer.add(row)
                    progress.advance(task)
                    if stop:
                        raise Interrupted(stop.signal, f"Interrupted during episode {k + 1} of {r.episodes}: nothing "
                                                       f"was written, '{layout.root}' holds what it held before")
            entry = dataset.end_episode(k, kind, seed, agents[kind].checkpoint_hash)
            progress.remove_task(task)
            console.print(f"episode {k} ({kind}): {entry['length']} steps, return {entry['return']:g}", highlight=False)
    if not r.png:
        remove(layout.frames)  # a stale export of an earlier dataset would contradict this one
    env.close()
    console.print(f"Wrote {layout.dataset}, {r.episodes} videos in {layout.videos}"
                  + (f" and PNG frames in {layout.frames}" if r.png else ""), highlight=False, soft_wrap=True)
    return layout
