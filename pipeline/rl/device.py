"""Which torch device learning and acting run on, and how many CPU threads torch uses."""

from __future__ import annotations

import torch

from pipeline.config.errors import InputError


def pick_device(name: str) -> torch.device:
    """`auto`: CUDA, then Apple MPS, then the CPU."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def one_cpu_thread() -> None:
    """Run torch on one intra-op CPU thread, in every process that trains or plays. Two reasons. Results then do not
    depend on the machine: a convolution's float sums are split differently over two threads (weights 3.7e-8 apart
    after 20 updates), so the core count would change what is learnt. And a busy machine cannot stall us: OpenMP's
    threads wait for each other at every operation, and with two threads on a loaded 2-core machine one update
    took 3 s against 0.2 s on one thread."""
    torch.set_num_threads(1)


def check_device(name: str) -> None:
    """A named device must exist here: say so now, before a run clears earlier results, not deep inside torch."""
    found = {
        "cuda": torch.cuda.is_available(),
        "mps": bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available(),
    }
    if not found.get(name, True):
        build = f"torch {torch.__version__}" + (
            " (a CPU-only build)" if name == "cuda" and not torch.version.cuda else ""
        )
        raise InputError(f"train.device = {name!r}: no {name.upper()} device is available to {build}; use auto or cpu")
