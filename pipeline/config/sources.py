"""A recording's sources (record.sources entries) and the rules tying them to record.episodes and
train.snapshot_steps, checked when params load, so a bad source stops every command with one line naming it before
anything runs; and the snapshot schedule that training and the sources share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from pipeline.config.errors import InputError
from pipeline.config.spec import REQUIRED, spec

# record keys that only the simple case (no record.sources) reads: given as flags, they ask for the simple case
SIMPLE_CASE_KEYS = frozenset({"percent_random", "model"})
NAMED_POLICIES = ("random", "best", "final", "snapshot")
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")  # fits the S32 `source` column and a file name


@dataclass(frozen=True)
class SourceParams:
    """One entry of record.sources: who plays, how it explores, and how many of the episodes it plays."""

    name: str = spec(
        REQUIRED,
        "the source's name (episode column `source`; it also seeds its episodes): 1 to 32 letters, digits, '_', '-' "
        "or '.', unique among the sources",
    )
    policy: str = spec(
        REQUIRED,
        "who plays: random (uniformly random actions), best (models/best.pt), final (models/dqn.pt), snapshot "
        "(models/snapshots/step_<step>.pt, one of train.snapshot_steps) or the path of a .pt checkpoint",
    )
    step: int | None = spec(None, "with policy snapshot: the training step of the snapshot", gt=0)
    epsilon: float | None = spec(
        None, "epsilon-greedy exploration rate of a trained policy (default: record.epsilon)", ge=0.0, le=1.0
    )
    temperature: float | None = spec(
        None, "Boltzmann exploration instead of epsilon: actions sampled from softmax(Q / temperature)", gt=0.0
    )
    episodes: int | None = spec(None, "how many episodes this source plays (or give share)", ge=0)
    share: float | None = spec(
        None,
        "this source's share of record.episodes in percent, after the sources given as episodes took theirs; the "
        "shares add up to 100 and round by largest remainder (ties to the earlier source)",
        ge=0.0,
        le=100.0,
    )


def snapshot_schedule(snapshot_steps: int | tuple[int, ...], steps: int) -> tuple[int, ...]:
    """The training steps train.snapshot_steps asks for, increasing: the list as given, or a count n spread evenly
    at round(steps * i / n), halves up, for i = 1 .. n (so the last is the final step)."""
    if isinstance(snapshot_steps, tuple):
        return snapshot_steps
    return tuple(int(Fraction(steps * i, snapshot_steps) + Fraction(1, 2)) for i in range(1, snapshot_steps + 1))


def check_snapshot_steps(snapshot_steps: int | tuple[int, ...], steps: int) -> None:
    if isinstance(snapshot_steps, int):
        if snapshot_steps > steps:
            raise InputError(f"train.snapshot_steps = {snapshot_steps}: a count must be <= train.steps ({steps})")
        return
    listed = list(snapshot_steps)
    if any(b <= a for a, b in zip(listed, listed[1:])):
        raise InputError(f"train.snapshot_steps = {listed}: the steps must increase")
    if listed and listed[-1] > steps:
        raise InputError(f"train.snapshot_steps = {listed}: each step must be <= train.steps ({steps})")


def check_sources(sources: tuple[SourceParams, ...], episodes: int, schedule: tuple[int, ...]) -> None:
    """Each source's name, policy and exploration, and how the episodes add up to record.episodes; `schedule` is
    the training's snapshot steps, which snapshot sources must name."""
    names: set[str] = set()
    for i, source in enumerate(sources):
        if not NAME.match(source.name):
            raise InputError(
                f"record.sources[{i}].name = {source.name!r}: must be 1 to 32 letters, digits, '_', '-' or '.'"
            )
        if source.name in names:
            raise InputError(f"record.sources[{i}].name = {source.name!r}: another source has that name")
        names.add(source.name)
        _check_policy(f"record.sources[{i}]", source, schedule)
        if (source.episodes is None) == (source.share is None):
            raise InputError(f"record.sources[{i}] ({source.name}): give exactly one of episodes or share")
    _check_counts(sources, episodes)


def _check_policy(key: str, source: SourceParams, schedule: tuple[int, ...]) -> None:
    where = f"{key} ({source.name})"
    if source.policy not in NAMED_POLICIES and not source.policy.endswith(".pt"):
        raise InputError(
            f"{key}.policy = {source.policy!r}: must be random, best, final, snapshot or the path of a .pt checkpoint"
        )
    kept = ", ".join(map(str, schedule)) or "none: it is empty"
    if source.policy == "snapshot" and source.step not in schedule:
        given = "no step" if source.step is None else f"step {source.step}"
        raise InputError(f"{where}: policy snapshot with {given}; step must be one of train.snapshot_steps ({kept})")
    if source.policy != "snapshot" and source.step is not None:
        raise InputError(f"{key}.step = {source.step}: only policy snapshot takes a step")
    if source.epsilon is not None and source.temperature is not None:
        raise InputError(f"{where}: give epsilon or temperature, not both")
    if source.policy == "random" and (source.epsilon is not None or source.temperature is not None):
        raise InputError(f"{where}: policy random takes no epsilon or temperature (it is epsilon-greedy at 1)")


def _check_counts(sources: tuple[SourceParams, ...], episodes: int) -> None:
    if not sources:
        return
    fixed = sum(s.episodes for s in sources if s.episodes is not None)
    shares = [Fraction(str(s.share)) for s in sources if s.share is not None]
    if fixed > episodes:
        raise InputError(f"record.episodes = {episodes}: the sources' episodes add up to {fixed}, more than that")
    if not shares and fixed != episodes:
        raise InputError(
            f"record.episodes = {episodes}: the sources' episodes add up to {fixed}; make them equal, or give shares"
        )
    if shares and sum(shares) != 100:
        raise InputError(f"record.sources: the shares add up to {float(sum(shares)):g}; they must add up to 100")
