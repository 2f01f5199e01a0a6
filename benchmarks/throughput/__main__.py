"""python -m benchmarks.throughput: the programs side by side, interleaved, quiet and loaded (see the package doc)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape

from benchmarks import throughput
from benchmarks.throughput.limits import Emulation, NNBound, ale_interface, emulate
from benchmarks.throughput.measure import Row, Setup
from benchmarks.throughput.programs import OURS, REFERENCE, SB3, Program, run_limits, run_program
from benchmarks.throughput.recording import recording_rows
from benchmarks.throughput.report import machine, table, training_table, verdict
from benchmarks.throughput.sb3 import sb3_installed
from benchmarks.throughput.schedule import interleave, mean_bound, pooled
from benchmarks.throughput.workers import Worker
from pipeline.config.errors import InputError
from pipeline.config.params import EnvParams
from pipeline.envs.atari import env_id
from pipeline.rl.device import pick_device

PEER_THREADS = (None, 1)  # torch's default, then one thread
LIMIT_THREADS = (1, None)


def programs(num_envs: list[int], replays: list[str], with_sb3: bool) -> list[Program]:
    peers = [Program(kind, threads) for kind in (REFERENCE, SB3) if kind != SB3 or with_sb3 for threads in PEER_THREADS]
    return peers + [Program(OURS, 1, replay, n) for replay in replays for n in num_envs]


def physical_rows(emu: Emulation) -> list[Row]:
    fps, skip, cores = emu.frames / emu.seconds, EnvParams().frameskip, os.cpu_count() or 1
    window = f"{emu.seconds:.1f} s, {emu.frames:,} frames"
    return [
        Row("physical limit", "bare ALE act(), 1 core", "-", fps, "frames/s", window),
        Row("physical limit", f"the same / frameskip {skip}", "-", fps / skip, "agent steps/s", window),
        Row("physical limit", f"x {cores} cores (extrapolated)", "-", fps * cores / skip, "agent steps/s", "-"),
    ]


def bound_rows(threads: int | None, bound: NNBound, rounds: int) -> list[Row]:
    section, over = f"NN-bound, threads {threads or 'default'}", f"{rounds} quiet rounds"
    return [
        Row(section, "env step (make_env, random actions)", "-", bound.env_ms, "ms", over),
        Row(section, "forward pass, batch 1", "-", bound.forward_ms, "ms", over),
        Row(section, "update, batch 32 (Double DQN, no sampling)", "-", bound.update_ms, "ms", over),
        Row(section, "limit: 1 / (env + forward + update / 4)", "-", bound.limit, "agent steps/s", "-"),
    ]


def parse_list(text: str, cast, allowed=None) -> list:
    try:
        values = list(dict.fromkeys(cast(v.strip()) for v in text.split(",") if v.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a comma-separated list") from None
    if not values or (allowed and not set(values) <= set(allowed)) or (cast is int and min(values) < 1):
        raise argparse.ArgumentTypeError(f"{text!r}: at least one value, each {allowed or '>= 1'}")
    return values


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=throughput.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--game", default="Breakout", help="ALE game (default Breakout)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per window (default 5)")
    parser.add_argument(
        "--rounds", type=int, default=6, help="rounds of windows, each program one per load in each (default 6)"
    )
    parser.add_argument(
        "--num-envs", type=lambda t: parse_list(t, int), default=[1, 2, 4], help="ours' num_envs (default 1,2,4)"
    )
    parser.add_argument(
        "--replay",
        type=lambda t: parse_list(t, str, ("uniform", "per")),
        default=["uniform", "per"],
        help="ours' replay modes (default uniform,per)",
    )
    parser.add_argument("--load-processes", type=int, default=2, help="busy processes of the load (default 2)")
    parser.add_argument("--learning-starts", type=int, default=Setup.learning_starts, help="fill before learning")
    parser.add_argument("--capacity", type=int, default=Setup.capacity, help="replay capacity of every program")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda", "mps"), help="torch device")
    parser.add_argument("--split-update", action="store_true", help="ours with train.split_update")
    parser.add_argument("--no-sb3", action="store_true", help="leave out Stable-Baselines3 even when installed")
    parser.add_argument("--record", action="store_true", help="add the recording rows")
    parser.add_argument("--out", type=Path, help="folder for the runs' outputs (default: a temporary one, removed)")
    parser.add_argument("--json", type=Path, help="also write the tables, machine and command line to this file")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        args.game = env_id(args.game)[len("ALE/") : -len("-v5")]
    except InputError as err:
        parser.error(str(err))
    if args.seconds <= 0 or args.rounds < 1 or args.load_processes < 0:
        parser.error("--seconds must be > 0, --rounds >= 1 and --load-processes >= 0")
    return args


def main() -> None:
    args = arguments()
    console = Console(width=None if sys.stdout.isatty() else 170)
    info = machine(pick_device(args.device))
    command = shlex.join(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
    console.print(
        f"[bold]machine[/] {info['cpu']}, {info['cores']} cores, load average {info['load']}; python "
        f"{info['python']}, torch {info['torch']}, ale-py {info['ale_py']}, gymnasium {info['gymnasium']}, "
        f"stable-baselines3 {escape(info['sb3'])}",
        highlight=False,
    )
    console.print(f"[bold]command[/] {escape(command)}", highlight=False)
    s = Setup(
        args.game,
        args.device,
        args.seed,
        capacity=args.capacity,
        learning_starts=args.learning_starts,
        split_update=args.split_update,
    )
    with_sb3 = sb3_installed() and not args.no_sb3
    contenders = programs(args.num_envs, args.replay, with_sb3)
    out = args.out or Path(tempfile.mkdtemp(prefix="throughput_bench_"))
    out.mkdir(parents=True, exist_ok=True)
    workers, limits = {}, {}
    try:
        with console.status("") as status:
            say = status.update
            for p in contenders:  # all fill at once; each waits at its first learning boundary
                workers[p] = Worker(p.label, run_program, (s, p, out / f"{p.kind}_{p.replay}_{p.num_envs}_{p.threads}"))
            for threads in LIMIT_THREADS:
                limits[threads] = Worker(f"NN-bound parts, threads {threads}", run_limits, (s, threads))
            for i, worker in enumerate([*workers.values(), *limits.values()]):
                say(f"filling: {worker.name} ({i + 1}/{len(workers) + len(limits)})")
                worker.ready()
            say("bare emulator")
            emu = emulate(ale_interface(s.game, s.seed), max(2.0, args.seconds / 2), np.random.default_rng(s.seed))
            samples = interleave(workers, limits, args.rounds, args.seconds, args.load_processes, say)
            record, note = recording_rows(s, args.seconds, args.num_envs, out, say) if args.record else ([], None)
    finally:
        for worker in [*workers.values(), *limits.values()]:
            worker.close()
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)

    results = pooled(samples)
    bounds = {threads: mean_bound(b) for threads, b in samples.bounds.items()}
    limit = max(bound.limit for bound in bounds.values())
    title = (
        f"Learning-phase agent steps/s on {s.game}: {args.rounds} rounds of {args.seconds:g} s windows, interleaved; "
        f"loaded = {args.load_processes} busy processes"
    )
    console.print(training_table(results, limit, title))
    other = [row for t, b in bounds.items() for row in bound_rows(t, b, args.rounds)]
    other += [*physical_rows(emu), *record]
    console.print(table(other, f"Limits and parts on {s.game} (ms per call, quiet)"))
    notes = [
        (
            f"settings of every program: frame stack {s.frame_stack}, Nature network, replay {s.capacity:,}, batch "
            f"{s.batch_size}, learning_starts {s.learning_starts:,}, an update every {s.train_frequency} agent steps, "
            f"epsilon held at {s.epsilon:g}, one environment unless num_envs says more"
            + ("; ours with train.split_update (two half-batches on two threads)" if s.split_update else "")
        ),
        "x faster peer: the rate over the fastest of the reference and SB3 (at either thread setting) under that load",
        f"of NN-bound limit: over the best limit measured ({limit:,.1f} agent steps/s), quiet rows of ours only",
        *verdict(results, limit),
        *([note] if note else []),
        "How each rate is taken: python -m benchmarks.throughput --help",
    ]
    for line in notes:
        console.print(line, highlight=False, markup=False)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "command": command,
            "machine": info,
            "training": [
                {**dataclasses.asdict(r), "label": r.program.label, "rate": r.rate} for r in sorted(results, key=str)
            ],
            "nn_bound": {str(t): {**dataclasses.asdict(b), "limit": b.limit} for t, b in bounds.items()},
            "other": [{**dataclasses.asdict(row), "ratio": row.ratio} for row in other],
            "notes": notes,
        }
        args.json.write_text(json.dumps(body, indent=2) + "\n")
        console.print(f"Wrote {args.json}", highlight=False)


if __name__ == "__main__":
    main()
