"""python -m benchmarks.throughput: every measure in one process, printed as one table (see the package doc)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.markup import escape

from benchmarks.throughput.limits import Emulation, ale_interface, emulate
from benchmarks.throughput.measure import Row, timed_rate
from benchmarks.throughput.ours import (
    our_params,
    our_record_rate,
    our_update_rate,
    plan_run,
    train_and_measure,
)
from benchmarks.throughput.reference import (
    ReferenceDQN,
    reference_record,
    run_reference,
)
from benchmarks.throughput.report import machine, table
from pipeline.config.errors import InputError
from pipeline.config.params import EnvParams, Params, RecordParams, TrainParams, params_from_dict, params_to_dict
from pipeline.envs.atari import env_id
from pipeline.record.plan import random_count
from pipeline.rl.device import pick_device


@dataclass
class Settings:
    game: str
    frame_stack: int
    device: torch.device
    device_name: str  # as TrainParams.device takes it
    seconds: float  # of learning per training config
    short: float  # of each other timed window
    warmup: int
    seed: int
    out: Path


def physical_rows(emu: Emulation, reference_rate: float) -> list[Row]:
    fps, skip, cores = emu.frames / emu.seconds, EnvParams().frameskip, os.cpu_count() or 1
    window = f"{emu.seconds:.1f} s, {emu.frames:,} frames"
    return [
        Row("physical limit", "ALE act(), 1 core", "-", fps, "frames/s", window),
        Row("physical limit", f"ALE act(), x {cores} cores (extrapolated)", "-", fps * cores, "frames/s", "-"),
        Row(
            "physical limit",
            f"ALE act() / frameskip {skip}, 1 core",
            "-",
            fps / skip,
            "agent steps/s",
            window,
            reference_rate,
        ),
        Row(
            "physical limit",
            f"ALE act() / frameskip {skip}, x {cores} cores",
            "-",
            fps * cores / skip,
            "agent steps/s",
            "-",
            reference_rate,
        ),
    ]


def reference_rows(s: Settings, status) -> tuple[Row, Row]:
    """The reference loop learning for s.seconds after its fill, then its update alone on the buffer it filled."""
    status.update(f"reference loop: {s.warmup:,} warm-up steps, then {s.seconds:g} s of learning")
    ref = ReferenceDQN(
        s.game,
        s.frame_stack,
        s.device,
        capacity=s.warmup + int(s.seconds * 2_000) + 1,
        learning_starts=s.warmup,
        seed=s.seed,
    )
    loop = run_reference(ref, s.seconds)
    status.update(f"reference update alone, {s.short:.0f} s")
    updates, seconds = timed_rate(ref.update, s.short, s.device)
    ref.close()
    rate, update_rate = loop.steps / loop.seconds, updates / seconds
    return (
        Row(
            f"training, k={s.frame_stack}",
            "reference: CleanRL-style, 1 env",
            "uniform, stacked NumPy",
            rate,
            "agent steps/s",
            f"{loop.seconds:.1f} s, {loop.steps:,} steps",
            rate,
        ),
        Row(
            f"updates, batch {TrainParams().batch_size}",
            "reference: Double DQN step",
            "uniform, stacked NumPy",
            update_rate,
            "updates/s",
            f"{seconds:.1f} s, {updates:,} updates",
            update_rate,
        ),
    )


def our_training_rows(s: Settings, num_envs: list[int], reference_rate: float, status) -> tuple[list[Row], Path]:
    """train() per num_envs: a pilot for the rate, then the measured run; returns the rows and the first run's model."""
    rows, guess, first_model = [], reference_rate, None
    for n in num_envs:
        unit = math.lcm(n, TrainParams().train_frequency)
        status.update(f"ours: train(), num_envs {n}: pilot")
        # uniform replay: no PER snapshots, whose diagnostics redraws would cost a short run more than it learns
        pilot = plan_run(guess, max(2.0, s.seconds / 6), min(s.warmup, 256), unit, windows=10, tenths=False)
        params = our_params(s.game, s.frame_stack, n, s.device_name, pilot, s.seed, replay="uniform")
        guess = train_and_measure(params, s.out / f"pilot_num_envs_{n}")[0].rate
        shutil.rmtree(s.out / f"pilot_num_envs_{n}", ignore_errors=True)
        plan = plan_run(guess, s.seconds, s.warmup, unit, windows=40)
        status.update(
            f"ours: train(), num_envs {n}: {plan.steps:,} steps, learning from step {plan.learning_starts:,} "
            f"(~{s.seconds:g} s at the pilot's {guess:,.0f} steps/s)"
        )
        params = our_params(s.game, s.frame_stack, n, s.device_name, plan, s.seed)
        measured, model = train_and_measure(params, s.out / f"train_num_envs_{n}")
        first_model, guess = first_model or model, measured.rate
        rows.append(
            Row(
                f"training, k={s.frame_stack}",
                f"ours: train(), num_envs {n}",
                "PER, frames once",
                measured.rate,
                "agent steps/s",
                f"{measured.seconds:.1f} s, {measured.steps:,} steps, {measured.kept} windows",
                reference_rate,
            )
        )
    return rows, first_model


def recording_rows(s: Settings, checkpoint: Path, num_envs: list[int], status) -> tuple[list[Row], str]:
    episodes, max_steps = max(4, *num_envs), max(25, int(s.seconds * 5))
    r = replace(RecordParams(), episodes=episodes, max_episode_steps=max_steps)
    section = "recording"
    status.update(f"reference recorder: {episodes} episodes of <= {max_steps} steps")
    n_random = random_count(r.episodes, r.percent_random)
    shutil.rmtree(s.out / "record_reference", ignore_errors=True)  # an earlier run's frames, with --out
    ref = reference_record(
        checkpoint, s.game, s.frame_stack, episodes, max_steps, n_random, r.epsilon, s.out / "record_reference", s.seed
    )
    rows = [
        Row(
            section,
            "reference: 1 env, PNG + MP4",
            "-",
            ref.rows / ref.seconds,
            "frames/s",
            f"{ref.seconds:.1f} s, {ref.rows:,} rows",
            ref.rows / ref.seconds,
        )
    ]
    base = Params(seed=s.seed, env=replace(EnvParams(), game=s.game, frame_stack=s.frame_stack), record=r)
    for n in dict.fromkeys((1, max(num_envs))):
        status.update(f"ours: record(), num_envs {n}: {episodes} episodes of <= {max_steps} steps")
        params = params_from_dict(params_to_dict(replace(base, env=replace(base.env, num_envs=n))))
        rec = our_record_rate(params, checkpoint, s.out / f"record_num_envs_{n}")
        rows.append(
            Row(
                section,
                f"ours: record(), num_envs {n}",
                "-",
                rec.rows / rec.seconds,
                "frames/s",
                f"{rec.seconds:.1f} s, {rec.rows:,} rows",
                ref.rows / ref.seconds,
            )
        )
    note = (
        f"recording: {episodes} episodes of <= {max_steps} steps ({n_random} by the random agent), the whole call "
        "timed; ours writes HDF5 + MP4 with overlays, the reference a PNG per raw screen (cv2.imwrite) and an MP4 "
        "(imageio)."
    )
    return rows, note


def parse_num_envs(text: str) -> list[int]:
    try:
        values = list(dict.fromkeys(int(v) for v in text.split(",") if v.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a comma-separated list of integers, e.g. 1,4,8,16") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: at least one value, each >= 1")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", default="Breakout", help="ALE game (default Breakout)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="torch device")
    parser.add_argument(
        "--num-envs",
        type=parse_num_envs,
        default=[1, 4, 8, 16],
        help="num_envs values for ours, comma-separated (default 1,4,8,16)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=20.0,
        help="seconds of learning per training config; the "
        "other windows take a quarter of it, at least 2 s (default 20)",
    )
    parser.add_argument(
        "--frame-stack", type=int, default=8, choices=(4, 8), help="stack depth, ours and the reference"
    )
    parser.add_argument("--warmup", type=int, default=1_000, help="agent steps filling the replay before learning")
    parser.add_argument("--out", type=Path, help="folder for the runs' outputs (default: a temporary one, removed)")
    parser.add_argument("--skip-record", action="store_true", help="leave out the recording rows")
    parser.add_argument("--json", type=Path, help="also write the table, machine and command line to this file")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch intra-op threads for everything measured (default: torch's "
        "default, as the reference scripts leave it)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        game = env_id(args.game)[len("ALE/") : -len("-v5")]
    except InputError as err:
        parser.error(str(err))
    if args.threads:
        torch.set_num_threads(args.threads)
    console = Console(width=None if sys.stdout.isatty() else 170)
    device = pick_device(args.device)
    info = machine(device)
    command = shlex.join(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
    console.print(
        f"[bold]machine[/] {info['cpu']}, {info['cores']} cores (os.cpu_count()), torch device "
        f"{info['device']}; python {info['python']}, torch {info['torch']}, ale-py {info['ale_py']}, "
        f"gymnasium {info['gymnasium']}",
        highlight=False,
    )
    console.print(f"[bold]command[/] {escape(command)}", highlight=False)

    out = args.out or Path(tempfile.mkdtemp(prefix="throughput_bench_"))
    out.mkdir(parents=True, exist_ok=True)
    s = Settings(
        game,
        args.frame_stack,
        device,
        args.device,
        args.seconds,
        max(2.0, args.seconds / 4),
        args.warmup,
        args.seed,
        out,
    )
    try:
        with console.status("") as status:
            status.update(f"raw ALE emulation, {s.short:.0f} s")
            emu = emulate(ale_interface(s.game, s.seed), s.short, np.random.default_rng(s.seed))
            ref_training, ref_updates = reference_rows(s, status)
            physical = physical_rows(emu, ref_training.value)
            ours, model = our_training_rows(s, args.num_envs, ref_training.value, status)
            status.update(f"ours: update alone, {s.short:.0f} s")
            updates, seconds = our_update_rate(s.game, s.frame_stack, s.device, s.short, s.seed)
            our_updates = Row(
                ref_updates.section,
                "ours: learner.learn + priorities",
                "PER, frames once",
                updates / seconds,
                "updates/s",
                f"{seconds:.1f} s, {updates:,} updates",
                ref_updates.value,
            )
            recording, record_note = ([], None) if args.skip_record else recording_rows(s, model, args.num_envs, status)
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)

    rows = [*physical, ref_training, *ours, ref_updates, our_updates, *recording]
    console.print(table(rows, f"Throughput on {game}, one process, one machine"))
    notes = [
        "x reference: rate / the reference row of its group; the physical limit's agent steps / the reference loop's.",
        (
            "physical limit: the bare emulator (ale_py.ALEInterface, frameskip 1, random actions, one thread); "
            f"'x {info['cores']} cores' multiplies by os.cpu_count(), it is not measured."
        ),
        (
            "reference loop: gym.make + AtariPreprocessing + FrameStackObservation, a NumPy replay of stacked obs and "
            "next "
            "obs, one forward pass per step, a Double DQN update every 4 steps on a batch copied with torch.as_tensor."
        ),
        *([record_note] if record_note else []),
        "How each rate is taken: python benchmarks/throughput_bench.py --help",
    ]
    for note in notes:
        console.print(note, highlight=False, markup=False)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "command": command,
                    "machine": info,
                    "args": {
                        key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()
                    },
                    "rows": [{**dataclasses.asdict(row), "ratio": row.ratio} for row in rows],
                    "notes": notes,
                },
                indent=2,
            )
            + "\n"
        )
        console.print(f"Wrote {args.json}", highlight=False)


if __name__ == "__main__":
    main()
