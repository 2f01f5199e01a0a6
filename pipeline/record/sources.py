"""The checkpoints a recording's sources play, loaded once in the parent before anything is written: each must exist
and match the environment, its hash and training step go into the dataset, and with record.agent_outputs its
network fixes the width of the features every row stores."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pipeline.config.errors import InputError
from pipeline.config.layout import TrainLayout
from pipeline.config.params import EnvParams, SourceParams
from pipeline.data.sources import SourceEntry
from pipeline.play.policies import TrainedPolicy, check_env_matches, load_policy
from pipeline.record.plan import checkpoint_of


@dataclasses.dataclass(frozen=True)
class Player:
    """A source as the episode workers need it: its entry and the checkpoint it plays (None: the random agent)."""

    entry: SourceEntry
    checkpoint: Path | None


def load_players(
    sources: tuple[SourceParams, ...], entries: list[SourceEntry], models: TrainLayout, env: EnvParams
) -> tuple[dict[str, Player], dict[str, TrainedPolicy]]:
    """Every source's player, with its checkpoint's hash and step filled in, and the policies of the trained sources
    that play in the recording (every shard loads the whole recording's, so all shards agree on what played)."""
    players, policies = {}, {}
    loaded: dict[Path, TrainedPolicy] = {}  # sources sharing a checkpoint (best at two temperatures) load it once
    for source, entry in zip(sources, entries):
        path = checkpoint_of(source, models)
        if path is not None and entry.episodes:
            if not path.exists():
                made_by = "a training run" if source.policy in ("best", "final", "snapshot") else "policy"
                raise InputError(
                    f"source '{entry.name}': checkpoint '{path}' does not exist"
                    + (
                        "; run `pipeline train` first, or name the run's folder with --models-dir"
                        if made_by == "a training run"
                        else f"; record.sources policy {source.policy!r} must name a .pt file"
                    )
                )
            try:
                if path not in loaded:
                    loaded[path] = load_policy(path)
                    check_env_matches(loaded[path], env)
            except InputError as err:
                raise InputError(f"source '{entry.name}': {err}") from None
            policy = loaded[path]
            entry = dataclasses.replace(entry, checkpoint_hash=policy.checkpoint_hash, checkpoint_step=policy.step)
            policies[entry.name] = policy
        players[entry.name] = Player(entry, path)
    return players, policies


def output_sizes(policies: dict[str, TrainedPolicy], num_actions: int) -> tuple[int, int] | None:
    """(actions, feature width) of the agent outputs, None when no network plays; networks of different widths
    cannot share the features array."""
    widths = {name: policy.feature_width for name, policy in policies.items()}
    if len(set(widths.values())) > 1:
        listed = ", ".join(f"{name} {width}" for name, width in widths.items())
        raise InputError(
            f"record.agent_outputs: the sources' networks have features of different widths ({listed}); record them "
            "in separate datasets, or turn agent_outputs off"
        )
    return (num_actions, next(iter(widths.values()))) if widths else None
