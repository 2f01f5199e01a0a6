"""MP4 videos of recorded episodes: H.264 in yuv420p, the game scaled up by an integer factor (pixel replication,
never stretched) with an information panel beside it, never over it, padded to multiples of 16 so every
encoder and browser accepts the size.

Frame n of an episode's video is row n of that episode in the HDF5 file; its panel shows that row:
the action taken at it, the reward of that step, and the return up to and including that step.
x264 runs at record.video_preset (veryfast by default), CRF 20: Atari's flat colours stay visually clean at several
times the speed of the default preset (the lossless copy of every frame is the HDF5 file).

Encoding is most of a recording's work, so it runs beside play: the player hands rows to a bounded queue and goes on;
a thread paints each video frame straight in yuv420p (the panel's still text once per episode, the changing values
and the game per frame, so ffmpeg converts no colours) and pipes it to ffmpeg, which encodes in its own process.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import cv2
import imageio_ffmpeg
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


STILL = ("agent", "episode")  # panel lines whose value is the same on every frame of an episode
QUEUED_FRAMES = 64  # rows waiting for the encoder thread: bounded memory (64 screens), play runs this far ahead
GREY, WHITE = (150, 150, 150), (255, 255, 255)
# BT.601 limited range, as ffmpeg's own rgb24 -> yuv420p conversion: rows Y, U, V; columns R, G, B, then the offset
RGB_TO_YUV = (
    np.array(
        [
            [65.481, 128.553, 24.966, 16 * 255],
            [-37.797, -74.203, 112.0, 128 * 255],
            [112.0, -93.786, -18.214, 128 * 255],
        ]
    )
    / 255
)
WHITE_Y = 235  # the Y of white: the changing values are white on black, so they touch the Y plane only


def _text_style(scale: int) -> tuple[int, float, int]:
    return cv2.FONT_HERSHEY_SIMPLEX, 0.36 * scale, max(1, scale // 2)


def _panel_places(scale: int, count: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where each panel line's label and value start (x, baseline y)."""
    x, y, places = (FRAME_SHAPE[1] + 6) * scale, 0, []
    for _ in range(count):
        places.append(((x, y + 14 * scale), (x, y + 28 * scale)))
        y += 32 * scale
    return places


def to_yuv(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB -> (H, W, 3) Y, U, V uint8 at full resolution, BT.601 limited range."""
    return cv2.transform(rgb, RGB_TO_YUV)


class FramePainter:
    """Paints an episode's video frames in yuv420p: the panel's labels and still values drawn once, per frame the
    game (converted at its own size, then replicated) and the values that change (white, on the Y plane only)."""

    def __init__(self, lines: list[tuple[str, str]], scale: int, colour: tuple[int, int, int]):
        self.scale, (self.width, self.height) = scale, video_size(scale)
        self.places = _panel_places(scale, len(lines))
        font, size, thick = _text_style(scale)
        canvas = np.zeros((self.height, self.width, 3), np.uint8)
        for (label, value), (at_label, at_value) in zip(lines, self.places):
            cv2.putText(canvas, label, at_label, font, size * 0.85, GREY, thick, cv2.LINE_AA)
            if label in STILL:
                shade = colour if label == "agent" else WHITE
                cv2.putText(canvas, value, at_value, font, size, shade, thick, cv2.LINE_AA)
        yuv, half = to_yuv(canvas), (self.width // 2, self.height // 2)
        uv = cv2.resize(yuv[..., 1:], half, interpolation=cv2.INTER_AREA)  # each the mean of 2 x 2
        self.still = np.concatenate([yuv[..., 0].ravel(), uv[..., 0].ravel(), uv[..., 1].ravel()])
        self.game = (FRAME_SHAPE[1] * scale, FRAME_SHAPE[0] * scale)  # (width, height), both even

    def paint(self, frame: np.ndarray, lines: list[tuple[str, str]]) -> np.ndarray:
        """One frame as yuv420p bytes (a flat uint8 array): the game's chroma at half its scaled size, each sample
        that of the screen pixel under it."""
        out, (w, h), (gw, gh) = self.still.copy(), (self.width, self.height), self.game
        y = out[: w * h].reshape(h, w)
        u = out[w * h : w * h * 5 // 4].reshape(h // 2, w // 2)
        v = out[w * h * 5 // 4 :].reshape(h // 2, w // 2)
        yuv = to_yuv(frame)
        y[:gh, :gw] = cv2.resize(yuv[..., 0], (gw, gh), interpolation=cv2.INTER_NEAREST)
        uv = cv2.resize(yuv, (gw // 2, gh // 2), interpolation=cv2.INTER_NEAREST)  # contiguous: faster
        u[: gh // 2, : gw // 2], v[: gh // 2, : gw // 2] = uv[..., 1], uv[..., 2]
        font, size, thick = _text_style(self.scale)
        for (label, value), (_, at_value) in zip(lines, self.places):
            if label not in STILL:
                cv2.putText(y, value, at_value, font, size, WHITE_Y, thick, cv2.LINE_AA)
        return out


class EpisodeVideo:
    """Streams one episode's rows into an MP4 file as they are played: add() queues the row (blocking only when
    QUEUED_FRAMES wait), a thread paints and pipes it to ffmpeg; an error there is raised by the next add() or by
    close()."""

    def __init__(
        self,
        path: Path,
        *,
        fps: int,
        scale: int,
        action_meanings: list[str],
        agent: str,
        episode_id: int,
        preset: str = "veryfast",
    ):
        self.path, self.meanings, self.agent, self.episode_id = Path(path), action_meanings, agent, episode_id
        self.frame_number, self.cumulative = 0, 0.0
        self.painter = FramePainter(panel_lines(agent, episode_id, 0, "-", 0.0, 0.0), scale, AGENT_COLOURS[agent])
        self.encoder = imageio_ffmpeg.write_frames(
            str(path),
            (self.painter.width, self.painter.height),
            pix_fmt_in="yuv420p",
            pix_fmt_out="yuv420p",
            fps=fps,
            codec="libx264",
            quality=None,
            macro_block_size=1,
            ffmpeg_log_level="quiet",  # a failure is reported by close(), in one line
            output_params=["-preset", preset, "-crf", "20", "-movflags", "+faststart"],
        )
        with naming(self.path):
            self.encoder.send(None)  # starts ffmpeg
        self.queue: queue.Queue = queue.Queue(QUEUED_FRAMES)
        self.error: BaseException | None = None
        self.abandoned = False
        self.thread = threading.Thread(target=self._encode, name=f"video {episode_id}", daemon=True)
        self.thread.start()

    def add(self, row: Row) -> None:
        self._raise_error()
        self.cumulative += row.rewards
        action = "-" if row.actions == NO_ACTION else self.meanings[row.actions]
        lines = panel_lines(self.agent, self.episode_id, self.frame_number, action, row.rewards, self.cumulative)
        self.queue.put((row.frames, lines))
        self.frame_number += 1

    def _encode(self) -> None:
        """The thread: paint and pipe every queued row until the end (None); after an error, only drain the queue
        so that add() never waits on a thread that stopped."""
        while (item := self.queue.get()) is not None:
            if self.error is None and not self.abandoned:
                try:
                    self.encoder.send(self.painter.paint(*item))
                except OSError:  # imageio's message is ffmpeg's whole command line
                    self.error = EnvironmentFault(
                        f"'{real_name(self.path)}': ffmpeg stopped taking frames (is the disk full, the folder gone?)"
                    )
                except BaseException as err:  # handed to the player's thread
                    self.error = err
        try:
            self.encoder.close()
        except BaseException as err:
            self.error = self.error or err

    def _raise_error(self) -> None:
        if self.error is not None:
            with naming(self.path):
                raise self.error

    def _finish(self) -> None:
        self.queue.put(None)
        self.thread.join()

    def close(self) -> None:
        """Finish the file; ffmpeg's exit status never reaches us, so the file itself is checked for its index."""
        self._finish()
        self._raise_error()
        if not mp4_complete(self.path):
            raise EnvironmentFault(f"'{real_name(self.path)}': ffmpeg could not finish the video (is the disk full?)")

    def __enter__(self) -> EpisodeVideo:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()
        else:  # the error on its way out says what went wrong; the frames still queued are dropped
            self.abandoned = True
            self._finish()


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
