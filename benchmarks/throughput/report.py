"""The table: the machine it ran on, and one row per measure with its ratio to the reference."""

from __future__ import annotations

import contextlib
import os
import platform

import ale_py
import gymnasium as gym
import torch
from rich.table import Table

from benchmarks.throughput.measure import Row


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
    }


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
