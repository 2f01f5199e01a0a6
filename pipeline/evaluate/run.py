"""Evaluation: the trained agent and the random baseline play the same seeded episodes; their returns are summarised.

Episode k of both agents uses the same seed for the environment (so the same no-op start and sticky-action
stream) and for the action RNG, which makes the comparison paired rather than two unrelated samples
(a trained agent at epsilon 1 plays exactly the random agent's episodes). env.num_envs episodes are played at
once (pipeline.play.pool); the results do not depend on it.
"""

from __future__ import annotations

import contextlib
import time
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
from rich.console import Console
from rich.progress import Progress, TaskID

from pipeline.config.layout import EvalLayout
from pipeline.config.params import Params
from pipeline.core.atomic import atomic_path
from pipeline.core.outputs import check_output
from pipeline.core.seeding import derive_seed
from pipeline.envs.atari import action_meanings, make_env
from pipeline.evaluate.report import (
    EpisodeResult,
    evaluation_progress,
    plot_scores,
    results_table,
    write_episode_table,
    write_metrics,
)
from pipeline.evaluate.scores import human_normalised
from pipeline.play.backends import Backend, Players, play_on
from pipeline.play.episode import play_episode
from pipeline.play.policies import RandomPolicy, check_env_matches, load_policy

AGENTS = ("trained", "random")


def episode_seed(seed: int, episode: int) -> int:
    """The seed of evaluation episode `episode`, shared by both agents."""
    return derive_seed(seed, "evaluate-episode", episode)


class EvaluationPlayer:
    """Plays evaluation episode j of the 2 x evaluate.episodes: the trained agent's episode j, then (j >= n) the
    random agent's episode j - n. The same in the parent (env.num_envs 1) and in every worker."""

    def __init__(self, params: Params, checkpoint: Path):
        self.params, self.env = params, make_env(params.env)
        self.agents = {"trained": load_policy(checkpoint), "random": RandomPolicy(len(action_meanings(self.env)))}

    def play(self, j: int, tick: Callable[[], None]) -> EpisodeResult:
        name, k = AGENTS[j // self.params.evaluate.episodes], j % self.params.evaluate.episodes
        seed = episode_seed(self.params.seed, k)
        score, length, truncated = play_episode(
            self.env, self.agents[name], self.params.env.frame_stack, seed, self.params.evaluate.epsilon, tick
        )
        return EpisodeResult(name, k, seed, score, length, truncated)

    def close(self) -> None:
        self.env.close()


class AgentBars:
    """One bar per agent: its episodes, and its steps and steps/s as reported by its episodes in flight."""

    def __init__(self, progress: Progress, episodes: int):
        self.progress, self.episodes = progress, episodes
        self.tasks: dict[str, TaskID] = {}
        self.steps: dict[str, int] = {}
        self.start: dict[str, float] = {}

    def _task(self, name: str) -> TaskID:
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=self.episodes, steps=0, rate=0.0, last="-")
            self.steps[name], self.start[name] = 0, time.perf_counter()
        return self.tasks[name]

    def played(self, j: int, steps: int) -> None:
        name = AGENTS[j // self.episodes]
        task = self._task(name)
        self.steps[name] += steps
        rate = self.steps[name] / max(time.perf_counter() - self.start[name], 1e-9)
        self.progress.update(task, steps=self.steps[name], rate=rate)

    def finished(self, result: EpisodeResult) -> None:
        self.progress.update(self._task(result.agent), advance=1, last=f"{result.score:g}")


def build_player(params: Params, inputs: dict[str, Path], outputs: dict[str, Path]) -> EvaluationPlayer:
    """The player wherever it runs (pipeline.play.backends.Players): its checkpoint by name; it writes no files."""
    return EvaluationPlayer(params, inputs["checkpoint"])


def play_agents(
    params: Params, checkpoint: Path, console: Console, backend: Backend = Backend()
) -> list[EpisodeResult]:
    """evaluate.episodes episodes by the trained agent (at evaluate.epsilon), then by the random agent, same seeds,
    env.num_envs at once (or on the Ray cluster `backend` names); the results come in that order whatever plays
    them."""
    results: list[EpisodeResult] = []
    with evaluation_progress(console) as progress:
        bars = AgentBars(progress, params.evaluate.episodes)

        def finished(j: int, result: EpisodeResult) -> None:
            results.append(result)
            bars.finished(result)

        players = Players(partial(build_player, params), {"checkpoint": checkpoint}, {})
        play_on(backend, players, len(AGENTS) * params.evaluate.episodes, params.env.num_envs, bars.played, finished)
    return results


def summarise(results: list[EpisodeResult], game: str) -> dict[str, dict[str, float | int]]:
    """Per agent: mean, std (population), median, min and max of the raw return, mean length in agent steps,
    how many episodes hit the frame cap, and the human-normalised mean where the game's scores are published."""
    summary = {}
    for agent in AGENTS:
        mine = [r for r in results if r.agent == agent]
        scores = np.array([r.score for r in mine])
        stats = {
            "return_mean": float(scores.mean()),
            "return_std": float(scores.std()),
            "return_median": float(np.median(scores)),
            "return_min": float(scores.min()),
            "return_max": float(scores.max()),
            "length_mean": float(np.mean([r.length for r in mine])),
            "truncated_episodes": sum(r.truncated for r in mine),
        }
        normalised = human_normalised(game, stats["return_mean"])
        if normalised is not None:
            stats["human_normalised_mean"] = normalised
        summary[agent] = stats
    return summary


def evaluate(
    params: Params,
    checkpoint: Path,
    outputs: EvalLayout,
    console: Console | None = None,
    model: str | None = None,
    backend: Backend = Backend(),
) -> dict:
    """Play (on `backend`), summarise, write the metrics JSON, the per-episode CSV and the score plot; return the
    metrics. `model` names the checkpoint in the metrics (evaluate.model by default)."""
    console = console or Console(stderr=True)
    for path, what in ((outputs.metrics, "metrics file"), (outputs.episodes, "episodes table"), (outputs.plot, "plot")):
        check_output(path, what)  # before the episodes are played, not after
    policy = load_policy(checkpoint)
    check_env_matches(policy, params.env)
    results = play_agents(params, checkpoint, console, backend)
    metrics = {
        "game": params.env.game,
        "episodes": params.evaluate.episodes,
        "epsilon": params.evaluate.epsilon,
        "model": model or params.evaluate.model,
        "checkpoint_step": policy.step,
        **summarise(results, params.env.game),
    }
    with contextlib.ExitStack() as written:  # all three or none: a failure (a full disk) leaves the previous three
        metrics_tmp, episodes_tmp, plot_tmp = (
            written.enter_context(atomic_path(path)) for path in (outputs.metrics, outputs.episodes, outputs.plot)
        )
        write_metrics(metrics_tmp, metrics)
        write_episode_table(episodes_tmp, results, AGENTS)
        plot_scores(plot_tmp, results, AGENTS, params.env.game, params.evaluate.epsilon)
    console.print(results_table(metrics, AGENTS))
    return metrics
