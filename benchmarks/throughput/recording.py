"""Recording rows (--record): a reference recorder of the kind users glue together against our record(), each over
a whole call, with an untrained network's checkpoint (it plays as fast as a trained one)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from benchmarks.throughput.measure import Row, Setup
from benchmarks.throughput.ours import our_params, our_record_rate, our_trainer
from benchmarks.throughput.reference import reference_record
from pipeline.config.params import EnvParams, Params, RecordParams, params_from_dict, params_to_dict
from pipeline.record.plan import random_count
from pipeline.rl.checkpoint import save_checkpoint


def untrained_checkpoint(s: Setup, out: Path) -> Path:
    """A policy checkpoint of a fresh network, as train() writes one."""
    trainer = our_trainer(our_params(s, "uniform", 1), out)
    save_checkpoint(trainer.layout.model, trainer.policy_state())
    return trainer.layout.model


def recording_rows(
    s: Setup, seconds: float, num_envs: list[int], out: Path, status: Callable[[str], None]
) -> tuple[list[Row], str]:
    """Episodes capped at 5 x `seconds` steps, at num_envs 1 and the largest of `num_envs`."""
    checkpoint = untrained_checkpoint(s, out / "untrained")
    episodes, max_steps = max(4, *num_envs), max(25, int(seconds * 5))
    r = replace(RecordParams(), episodes=episodes, max_episode_steps=max_steps)
    section = "recording"
    status(f"reference recorder: {episodes} episodes of <= {max_steps} steps")
    n_random = random_count(r.episodes, r.percent_random)
    shutil.rmtree(out / "record_reference", ignore_errors=True)  # an earlier run's frames, with --out
    ref = reference_record(
        checkpoint, s.game, s.frame_stack, episodes, max_steps, n_random, r.epsilon, out / "record_reference", s.seed
    )
    rows = [
        Row(
            section,
            "reference: 1 env, PNG + MP4",
            "-",
            ref.rows / ref.seconds,
            "frames/s",
            f"{ref.seconds:.1f} s, {ref.rows:,} rows",
            ref.rows / ref.seconds,
        )
    ]
    base = Params(seed=s.seed, env=replace(EnvParams(), game=s.game, frame_stack=s.frame_stack), record=r)
    for n in dict.fromkeys((1, max(num_envs))):
        status(f"ours: record(), num_envs {n}: {episodes} episodes of <= {max_steps} steps")
        params = params_from_dict(params_to_dict(replace(base, env=replace(base.env, num_envs=n))))
        rec = our_record_rate(params, checkpoint, out / f"record_num_envs_{n}")
        rows.append(
            Row(
                section,
                f"ours: record(), num_envs {n}",
                "-",
                rec.rows / rec.seconds,
                "frames/s",
                f"{rec.seconds:.1f} s, {rec.rows:,} rows",
                ref.rows / ref.seconds,
            )
        )
    note = (
        f"recording: {episodes} episodes of <= {max_steps} steps ({n_random} by the random agent), the whole call "
        "timed; ours writes HDF5 + MP4 with overlays, the reference a PNG per raw screen (cv2.imwrite) and an MP4 "
        "(imageio)."
    )
    return rows, note
