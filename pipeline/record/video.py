"""MP4 videos of recorded episodes: H.264 in yuv420p, the game scaled up by an integer factor (pixel replication,
never stretched) with an information panel beside it, never over it, padded to multiples of 16 so every
encoder and browser accepts the size.

Frame n of an episode's video is row n of that episode in the HDF5 file; its panel shows that row:
the action taken at it, the reward of that step, and the return up to and including that step.
x264 runs at preset veryfast, CRF 20: Atari's flat colours stay visually clean at several times the speed of the
default preset (the lossless copy of every frame is the HDF5 file).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import imageio.v2 as imageio
import numpy as np

from pipeline.config.errors import EnvironmentFault
from pipeline.core.atomic import naming, real_name
from pipeline.data.schema import FRAME_SHAPE, NO_ACTION, Row

PANEL_WIDTH = 112  # panel width at scale 1; 160 + 112 = 272 = 17 * 16
BLOCK = 16
AGENT_COLOURS = {"random": (255, 170, 60), "trained": (90, 220, 120)}  # RGB


def _round_up(n: int, multiple: int = BLOCK) -> int:
    return -(-n // multiple) * multiple


def video_size(scale: int) -> tuple[int, int]:
    """(width, height) of the video frames at an integer scale."""
    return _round_up((FRAME_SHAPE[1] + PANEL_WIDTH) * scale), _round_up(FRAME_SHAPE[0] * scale)


def panel_lines(
    agent: str, episode_id: int, frame_number: int, action: str, reward: float, cumulative: float
) -> list[tuple[str, str]]:
    """(label, value) pairs shown on one frame."""
    return [
        ("agent", agent),
        ("episode", str(episode_id)),
        ("frame", str(frame_number)),
        ("action", action),
        ("step reward", f"{reward:+g}"),
        ("return", f"{cumulative:g}"),
    ]


def compose(frame: np.ndarray, lines: list[tuple[str, str]], scale: int, colour: tuple[int, int, int]) -> np.ndarray:
    """The scaled game at the top left, the panel to its right, black padding to the video size."""
    width, height = video_size(scale)
    canvas = np.zeros((height, width, 3), np.uint8)
    game = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)  # exact pixel replication
    canvas[: game.shape[0], : game.shape[1]] = game
    x = game.shape[1] + 6 * scale
    font, size, thick = cv2.FONT_HERSHEY_SIMPLEX, 0.36 * scale, max(1, scale // 2)
    y = 0
    for label, value in lines:
        y += 14 * scale
        cv2.putText(canvas, label, (x, y), font, size * 0.85, (150, 150, 150), thick, cv2.LINE_AA)
        y += 14 * scale
        cv2.putText(
            canvas, value, (x, y), font, size, colour if label == "agent" else (255, 255, 255), thick, cv2.LINE_AA
        )
        y += 4 * scale
    return canvas


class EpisodeVideo:
    """Streams one episode's rows into an MP4 file as they are played."""

    def __init__(self, path: Path, *, fps: int, scale: int, action_meanings: list[str], agent: str, episode_id: int):
        self.writer = imageio.get_writer(
            path,
            format="FFMPEG",
            mode="I",
            fps=fps,
            codec="libx264",
            quality=None,
            pixelformat="yuv420p",
            macro_block_size=1,
            ffmpeg_log_level="quiet",  # a failure is reported by close(), in one line
            output_params=["-preset", "veryfast", "-crf", "20", "-movflags", "+faststart"],
        )
        self.path, self.scale, self.meanings, self.agent = Path(path), scale, action_meanings, agent
        self.episode_id = episode_id
        self.frame_number, self.cumulative = 0, 0.0

    def add(self, row: Row) -> None:
        self.cumulative += row.rewards
        action = "-" if row.actions == NO_ACTION else self.meanings[row.actions]
        lines = panel_lines(self.agent, self.episode_id, self.frame_number, action, row.rewards, self.cumulative)
        with naming(self.path):
            self.writer.append_data(compose(row.frames, lines, self.scale, AGENT_COLOURS[self.agent]))
        self.frame_number += 1

    def close(self) -> None:
        """Finish the file; ffmpeg's exit status never reaches us, so the file itself is checked for its index."""
        with naming(self.path):
            self.writer.close()
        if not mp4_complete(self.path):
            raise EnvironmentFault(f"'{real_name(self.path)}': ffmpeg could not finish the video (is the disk full?)")

    def __enter__(self) -> EpisodeVideo:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()
        else:  # the error on its way out says what went wrong
            self.writer.close()


def mp4_complete(path: Path) -> bool:
    """Whether an MP4's top-level boxes span the whole file and include the index (moov), which ffmpeg writes last:
    a video whose writing failed, as on a full disk, has none or ends inside a box."""
    size, offset, kinds = path.stat().st_size, 0, set()
    with open(path, "rb") as f:
        while offset < size:
            f.seek(offset)
            header = f.read(8)
            box = int.from_bytes(header[:4], "big") if len(header) == 8 else 0
            if box == 1:  # a 64-bit size follows the type
                box = int.from_bytes(f.read(8), "big")
            if box < 8:
                return False
            kinds.add(header[4:])
            offset += box
    return offset == size and b"moov" in kinds
