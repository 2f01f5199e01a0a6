"""ALE game modes and difficulties as params: they reach the emulator, and unsupported values list the allowed ones."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.config.params import EnvParams
from pipeline.envs.atari import make_env
from pipeline.record.run import file_attributes
from stages.cli import app
from tests.helpers import tiny_params, write_params


def first_frame(**settings) -> np.ndarray:
    env = make_env(EnvParams(noop_max=0, sticky_action_prob=0.0, **settings))
    frame, _ = env.reset(seed=0)
    env.close()
    return frame


def test_breakout_mode_12_hides_the_bricks():
    """Breakout's game variation 4 (ALE mode 12) has invisible bricks: the brick band of the screen goes black."""
    band = np.s_[22:38, 5:79]  # the six rows of bricks, inside the walls, on the 84x84 observation
    assert (first_frame(game="Breakout")[band] > 0).mean() > 0.9
    assert (first_frame(game="Breakout", mode=0)[band] > 0).mean() > 0.9
    assert (first_frame(game="Breakout", mode=12)[band] > 0).mean() == 0.0


def test_pong_difficulty_3_shortens_the_players_paddle():
    """Difficulty A (ALE 2 and 3 in Pong) halves the right paddle, the one the agent moves."""

    def paddle_pixels(frame: np.ndarray) -> int:
        background = np.bincount(frame[30:70].ravel()).argmax()
        return int((frame[25:80, 72:77] != background).sum())

    default, hard = paddle_pixels(first_frame(game="Pong")), paddle_pixels(first_frame(game="Pong", difficulty=3))
    assert default > 0 and hard < 0.75 * default


def test_recorded_datasets_name_their_mode_and_difficulty():
    attrs = file_attributes(
        tiny_params(env={"mode": 12, "difficulty": 1}), ["NOOP", "FIRE", "RIGHT", "LEFT"], "best", []
    )
    assert attrs["mode"] == 12 and attrs["difficulty"] == 1


@pytest.mark.parametrize(
    "flags, says",
    [
        (["--mode", "5"], "env.mode = 5: Breakout supports modes 0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44"),
        (["--difficulty", "3"], "env.difficulty = 3: Breakout supports difficulties 0, 1"),
        (["--game", "MsPacman", "--difficulty", "1"], "env.difficulty = 1: MsPacman supports difficulties 0"),
        (["--mode", "-2"], "env.mode = -2: must be an integer >= -1"),
    ],
)
def test_unsupported_settings_exit_2_with_the_allowed_values_and_write_nothing(tmp_path, flags, says):
    params = write_params(tmp_path / "params.yaml", tiny_params())
    out = tmp_path / "models"
    result = CliRunner().invoke(app, ["train", "--params", str(params), "--out-dir", str(out), *flags])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and says in result.stderr
    assert not out.exists()
