"""Recording: the sources (record.sources, or the random and the trained agent) play seeded episodes into the
gameplay dataset, MP4s and PNGs, and the dataset's quality and diversity metrics are measured.

Who plays which episode, with which seed, is pipeline.record.plan's: ids run over the sources in order and a source's
i-th episode is seeded by (seed, its name, i), so the same params and checkpoints give the same dataset, adding a
source never changes another's episodes, and any range of ids (a shard, --first-episode) is played exactly as in
the whole recording. env.num_envs episodes are played at once (pipeline.play.pool), or one per CPU of a Ray cluster
with copies of the checkpoints they play (pipeline.play.backends), each into its own files, and appended to the
dataset in id order, so the outputs depend neither on env.num_envs nor on the backend. All outputs are built under
temporary names and renamed into place only when every episode is done.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from rich.console import Console

import pipeline
from pipeline.config.errors import InputError
from pipeline.config.layout import RecordLayout, TrainLayout
from pipeline.config.params import PLAY_SETTINGS, Params, RecordParams, params_without
from pipeline.core.atomic import atomic_path, naming, remove, scratch_folder
from pipeline.core.outputs import check_output
from pipeline.core.signals import Interrupted, stop_on_signals
from pipeline.core.versions import git_commit, library_versions
from pipeline.data.card import dataset_card
from pipeline.data.codecs import check_available
from pipeline.data.metrics import dataset_metrics, write_metrics
from pipeline.data.schema import LAYOUT_NOTE
from pipeline.data.sources import SourceEntry, sources_attribute
from pipeline.data.splits import load_split_index
from pipeline.data.writer import GameplayWriter
from pipeline.envs.atari import action_meanings, env_id, game_action_meanings, make_env
from pipeline.envs.recipe import env_recipe
from pipeline.play.backends import Backend, Players, play_on
from pipeline.play.decisions import Exploration
from pipeline.play.episode import play_rows
from pipeline.play.policies import RandomPolicy, TrainedPolicy, load_policy
from pipeline.record.plan import PlannedEpisode, episode_range, plan_sources, planned_episodes, sources_of
from pipeline.record.png import PngEpisode
from pipeline.record.progress import RecordProgress, announce
from pipeline.record.sources import Player, load_players, output_sizes
from pipeline.record.video import EpisodeVideo


def file_attributes(params: Params, meanings: list[str], model: str, sources: list[SourceEntry]) -> dict:
    """The dataset's attributes (pipeline.data.schema.FILE_ATTRIBUTES but format_version, which the writer adds)."""
    e = params.env
    env = make_env(e)
    recipe = env_recipe(env, params.record.max_episode_steps)
    env.close()
    return {
        "model": model,
        "sources": sources_attribute(sources),
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


def episode_writers(
    stack: contextlib.ExitStack,
    folders: EpisodeFolders,
    episode: PlannedEpisode,
    kind: str,
    meanings: list[str],
    r: RecordParams,
) -> list:
    """The per-episode outputs a row goes to besides the dataset: with record.videos the MP4 and, with the PNG
    export, its folder."""
    k, writers = episode.id, []
    if folders.videos is not None:
        writers.append(
            stack.enter_context(
                EpisodeVideo(
                    folders.videos / f"{kind}_agent_{k}.mp4",
                    fps=r.fps,
                    scale=r.video_scale,
                    action_meanings=meanings,
                    agent=kind,
                    episode_id=k,
                    preset=r.video_preset,
                )
            )
        )
    if folders.frames is not None:
        writers.append(
            stack.enter_context(
                PngEpisode(
                    folders.frames, k, kind, episode.seed, meanings, frames=r.png, observations=r.png_observations
                )
            )
        )
    return writers


@dataclass(frozen=True)
class EpisodeFolders:
    """The temporary folders an episode's files go to: MP4s (None without videos), PNG folders (None without a PNG
    export), dataset shards."""

    videos: Path | None
    frames: Path | None
    shards: Path


class EpisodeRecorder:
    """Plays the j-th planned episode into its own files: its MP4, its PNG folder and a one-episode shard of the
    dataset, which the parent appends in id order. The same in the parent (env.num_envs 1) and in every worker;
    each loads the policies of the sources it plays once, on first use."""

    def __init__(
        self,
        params: Params,
        episodes: list[PlannedEpisode],
        players: dict[str, Player],
        folders: EpisodeFolders,
        outputs: tuple[int, int] | None,
    ):
        self.params, self.episodes, self.players, self.folders, self.outputs = (
            params,
            episodes,
            players,
            folders,
            outputs,
        )
        self.env = make_env(params.env)
        self.meanings = action_meanings(self.env)
        self.policies: dict[Path | None, RandomPolicy | TrainedPolicy] = {}  # by checkpoint; None: the random agent

    def policy(self, player: Player) -> RandomPolicy | TrainedPolicy:
        """The player's policy, each checkpoint loaded once however many sources play it."""
        key = player.checkpoint
        if key not in self.policies:
            self.policies[key] = RandomPolicy(len(self.meanings)) if key is None else load_policy(key)
        return self.policies[key]

    def play(self, j: int, tick: Callable[[], None]) -> Path:
        r, episode = self.params.record, self.episodes[j]
        entry = self.players[episode.source].entry
        shard = self.folders.shards / f"episode_{episode.id}.h5"
        with contextlib.ExitStack() as stack:
            stack.enter_context(naming(shard))
            rows = stack.enter_context(
                GameplayWriter(
                    shard,
                    screen_size=self.params.env.screen_size,
                    compression=r.compression,
                    attrs={},
                    agent_outputs=self.outputs,
                )
            )
            writers = [rows, *episode_writers(stack, self.folders, episode, entry.agent, self.meanings, r)]
            for row in play_rows(
                self.env,
                self.policy(self.players[episode.source]),
                self.params.env.frame_stack,
                episode.seed,
                Exploration(entry.exploration, entry.exploration_value),
                r.max_episode_steps,
                self.outputs,
            ):
                for writer in writers:
                    writer.add(row)
                tick()
            rows.end_episode(
                id=episode.id,
                agent=entry.agent,
                seed=episode.seed,
                checkpoint_hash=entry.checkpoint_hash,
                source=entry.name,
                source_episode=episode.index,
                checkpoint_step=entry.checkpoint_step,
                exploration=entry.exploration,
                exploration_value=entry.exploration_value,
            )
        return shard

    def close(self) -> None:
        self.env.close()


def sibling_files(r: RecordParams) -> dict[str, str]:
    """What the card says about the other outputs beside the dataset."""
    files = {}
    if r.videos:
        files["videos/"] = (
            "one MP4 per episode, <agent>_agent_<k>.mp4 (random or trained, k the episode id): the game scaled up "
            f"{r.video_scale}x beside a panel with the episode, frame, action, reward and return; video frame n is "
            "row n of episode k"
        )
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


def checkpoint_inputs(players: dict[str, Player], episodes: list[PlannedEpisode]) -> dict[str, Path]:
    """The checkpoints the planned episodes play, each once, by an input name (pipeline.play.backends.Players): a
    Ray worker gets a copy of every one of them, and of no other."""
    paths = {players[e.source].checkpoint for e in episodes} - {None}
    return {f"checkpoint_{i}": path for i, path in enumerate(sorted(paths))}


def build_recorder(
    params: Params,
    episodes: list[PlannedEpisode],
    players: dict[str, Player],
    outputs: tuple[int, int] | None,
    inputs: dict[str, Path],
    folders: dict[str, Path],
) -> EpisodeRecorder:
    """The recorder wherever it runs (pipeline.play.backends.Players): the checkpoints by their input names
    (checkpoint_inputs, here or a worker's copies) and its folders by name."""
    here = {path: inputs[name] for name, path in checkpoint_inputs(players, episodes).items()}
    players = {
        name: dataclasses.replace(player, checkpoint=here.get(player.checkpoint, player.checkpoint))
        for name, player in players.items()
    }
    where = EpisodeFolders(folders.get("videos"), folders.get("frames"), folders["shards"])
    return EpisodeRecorder(params, episodes, players, where, outputs)


def record(
    params: Params,
    checkpoint: Path | None,
    out_dir: Path,
    console: Console | None = None,
    model: str | None = None,
    *,
    models: Path = TrainLayout().root,
    first_episode: int = 0,
    shard_episodes: int | None = None,
    metrics: Path | None = None,
    backend: Backend = Backend(),
) -> RecordLayout:
    """Play the recording's episodes (ids first_episode .. first_episode + shard_episodes - 1: all of them by
    default), env.num_envs at once (or on the Ray cluster `backend` names), and write gameplay.h5, DATASET.md,
    (with record.videos) videos/ and (with record.png or record.png_observations) frames/ under out_dir, and the
    dataset's metrics to `metrics` where given.

    Without record.sources, the trained episodes play `checkpoint` (default: `models`' best.pt or dqn.pt, as
    record.model says), named `model` (record.model by default); with sources, each names its own checkpoint (best,
    final and snapshots from `models`) and `checkpoint` must be None. A checkpoint is only read when its source has
    episodes in the recording."""
    r, layout, trained = params.record, RecordLayout(Path(out_dir)), TrainLayout(Path(models))
    model = model or r.model
    if r.sources and checkpoint is not None:
        raise InputError(
            f"--checkpoint {checkpoint}: it names the trained agent without record.sources; with sources each "
            "source's policy names its checkpoint"
        )
    console = console or Console(stderr=True)
    pngs = r.png or r.png_observations
    sources = sources_of(params, model, checkpoint or (trained.best if model == "best" else trained.model))
    ids = episode_range(r.episodes, first_episode, shard_episodes)
    check_available(r.compression)  # refused here, before any output exists
    check_output(layout.dataset, "dataset")
    check_output(layout.card, "dataset card")
    # the folders beside the dataset, by their name in EpisodeFolders: (path, what it is, whether it is wanted)
    beside = {"videos": (layout.videos, "videos folder", r.videos), "frames": (layout.frames, "PNG folder", pngs)}
    for path, what, wanted in beside.values():
        if wanted:
            check_output(path, what, folder=True)
    if metrics is not None:
        check_output(Path(metrics), "metrics file")
    meanings = game_action_meanings(params.env)
    players, policies = load_players(sources, plan_sources(sources, r), trained, params.env)
    outputs = output_sizes(policies, len(meanings)) if r.agent_outputs else None
    entries = [player.entry for player in players.values()]
    episodes = planned_episodes(entries, params.seed, ids)
    announce(console, params, entries, ids, backend)
    if r.agent_outputs and outputs is None:
        console.print("record.agent_outputs: no source plays with a network, so there are none to record")

    progress = RecordProgress(console, episodes, r.max_episode_steps)
    with contextlib.ExitStack() as outputs_in_place, stop_on_signals() as stop, progress.bars:
        # entered first, renamed last: a dataset in place means its card, videos and frames are in place too
        tmp_dataset = outputs_in_place.enter_context(atomic_path(layout.dataset))
        tmp_card = outputs_in_place.enter_context(atomic_path(layout.card))
        tmp_metrics = outputs_in_place.enter_context(atomic_path(metrics)) if metrics is not None else None
        wanted_beside = {name: path for name, (path, _, wanted) in beside.items() if wanted}
        tmp_folders = {name: outputs_in_place.enter_context(atomic_path(path)) for name, path in wanted_beside.items()}
        for folder in tmp_folders.values():
            folder.mkdir()
        shards = outputs_in_place.enter_context(scratch_folder(layout.root / "shards"))
        dataset = outputs_in_place.enter_context(
            GameplayWriter(
                tmp_dataset,
                screen_size=params.env.screen_size,
                compression=r.compression,
                attrs=file_attributes(params, meanings, model, [e for e in entries if e.episodes]),
                agent_outputs=outputs,
            )
        )

        def check() -> None:
            if stop:
                k = len(dataset.episodes)  # the first episode not yet in the dataset
                raise Interrupted(
                    stop.signal,
                    f"Interrupted during episode {k + 1} of {len(episodes)}: nothing was "
                    f"written, '{layout.root}' holds what it held before",
                )

        def append(j: int, shard: Path) -> None:
            (entry,) = dataset.append(shard)
            shard.unlink()
            progress.finished(j, entry)

        players_anywhere = Players(
            partial(build_recorder, params, episodes, players, outputs),
            checkpoint_inputs(players, episodes),
            {"shards": shards, **tmp_folders},
        )
        play_on(backend, players_anywhere, len(episodes), params.env.num_envs, progress.played, append, check)
        dataset.close()
        measured = dataset_metrics(tmp_dataset, progress=(progress.bars, "measuring diversity"))
        if tmp_metrics is not None:
            write_metrics(tmp_metrics, measured)
        tmp_card.write_text(
            dataset_card(tmp_dataset, layout.dataset.name, sibling_files(r), split_of(layout, tmp_dataset), measured)
        )
    for path, _, wanted in beside.values():
        if not wanted:
            remove(path)  # a stale folder of an earlier dataset would contradict this one
    console.print(
        f"Wrote {layout.dataset} (described in {layout.card})"
        + (f", {len(episodes)} videos in {layout.videos}" if r.videos else ", no videos")
        + (f" and PNGs in {layout.frames}" if pngs else "")
        + (f"; metrics in {metrics}" if metrics is not None else ""),
        highlight=False,
        soft_wrap=True,
    )
    return layout
