"""Recording: the random and the trained agent play seeded episodes into the gameplay dataset, MP4s and PNGs.

Who plays: n_random = episodes * percent_random / 100 rounded to the nearest integer, halves up, in exact
decimal arithmetic (30% of 20 = 6, 25% of 10 = 2.5 -> 3, 34% of 3 = 1.02 -> 1); episodes 0 .. n_random - 1
are played by the uniformly random agent, the rest by the trained agent at record.epsilon.
Episode k resets the environment and seeds its action RNG with derive_seed(seed, "record-episode", k), so the
same params and checkpoint give the same dataset, and changing the agent mix leaves each episode's seed alone.
env.num_envs episodes are played at once (pipeline.play.pool), each into its own files, and appended to
the dataset in episode order, so the outputs do not depend on env.num_envs. All outputs are built under temporary
names and renamed into place only when every episode is done.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Callable

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
from rich.text import Text

import pipeline
from pipeline.config.layout import RecordLayout
from pipeline.config.params import PLAY_SETTINGS, Params, RecordParams, params_without
from pipeline.core.atomic import atomic_path, naming, remove, scratch_folder
from pipeline.core.outputs import check_output
from pipeline.core.seeding import derive_seed
from pipeline.core.signals import Interrupted, stop_on_signals
from pipeline.core.versions import git_commit, library_versions
from pipeline.data.card import dataset_card
from pipeline.data.codecs import check_available
from pipeline.data.schema import LAYOUT_NOTE
from pipeline.data.splits import load_split_index
from pipeline.data.writer import GameplayWriter
from pipeline.envs.atari import action_meanings, env_id, game_action_meanings, make_env
from pipeline.envs.recipe import env_recipe
from pipeline.play.backends import Backend, Players, play_on
from pipeline.play.episode import play_rows
from pipeline.play.policies import RandomPolicy, check_env_matches, load_policy
from pipeline.record.png import PngEpisode
from pipeline.record.video import EpisodeVideo


def agent_counts(episodes: int, percent_random: float) -> tuple[int, int]:
    """(random, trained) episode counts under the rounding rule above."""
    exact = Fraction(str(percent_random)) * episodes / 100
    n_random = int(exact + Fraction(1, 2))  # floor(x + 1/2): nearest, halves up
    return n_random, episodes - n_random


def episode_seed(seed: int, k: int) -> int:
    return derive_seed(seed, "record-episode", k)


def file_attributes(params: Params, meanings: list[str], model: str) -> dict:
    """The dataset's attributes (pipeline.data.schema.FILE_ATTRIBUTES but format_version, which the writer adds)."""
    e = params.env
    env = make_env(e)
    recipe = env_recipe(env, params.record.max_episode_steps)
    env.close()
    return {
        "model": model,
        "env_recipe": json.dumps(recipe, sort_keys=True),
        "env_id": env_id(e.game),
        "game": e.game,
        "frameskip": e.frameskip,
        "sticky_action_prob": e.sticky_action_prob,
        "noop_max": e.noop_max,
        "max_episode_frames": e.max_episode_frames,
        "screen_size": e.screen_size,
        "mode": e.mode,
        "difficulty": e.difficulty,
        "fps": params.record.fps,
        "action_meanings": meanings,
        "layout": LAYOUT_NOTE,
        "params": json.dumps(params_without(params, PLAY_SETTINGS), sort_keys=True),
        "package_version": pipeline.__version__,
        "library_versions": json.dumps(library_versions(), sort_keys=True),
        "git_commit": git_commit(),
    }


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
    """A bar per episode in flight and a total line with the time left; episode lines print in episode order."""

    def __init__(self, console: Console, r: RecordParams, n_random: int):
        self.console, self.r, self.n_random = console, r, n_random
        self.bars = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            Frames(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.total = self.bars.add_task(f"0/{r.episodes} episodes", total=r.episodes, frames=0)
        self.episodes: dict[int, TaskID] = {}
        self.frames = 0

    def played(self, k: int, rows: int) -> None:
        if k not in self.episodes:
            rows_cap = self.r.max_episode_steps + 1 if self.r.max_episode_steps else None
            self.episodes[k] = self.bars.add_task(
                f"episode {k + 1}/{self.r.episodes} ({agent_of(k, self.n_random)})", total=rows_cap
            )
        self.bars.advance(self.episodes[k], rows)
        self.frames += rows
        self.bars.update(self.total, frames=self.frames)

    def finished(self, entry: dict) -> None:
        k = entry["id"]
        self.bars.remove_task(self.episodes.pop(k))
        self.bars.update(self.total, advance=1, description=f"{k + 1}/{self.r.episodes} episodes")
        self.console.print(
            f"episode {k} ({entry['agent']}): {entry['length']} steps, return {entry['return']:g}", highlight=False
        )


def agent_of(k: int, n_random: int) -> str:
    return "random" if k < n_random else "trained"


def episode_writers(
    stack: contextlib.ExitStack,
    videos: Path,
    frames: Path | None,
    k: int,
    kind: str,
    seed: int,
    meanings: list[str],
    r: RecordParams,
) -> list:
    """The per-episode outputs a row goes to besides the dataset: the MP4 and, with the PNG export, its folder."""
    writers = [
        stack.enter_context(
            EpisodeVideo(
                videos / f"{kind}_agent_{k}.mp4",
                fps=r.fps,
                scale=r.video_scale,
                action_meanings=meanings,
                agent=kind,
                episode_id=k,
            )
        )
    ]
    if frames is not None:
        writers.append(
            stack.enter_context(
                PngEpisode(frames, k, kind, seed, meanings, frames=r.png, observations=r.png_observations)
            )
        )
    return writers


@dataclass(frozen=True)
class EpisodeFolders:
    """The temporary folders an episode's files go to: MP4s, PNG folders (None without a PNG export), dataset
    shards."""

    videos: Path
    frames: Path | None
    shards: Path


class EpisodeRecorder:
    """Plays record episode k into its own files: its MP4, its PNG folder and a one-episode shard of the dataset,
    which the parent appends in episode order. The same in the parent (env.num_envs 1) and in every worker."""

    def __init__(self, params: Params, checkpoint: Path, model: str, folders: EpisodeFolders):
        self.params, self.folders, self.model = params, folders, model
        self.n_random, n_trained = agent_counts(params.record.episodes, params.record.percent_random)
        self.env = make_env(params.env)
        self.meanings = action_meanings(self.env)
        self.agents = {
            "random": RandomPolicy(len(self.meanings)),
            "trained": load_policy(checkpoint) if n_trained else None,
        }

    def play(self, k: int, tick: Callable[[], None]) -> Path:
        r, kind, seed = self.params.record, agent_of(k, self.n_random), episode_seed(self.params.seed, k)
        shard = self.folders.shards / f"episode_{k}.h5"
        with contextlib.ExitStack() as stack:
            stack.enter_context(naming(shard))
            rows = stack.enter_context(
                GameplayWriter(shard, screen_size=self.params.env.screen_size, compression=r.compression, attrs={})
            )
            writers = [
                rows,
                *episode_writers(stack, self.folders.videos, self.folders.frames, k, kind, seed, self.meanings, r),
            ]
            for row in play_rows(
                self.env, self.agents[kind], self.params.env.frame_stack, seed, r.epsilon, r.max_episode_steps
            ):
                for writer in writers:
                    writer.add(row)
                tick()
            agent = self.agents[kind]
            rows.end_episode(
                id=k,
                agent=kind,
                seed=seed,
                checkpoint_hash=agent.checkpoint_hash,
                source="random" if kind == "random" else self.model,
                checkpoint_step=agent.step,
            )
        return shard

    def close(self) -> None:
        self.env.close()


def sibling_files(r: RecordParams) -> dict[str, str]:
    """What the card says about the other outputs beside the dataset."""
    files = {
        "videos/": "one MP4 per episode, <agent>_agent_<k>.mp4 (random or trained, k the episode id): the game "
        f"scaled up {r.video_scale}x beside a panel with the episode, frame, action, reward and return; video frame "
        "n is row n of episode k",
    }
    if r.png or r.png_observations:
        images = " and ".join(
            name
            for name, wanted in (("frame_<n>.png (RGB screen)", r.png), ("observation_<n>.png", r.png_observations))
            if wanted
        )
        files["frames/"] = (
            f"episode_<k>/{images}, zero-padded, image n being row n of episode k, and actions.json "
            "(actions[n] is the action taken at image n)"
        )
    return files


def split_of(layout: RecordLayout, dataset: Path) -> dict | None:
    """The split index beside the dataset if it was made for these very bytes (a re-recording of the same dataset),
    else None: an index of another recording says nothing about this one."""
    try:
        return load_split_index(layout.splits, dataset)
    except ValueError:  # none, unreadable, or another dataset's
        return None


def build_recorder(params: Params, model: str, inputs: dict[str, Path], outputs: dict[str, Path]) -> EpisodeRecorder:
    """The recorder wherever it runs (pipeline.play.backends.Players): its checkpoint and folders by name."""
    folders = EpisodeFolders(outputs["videos"], outputs.get("frames"), outputs["shards"])
    return EpisodeRecorder(params, inputs["checkpoint"], model, folders)


def record(
    params: Params,
    checkpoint: Path,
    out_dir: Path,
    console: Console | None = None,
    model: str | None = None,
    backend: Backend = Backend(),
) -> RecordLayout:
    """Play record.episodes episodes, env.num_envs at once (or on the Ray cluster `backend` names), and write
    gameplay.h5, videos/ and (with record.png or record.png_observations) frames/ under out_dir. The checkpoint is
    only read when trained episodes are asked for; `model` names it in the dataset (record.model by default)."""
    model = model or params.record.model
    console = console or Console(stderr=True)
    r, layout = params.record, RecordLayout(Path(out_dir))
    pngs = r.png or r.png_observations
    n_random, n_trained = agent_counts(r.episodes, r.percent_random)
    check_available(r.compression)  # refused here, before any output exists
    check_output(layout.dataset, "dataset")
    check_output(layout.card, "dataset card")
    check_output(layout.videos, "videos folder", folder=True)
    if pngs:
        check_output(layout.frames, "PNG folder", folder=True)
    if n_trained:
        check_env_matches(load_policy(checkpoint), params.env)
    meanings = game_action_meanings(params.env)
    console.print(
        f"Recording {r.episodes} episodes: {n_random} random + {n_trained} trained "
        f"({r.percent_random:g}% of {r.episodes} = {r.episodes * r.percent_random / 100:g}, rounded to the "
        f"nearest episode, halves up; random episodes first; trained epsilon {r.epsilon:g}; "
        + ("on Ray)" if backend.kind == "ray" else f"{min(params.env.num_envs, r.episodes)} at once)"),
        highlight=False,
        soft_wrap=True,
    )

    progress = RecordProgress(console, r, n_random)
    with contextlib.ExitStack() as outputs, stop_on_signals() as stop, progress.bars:
        # entered first, renamed last: a dataset in place means its card, videos and frames are in place too
        tmp_dataset = outputs.enter_context(atomic_path(layout.dataset))
        tmp_card = outputs.enter_context(atomic_path(layout.card))
        tmp_videos = outputs.enter_context(atomic_path(layout.videos))
        tmp_videos.mkdir()
        tmp_frames = outputs.enter_context(atomic_path(layout.frames)) if pngs else None
        shards = outputs.enter_context(scratch_folder(layout.root / "shards"))
        dataset = outputs.enter_context(
            GameplayWriter(
                tmp_dataset,
                screen_size=params.env.screen_size,
                compression=r.compression,
                attrs=file_attributes(params, meanings, model),
            )
        )

        def check() -> None:
            if stop:
                k = len(dataset.episodes)  # the first episode not yet in the dataset
                raise Interrupted(
                    stop.signal,
                    f"Interrupted during episode {k + 1} of {r.episodes}: nothing was "
                    f"written, '{layout.root}' holds what it held before",
                )

        def append(k: int, shard: Path) -> None:
            (entry,) = dataset.append(shard)
            shard.unlink()
            progress.finished(entry)

        folders = {"videos": tmp_videos, "shards": shards, **({"frames": tmp_frames} if tmp_frames is not None else {})}
        players = Players(partial(build_recorder, params, model), {"checkpoint": checkpoint}, folders)
        play_on(backend, players, r.episodes, params.env.num_envs, progress.played, append, check)
        dataset.close()
        tmp_card.write_text(
            dataset_card(tmp_dataset, layout.dataset.name, sibling_files(r), split_of(layout, tmp_dataset))
        )
    if not pngs:
        remove(layout.frames)  # a stale export of an earlier dataset would contradict this one
    console.print(
        f"Wrote {layout.dataset} (described in {layout.card}), {r.episodes} videos in {layout.videos}"
        + (f" and PNGs in {layout.frames}" if pngs else ""),
        highlight=False,
        soft_wrap=True,
    )
    return layout
