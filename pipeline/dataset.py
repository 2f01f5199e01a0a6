"""The public API for downstream users of a recorded dataset: `from pipeline.dataset import GameplayDataset`.

Importing it needs numpy, h5py and torch only (no emulator); see pipeline.data for the format and the loader.
"""

from pipeline.data.loader import KEYS, GameplayDataset
from pipeline.data.reader import action_meanings, open_gameplay, read_episodes
from pipeline.data.schema import EPISODE_COLUMNS, FORMAT_VERSION, LAYOUT_NOTE, ROW_FIELDS
from pipeline.data.splits import load_split_ids

__all__ = [
    "GameplayDataset",
    "KEYS",
    "open_gameplay",
    "read_episodes",
    "action_meanings",
    "load_split_ids",
    "ROW_FIELDS",
    "EPISODE_COLUMNS",
    "FORMAT_VERSION",
    "LAYOUT_NOTE",
]
