"""The gameplay HDF5 format (version 2), declared once: its row fields, its episode columns, its file attributes and
its layout.

The writer, the reader, the loader's keys, the `Row` that playing produces, the README's format tables and the
dataset card's all come from ROW_FIELDS, EPISODE_COLUMNS and FILE_ATTRIBUTES: adding a field is one line here and
the code that fills it. The layout note below is also written into every file (attribute `layout`), for readers
without the README.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, make_dataclass

import numpy as np

FORMAT_VERSION = 2  # 2: sources (episode columns source, source_episode, checkpoint_step, exploration, attribute
# sources), agent outputs, attribute env_recipe, zstd compression
FRAME_SHAPE = (210, 160, 3)
AGENT_KINDS = ("random", "trained")
EXPLORATIONS = ("epsilon", "boltzmann")  # the random agent is epsilon-greedy at epsilon 1
NO_ACTION = -1  # the action of an episode's final row, where no step is taken
# in a field's shape: the side of the agent's observation (attribute screen_size), the number of actions, the width
# of the network's penultimate layer
SCREEN, ACTIONS, HIDDEN = "S", "A", "H"

LAYOUT_NOTE = """\
Flat, step-aligned row arrays over all episodes, plus an episode table (group `episodes`, one dataset per column).
An episode of T agent steps occupies the T + 1 consecutive rows first_row .. first_row + T:
  row t (0 <= t <= T): frames[t], observations[t], lives[t] describe the state s_t the agent saw;
  row t (0 <= t <  T): actions[t], rewards[t], terminated[t], truncated[t] describe the step s_t -> s_t+1;
  row T: the final state, with actions -1, rewards 0, terminated and truncated False.
Every transition (o_t, a_t, r_t, o_t+1) is rows t and t + 1 of one episode; row T - 1 has terminated or truncated set.
"""


@dataclass(frozen=True)
class Field:
    """One dataset of the file: a row field (N rows of `shape`) or an episode-table column (shape ())."""

    name: str
    dtype: str
    shape: tuple[int | str, ...]  # of one row; SCREEN, ACTIONS and HIDDEN stand for sizes given when writing
    meaning: str  # also the dataset's `meaning` attribute in the file
    fill: float = 0  # the value of a row that has none: padding before an episode (the loader's pad_start)

    def row_shape(self, sizes: dict[str, int]) -> tuple[int, ...]:
        return tuple(sizes[d] if isinstance(d, str) else int(d) for d in self.shape)


ROW_FIELDS: tuple[Field, ...] = (
    Field("frames", "uint8", FRAME_SHAPE, "native RGB screen, (N, 210, 160, 3)"),
    Field(
        "observations",
        "uint8",
        (SCREEN, SCREEN),
        "the agent's grayscale observation, (N, S, S), S = attribute screen_size",
    ),
    Field(
        "actions",
        "int16",
        (),
        "action taken at this row (index into attribute action_meanings); -1 on each final row",
        fill=NO_ACTION,
    ),
    Field("rewards", "float32", (), "raw (unclipped) reward of this row's step; 0 on each final row"),
    Field("terminated", "bool", (), "this row's step ended the game (game over)"),
    Field(
        "truncated",
        "bool",
        (),
        "this row's step hit the frame cap (env.max_episode_frames) or record.max_episode_steps",
    ),
    Field("lives", "uint8", (), "lives left in this row's state"),
)
# Present only in files recorded with record.agent_outputs: what the network that chose the action computed.
AGENT_OUTPUT_FIELDS: tuple[Field, ...] = (
    Field(
        "q_values",
        "float32",
        (ACTIONS,),
        "Q-value of every action in this row's state, by the network that played (record.agent_outputs only); NaN on "
        "random-agent rows and final rows",
        fill=float("nan"),
    ),
    Field(
        "exploratory",
        "bool",
        (),
        "the action taken is not the network's greedy one (argmax of q_values): an epsilon draw or a Boltzmann "
        "sample that left it (record.agent_outputs only); true on every random-agent row, false on final rows",
    ),
    Field(
        "features",
        "float16",
        (HIDDEN,),
        "the network's penultimate features in this row's state: its head's hidden layer after the ReLU, H = 512 "
        "(nature) or 256 (der) (record.agent_outputs only); NaN on random-agent rows and final rows",
        fill=float("nan"),
    ),
)
ROW_DATASETS: dict[str, Field] = {f.name: f for f in (*ROW_FIELDS, *AGENT_OUTPUT_FIELDS)}

EPISODE_COLUMNS: tuple[Field, ...] = (
    Field(
        "id",
        "int32",
        (),
        "episode id in the recording, 0 .. record.episodes - 1: the sources' episodes one source after the other, in "
        "the order of attribute sources (the k of videos and PNG folders); a shard holds a range of them",
    ),
    Field("first_row", "int64", (), "row of the episode's first state"),
    Field("length", "int32", (), "agent steps T; the episode has T + 1 rows"),
    Field("return", "float64", (), "sum of the episode's raw rewards"),
    Field("agent", "S7", (), "who played: 'random' or 'trained' (ASCII)"),
    Field(
        "seed",
        "int64",
        (),
        "environment reset seed and action-RNG seed: derive_seed(seed, 'record-episode:' + source, source_episode), "
        "so a source's episodes never depend on the other sources",
    ),
    Field("checkpoint_hash", "S64", (), "SHA-256 of the checkpoint that played (ASCII hex); empty for random episodes"),
    Field(
        "source",
        "S32",
        (),
        "who played, by name (ASCII): a record.sources name; without sources 'random' or the trained model ('best', "
        "'final', or the file name of a checkpoint given with --checkpoint)",
    ),
    Field("source_episode", "int32", (), "the episode's number among its source's episodes, 0, 1, ..."),
    Field("checkpoint_step", "int64", (), "training step of the checkpoint that played; -1 for random episodes"),
    Field(
        "exploration",
        "S9",
        (),
        "how the player explored (ASCII): 'epsilon' (epsilon-greedy; the random agent is epsilon-greedy at 1) or "
        "'boltzmann' (actions sampled from softmax(Q / temperature))",
    ),
    Field("exploration_value", "float64", (), "the epsilon, or the Boltzmann temperature"),
)
# the columns the writer works out itself; the others are given for each episode
COMPUTED_COLUMNS = ("first_row", "length", "return")

# The file's attributes (dtype: how h5py returns them; "JSON" is a string holding a JSON document).
FILE_ATTRIBUTES: tuple[Field, ...] = (
    Field("format_version", "int", (), f"this format's version ({FORMAT_VERSION}); readers refuse others"),
    Field("layout", "str", (), "the row layout note (how episodes occupy rows), as in the README"),
    Field(
        "env_recipe",
        "JSON",
        (),
        "everything needed to rebuild the exact environment and replay an episode: gymnasium id and kwargs, each "
        "wrapper with its kwargs in order, the reset actions of FIRE games, the cap on steps per episode, the "
        "gymnasium spec, library versions, and the replay procedure in words (how_to_replay)",
    ),
    Field("env_id", "str", (), "gymnasium id of the game, e.g. ALE/MsPacman-v5 (made at frameskip 1: see env_recipe)"),
    Field("game", "str", (), "env.game"),
    Field("frameskip", "int", (), "emulator frames per agent step, applied by AtariPreprocessing (see env_recipe)"),
    Field("sticky_action_prob", "float", (), "probability that the emulator repeats the previous action"),
    Field("noop_max", "int", (), "at most this many no-op frames after each reset (AtariPreprocessing)"),
    Field("max_episode_frames", "int", (), "emulator frames after which an episode is truncated"),
    Field("screen_size", "int", (), "side S of the square grayscale observations"),
    Field("mode", "int", (), "ALE game mode; -1: the game's default"),
    Field("difficulty", "int", (), "ALE difficulty; -1: the game's default"),
    Field("fps", "int", (), "frame rate of the MP4 videos (record.fps)"),
    Field("action_meanings", "str array", ("A",), "name of each action index (the game's minimal action set)"),
    Field(
        "model",
        "str",
        (),
        "which trained model record was asked for: best, final or a checkpoint's file name (the simple case's "
        "trained source; with record.sources, each names its own, see attribute sources)",
    ),
    Field(
        "sources",
        "JSON",
        (),
        "the recording's sources with episodes, in episode-id order, each with name, agent, policy (a checkpoint by "
        "its file name), checkpoint_hash, checkpoint_step, exploration, exploration_value, episodes (in the whole "
        "recording) and first_id; a shard holds the whole recording's list",
    ),
    Field("params", "JSON", (), "every param of the run that recorded it"),
    Field("package_version", "str", (), "version of this pipeline"),
    Field("library_versions", "JSON", (), "versions of the libraries whose versions change results"),
    Field("git_commit", "str", (), "commit of the code that recorded it, '-dirty' if tracked files differed"),
)

# One row as playing produces it, with one attribute per row field (row.frames is that row's screen, row.actions its
# action): generated from ROW_FIELDS, so a field added there must be given wherever a Row is built; the agent
# outputs are None unless recorded.
Row = make_dataclass(
    "Row",
    [f.name for f in ROW_FIELDS] + [(f.name, object, dataclasses.field(default=None)) for f in AGENT_OUTPUT_FIELDS],
    frozen=True,
)
Row.__doc__ = "One row of an episode: the state seen and the step taken from it (actions NO_ACTION on the final row)."


class EpisodeTable:
    """The `episodes` group as arrays, one per column of EPISODE_COLUMNS (`table["return"]`), strings decoded."""

    def __init__(self, columns: dict[str, np.ndarray]):
        self.columns = columns

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __len__(self) -> int:
        return len(self.columns["id"])


def format_tables() -> str:
    """The format as Markdown tables (row datasets, episode columns, file attributes): the README's and the card's."""
    rows = ["| dataset | dtype | shape of one row | meaning |", "|---|---|---|---|"]
    for f in (*ROW_FIELDS, *AGENT_OUTPUT_FIELDS):
        shape = "(" + ", ".join(map(str, f.shape)) + ")" if f.shape else "scalar"
        rows.append(f"| `{f.name}` | {f.dtype} | {shape} | {f.meaning} |")
    columns = ["| `episodes/` column | dtype | meaning |", "|---|---|---|"]
    columns += [f"| `{c.name}` | {c.dtype} | {c.meaning} |" for c in EPISODE_COLUMNS]
    attributes = ["| file attribute | type | meaning |", "|---|---|---|"]
    attributes += [f"| `{a.name}` | {a.dtype} | {a.meaning} |" for a in FILE_ATTRIBUTES]
    return "\n\n".join("\n".join(table) for table in (rows, columns, attributes))
