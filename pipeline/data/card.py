"""The dataset card: DATASET.md beside a gameplay file, for a person deciding whether and how to use it without
reading this code: the game and its environment recipe, who played and how well, the size, the format, the splits,
how to load and replay it, and where it came from. Everything in it is read from the file itself (and the split
index), so the card cannot disagree with the data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from pipeline.config.errors import InputError
from pipeline.config.layout import CARD_NAME
from pipeline.core.atomic import atomic_path
from pipeline.core.hashing import file_hash
from pipeline.data.codecs import describe_compression
from pipeline.data.reader import action_meanings, open_gameplay, read_env_recipe, read_episodes
from pipeline.data.schema import FORMAT_VERSION, LAYOUT_NOTE, EpisodeTable, format_tables

SPLITS_BEGIN, SPLITS_END = "<!-- splits:begin -->", "<!-- splits:end -->"


def card_beside(dataset: Path) -> Path:
    """Where a dataset's card is: DATASET.md in the dataset's folder."""
    return Path(dataset).with_name(CARD_NAME)


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def _contents(table: EpisodeTable) -> list[str]:
    """One line per source (who played), with its exploration, counts, returns and the checkpoint that played."""
    lines = [
        "| source | agent | exploration | episodes | steps | return mean | std | min | max | checkpoint SHA-256 "
        "(training step) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for source in dict.fromkeys(table["source"]):
        mine = table["source"] == source
        r = table["return"][mine]
        hashes = sorted(
            {f"`{h[:16]}…` ({s})" for h, s in zip(table["checkpoint_hash"][mine], table["checkpoint_step"][mine]) if h}
        )
        first = np.flatnonzero(mine)[0]
        lines.append(
            f"| {source} | {table['agent'][first]} | {table['exploration'][first]} "
            f"{table['exploration_value'][first]:g} | {int(mine.sum())} | {int(table['length'][mine].sum()):,} | "
            f"{r.mean():,.1f} | {r.std():,.1f} | {r.min():,g} | {r.max():,g} | {', '.join(hashes) or '-'} |"
        )
    return lines


def _diversity(metrics: dict) -> list[str]:
    """The metrics table (pipeline.data.metrics): one line per source and one for all episodes."""
    lines = [
        "| source | action entropy (bits) | top action (share) | unique observations | unique frames | duplicate "
        "episodes | near-duplicate episodes | exploratory actions |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m in {**metrics["sources"], "all": metrics["overall"]}.items():
        explored = "-" if m["exploratory_share"] is None else f"{m['exploratory_share']:.1%}"
        lines.append(
            f"| {name} | {m['action_entropy_bits']:.2f} | {m['top_action']} ({m['top_action_share']:.0%}) | "
            f"{m['unique_observations']:.1%} | {m['unique_frames']:.1%} | {m['duplicate_episodes']} | "
            f"{m['near_duplicate_episodes']} | {explored} |"
        )
    return [
        *lines,
        "",
        f"Unique observations and frames: distinct images over all rows of the group, divided by its rows. An episode "
        f"is a near-duplicate when another episode of its group shows at least {metrics['near_duplicate_jaccard']:g} "
        "of their screens in common (Jaccard similarity of their sets of distinct screens); exploratory actions are "
        "those other than the network's greedy one (recorded with record.agent_outputs). `pipeline inspect` shows "
        "more; the README's dataset section defines each.",
    ]


def _environment(recipe: dict, attrs: h5py.AttributeManager, meanings: list[str]) -> list[str]:
    kwargs = recipe["env_kwargs"]
    preprocessing = next(w["kwargs"] for w in recipe["wrappers"] if w["name"] == "AtariPreprocessing")
    resets = recipe["reset_actions"]
    reset = (
        "after every reset it presses " + " then ".join(f"{a} ({meanings[a]})" for a in resets) + " (FireOnReset)"
        if resets
        else "no actions are pressed at reset"
    )
    cap = recipe["max_episode_steps"]
    return [
        f"- gymnasium `{recipe['env_id']}` made with frameskip {kwargs['frameskip']}, sticky actions "
        f"{kwargs['repeat_action_probability']}, the minimal action set, a cap of "
        f"{kwargs['max_num_frames_per_episode']:,} emulator frames (truncated), game mode {kwargs['mode']} and "
        f"difficulty {kwargs['difficulty']} (None: the game's default);",
        f"- wrapped in AtariPreprocessing: {preprocessing['frame_skip']} emulator frames per agent step (max over the "
        f"last two), up to {preprocessing['noop_max']} no-op frames after each reset, {preprocessing['screen_size']}x"
        f"{preprocessing['screen_size']} grayscale observations; {reset};",
        f"- at most {cap:,} agent steps per episode (record.max_episode_steps);"
        if cap
        else "- no cap on agent steps beyond the frame cap;",
        f"- {len(meanings)} actions: " + ", ".join(f"{i} {m}" for i, m in enumerate(meanings)) + ";",
        f"- {60 / preprocessing['frame_skip']:g} agent steps (rows) per second of game time; videos at "
        f"{attrs['fps']} fps.",
        "",
        "The file attribute `env_recipe` holds it as JSON, with the replay procedure in words (`how_to_replay`):",
        "",
        "```json",
        json.dumps({k: v for k, v in recipe.items() if k not in ("gymnasium_spec", "how_to_replay")}, indent=1),
        "```",
    ]


def split_section(index: dict | None, dataset_name: str) -> str:
    """The card's splits section: the split index's counts and ids, or how to make one."""
    if index is None:
        return (
            "No split index for this file yet. `pipeline split` holds out validation episodes by whole episodes "
            f"(stratified by source, deterministic for its seed) and writes `splits.json` beside `{dataset_name}`, "
            'checked against this file\'s SHA-256; `GameplayDataset(path, split="train")` reads it.'
        )
    lines = [
        f"From `splits.json` (seed {index['seed']}, val_fraction {index['val_fraction']}), by whole episodes:",
        "",
        "| split | episodes | by source | episode ids |",
        "|---|---|---|---|",
    ]
    for name, ids in index["splits"].items():
        by_source = ", ".join(f"{n} {source}" for source, n in index["counts"][name].items())
        lines.append(f"| {name} | {len(ids)} | {by_source} | {', '.join(map(str, ids))} |")
    return "\n".join(lines)


def dataset_card(
    dataset: Path, name: str, files: dict[str, str], split_index: dict | None = None, metrics: dict | None = None
) -> str:
    """DATASET.md for the gameplay file at `dataset`, to be read as `name`; `files` describes the outputs beside it,
    `metrics` (pipeline.data.metrics.dataset_metrics) its diversity."""
    with open_gameplay(dataset) as f:
        table, meanings, recipe = read_episodes(f), action_meanings(f), read_env_recipe(f)
        attrs, compression, rows = dict(f.attrs), describe_compression(f["frames"]), len(f["actions"])
        last_steps = table["first_row"] + table["length"] - 1
        terminated, truncated = (int(f[flag][:][last_steps].sum()) for flag in ("terminated", "truncated"))
    size, digest = os.path.getsize(dataset), file_hash(dataset)
    game, screen = str(attrs["game"]), int(attrs["screen_size"])
    parts = [
        f"# Atari gameplay dataset: {game}",
        "",
        f"`{name}`: {len(table)} episodes of `{recipe['env_id']}`, {int(table['length'].sum()):,} agent steps, "
        f"{rows:,} rows (each episode's final state included), {_mib(size)} ({compression}), gameplay format "
        f"{FORMAT_VERSION}. SHA-256 `{digest}`. Recorded by atari-gameplay-pipeline {attrs['package_version']} at "
        f"commit `{attrs['git_commit']}`.",
        "",
        "Each row holds the native 210x160 RGB screen, the agent's "
        f"{screen}x{screen} grayscale observation, the action taken, its raw (unclipped) reward, the terminated and "
        "truncated flags and the lives left.",
        "",
        "## Who played",
        "",
        *_contents(table),
        "",
        f"{terminated} episodes ended at game over (terminated), {truncated} at a cap (truncated). Returns are sums "
        "of raw rewards.",
        "",
        *(["## Diversity", "", *_diversity(metrics), ""] if metrics is not None else []),
        "## Environment",
        "",
        *_environment(recipe, attrs, meanings),
        "",
        "## Splits",
        "",
        SPLITS_BEGIN,
        split_section(split_index, name),
        SPLITS_END,
        "",
        "## Loading it",
        "",
        "With the `pipeline` package of the repository that recorded it (`pip install .` in a checkout of the commit "
        "below; loading needs numpy, h5py and torch, no emulator):",
        "",
        "```python",
        "import torch",
        "from pipeline.dataset import GameplayDataset",
        "",
        f'ds = GameplayDataset("{name}", window=2, keys=("observations", "actions", "rewards", "dones"))',
        "loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True, num_workers=2)",
        f"batch = next(iter(loader))  # batch['observations']: (32, 2, {screen}, {screen}) uint8",
        "```",
        "",
        "`help(GameplayDataset)` lists its keys and options (splits, episode ids and steps, padding at episode starts "
        "as the agent's stacks, masked actions, float channel-first frames, transforms). With h5py alone:",
        "",
        "```python",
        "import h5py",
        f'with h5py.File("{name}") as f:',
        '    first, length = f["episodes/first_row"][0], f["episodes/length"][0]',
        '    frames = f["frames"][first : first + length + 1]  # episode 0: its T + 1 screens',
        "```",
        "",
        "## Replaying an episode",
        "",
        "Every episode replays exactly (frames, observations, rewards, flags, lives) from its seed and actions:",
        "",
        "```python",
        "from pipeline.dataset import load_episode, replay_episode",
        "",
        f'replayed, stored = replay_episode("{name}", 0), load_episode("{name}", 0)',
        "assert all((replayed[k] == stored[k]).all() for k in stored)",
        "```",
        "",
        "Without this package (gymnasium and ale-py at the versions in the recipe):",
        "",
        *(f"{i}. {step}" for i, step in enumerate(recipe["how_to_replay"], 1)),
        "",
        "To use it as a Minari dataset: `pipeline export minari " + name + " --id atari/" + game.lower() + "/NAME-v0`.",
        "",
        "## Format",
        "",
        "```",
        LAYOUT_NOTE.rstrip(),
        "```",
        "",
        format_tables(),
        "",
        "## Files",
        "",
        *(f"- `{path}`: {meaning}" for path, meaning in {name: "this dataset", **files}.items()),
        "",
        "## Provenance",
        "",
        f"- pipeline {attrs['package_version']}, commit `{attrs['git_commit']}`, model `{attrs['model']}`",
        "- library versions: " + ", ".join(f"{k} {v}" for k, v in json.loads(attrs["library_versions"]).items()),
        "- every param of the run (file attribute `params`):",
        "",
        "```json",
        json.dumps(json.loads(attrs["params"]), indent=1, sort_keys=True),
        "```",
        "",
    ]
    return "\n".join(parts)


def write_card(card: Path, text: str) -> None:
    with atomic_path(Path(card)) as tmp:
        tmp.write_text(text)


def check_card(card: Path) -> None:
    """A card whose splits section update_card_splits can replace: UTF-8 text holding both of its markers (a card
    edited by hand may have lost them)."""
    try:
        text = Path(card).read_text()
    except UnicodeDecodeError:
        raise InputError(f"dataset card '{card}' is not UTF-8 text; pass --no-card, or record again") from None
    begin = text.find(SPLITS_BEGIN)
    if begin < 0 or text.find(SPLITS_END, begin) < 0:
        raise InputError(
            f"dataset card '{card}' has no splits section between {SPLITS_BEGIN} and {SPLITS_END}; pass --no-card, "
            "or record again to rewrite the card"
        )


def update_card_splits(card: Path, index: dict | None, dataset_name: str) -> None:
    """Replace the splits section of an existing card."""
    text = Path(card).read_text()
    head, rest = text.split(SPLITS_BEGIN, 1)
    section = SPLITS_BEGIN + "\n" + split_section(index, dataset_name) + "\n" + SPLITS_END
    write_card(card, head + section + rest.split(SPLITS_END, 1)[1])
