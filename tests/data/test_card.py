"""The dataset card record writes beside the file: its facts come from the file, its code runs as printed, and
`pipeline split` fills in its splits section."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import h5py
from typer.testing import CliRunner

from pipeline.core.hashing import file_hash
from pipeline.data.card import SPLITS_BEGIN, SPLITS_END
from pipeline.data.reader import read_episodes
from pipeline.data.schema import FORMAT_VERSION
from stages.cli import app
from tests.helpers import ROOT, tiny_params, write_params


def section(card: str, title: str) -> str:
    return card.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_card_states_what_is_in_the_file(random_recording):
    folder = random_recording("Breakout")
    card = (folder / "DATASET.md").read_text()
    with h5py.File(folder / "gameplay.h5") as f:
        table, rows = read_episodes(f), len(f["actions"])
    assert card.startswith("# Atari gameplay dataset: Breakout\n")
    head = card.split("\n## ", 1)[0]
    assert f"{len(table)} episodes of `ALE/Breakout-v5`, {table['length'].sum():,} agent steps, {rows:,} rows" in head
    assert f"gameplay format {FORMAT_VERSION}" in head and file_hash(folder / "gameplay.h5") in head
    assert "(gzip level 1)" in head
    r = table["return"]
    line = (
        f"| random | random | epsilon 1 | {len(table)} | {table['length'].sum():,} | {r.mean():,.1f} | {r.std():,.1f} |"
    )
    assert line in section(card, "Who played")
    environment = section(card, "Environment")
    assert "after every reset it presses 1 (FIRE) then 2 (RIGHT) (FireOnReset)" in environment
    assert "4 emulator frames per agent step" in environment and "sticky actions 0.25" in environment
    assert "0 NOOP, 1 FIRE, 2 RIGHT, 3 LEFT" in environment and "15 agent steps (rows) per second" in environment
    assert "No split index for this file yet" in section(card, "Splits")
    assert "`videos/`: one MP4 per episode" in section(card, "Files")


def test_a_game_without_fire_says_so(random_recording):
    environment = section((random_recording("MsPacman") / "DATASET.md").read_text(), "Environment")
    assert "no actions are pressed at reset" in environment and "at most 120 agent steps per episode" in environment


def test_the_code_in_the_card_runs_as_printed_beside_the_file(random_recording):
    """A user copies the card's snippets into a Python session next to the dataset: loading and replaying work."""
    folder = random_recording("Pong")
    blocks = re.findall(r"```python\n(.*?)```", (folder / "DATASET.md").read_text(), re.S)
    assert len(blocks) == 3  # the loader, plain h5py, the replay
    code = (
        "import sys; sys.path.insert(0, %r)\n" % str(ROOT) + "\n".join(blocks) + "\nprint(batch['observations'].shape)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "torch.Size([32, 2, 84, 84])"


def test_split_fills_in_the_splits_section_and_a_rerecording_keeps_it(random_recording, tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(random_recording("Breakout"), folder)
    before = (folder / "DATASET.md").read_text()
    params = write_params(tmp_path / "params.yaml", tiny_params(split={"val_fraction": 0.5}))
    result = CliRunner().invoke(
        app,
        [
            "split",
            "--params",
            str(params),
            "--dataset",
            str(folder / "gameplay.h5"),
            "--out",
            str(folder / "splits.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    after = (folder / "DATASET.md").read_text()
    assert before.split(SPLITS_BEGIN)[0] == after.split(SPLITS_BEGIN)[0]
    assert before.split(SPLITS_END)[1] == after.split(SPLITS_END)[1]
    splits = section(after, "Splits")
    assert "From `splits.json` (seed 0, val_fraction 0.5)" in splits
    assert "| train | 1 | 1 random |" in splits and "| val | 1 | 1 random |" in splits

    # the same params record the same bytes, so the split index stays valid and the new card shows it
    from pipeline.record.run import record
    from tests.conftest import RECORDING_CAPS

    rerecord = tiny_params(
        env={"game": "Breakout"},
        record={"episodes": 2, "percent_random": 100, "max_episode_steps": RECORDING_CAPS["Breakout"]},
    )
    record(rerecord, tmp_path / "none.pt", folder)
    assert section((folder / "DATASET.md").read_text(), "Splits") == splits
