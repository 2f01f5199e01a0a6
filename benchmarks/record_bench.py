"""Recording speed of one process (env.num_envs 1): frames (dataset rows) per second of a whole record() call, with
videos and without, for the random agent and for a network (a fresh one of the Nature size: it plays as fast as a
trained one), against the targets of 600 frames/s with videos and 1,500 without; and where a frame's time goes, each
part timed alone on the same episode.

Wall rates depend on what else the machine runs; the CPU milliseconds per frame (the process's threads and its ffmpeg
children together) do not, and say what the parts cost: on a machine with a free core for ffmpeg, the rate with videos
is bounded by the larger of the player's and ffmpeg's CPU time per frame, not their sum.

    python benchmarks/record_bench.py --frames 3000
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import h5py
import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from benchmarks.throughput.limits import ale_interface, emulate
from benchmarks.throughput.measure import Setup
from benchmarks.throughput.recording import untrained_checkpoint
from pipeline.config.params import EnvParams, Params, RecordParams, params_from_dict, params_to_dict
from pipeline.data.schema import NO_ACTION
from pipeline.data.writer import GameplayWriter
from pipeline.envs.atari import action_meanings, make_env
from pipeline.play.decisions import UNIFORM, Exploration
from pipeline.play.episode import play_rows
from pipeline.play.policies import RandomPolicy, load_policy
from pipeline.record.png import PngEpisode
from pipeline.record.run import record
from pipeline.record.video import EpisodeVideo, FramePainter, panel_lines

TARGETS = {True: 600, False: 1500}  # frames/s per process, with videos and without (issue 16)


@dataclass
class Rate:
    frames: int
    seconds: float
    cpu: float  # CPU seconds of the process (all its threads) and of the children it waited for (ffmpeg)

    @property
    def per_second(self) -> float:
        return self.frames / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.frames * 1e3


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(fn) -> tuple[float, float]:
    """(wall, CPU) seconds of fn()."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    fn()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def record_rate(params: Params, checkpoint: Optional[Path], out: Path) -> Rate:
    """A whole record() call, its metrics pass included."""
    shutil.rmtree(out, ignore_errors=True)
    layout = None

    def run():
        nonlocal layout
        layout = record(params, checkpoint, out, console=Console(quiet=True))

    seconds, cpu = timed(run)
    with h5py.File(layout.dataset, "r") as f:
        rows = int(f["frames"].shape[0])
    shutil.rmtree(out, ignore_errors=True)
    return Rate(rows, seconds, cpu)


def parts(game: str, checkpoint: Path, frames: int, preset: str, out: Path) -> list[tuple[str, float, float]]:
    """(part, wall ms per frame, CPU ms per frame), each part alone on the rows of one episode of `frames` steps."""
    env_params = replace(EnvParams(), game=game)
    env = make_env(env_params)
    meanings = action_meanings(env)
    network, random = load_policy(checkpoint, "cpu"), RandomPolicy(len(meanings))
    rows: list = []

    def play(policy, exploration, keep=False, outputs=None):
        def run():
            for row in play_rows(env, policy, env_params.frame_stack, 0, exploration, frames, outputs):
                if keep:
                    rows.append(row)

        return timed(run)

    emulation = emulate(ale_interface(game), 2.0, np.random.default_rng(0))
    emulator_ms = emulation.seconds / emulation.frames * env_params.frameskip * 1e3
    results = [("emulator alone: bare ALE act() x frameskip", emulator_ms, emulator_ms)]
    random_play = play(random, UNIFORM, keep=True)
    n = len(rows)
    network_play = play(network, Exploration("epsilon", 0.01), outputs=(len(meanings), network.feature_width))
    results.append(("play, random agent: env step, preprocessing, row", *(t / n * 1e3 for t in random_play)))
    results.append(("play, network: the same + forward pass, outputs", *(t / n * 1e3 for t in network_play)))

    def hdf5():
        with GameplayWriter(out / "parts.h5", screen_size=env_params.screen_size, compression="gzip", attrs={}) as w:
            for row in rows:
                w.add(row)
            w.end_episode(**episode_columns())

    results.append(("HDF5: buffer, gzip-1, write", *(t / n * 1e3 for t in timed(hdf5))))
    painter = FramePainter(panel_lines("random", 0, 0, "-", 0.0, 0.0), 3, (255, 255, 255))

    def paint():
        for i, row in enumerate(rows):
            painter.paint(row.frames, panel_lines("random", 0, i, "NOOP", row.rewards, 0.0))

    results.append(("MP4: paint the frame (yuv420p, panel)", *(t / n * 1e3 for t in timed(paint))))

    def video():
        with EpisodeVideo(
            out / "parts.mp4", fps=30, scale=3, action_meanings=meanings, agent="random", episode_id=0, preset=preset
        ) as v:
            for row in rows:
                v.add(row)

    results.append((f"MP4: paint + x264 {preset} in ffmpeg", *(t / n * 1e3 for t in timed(video))))

    def png():
        with PngEpisode(out / "frames", 0, "random", 0, meanings) as p:
            for row in rows:
                p.add(row)

    results.append(("PNG: one per screen (record.png)", *(t / n * 1e3 for t in timed(png))))
    env.close()
    assert rows[-1].actions == NO_ACTION
    return results


def episode_columns() -> dict:
    return {
        "id": 0,
        "agent": "random",
        "seed": 0,
        "checkpoint_hash": "",
        "source": "random",
        "source_episode": 0,
        "checkpoint_step": -1,
        "exploration": "epsilon",
        "exploration_value": 1.0,
    }


def main(
    game: str = typer.Option("MsPacman", help="ALE game (the default dataset's)"),
    frames: int = typer.Option(3000, help="frames (agent steps) per recording: episodes capped at 1,000 steps"),
    presets: str = typer.Option("veryfast,ultrafast", help="x264 presets to record with (record.video_preset)"),
    out: Optional[Path] = typer.Option(None, help="folder for the recordings (default: a temporary one, removed)"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the results to this file"),
) -> None:
    console = Console()
    console.print(f"load average before: {' '.join(open('/proc/loadavg').read().split()[:3])}, {os.cpu_count()} cores")
    folder = out or Path(tempfile.mkdtemp(prefix="record_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        checkpoint = untrained_checkpoint(Setup(game, frame_stack=EnvParams().frame_stack), folder / "untrained")
        steps = min(frames, 1000)
        episodes = -(-frames // steps)
        rows = []
        for agent in ("random", "network"):
            for videos, preset in [(True, p) for p in presets.split(",")] + [(False, "-")]:
                r = replace(
                    RecordParams(),
                    episodes=episodes,
                    max_episode_steps=steps,
                    percent_random=100.0 if agent == "random" else 0.0,
                    agent_outputs=agent == "network",
                    videos=videos,
                    video_preset=preset if videos else RecordParams().video_preset,
                )
                params = params_from_dict(params_to_dict(Params(env=replace(EnvParams(), game=game), record=r)))
                console.print(f"recording: {agent}, videos {preset if videos else 'off'}", highlight=False)
                rate = record_rate(params, checkpoint if agent == "network" else None, folder / "record")
                rows.append((agent, videos, preset, rate))
        breakdown = parts(game, checkpoint, min(frames, 2000), presets.split(",")[0], folder)
    finally:
        if out is None:
            shutil.rmtree(folder, ignore_errors=True)
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    table = Table(title=f"record(), num_envs 1, {game}: {episodes} episodes of <= {steps} steps per row")
    for column in ("agent", "videos", "frames/s", "target", "CPU ms/frame (process + ffmpeg)", "frames"):
        table.add_column(column, justify="right" if column not in ("agent", "videos") else "left")
    for agent, videos, preset, rate in rows:
        table.add_row(
            agent,
            f"on, {preset}" if videos else "off",
            f"{rate.per_second:,.0f}",
            f"{TARGETS[videos]:,} ({rate.per_second / TARGETS[videos]:.0%})",
            f"{rate.cpu_ms:.2f}",
            f"{rate.frames:,} in {rate.seconds:.1f} s",
        )
    console.print(table)
    parts_table = Table(title="Where a frame goes: each part alone on one episode's rows")
    for column in ("part", "wall ms/frame", "CPU ms/frame", "alone: frames/s"):
        parts_table.add_column(column, justify="left" if column == "part" else "right")
    for name, wall, cpu in breakdown:
        parts_table.add_row(name, f"{wall:.3f}", f"{cpu:.3f}", f"{1000 / wall:,.0f}")
    console.print(parts_table)
    console.print(f"load average after: {load}", highlight=False)
    if json_out:
        body = {
            "recordings": [
                {"agent": a, "videos": v, "preset": p, "frames": r.frames, "seconds": r.seconds, "cpu_s": r.cpu}
                for a, v, p, r in rows
            ],
            "parts": [{"part": n, "wall_ms": w, "cpu_ms": c} for n, w, c in breakdown],
            "load_after": load,
        }
        json_out.write_text(json.dumps(body, indent=2) + "\n")


if __name__ == "__main__":
    typer.run(main)
