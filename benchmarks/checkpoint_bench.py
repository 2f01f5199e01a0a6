"""What an exact-resume checkpoint costs: the replay buffer file's size, its write and read times, and how much the
process's resident memory grows while it is written (a save streams the frames; it must not copy the buffer).

    python -m benchmarks.checkpoint_bench                         # 100,000 and 1,000,000 transitions at k = 8
    python -m benchmarks.checkpoint_bench --capacity 100000 --frames 20000

The buffer is filled through its public API with real Ms. Pac-Man frames (random play, `--frames` of them, repeated
to fill it), episodes of 1,000 steps, and PER priorities updated for a few thousand batches, as in training.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from pipeline.config.params import EnvParams
from pipeline.envs.atari import make_env
from pipeline.replay.buffer import ReplayBuffer, make_replay
from pipeline.replay.persist import load_replay, save_replay


def real_frames(count: int, seed: int = 0) -> np.ndarray:
    env = make_env(EnvParams(game="MsPacman"))
    rng, frames = np.random.default_rng(seed), []
    obs, _ = env.reset(seed=seed)
    while len(frames) < count:
        frames.append(obs)
        obs, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()
    return np.stack(frames)


def filled(capacity: int, frames: np.ndarray) -> ReplayBuffer:
    replay = make_replay("per", capacity, 8, frames.shape[1:], 0.6, 1e-6, seed=0, gamma=0.99, n_step=10)
    rng = np.random.default_rng(0)
    replay.start(frames[:1])
    restarted = False
    for i in range(capacity - 1):
        over = (i + 1) % 1_000 == 0 and not restarted
        replay.step(
            np.array([i % 9]),
            np.array([1.0], np.float32),
            np.array([over]),
            frames[(i + 1) % len(frames)][None],
            np.array([over]),
            np.array([restarted]),
        )
        restarted = over
    for _ in range(2_000):
        batch = replay.sample(32, 0.5)
        replay.update_priorities(batch.indices, rng.random(32))
    return replay


def rss() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


@contextlib.contextmanager
def peak_rss():
    """Samples the resident size every 10 ms while the block runs; yields a list that ends up [before, peak]."""
    result, stop = [rss(), rss()], threading.Event()

    def sample():
        while not stop.is_set():
            result[1] = max(result[1], rss())
            time.sleep(0.01)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()


def measure(capacity: int, frames: np.ndarray, folder: Path) -> dict:
    replay = filled(capacity, frames)
    path = folder / f"replay_{capacity}.h5"
    with peak_rss() as memory:
        start = time.perf_counter()
        save_replay(replay, path)
        write = time.perf_counter() - start
    fresh = make_replay("per", capacity, 8, frames.shape[1:], 0.6, 1e-6, seed=1, gamma=0.99, n_step=10)
    start = time.perf_counter()
    load_replay(fresh, path)
    read = time.perf_counter() - start
    same = np.array_equal(fresh.frames, replay.frames) and fresh.sampler.tree.total == replay.sampler.tree.total
    return {
        "capacity": capacity,
        "in memory": replay.frames.nbytes,
        "file": os.path.getsize(path),
        "write": write,
        "read": read,
        "rss growth": memory[1] - memory[0],
        "same": same,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capacity", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--frames", type=int, default=20_000, help="distinct real frames to fill the buffer with")
    args = parser.parse_args()
    frames = real_frames(args.frames)
    table = Table(title="Replay buffer in a checkpoint (k = 8, 84x84, PER)")
    for column in (
        "transitions",
        "frames in memory",
        "file (gzip-1)",
        "ratio",
        "write",
        "read",
        "RSS growth while writing",
        "loads back equal",
    ):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as folder:
        for capacity in args.capacity:
            r = measure(capacity, frames, Path(folder))
            table.add_row(
                f"{capacity:,}",
                f"{r['in memory'] / 2**20:,.0f} MiB",
                f"{r['file'] / 2**20:,.0f} MiB",
                f"{r['in memory'] / r['file']:.1f}x",
                f"{r['write']:.1f} s",
                f"{r['read']:.1f} s",
                f"{r['rss growth'] / 2**20:,.1f} MiB",
                "yes" if r["same"] else "NO",
            )
    Console().print(table)


if __name__ == "__main__":
    main()
