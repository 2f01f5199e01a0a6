"""Typed, validated run parameters.

params.yaml is read into these dataclasses once, at the edge (the stage commands); the library
takes the typed values. Each field carries its help text and allowed range in its metadata, so
validation, the CLI flags and the README's params table all come from one declaration.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import operator
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import yaml

from pipeline.config.errors import InputError
from pipeline.config.sources import (
    SIMPLE_CASE_KEYS,
    SourceParams,
    check_snapshot_steps,
    check_sources,
    snapshot_schedule,
)
from pipeline.config.spec import REQUIRED, spec


@dataclass(frozen=True)
class EnvParams:
    game: str = spec("MsPacman", "ALE game name, as in ALE/<game>-v5 (e.g. MsPacman, Breakout, Pong)")
    frame_stack: int = spec(8, "frames stacked into one agent observation", choices=(4, 8))
    frameskip: int = spec(4, "emulator frames per agent step (max-pooled over the last two)", ge=1, le=8)
    noop_max: int = spec(
        30,
        "at most this many no-op emulator frames at the start of each episode (random count, as OpenAI baselines does)",
        ge=0,
    )
    sticky_action_prob: float = spec(0.25, "probability that the emulator repeats the previous action", ge=0.0, le=1.0)
    terminal_on_life_loss: bool = spec(
        False, "treat a lost life as terminal for learning (episodes still run to game over)"
    )
    max_episode_frames: int = spec(
        108_000, "emulator frames after which an episode is truncated (30 minutes at 60 Hz)", gt=0
    )
    screen_size: int = spec(84, "side of the square grayscale observation", ge=32, le=160)
    mode: int = spec(-1, "ALE game mode (-1: the game's default); allowed values depend on the game", ge=-1)
    difficulty: int = spec(-1, "ALE difficulty (-1: the game's default); allowed values depend on the game", ge=-1)
    num_envs: int = spec(
        1,
        "games played at once: training steps this many environments in subprocesses and acts for all "
        "with one batched forward pass; evaluate and record play this many episodes at once in worker "
        "processes (their results do not depend on it)",
        ge=1,
        le=256,
    )


@dataclass(frozen=True)
class TrainParams:
    steps: int = spec(10_000_000, "agent steps to train for", gt=0)
    replay: str = spec("per", "replay sampling: prioritized (sum tree) or uniform", choices=("per", "uniform"))
    capacity: int = spec(1_000_000, "replay buffer size in transitions", gt=0)
    batch_size: int = spec(32, "transitions per gradient step", gt=0)
    learning_starts: int = spec(50_000, "agent steps before the first gradient step", gt=0)
    train_frequency: int = spec(4, "agent steps between gradient steps", gt=0)
    target_update_interval: int = spec(8_000, "agent steps between target-network syncs", gt=0)
    gamma: float = spec(0.99, "discount factor", gt=0.0, le=1.0)
    lr: float = spec(6.25e-5, "Adam learning rate", gt=0.0, lt=1.0)
    adam_eps: float = spec(1.5e-4, "Adam epsilon", gt=0.0)
    max_grad_norm: float = spec(1.0, "gradient-norm clipping threshold", gt=0.0)
    clip_rewards: bool = spec(True, "learn from sign(reward); logs and datasets keep raw rewards")
    epsilon_start: float = spec(1.0, "initial exploration rate", ge=0.0, le=1.0)
    epsilon_end: float = spec(0.1, "final exploration rate", ge=0.0, le=1.0)
    epsilon_decay: str = spec("exponential", "shape of the epsilon schedule", choices=("linear", "exponential"))
    epsilon_decay_steps: int = spec(1_000_000, "agent steps over which epsilon goes from start to end", gt=0)
    exploration: str = spec(
        "epsilon",
        "how the acting agent explores: epsilon-greedy, Boltzmann (softmax of Q / temperature) "
        "or RND (an exploration agent driven by a novelty bonus)",
        choices=("epsilon", "boltzmann", "rnd"),
    )
    temperature_start: float = spec(1.0, "Boltzmann temperature at the first episode", gt=0.0)
    temperature_end: float = spec(0.05, "Boltzmann temperature floor", gt=0.0)
    temperature_decay: float = spec(0.995, "Boltzmann temperature factor per episode", gt=0.0, le=1.0)
    rnd_alpha_start: float = spec(
        0.5, "RND: weight of the intrinsic reward for the exploration agent at the start", ge=0.0, le=1.0
    )
    rnd_alpha_end: float = spec(0.0, "RND: weight of the intrinsic reward at the end of its decay", ge=0.0, le=1.0)
    rnd_alpha_decay_steps: int = spec(
        1_000_000, "RND: agent steps over which the weight decays linearly from start to end", gt=0
    )
    rnd_lr: float = spec(1e-4, "RND: Adam learning rate of the predictor network", gt=0.0, lt=1.0)
    living_penalty: float = spec(
        0.0, "subtracted from every step's learning reward (after clipping); 0 turns it off", ge=0.0
    )
    life_loss_penalty: float = spec(
        0.0, "subtracted from the learning reward of a step that loses a life; 0 turns it off", ge=0.0
    )
    dueling: bool = spec(False, "dueling head: Q = V + A - mean(A)")
    network: str = spec(
        "nature",
        "Q-network torso: nature (Mnih et al. 2015: 3 convolutions, 512 hidden units) or der (Data-Efficient Rainbow, "
        "van Hasselt et al. 2019: two 5x5 convolutions at stride 5, 256 hidden units, about 5x fewer multiply-adds)",
        choices=("nature", "der"),
    )
    compile: bool = spec(
        False, "torch.compile the networks (falls back to eager with a warning where it cannot compile)"
    )
    split_update: bool = spec(
        False,
        "take each gradient step as two half-batches on two threads, each running torch on one, their gradients "
        "added in a fixed order: the same results on any machine and under any load (but not bit for bit those of "
        "false); an update alone runs 1.6x faster on an idle 2-core CPU, a training loop about 1.07x (see the "
        "README's Performance)",
    )
    gradient_steps: int = spec(1, "gradient steps each time training happens (every train_frequency agent steps)", gt=0)
    prefill_steps: int = spec(
        0, "agent steps at the start played by a uniformly random policy to fill the buffer", ge=0
    )
    n_step: int = spec(1, "steps of reward summed before bootstrapping (n-step returns)", ge=1, le=20)
    alpha: float = spec(0.6, "PER priority exponent: priority = (|TD error| + priority_eps)^alpha", ge=0.0, le=1.0)
    beta0: float = spec(0.4, "PER importance-weight exponent at the start, annealed to 1 over training", ge=0.0, le=1.0)
    priority_eps: float = spec(1e-6, "PER constant added to |TD error| so no transition has zero priority", gt=0.0)
    device: str = spec(
        "auto", "torch device: auto picks cuda, then mps, then cpu", choices=("auto", "cpu", "cuda", "mps")
    )
    checkpoint_interval: int = spec(100_000, "agent steps between periodic checkpoints", gt=0)
    keep_checkpoints: int = spec(3, "periodic checkpoints kept on disk (the newest ones)", gt=0)
    log_interval: int = spec(1_000, "agent steps between logged training metrics", gt=0)
    eval_interval: int = spec(
        250_000,
        "agent steps between evaluations of the current network during training (train.eval_episodes episodes at "
        "evaluate.epsilon); the best evaluated network is kept as best.pt, and the final one is always evaluated",
        gt=0,
    )
    eval_episodes: int = spec(
        10,
        "episodes per evaluation during training, on seeds of their own (the same at every evaluation, and apart "
        "from those of `pipeline evaluate`)",
        gt=0,
    )
    snapshot_steps: int | tuple[int, ...] = spec(
        (),
        "training steps at which the acting network is kept as models/snapshots/step_<N>.pt, for record.sources to "
        "play (policy: snapshot): a list of steps (increasing, each <= train.steps), or a count n for n snapshots "
        "spread evenly, at round(train.steps * i / n) for i = 1 .. n",
        gt=0,
    )


@dataclass(frozen=True)
class EvaluateParams:
    model: str = spec(
        "best",
        "which trained model to evaluate: best (the best evaluation during training, models/best.pt) or final "
        "(the last step's, models/dqn.pt); --checkpoint names any other file",
        choices=("best", "final"),
    )
    episodes: int = spec(30, "episodes played by each agent (trained and random)", gt=0)
    epsilon: float = spec(
        0.05,
        "exploration rate of the trained agent during evaluation (0.05 or 0.001 in the literature)",
        ge=0.0,
        le=1.0,
    )


@dataclass(frozen=True)
class RecordParams:
    model: str = spec(
        "best",
        "which trained model to record with: best (the best evaluation during training, models/best.pt) or final "
        "(the last step's, models/dqn.pt); --checkpoint names any other file",
        choices=("best", "final"),
    )
    episodes: int = spec(20, "episodes to record (all shards of a recording together)", gt=0)
    percent_random: float = spec(
        30.0,
        "without record.sources: share of episodes played by the uniformly random agent, in percent (the rest by "
        "record.model)",
        ge=0.0,
        le=100.0,
    )
    epsilon: float = spec(
        0.01,
        "exploration rate of the trained agent while recording, for diversity (with record.sources: of each trained "
        "source that gives neither epsilon nor temperature)",
        ge=0.0,
        le=1.0,
    )
    sources: tuple[SourceParams, ...] = spec(
        (),
        "who plays the recorded episodes, a list of sources (keys record.sources[].* below), in episode-id order; "
        "empty: record.percent_random % random episodes, then record.model's",
    )
    agent_outputs: bool = spec(
        False,
        "also record, per row, the Q-values of every action, whether the action was exploratory and the "
        "network's penultimate features (float16)",
    )
    max_episode_steps: int = spec(
        0, "cap on agent steps per recorded episode (0: no cap beyond env.max_episode_frames)", ge=0
    )
    png: bool = spec(
        False, "also export every frame as PNG under data/frames/ (episode_<k>/frame_<n>.png, zero-padded)"
    )
    png_observations: bool = spec(
        False, "also export the agent's observations as PNG under data/frames/ (episode_<k>/observation_<n>.png)"
    )
    videos: bool = spec(
        True,
        "write an MP4 per episode under data/videos/ (false: none, and the dataset is the same bytes; one process "
        "records 1.5-2.6x faster without: see the README's Performance)",
    )
    video_preset: str = spec(
        "veryfast",
        "x264 preset of the MP4s: a faster one encodes faster into larger files (ultrafast: x264 about 2x faster "
        "than at veryfast, files about 3x larger)",
        choices=("ultrafast", "superfast", "veryfast", "faster", "fast", "medium"),
    )
    fps: int = spec(30, "frame rate of the MP4 videos", gt=0, le=120)
    video_scale: int = spec(3, "integer upscaling of the game screen in the videos", ge=1, le=8)
    compression: str = spec(
        "gzip",
        "HDF5 compression: gzip level 1 (every HDF5 tool reads it; ~1.8x smaller than lzf on Atari screens), lzf "
        "(h5py only) or zstd (Zstandard level 3: smaller and faster to read than gzip-1; needs the hdf5plugin "
        "package to write and to read: pip install '.[zstd]')",
        choices=("gzip", "lzf", "zstd"),
    )


@dataclass(frozen=True)
class SplitParams:
    val_fraction: float = spec(0.1, "fraction of episodes held out for validation", gt=0.0, lt=1.0)


@dataclass(frozen=True)
class Params:
    seed: int = spec(0, "global seed; every episode, network and sample derives from it", ge=0)
    env: EnvParams = field(default_factory=EnvParams)
    train: TrainParams = field(default_factory=TrainParams)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    record: RecordParams = field(default_factory=RecordParams)
    split: SplitParams = field(default_factory=SplitParams)


SECTIONS: dict[str, type] = {name: kind for name, kind in get_type_hints(Params).items() if name != "seed"}


# (metadata key, how the bound reads, whether a value satisfies it)
BOUNDS = (("ge", ">=", operator.ge), ("gt", ">", operator.gt), ("le", "<=", operator.le), ("lt", "<", operator.lt))


SCALARS = (int, float, bool, str)
NOUNS = {
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
    bool: ("true or false", ""),
    str: ("a string", "strings"),
}


def _members(hint: Any) -> tuple:
    """The types a union hint allows (int | None -> (int, NoneType)); a plain type alone."""
    return get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)


def element_class(hint: Any) -> type | None:
    """The element type of a list param (tuple[X, ...]) among a hint's members, or None when it takes no list."""
    for member in _members(hint):
        if get_origin(member) is tuple:
            return get_args(member)[0]
    return None


def is_scalar(hint: Any) -> bool:
    return hint in SCALARS


def _describe_allowed(meta: dict[str, Any], hint: Any) -> str:
    if meta["choices"]:
        return "one of " + ", ".join(str(c) for c in meta["choices"])
    bounds = " and ".join(f"{symbol} {meta[key]}" for key, symbol, _ in BOUNDS if meta[key] is not None)
    members = _members(hint)
    words = []
    for member in members:
        if member in SCALARS:
            words.append(" ".join(filter(None, (NOUNS[member][0], bounds))))
        elif get_origin(member) is tuple:
            element = get_args(member)[0]
            if dataclasses.is_dataclass(element):
                words.append(
                    "a list of mappings with the keys " + ", ".join(f.name for f in dataclasses.fields(element))
                )
            else:
                words.append(" ".join(filter(None, ("a list of", NOUNS[element][1], bounds))))
    if type(None) in members:
        words.append("left out")
    return ", or ".join(words)


def _coerce(key: str, value: Any, kind: type, meta: dict[str, Any]) -> Any:
    """Check one scalar value's type and range; return it as `kind`."""
    allowed = _describe_allowed(meta, kind)
    ok_type = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }[kind]
    if kind is float and isinstance(value, str):  # YAML reads 1e-4 (no dot) as a string
        try:
            value, ok_type = float(value), True
        except ValueError:
            pass
    if not ok_type:
        raise InputError(f"{key} = {value!r} ({type(value).__name__}): must be {allowed}")
    value = kind(value)
    if kind is float and not math.isfinite(value):
        raise InputError(f"{key} = {value!r}: must be {allowed}")
    in_range = all(holds(value, meta[key]) for key, _, holds in BOUNDS if meta[key] is not None)
    if not in_range or (meta["choices"] and value not in meta["choices"]):
        raise InputError(f"{key} = {value!r}: must be {allowed}")
    return value


def _value(key: str, value: Any, hint: Any, meta: dict[str, Any]) -> Any:
    """Check a value of any param kind: a scalar, a scalar or nothing (None), a list of scalars or of mappings, or a
    scalar or a list. A list given as a string (a command-line flag) is read as YAML."""
    if is_scalar(hint):
        return _coerce(key, value, hint, meta)
    members, element = _members(hint), element_class(hint)
    if element is not None and isinstance(value, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            raise InputError(f"{key} = {value!r}: not valid YAML; must be {_describe_allowed(meta, hint)}") from None
    if value is None and type(None) in members:
        return None
    if element is not None and isinstance(value, (list, tuple)):
        if dataclasses.is_dataclass(element):
            for i, entry in enumerate(value):
                if not isinstance(entry, dict):
                    raise InputError(f"{key}[{i}] = {entry!r}: must be {_describe_allowed(meta, hint)}")
            return tuple(_build(element, entry, f"{key}[{i}].") for i, entry in enumerate(value))
        return tuple(_coerce(f"{key}[{i}]", v, element, meta) for i, v in enumerate(value))
    scalar = next((m for m in members if m in SCALARS), None)
    if scalar is None:
        raise InputError(f"{key} = {value!r}: must be {_describe_allowed(meta, hint)}")
    try:
        return _coerce(key, value, scalar, meta)
    except InputError:
        raise InputError(f"{key} = {value!r}: must be {_describe_allowed(meta, hint)}") from None


# names other libraries and papers use for our keys, where spelling alone would point elsewhere
SYNONYMS = {
    "learning_rate": "lr",
    "buffer_size": "capacity",
    "replay_size": "capacity",
    "memory_size": "capacity",
    "discount": "gamma",
    "discount_factor": "gamma",
    "total_steps": "steps",
    "timesteps": "steps",
    "total_timesteps": "steps",
}


def closest_key(name: str, valid: list[str]) -> str | None:
    """The valid key `name` most likely meant: a known synonym, its initials (learning_rate -> lr), a near-identical
    spelling, a key that begins with it or whose words it has (eps -> epsilon, num_episodes -> episodes), and last
    the closest spelling."""
    words = set(name.split("_"))
    related = [
        v
        for v in valid
        if min(len(v), len(name)) >= 3 and (v.startswith(name) or name.startswith(v) or set(v.split("_")) <= words)
    ]
    candidates = (
        [SYNONYMS.get(name)],
        ["".join(word[:1] for word in name.split("_"))] if "_" in name else [],
        difflib.get_close_matches(name, valid, n=1, cutoff=0.85),
        difflib.get_close_matches(name, related, n=1, cutoff=0.0),
        difflib.get_close_matches(name, valid, n=1),
    )
    return next((c for group in candidates for c in group if c in valid), None)


def _unknown_key(prefix: str, key: Any, valid: list[str]) -> InputError:
    """Suggest the same key in the section it belongs to (train.screen_size -> env.screen_size), else the closest
    key of this section."""
    name = str(key)
    top = prefix.count(".") <= 1  # top level or a section; a source's keys (record.sources[i].) have no other home
    homes = [f"'{s}.{name}'" for s, kind in SECTIONS.items() if top and f"{s}." != prefix and name in field_names(kind)]
    close = closest_key(name, valid)
    if homes:
        hint = f"; did you mean {' or '.join(homes)}?"
    else:
        hint = f"; did you mean '{prefix}{close}'?" if close else f"; valid keys: {', '.join(valid)}"
    return InputError(f"unknown params key '{prefix}{name}'{hint}")


def field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _build(cls: type, raw: dict[str, Any], prefix: str) -> Any:
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in fields:
            raise _unknown_key(prefix, key, list(fields))
        kind = hints[key]
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, dict):
                raise InputError(f"{prefix}{key} = {value!r}: must be a mapping of {kind.__name__} keys")
            values[key] = _build(kind, value, prefix + key + ".")
        else:
            values[key] = _value(prefix + key, value, kind, fields[key].metadata)
    missing = [
        name
        for name, f in fields.items()
        if f.default is REQUIRED and f.default_factory is REQUIRED and name not in values
    ]
    if missing:
        raise InputError(f"{prefix.rstrip('.')}: missing key {', '.join(repr(m) for m in missing)}")
    return cls(**values)


def _check_relations(p: Params) -> None:
    t = p.train
    for name in ("capacity", "learning_starts"):
        if getattr(t, name) < t.batch_size:
            raise InputError(f"train.{name} = {getattr(t, name)}: must be >= train.batch_size ({t.batch_size})")
    if t.epsilon_end > t.epsilon_start:
        raise InputError(f"train.epsilon_end = {t.epsilon_end}: must be <= train.epsilon_start ({t.epsilon_start})")
    if t.temperature_end > t.temperature_start:
        raise InputError(
            f"train.temperature_end = {t.temperature_end}: must be <= train.temperature_start ({t.temperature_start})"
        )
    rows = p.env.num_envs * (p.env.frame_stack + t.n_step + 1)
    if t.capacity < rows:
        raise InputError(
            f"train.capacity = {t.capacity}: must be >= env.num_envs * (env.frame_stack + train.n_step + 1) "
            f"= {rows} (each environment keeps its own stream of frames)"
        )
    if t.exploration == "rnd" and t.n_step != 1:
        raise InputError(
            f"train.n_step = {t.n_step}: must be 1 with train.exploration rnd (the novelty bonus is one-step)"
        )
    if t.epsilon_decay == "exponential" and t.epsilon_end == 0.0:
        raise InputError("train.epsilon_end = 0.0: must be > 0 with epsilon_decay exponential (use linear to reach 0)")
    check_snapshot_steps(t.snapshot_steps, t.steps)
    check_sources(p.record.sources, p.record.episodes, snapshot_schedule(t.snapshot_steps, t.steps))


def params_from_dict(raw: dict[str, Any]) -> Params:
    """Validate a nested dict (as read from params.yaml) into Params, or raise InputError naming the bad key."""
    if not isinstance(raw, dict):
        raise InputError(f"params must be a mapping of sections, got {type(raw).__name__}")
    params = _build(Params, raw, "")
    _check_relations(params)
    return params


def read_params_file(path: Path) -> dict[str, Any]:
    """The mapping a params file holds, or an InputError naming the file and what is wrong with it. A file that sets
    no key at all is refused: it is almost always a mistake, and would silently mean the full-scale defaults."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"params file '{path}' is a folder; pass a YAML file")
    if not path.is_file():
        raise InputError(f"params file '{path}' does not exist")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(
            f"params file '{path}' is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})"
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise InputError(f"params file '{path}' is not valid YAML: {str(err).splitlines()[0]}") from None
    if raw is not None and not isinstance(raw, dict):
        raise InputError(f"params file '{path}' must hold a mapping of sections, not a {type(raw).__name__}")
    if not any(value is not None and value != {} for value in (raw or {}).values()):
        raise InputError(
            f"params file '{path}' sets no params (it is empty); name the keys to change, e.g. `seed: 0` for "
            "the library defaults"
        )
    return raw


def load_params(path: Path, overrides: dict[str, dict[str, Any]] | None = None) -> Params:
    """Read params.yaml, apply per-section overrides (from CLI flags), validate."""
    raw = read_params_file(path)
    for section, values in (overrides or {}).items():
        if section == "":
            raw.update(values)
            continue
        current = {} if raw.get(section) is None else raw[section]
        if isinstance(current, dict):  # anything else is reported by the validation
            raw[section] = {**current, **values}
    record = (overrides or {}).get("record", {})
    if isinstance(raw.get("record"), dict) and SIMPLE_CASE_KEYS & set(record) and "sources" not in record:
        raw["record"]["sources"] = []  # `--percent-random 30` asks for the simple case, whatever sources the file has
    return params_from_dict(raw)


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively: the params as YAML and JSON write them and read them back."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def params_to_dict(params: Params) -> dict[str, Any]:
    return _plain(dataclasses.asdict(params))


# Keys that change how a stage runs, never what it computes. A training run may be resumed with other values (an
# exact resume needs the same device), and they are no part of a recorded dataset's identity.
RUN_SETTINGS = ("train.device", "train.checkpoint_interval", "train.keep_checkpoints", "train.log_interval")
# Besides those, what a recording's arrays never depend on: the number of episodes played at once (each is played
# as it would be alone) and the settings of the videos and the PNG export, which are other files.
PLAY_SETTINGS = (
    *RUN_SETTINGS,
    "env.num_envs",
    "record.png",
    "record.png_observations",
    "record.videos",
    "record.video_preset",
    "record.video_scale",
)


def params_without(params: Params, keys: tuple[str, ...]) -> dict[str, Any]:
    """params_to_dict without the dotted `keys`: what shaped an output, to record or to compare."""
    raw = params_to_dict(params)
    for key in keys:
        section, name = key.split(".")
        raw[section].pop(name)
    return raw


def field_docs(cls: type) -> list[tuple[str, type, Any, str, str]]:
    """(name, type, default, allowed, help) for each field of a params section (or of a list entry, such as
    SourceParams): feeds the CLI and the README table. A required key's default is REQUIRED."""
    hints = get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            continue
        rows.append((f.name, kind, f.default, _describe_allowed(f.metadata, kind), f.metadata["help"]))
    return rows


__all__ = [
    "EnvParams",
    "TrainParams",
    "EvaluateParams",
    "RecordParams",
    "SourceParams",
    "SplitParams",
    "Params",
    "SECTIONS",
    "load_params",
    "params_from_dict",
    "params_to_dict",
    "field_docs",
]
