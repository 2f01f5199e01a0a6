"""The tables: the machine they ran on, the programs' learning rates side by side, and one row per other measure."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform

import ale_py
import gymnasium as gym
import torch
from rich.table import Table

from benchmarks.throughput.measure import Row
from benchmarks.throughput.programs import TITLES
from benchmarks.throughput.schedule import LOADED, QUIET, Result, faster_peer


def machine(device: torch.device) -> dict[str, str | int]:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    if device.type == "cuda":
        name = f"cuda ({torch.cuda.get_device_name(device)})"
    elif device.type == "cpu":
        name = f"cpu (torch threads: {torch.get_num_threads()})"
    else:
        name = device.type
    return {
        "cpu": cpu,
        "cores": os.cpu_count() or 1,
        "device": name,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ale_py": ale_py.__version__,
        "gymnasium": gym.__version__,
        "sb3": sb3_version(),
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def sb3_version() -> str:
    try:
        return importlib.metadata.version("stable-baselines3")
    except importlib.metadata.PackageNotFoundError:
        return "not installed (pip install -e .[bench])"


def fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def table(rows: list[Row], title: str) -> Table:
    out = Table(title=title)
    for name, justify in (
        ("measure", "left"),
        ("configuration", "left"),
        ("replay", "left"),
        ("rate", "right"),
        ("unit", "left"),
        ("measured over", "right"),
        ("x reference", "right"),
    ):
        out.add_column(name, justify=justify, no_wrap=name != "configuration")
    section = None
    for row in rows:
        if section is not None and row.section != section:
            out.add_section()
        out.add_row(
            row.section if row.section != section else "",
            row.configuration,
            row.replay,
            fmt(row.value),
            row.unit,
            row.window,
            "-" if row.ratio is None else f"{row.ratio:.2f}x",
        )
        section = row.section
    return out


def training_table(results: list[Result], limit: float | None, title: str) -> Table:
    """One row per program and load, with its ratio to the faster peer under that load and, quiet, its share of the
    NN-bound limit."""
    out = Table(title=title)
    for name in (
        "load",
        "program",
        "torch threads",
        "replay",
        "envs",
        "agent steps/s",
        "windows (min-max)",
        "x faster peer",
        "of NN-bound limit",
    ):
        out.add_column(name, justify="left" if name in ("load", "program", "replay") else "right")
    for load in (QUIET, LOADED):
        mine = [r for r in results if r.load == load]
        best = faster_peer(results, load)
        for i, r in enumerate(mine):
            p = r.program
            out.add_row(
                load if i == 0 else "",
                TITLES[p.kind],
                p.threads_label,
                p.replay if not p.peer else "uniform",
                str(p.num_envs),
                fmt(r.rate),
                f"{len(r.window_rates)} ({fmt(min(r.window_rates))}-{fmt(max(r.window_rates))})",
                f"{r.rate / best.rate:.2f}x" if best else "-",
                f"{r.rate / limit:.0%}" if limit and load == QUIET and not p.peer else "",
            )
        out.add_section()
    return out


def verdict(results: list[Result], limit: float) -> list[str]:
    """The issue's bar, checked on this run: ours >= 1.0x the faster peer in every row, >= 80% of the limit quiet."""
    lines = []
    for r in results:
        if r.program.peer:
            continue
        best = faster_peer(results, r.load)
        if best and r.rate < best.rate:
            lines.append(f"below the faster peer: {r.program.label}, {r.load}: {r.rate / best.rate:.2f}x")
        if r.load == QUIET and r.rate < 0.8 * limit:
            lines.append(f"below 80% of the NN-bound limit: {r.program.label}: {r.rate / limit:.0%}")
    return lines or ["ours meets the bar in every row: >= 1.0x the faster peer, >= 80% of the NN-bound limit quiet"]
