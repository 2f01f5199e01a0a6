"""Which source plays which episode of a recording: record.sources (or the simple case's random and trained agents)
turned into episode ids, seeds and checkpoints, and the range of ids one run (a shard) plays.

Counts: a source given as `episodes` plays that many; the sources given as `share` split what is left of
record.episodes by largest remainder, in exact decimal arithmetic: each gets the whole part of its exact share, and
the episodes left go one each to the largest fractional parts, ties to the earlier source. For two sources this is
rounding the first to the nearest episode, halves up, which is the simple case's rule (30% of 20 = 6; 25% of 10 =
2.5 -> 3; 34% of 3 = 1.02 -> 1). Ids run over the sources in order; the seed of a source's i-th episode is
pipeline.data.sources.episode_seed(seed, name, i), so a source's episodes never depend on the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from pipeline.config.errors import InputError
from pipeline.config.layout import TrainLayout
from pipeline.config.params import Params, RecordParams, SourceParams
from pipeline.data.sources import SourceEntry, episode_seed


@dataclass(frozen=True)
class PlannedEpisode:
    id: int
    source: str
    index: int  # among the source's episodes
    seed: int


def random_count(episodes: int, percent_random: float) -> int:
    """The simple case's random episodes: episodes * percent_random / 100, nearest, halves up."""
    return int(Fraction(str(percent_random)) * episodes / 100 + Fraction(1, 2))


def simple_sources(r: RecordParams, model: str, checkpoint: Path) -> tuple[SourceParams, ...]:
    """The simple case (no record.sources): record.percent_random % of the episodes by the random agent, then the
    rest by `checkpoint`, named `model`, at record.epsilon."""
    n_random = random_count(r.episodes, r.percent_random)
    return (
        SourceParams(name="random", policy="random", episodes=n_random),
        SourceParams(name=model, policy=str(checkpoint), epsilon=r.epsilon, episodes=r.episodes - n_random),
    )


def source_counts(sources: tuple[SourceParams, ...], total: int) -> list[int]:
    """Episodes per source, by the rule above (the params checks made sure they add up)."""
    rest = total - sum(s.episodes for s in sources if s.episodes is not None)
    exact = {i: Fraction(str(s.share)) * rest / 100 for i, s in enumerate(sources) if s.share is not None}
    counts = [s.episodes if s.episodes is not None else int(exact[i]) for i, s in enumerate(sources)]
    left = total - sum(counts)
    for i in sorted(exact, key=lambda i: (-(exact[i] - int(exact[i])), i))[:left]:
        counts[i] += 1
    return counts


def checkpoint_of(source: SourceParams, models: TrainLayout) -> Path | None:
    """The checkpoint a source plays, None for the random agent: best and final are the training run's best.pt and
    dqn.pt, a snapshot its snapshots/step_<step>.pt, anything else a path."""
    named = {"random": None, "best": models.best, "final": models.model}
    if source.policy == "snapshot":
        return models.snapshot(source.step)
    return named[source.policy] if source.policy in named else Path(source.policy)


def policy_label(policy: str) -> str:
    """How the file names a policy: as params give it, a checkpoint by its file name (the same file recorded from
    another folder or machine is the same source; its hash tells checkpoints apart)."""
    return Path(policy).name if policy.endswith(".pt") else policy


def plan_sources(sources: tuple[SourceParams, ...], r: RecordParams) -> list[SourceEntry]:
    """The entries of the file's `sources` attribute, but the checkpoints' hashes and steps (filled once loaded)."""
    entries, first = [], 0
    for source, count in zip(sources, source_counts(sources, r.episodes)):
        kind = "boltzmann" if source.temperature is not None else "epsilon"
        value = 1.0 if source.policy == "random" else source.temperature or source.epsilon
        entries.append(
            SourceEntry(
                name=source.name,
                agent="random" if source.policy == "random" else "trained",
                policy=policy_label(source.policy),
                checkpoint_hash="",
                checkpoint_step=-1,
                exploration=kind,
                exploration_value=float(r.epsilon if value is None else value),
                episodes=count,
                first_id=first,
            )
        )
        first += count
    return entries


def episode_range(total: int, first: int, count: int | None) -> range:
    """The ids a run plays: `count` from `first` (to the end for None), or an InputError naming what is allowed."""
    if first < 0 or first >= total:
        raise InputError(f"--first-episode {first}: the recording has episodes 0 .. {total - 1} (record.episodes)")
    if count is None:
        return range(first, total)
    if count < 1 or first + count > total:
        raise InputError(
            f"--shard-episodes {count}: from episode {first} there are 1 .. {total - first} episodes of the "
            f"{total} of the recording (record.episodes)"
        )
    return range(first, first + count)


def planned_episodes(entries: list[SourceEntry], seed: int, ids: range) -> list[PlannedEpisode]:
    episodes = []
    for entry in entries:
        for episode_id in range(max(entry.first_id, ids.start), min(entry.first_id + entry.episodes, ids.stop)):
            index = episode_id - entry.first_id
            episodes.append(PlannedEpisode(episode_id, entry.name, index, episode_seed(seed, entry.name, index)))
    return episodes


def sources_of(params: Params, model: str, checkpoint: Path) -> tuple[SourceParams, ...]:
    """record.sources, or the simple case's two when it gives none (`checkpoint`, named `model`, the trained one)."""
    return params.record.sources or simple_sources(params.record, model, checkpoint)
