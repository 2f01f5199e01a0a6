"""Where a training run keeps what resuming it needs, and which checkpoint a run resumes from.

A run's resumable state lives in <out_dir>/state/<key>/: its periodic checkpoints, the replay buffer of the newest
one, and its curves so far. The key is a hash of the params that decide the run's course (seed, env, train but the
run settings and train.steps, and evaluate.epsilon). The state is no DVC output: switching experiments restores the
cached outputs without touching it, and coming back to an interrupted experiment finds its state where it was left.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from pipeline.config.errors import InputError
from pipeline.config.params import RUN_SETTINGS, Params, params_to_dict, params_without
from pipeline.core.atomic import remove
from pipeline.rl.checkpoint import load_checkpoint

_CHECKPOINT = re.compile(r"^step_(\d+)\.pt$")
_REPLAY = re.compile(r"^replay_(\d+)\.h5$")


def run_identity(params: Params) -> dict:
    """The params a training run's course depends on, but its length (a finished run can be extended)."""
    raw = params_without(params, (*RUN_SETTINGS, "train.steps"))
    return {"seed": raw["seed"], "env": raw["env"], "train": raw["train"], "evaluate.epsilon": params.evaluate.epsilon}


def state_key(params: Params) -> str:
    return hashlib.sha256(json.dumps(run_identity(params), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RunState:
    """The folder of one run's resumable state."""

    folder: Path

    @property
    def live(self) -> Path:
        """The run's DVCLive curves while it runs; copied to the declared output when it ends."""
        return self.folder / "training"

    @property
    def snapshots(self) -> Path:
        """The policy snapshots the run has passed (train.snapshot_steps); copied to the declared output at the end."""
        return self.folder / "snapshots"

    def checkpoint(self, step: int) -> Path:
        return self.folder / f"step_{step:010d}.pt"

    def replay(self, step: int) -> Path:
        return self.folder / f"replay_{step:010d}.h5"

    def checkpoints(self) -> list[Path]:
        """Periodic checkpoints, oldest first."""
        return [p for _, p in sorted(_numbered(self.folder, _CHECKPOINT))]

    def prune(self, keep: int, replay_of: int) -> None:
        """Keep the newest `keep` checkpoints and the replay buffer of step `replay_of` only (the buffer is the
        largest file by far, and only the newest checkpoint's is needed for an exact resume)."""
        for old in self.checkpoints()[:-keep]:
            old.unlink()
        for step, path in _numbered(self.folder, _REPLAY):
            if step != replay_of:
                path.unlink()


def _numbered(folder: Path, pattern: re.Pattern) -> list[tuple[int, Path]]:
    if not folder.is_dir():
        return []
    return [(int(m.group(1)), p) for p in folder.iterdir() if (m := pattern.match(p.name))]


def changed_keys(saved: dict, current: Params, allow_steps: bool) -> list[str]:
    """Params that differ between a checkpoint and this run, other than the run settings (and, when extending a
    run, train.steps)."""
    skip = set(RUN_SETTINGS) | ({"train.steps"} if allow_steps else set())
    now = params_to_dict(current)
    diffs = ["seed"] if saved.get("seed") != now["seed"] else []
    if saved.get("evaluate", {}).get("epsilon") != now["evaluate"]["epsilon"]:
        diffs.append("evaluate.epsilon")  # the evaluations that chose best.pt were played at it
    for section in ("env", "train"):
        for key, value in now[section].items():
            if saved.get(section, {}).get(key) != value and f"{section}.{key}" not in skip:
                diffs.append(f"{section}.{key}")
    return diffs


def resumable_checkpoint(state: RunState, params: Params, required: bool, console: Console) -> dict | None:
    """The newest checkpoint of this run that loads, to continue from; a damaged one is passed over for the one
    before it. With `required` (--resume), train.steps may differ (the run is extended) and finding none is an error;
    otherwise (--auto-resume, as under `dvc repro`) a checkpoint of another length means a fresh start."""
    for path in reversed(state.checkpoints()):
        try:
            saved = load_checkpoint(path)
        except InputError as err:
            console.print(f"[yellow]Skipping {path}: {err}[/]", highlight=False, soft_wrap=True)
            continue
        diffs = changed_keys(saved.get("params", {}), params, allow_steps=required)
        if diffs and required:
            raise InputError(
                f"--resume: checkpoint '{path}' was trained with other params ({', '.join(diffs)}); "
                "restore them or train without --resume"
            )
        return None if diffs else saved
    if required:
        raise InputError(
            f"--resume: no checkpoint of a run with these params{nearest_run(state, params)}; run "
            "`pipeline train` without --resume"
        )
    return None


def nearest_run(state: RunState, params: Params) -> str:
    """Which params set apart the closest other run kept beside this one (', whose nearest ... differs in ...'), so
    that a --resume refused for a changed param names it."""
    differences = []
    for other in state.folder.parent.glob("*/"):
        newest = RunState(other).checkpoints()[-1:]
        try:
            saved = load_checkpoint(newest[0]) if newest and other != state.folder else None
        except InputError:
            saved = None
        if saved is not None:
            differences.append(changed_keys(saved.get("params", {}), params, allow_steps=True))
    if not differences:
        return f" in '{state.folder.parent}'"
    closest = min(differences, key=len)
    return f" in '{state.folder.parent}' (the nearest run there differs in {', '.join(closest)})"


def clear(state: RunState) -> None:
    remove(state.folder)
