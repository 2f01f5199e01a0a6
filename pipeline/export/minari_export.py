"""`pipeline export minari`: a gameplay file as a Minari dataset, the format offline-RL users load, losslessly.

Each episode becomes a Minari episode: observations (T + 1: the agent's S x S grayscale views by default, the
210x160 RGB screens with `rgb`), actions, raw rewards, terminations and truncations (T each), infos["lives"] (T + 1),
and its reset seed. Minari's defaults are lossy (JPEG) for images; this export stores them raw (jpeg_encoding=False),
so every pixel round-trips, at Minari's uncompressed size, which is printed before anything is written. The env spec
is the recorded env's own (FireOnReset records its arguments), so recover_environment() rebuilds it for every game
and replays an episode from its seed and actions. Per-episode metadata holds who played (agent, source, checkpoint
hash and step), the seed and the return; the dataset's description its provenance.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import gymnasium as gym
import h5py
import numpy as np

import pipeline
from pipeline.config.errors import EnvironmentFault, InputError
from pipeline.core.hashing import file_hash
from pipeline.data.reader import open_gameplay, read_env_recipe, read_episodes
from pipeline.data.schema import FRAME_SHAPE, EpisodeTable
from pipeline.envs.recipe import build_env

DISTRIBUTION = "atari-gameplay-pipeline"  # this package's name on pip, for Minari's requirements
INSTALL_HINT = "pip install '.[minari]' (minari>=0.5.4, Python 3.11+)"


def _minari():
    try:
        import minari
    except ImportError:
        raise InputError(f"`pipeline export minari` needs the minari package: {INSTALL_HINT}") from None
    return minari


@dataclass(frozen=True)
class ExportPlan:
    """What an export will write, known before anything is: where, how much, of which observations."""

    dataset_id: str
    folder: Path  # the Minari dataset's folder under MINARI_DATASETS_PATH
    episodes: int
    steps: int
    observation_shape: tuple[int, ...]
    estimated_bytes: int


def check_dataset_id(dataset_id: str) -> None:
    """Minari's id syntax, (namespace/)name-v<version>, version included (Minari's parser fails without it)."""
    from minari.dataset.minari_dataset import DATASET_ID_RE

    match = DATASET_ID_RE.fullmatch(dataset_id)
    if not match or match.group("version") is None:
        raise InputError(
            f"--id {dataset_id!r}: must be (namespace/)name-v<version>, e.g. atari/breakout/mixed-v0 "
            "(letters, digits, - and _; namespaces of two characters or more, separated by /)"
        )


def plan_export(path: Path, dataset_id: str, rgb: bool) -> ExportPlan:
    """Check the id and the room on disk and estimate the size, or raise an InputError before anything is written."""
    _minari()
    from minari.storage.datasets_root_dir import get_dataset_path

    check_dataset_id(dataset_id)
    folder = Path(get_dataset_path(dataset_id))
    if folder.exists():
        raise InputError(
            f"Minari dataset {dataset_id!r} already exists in {folder}; choose another --id (or bump its -v version), "
            f"or delete it with `minari delete {dataset_id}`"
        )
    with open_gameplay(path) as f:
        table, screen = read_episodes(f), int(f.attrs["screen_size"])
    shape = FRAME_SHAPE if rgb else (screen, screen)
    rows, steps = int((table["length"] + 1).sum()), int(table["length"].sum())
    estimate = rows * (int(np.prod(shape)) + 1) + steps * (8 + 8 + 2)  # observations and lives; actions, rewards, flags
    free = shutil.disk_usage(folder.parent if folder.parent.exists() else get_dataset_path()).free
    if estimate > free:  # the machine's, not the input's: exit 1
        raise EnvironmentFault(
            f"the Minari dataset needs about {estimate / 2**20:,.0f} MiB and {folder.parent} has "
            f"{free / 2**20:,.0f} MiB free; set MINARI_DATASETS_PATH to a larger disk"
        )
    return ExportPlan(dataset_id, folder, len(table), steps, shape, estimate)


def _episode_buffers(f: h5py.File, table: EpisodeTable, rgb: bool) -> Iterator[Any]:
    """One Minari EpisodeBuffer per episode, read one episode at a time (memory: one episode's observations)."""
    from minari.data_collector import EpisodeBuffer

    for i in range(len(table)):
        first, length = int(table["first_row"][i]), int(table["length"][i])
        rows = slice(first, first + length + 1)
        yield EpisodeBuffer(
            seed=int(table["seed"][i]),
            observations=f["frames" if rgb else "observations"][rows],
            actions=f["actions"][first : first + length].astype(np.int64),
            rewards=f["rewards"][first : first + length].astype(np.float64),
            terminations=f["terminated"][first : first + length],
            truncations=f["truncated"][first : first + length],
            infos={"lives": f["lives"][rows]},
        )


def episode_metadata(table: EpisodeTable) -> list[dict[str, Any]]:
    """Who played each episode and how well, for Minari's per-episode metadata."""
    return [
        {
            "gameplay_episode_id": int(table["id"][i]),
            "agent": str(table["agent"][i]),
            "source": str(table["source"][i]),
            "seed": int(table["seed"][i]),
            "checkpoint_hash": str(table["checkpoint_hash"][i]),
            "checkpoint_step": int(table["checkpoint_step"][i]),
            "return": float(table["return"][i]),
        }
        for i in range(len(table))
    ]


def description(path: Path, attrs: dict, table: EpisodeTable, rgb: bool) -> str:
    """The Minari description: what the dataset is and where it came from, for readers without the gameplay file."""
    sources = ", ".join(f"{int((table['source'] == s).sum())} {s}" for s in dict.fromkeys(table["source"]))
    screen = int(attrs["screen_size"])
    observations = "210x160 RGB screens" if rgb else f"the agent's {screen}x{screen} grayscale observations"
    return (
        f"Atari gameplay of {attrs['env_id']} recorded by atari-gameplay-pipeline {attrs['package_version']} "
        f"(git commit {attrs['git_commit']}) and exported losslessly from {path.name} (gameplay format "
        f"{attrs['format_version']}, SHA-256 {file_hash(path)}). {len(table)} episodes by source: {sources}. "
        f"Observations: {observations}; actions index action_meanings {list(attrs['action_meanings'])}; rewards "
        "raw (unclipped); infos['lives']. Episode metadata: gameplay_episode_id, agent, source, seed, "
        "checkpoint_hash, checkpoint_step, return. recover_environment() rebuilds the exact environment; "
        "reset(seed=episode seed) and the episode's actions replay it. "
        f"Environment recipe: {attrs['env_recipe']}. Params: {attrs['params']}"
    )


def requirements(recipe: dict) -> list[str]:
    """pip requirements to recover the env: the emulator and gymnasium as recorded, and this package where the env
    uses its FireOnReset."""
    needed = [f"{name}=={v}" for name, v in recipe["versions"].items()]
    if any(w["entry_point"].startswith("pipeline.") for w in recipe["wrappers"]):
        needed.append(f"{DISTRIBUTION}=={pipeline.__version__}")
    return needed


def export_minari(
    path: Path,
    plan: ExportPlan,
    rgb: bool = False,
    author: str | None = None,
    author_email: str | None = None,
    code_permalink: str | None = None,
    on_episode: Callable[[], None] = lambda: None,
) -> Any:
    """Write the Minari dataset `plan` describes from the gameplay file at `path`; returns the MinariDataset. A failure
    part-way removes what was written, so an id is either a complete export or free."""
    minari = _minari()
    path = Path(path)
    with open_gameplay(path) as f:
        table, recipe, attrs = read_episodes(f), read_env_recipe(f), dict(f.attrs)
        env = build_env(recipe)
        space = gym.spaces.Box(0, 255, FRAME_SHAPE, np.uint8) if rgb else env.observation_space

        def buffers() -> Iterator[Any]:
            for buffer in _episode_buffers(f, table, rgb):
                yield buffer
                on_episode()

        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r"`\w+` is set to None", category=UserWarning)
                dataset = minari.create_dataset_from_buffers(
                    dataset_id=plan.dataset_id,
                    buffer=buffers(),
                    env=env,
                    eval_env=env.spec,
                    algorithm_name="uniform random agent and Double DQN (atari-gameplay-pipeline)",
                    author=author,
                    author_email=author_email,
                    code_permalink=code_permalink,
                    observation_space=space,
                    action_space=env.action_space,
                    description=description(path, attrs, table, rgb),
                    requirements=requirements(recipe),
                    jpeg_encoding=False,
                )
            dataset.storage.update_episode_metadata(episode_metadata(table))
        except BaseException:
            shutil.rmtree(plan.folder, ignore_errors=True)
            raise
        finally:
            env.close()
    return dataset
