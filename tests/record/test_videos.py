"""The videos beside play: record.videos off writes no MP4 and the same dataset bytes, the encoder thread's failures
reach the player as an error (never a hang), and the painted frames show the game and the panel."""

from __future__ import annotations

import threading
import time

import imageio.v2 as imageio
import numpy as np
import pytest

from pipeline.config.errors import EnvironmentFault
from pipeline.core.hashing import file_hash
from pipeline.data.schema import FRAME_SHAPE, Row
from pipeline.record.run import record
from pipeline.record.video import QUEUED_FRAMES, EpisodeVideo, FramePainter, panel_lines, video_size
from tests.helpers import tiny_params

MEANINGS = ["NOOP", "FIRE"]


def rows(n: int, seed: int = 0) -> list[Row]:
    """Screens of flat colour blocks, as Atari draws them."""
    rng = np.random.default_rng(seed)
    out = []
    for t in range(n):
        blocks = rng.integers(0, 256, (FRAME_SHAPE[0] // 10, FRAME_SHAPE[1] // 10, 3), dtype=np.uint8)
        screen = blocks.repeat(10, 0).repeat(10, 1)
        out.append(Row(screen, np.zeros((84, 84), np.uint8), t % 2, 1.0, False, False, 3))
    return out


def test_no_videos_writes_no_mp4_and_the_same_dataset_bytes(tmp_path, tiny_checkpoint):
    settings = {"episodes": 2, "percent_random": 50, "max_episode_steps": 20}
    with_videos = record(tiny_params(record=settings), tiny_checkpoint, tmp_path / "a")
    stale = tmp_path / "b" / "videos"
    stale.mkdir(parents=True)
    (stale / "random_agent_0.mp4").write_bytes(b"an earlier recording's video")
    without = record(tiny_params(record={**settings, "videos": False}), tiny_checkpoint, tmp_path / "b")
    assert len(list(with_videos.videos.glob("*.mp4"))) == 2
    assert not without.videos.exists()  # a stale video would contradict the new dataset
    assert file_hash(with_videos.dataset) == file_hash(without.dataset)
    assert "videos/" in with_videos.card.read_text() and "videos/" not in without.card.read_text()


def test_a_video_decodes_to_the_screens_and_a_panel_that_changes(tmp_path):
    played = rows(12)
    path = tmp_path / "v.mp4"
    with EpisodeVideo(path, fps=30, scale=2, action_meanings=MEANINGS, agent="random", episode_id=7) as video:
        for row in played:
            video.add(row)
    with imageio.get_reader(path, format="FFMPEG") as reader:
        shown = [frame for frame in reader]
    assert len(shown) == len(played) and shown[0].shape == (video_size(2)[1], video_size(2)[0], 3)
    for frame, row in zip(shown, played):
        game = frame[: FRAME_SHAPE[0] * 2, : FRAME_SHAPE[1] * 2].astype(int)
        assert np.abs(game - row.frames.repeat(2, 0).repeat(2, 1)).mean() < 8  # lossy H.264, the same picture
    panel = [frame[:, FRAME_SHAPE[1] * 2 :].astype(int) for frame in shown]
    assert np.abs(panel[0] - panel[1]).mean() > 0.1  # frame number and return change


def test_the_painter_shows_still_values_once_and_changing_ones_per_frame():
    painter = FramePainter(panel_lines("trained", 3, 0, "-", 0.0, 0.0), 1, (90, 220, 120))
    screen = rows(1)[0].frames
    first = painter.paint(screen, panel_lines("trained", 3, 0, "NOOP", 0.0, 0.0))
    again = painter.paint(screen, panel_lines("trained", 3, 0, "NOOP", 0.0, 0.0))
    later = painter.paint(screen, panel_lines("trained", 3, 9, "FIRE", 1.0, 5.0))
    width, height = video_size(1)
    assert first.shape == (width * height * 3 // 2,) and np.array_equal(first, again)
    assert not np.array_equal(first, later)
    assert np.array_equal(
        first[: width * height].reshape(height, width)[:, : FRAME_SHAPE[1]],
        later[: width * height].reshape(height, width)[:, : FRAME_SHAPE[1]],
    )


def test_an_encoder_failure_reaches_the_player_as_an_error_not_a_hang(tmp_path):
    """ffmpeg cannot create a video in a folder that does not exist: it exits, the thread's pipe breaks, and add()
    or close() raises, however many rows the player keeps handing on."""
    path = tmp_path / "gone" / "v.mp4"
    outcome: list[BaseException] = []

    def play():
        try:
            with EpisodeVideo(path, fps=30, scale=1, action_meanings=MEANINGS, agent="random", episode_id=0) as v:
                for row in rows(QUEUED_FRAMES * 4):
                    v.add(row)
        except BaseException as err:  # what the player sees
            outcome.append(err)

    player = threading.Thread(target=play, daemon=True)
    start = time.monotonic()
    player.start()
    player.join(timeout=60)
    assert not player.is_alive(), "the player hangs on a failed encoder"
    assert time.monotonic() - start < 60
    assert len(outcome) == 1 and isinstance(outcome[0], EnvironmentFault)
    assert str(outcome[0]).startswith(f"'{path}': ffmpeg stopped") and "\n" not in str(outcome[0])


def test_an_error_in_play_stops_the_encoder_and_is_the_one_raised(tmp_path):
    path = tmp_path / "v.mp4"
    with pytest.raises(KeyError, match="the player's own"):
        with EpisodeVideo(path, fps=30, scale=1, action_meanings=MEANINGS, agent="random", episode_id=0) as video:
            for row in rows(5):
                video.add(row)
            raise KeyError("the player's own")
    assert not video.thread.is_alive()
