"""Seeds derived from the global seed and a purpose, so every episode and stream is reproducible on its own."""

from __future__ import annotations

import zlib

import numpy as np


def derive_seed(seed: int, purpose: str, index: int = 0) -> int:
    """A 31-bit seed for (global seed, purpose, index); different purposes never share a stream."""
    entropy = [seed, zlib.crc32(purpose.encode()), index]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint32)[0] >> 1)
