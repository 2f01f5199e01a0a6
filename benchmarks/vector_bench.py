"""ale-py's native AtariVectorEnv against the vector env training uses (gymnasium's AsyncVectorEnv of make_env, one
subprocess per environment), at several num_envs, and a check that the two see the same pixels.

    python -m benchmarks.vector_bench          # Breakout, num_envs 4 8 16, quiet and under 2 busy processes
    python -m benchmarks.vector_bench --game Pong --num-envs 4 8 --seconds 5

Both are configured as params.yaml's env section: frame skip 4 with a max over the last two frames, 84x84 grayscale,
sticky actions 0.25, up to 30 no-op starts, raw rewards, the minimal action set, FIRE on reset. Each num_envs is timed
as random actions (the environments alone) and as the trainer acts (plus one batch-num_envs forward pass of the
network on one thread per vector step), in rounds that alternate the two so drift hits both alike; agent
steps/s, the median of the rounds.

The pixel check plays both on one trajectory (no no-ops, no sticky actions, no FIRE on reset, the same seed and
actions) and counts the 84x84 frames that differ anywhere.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace

import numpy as np
import torch
import typer
from ale_py.vector_env import AtariVectorEnv
from rich.console import Console
from rich.table import Table

from benchmarks.throughput.limits import rom_id
from benchmarks.throughput.load import busy_load
from pipeline.config.params import EnvParams
from pipeline.envs.atari import FireOnReset, make_env
from pipeline.envs.vector import make_vector_env
from pipeline.rl.networks import QNetwork


def native_env(p: EnvParams, num_envs: int, **overrides) -> AtariVectorEnv:
    """AtariVectorEnv with `p`'s settings (its own FIRE-on-reset, no-op and seeding code), `overrides` on top."""
    settings = dict(
        frameskip=p.frameskip,
        repeat_action_probability=p.sticky_action_prob,
        noop_max=p.noop_max,
        img_height=p.screen_size,
        img_width=p.screen_size,
        stack_num=1,  # the trainer stacks frames itself
        reward_clipping=False,
        episodic_life=False,
        max_num_frames_per_episode=p.max_episode_frames,
        num_threads=num_envs,
    )
    return AtariVectorEnv(rom_id(p.game), num_envs, **{**settings, **overrides})


def frames_differing(p: EnvParams, steps: int, seed: int) -> tuple[int, int]:
    """(frames that differ, frames compared) between make_env and AtariVectorEnv on one trajectory of random
    actions, until the first episode ends or `steps`."""
    same = replace(p, noop_max=0, sticky_action_prob=0.0)
    ours = make_env(same)
    if isinstance(ours, FireOnReset):  # the native env has a FIRE-on-reset of its own, switched off below
        ours = ours.env
    native = native_env(same, 1, use_fire_reset=False, num_threads=1)
    a, _ = ours.reset(seed=seed)
    b, _ = native.reset(seed=seed)
    rng = np.random.default_rng(seed)
    differing, compared = int((a != b[0, 0]).any()), 1
    for _ in range(steps):
        action = int(rng.integers(ours.action_space.n))
        a, _, terminated, truncated, _ = ours.step(action)
        b, *_ = native.step(np.array([action]))
        differing, compared = differing + int((a != b[0, 0]).any()), compared + 1
        if terminated or truncated:
            break
    ours.close()
    native.close()
    return differing, compared


class Stepper:
    """One vector env stepped with random actions, optionally acting through the network at batch num_envs."""

    def __init__(self, envs, num_envs: int, actions: int, frame_stack: int, network: QNetwork | None, seed: int):
        self.envs, self.num_envs, self.actions, self.network = envs, num_envs, actions, network
        self.rng = np.random.default_rng(seed)
        obs, _ = envs.reset(seed=seed)
        self.stack = np.repeat(obs.reshape(num_envs, 1, *obs.shape[-2:]), frame_stack, axis=1)

    def rate(self, seconds: float) -> float:
        """Agent steps per second over a window of `seconds`."""
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            actions = self.rng.integers(self.actions, size=self.num_envs)
            if self.network is not None:
                with torch.no_grad():
                    actions = self.network(torch.from_numpy(self.stack)).argmax(1).numpy()
            obs, *_ = self.envs.step(actions)
            self.stack = np.concatenate([self.stack[:, 1:], obs.reshape(self.num_envs, 1, *obs.shape[-2:])], axis=1)
            steps += self.num_envs
        return steps / (time.perf_counter() - start)


def main(
    game: str = typer.Option("Breakout", help="ALE game"),
    num_envs: list[int] = typer.Option([4, 8, 16], help="environments stepped together"),
    seconds: float = typer.Option(3.0, help="length of one timed window"),
    rounds: int = typer.Option(3, help="windows per configuration; the median is reported"),
    load: int = typer.Option(2, help="busy processes for the rows under load (0: quiet rows only)"),
    pixel_games: list[str] = typer.Option(["Breakout", "MsPacman", "Pong"], help="games of the pixel check"),
    network: str = typer.Option("der", help="the acting network's torso (params.yaml's train.network)"),
    seed: int = typer.Option(0),
) -> None:
    """Agent steps/s of AtariVectorEnv against the AsyncVectorEnv that training uses, and the pixel check."""
    torch.set_num_threads(1)
    p = replace(EnvParams(), game=game)
    console = Console()
    for checked in pixel_games:
        differing, compared = frames_differing(replace(p, game=checked), 5_000, seed)
        console.print(f"pixel check ({checked}, one episode): {differing} of {compared} frames differ", highlight=False)
    table = Table(title=f"{game}: agent steps/s, median of {rounds} windows of {seconds:g} s")
    for column in ("load", "num_envs", "acting", "AsyncVectorEnv (training's)", "AtariVectorEnv", "native x"):
        table.add_column(column, justify="right")
    loads = [0] + ([load] if load else [])
    for n in num_envs:
        ours, native = make_vector_env(replace(p, num_envs=n), n), native_env(p, n)
        actions = int(ours.single_action_space.n)
        for acting in (False, True):
            net = QNetwork(p.frame_stack, actions, p.screen_size, architecture=network).eval() if acting else None
            steppers = [Stepper(envs, n, actions, p.frame_stack, net, seed) for envs in (ours, native)]
            for busy in loads:
                rates: list[list[float]] = [[], []]
                with busy_load(busy) if busy else contextlib.nullcontext():
                    for _ in range(rounds):
                        for stepper, got in zip(steppers, rates):
                            got.append(stepper.rate(seconds))
                mine, theirs = (float(np.median(r)) for r in rates)
                table.add_row(
                    f"{busy} busy" if busy else "quiet",
                    str(n),
                    f"{network} network" if acting else "random",
                    f"{mine:,.0f}",
                    f"{theirs:,.0f}",
                    f"{theirs / mine:.2f}x",
                )
        ours.close()
        native.close()
    console.print(table)


if __name__ == "__main__":
    typer.run(main)
