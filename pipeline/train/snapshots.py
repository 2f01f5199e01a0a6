"""Policy snapshots at the steps train.snapshot_steps names, for record.sources to play early and mid skill.

Each is written into the run's resumable state as the run passes its step, so an interrupted run keeps the ones it
passed and an exactly resumed run writes the others with the bytes an uninterrupted run would (save_checkpoint is
canonical); the finished run publishes them as models/snapshots/step_<N>.pt, a declared output, like its curves.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from pipeline.config.errors import InputError
from pipeline.config.layout import snapshot_name
from pipeline.core.atomic import atomic_path
from pipeline.rl.checkpoint import save_checkpoint


def save_passed(folder: Path, schedule: tuple[int, ...], before: int, after: int, policy: Callable[[], dict]) -> None:
    """Snapshot the acting network (policy(): a policy checkpoint, as best.pt holds it) for each scheduled step
    the step count passed going from `before` to `after`. The file is named by the scheduled step; its `step`
    is the run's (with several environments a step can be passed by up to num_envs - 1)."""
    for step in (s for s in schedule if before < s <= after):
        save_checkpoint(Path(folder) / snapshot_name(step), policy())


def check_kept(folder: Path, schedule: tuple[int, ...], resume_step: int) -> None:
    """A run resumed at `resume_step` cannot go back for a scheduled step it passed without a snapshot (a count of
    snapshots spread over a run whose length changed): say so before anything is touched."""
    lost = [s for s in schedule if s <= resume_step and not (Path(folder) / snapshot_name(s)).is_file()]
    if lost:
        raise InputError(
            f"train.snapshot_steps: the run resumes at step {resume_step:,}, past step(s) {', '.join(map(str, lost))} "
            "it kept no snapshot of; list the steps it kept or train without --resume"
        )


def publish(folder: Path, schedule: tuple[int, ...], out: Path) -> None:
    """Copy the scheduled snapshots to the declared output folder (an empty folder when none is asked for)."""
    with atomic_path(Path(out)) as tmp:
        tmp.mkdir()
        for step in schedule:
            shutil.copyfile(Path(folder) / snapshot_name(step), tmp / snapshot_name(step))
