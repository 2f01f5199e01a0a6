"""Evaluation during training: every train.eval_interval steps the current network plays seeded episodes, in a
background process where a second core is free, and the best evaluated network is kept.

Every evaluation plays the same train.eval_episodes episodes (seeds derived from the global seed, apart from
`pipeline evaluate`'s), so evaluations compare networks on equal terms. A result depends on the network's weights
and those seeds only, never on when the background process got to it, so the best network is the same whatever
the machine's load.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import traceback
from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from pipeline.config.params import EnvParams
from pipeline.core.seeding import derive_seed
from pipeline.envs.atari import make_env
from pipeline.play.episode import play_episode
from pipeline.play.policies import policy_from_checkpoint
from pipeline.rl.device import one_cpu_thread

POLL_S = 0.5  # how often a wait for results checks that the background process is alive


def eval_seeds(seed: int, episodes: int) -> list[int]:
    """The seeds of the episodes every evaluation during training plays."""
    return [derive_seed(seed, "train-eval-episode", k) for k in range(episodes)]


@dataclass(frozen=True)
class Snapshot:
    """The acting network at one step, as a policy checkpoint holds it (plain data, CPU tensors)."""

    step: int
    policy: dict


@dataclass(frozen=True)
class EvalResult:
    step: int
    returns: tuple[float, ...]  # raw episode returns, one per seed

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        return float(np.std(self.returns))


class EvaluatorDied(RuntimeError):
    """The background evaluation process ended without a result (killed, out of memory, crashed)."""


def play_snapshot(env, snapshot: Snapshot, seeds: list[int], epsilon: float) -> EvalResult:
    policy = policy_from_checkpoint(snapshot.policy, checkpoint_hash="", device="cpu")
    returns = tuple(play_episode(env, policy, policy.env.frame_stack, s, epsilon, lambda: None)[0] for s in seeds)
    return EvalResult(snapshot.step, returns)


def _to_numpy(snapshot: Snapshot) -> Snapshot:
    """A copy whose tensors are NumPy arrays, which pickle to another process as plain bytes."""
    online = {k: v.numpy() for k, v in snapshot.policy["agent"]["online"].items()}
    return Snapshot(snapshot.step, {**snapshot.policy, "agent": {"online": online}})


def _from_numpy(snapshot: Snapshot) -> Snapshot:
    online = {k: torch.from_numpy(v) for k, v in snapshot.policy["agent"]["online"].items()}
    return Snapshot(snapshot.step, {**snapshot.policy, "agent": {"online": online}})


def _serve(env_params: EnvParams, seeds: list[int], epsilon: float, tasks, results) -> None:
    """The background process: evaluate each snapshot sent until None comes; leave Ctrl-C to the trainer."""
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_IGN)
    one_cpu_thread()
    try:
        env = make_env(env_params)
        while (snapshot := tasks.get()) is not None:
            results.put(play_snapshot(env, _from_numpy(snapshot), seeds, epsilon))
    except BaseException:
        results.put(traceback.format_exc())


def free_cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Evaluator:
    """Evaluates snapshots in submission order: in a background process when `background`, else at once (the
    results are the same). `pending` are the snapshots submitted whose result has not been taken yet."""

    def __init__(self, env_params: EnvParams, seeds: list[int], epsilon: float, background: bool):
        self.env_params, self.seeds, self.epsilon = env_params, seeds, epsilon
        self.pending: deque[Snapshot] = deque()
        self._done: deque[EvalResult] = deque()
        self._proc = None
        if background:
            ctx = multiprocessing.get_context("forkserver")  # this process has torch's thread pools running
            self._tasks, self._results = ctx.Queue(), ctx.Queue()
            self._proc = ctx.Process(
                target=_serve, args=(env_params, seeds, epsilon, self._tasks, self._results), daemon=True
            )
            self._proc.start()
        else:
            self._env = make_env(env_params)

    def submit(self, snapshot: Snapshot) -> None:
        self.pending.append(snapshot)
        if self._proc is None:
            self._done.append(play_snapshot(self._env, snapshot, self.seeds, self.epsilon))
        else:
            self._tasks.put(_to_numpy(snapshot))

    def finished(self, block: bool = False) -> list[tuple[Snapshot, EvalResult]]:
        """The snapshots evaluated since the last call, with their results, oldest first; with `block`, all of them."""
        while self._proc is not None and self.pending and len(self._done) < len(self.pending):
            try:
                got = self._results.get(timeout=POLL_S) if block else self._results.get_nowait()
            except queue.Empty:
                if self._proc.exitcode is not None:
                    raise EvaluatorDied(f"the evaluation process ended with exit code {self._proc.exitcode}") from None
                if not block:
                    break
                continue
            if isinstance(got, str):
                raise EvaluatorDied(f"the evaluation process failed:\n{got}")
            self._done.append(got)
        out = []
        while self._done:
            out.append((self.pending.popleft(), self._done.popleft()))
        return out

    def close(self) -> None:
        if self._proc is None:
            self._env.close()
            return
        with contextlib.suppress(Exception):
            self._tasks.put(None)
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()


@dataclass
class Best:
    """The best evaluation so far: ties go to the later step, so among equals the longest-trained network wins."""

    step: int = -1
    mean: float = float("-inf")
    std: float = 0.0

    def improved_by(self, result: EvalResult) -> bool:
        if result.mean < self.mean:
            return False
        self.step, self.mean, self.std = result.step, result.mean, result.std
        return True
