"""The DQN training loop: act, store, learn, log, checkpoint; resumable and interruptible."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from pipeline.agent import pick_device
from pipeline.atomic import remove
from pipeline.checkpoint import (
    load_checkpoint,
    periodic_checkpoints,
    periodic_path,
    prune_checkpoints,
    save_checkpoint,
)
from pipeline.diagnostics import write_diagnostics
from pipeline.envs import FrameStacks, env_id, game_action_meanings, game_settings
from pipeline.errors import InputError
from pipeline.learners import DQNLearner, make_learner
from pipeline.params import Params, TrainParams, params_to_dict
from pipeline.replay import PrioritizedSampler, make_replay
from pipeline.schedules import beta_at
from pipeline.seeding import derive_seed
from pipeline.signals import Interrupted, stop_on_signals
from pipeline.training_log import TrainingLog, training_progress
from pipeline.vector_envs import make_vector_env

# train keys that may change between an interrupted run and its resumption: they do not change what is learned
RESUMABLE_CHANGES = {"steps", "checkpoint_interval", "keep_checkpoints", "log_interval", "device"}


@dataclass(frozen=True)
class TrainLayout:
    """Where a training run writes, under one output folder."""

    root: Path

    @property
    def model(self) -> Path:
        return self.root / "dqn.pt"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def live(self) -> Path:
        return self.root / "training"


def changed_keys(saved: dict, current: dict) -> list[str]:
    """Params that differ between a checkpoint and this run, other than those a resumption may change."""
    diffs = ["seed"] if saved.get("seed") != current["seed"] else []
    for section in ("env", "train"):
        for key, value in current[section].items():
            if saved.get(section, {}).get(key) != value and not (section == "train" and key in RESUMABLE_CHANGES):
                diffs.append(f"{section}.{key}")
    return diffs


def resumable_checkpoint(layout: TrainLayout, params: Params, required: bool) -> dict | None:
    """The newest periodic checkpoint to continue from. With `required`, its absence or a params mismatch is an error;
    otherwise (auto-resume, as under `dvc repro`) either means a fresh start."""
    found = periodic_checkpoints(layout.checkpoints)
    if not found:
        if required:
            raise InputError(f"--resume: no checkpoint in '{layout.checkpoints}'; run `pipeline train` without --resume")
        return None
    state = load_checkpoint(found[-1])
    diffs = changed_keys(state["params"], params_to_dict(params))
    if diffs:
        if required:
            raise InputError(f"--resume: checkpoint '{found[-1]}' was trained with different params ({', '.join(diffs)}); "
                             "restore them or train without --resume")
        return None
    return state


def learning_rewards(rewards: np.ndarray, lives_lost: np.ndarray, t: TrainParams) -> np.ndarray:
    """What the learner sees: the sign of the raw rewards (with clip_rewards), minus the shaping penalties."""
    shaped = np.sign(rewards) if t.clip_rewards else np.asarray(rewards, np.float64)
    return (shaped - t.living_penalty - np.where(lives_lost, t.life_loss_penalty, 0.0)).astype(np.float32)


def choose_actions(learner: DQNLearner, states: np.ndarray, step: int, episode: int, rng: np.random.Generator,
                   prefill_steps: int, num_actions: int) -> np.ndarray:
    """Uniformly random during the prefill, then the learner's exploration policy: one action per state."""
    if step < prefill_steps:
        return rng.integers(num_actions, size=len(states))
    return learner.act(states, step, episode, rng)


def due(before: int, after: int, interval: int, start: int = 0) -> int:
    """How many multiples of `interval` that are >= `start` the step count passed going from `before` to `after`:
    with n environments it moves up to n at a time, so periodic work is counted, not tested with step % interval."""
    if after < start:
        return 0
    return after // interval - max(before, start - 1) // interval


def replay_storage(device: torch.device, rows: int, frame_shape: tuple[int, int]) -> torch.device | None:
    """The device to keep replay frames on: a CUDA device with room for them and 4 GiB to spare, else None (host)."""
    if device.type != "cuda":
        return None
    free, _ = torch.cuda.mem_get_info(device)
    return device if rows * frame_shape[0] * frame_shape[1] + 4 * 2**30 < free else None


def train(params: Params, out_dir: Path, resume: str = "no", console: Console | None = None) -> Path:
    """Train a DQN agent as `params` say; return the final model's path.

    resume: "no" starts fresh (clearing earlier checkpoints and logs), "yes" continues from the newest
    periodic checkpoint (an error if there is none or its params differ), "auto" continues when it can.
    The replay buffer is not checkpointed (it can be gigabytes): a resumed run refills it, learning
    again once it holds `learning_starts` transitions.
    """
    console = console or Console(stderr=True)
    p, t = params, params.train
    layout = TrainLayout(Path(out_dir))
    game_settings(p.env)  # an unknown game, mode or difficulty stops here, before a fresh start clears earlier results
    saved = resumable_checkpoint(layout, params, required=resume == "yes") if resume != "no" else None
    if saved is None:
        for stale in (layout.checkpoints, layout.live, layout.model):
            remove(stale)
    layout.checkpoints.mkdir(parents=True, exist_ok=True)

    device = pick_device(t.device)
    torch.manual_seed(derive_seed(p.seed, "torch"))
    n = p.env.num_envs
    envs = make_vector_env(p.env, n)
    meanings = game_action_meanings(p.env)
    learner = make_learner(t, p.env.frame_stack, len(meanings), p.env.screen_size, device)
    frame_shape = (p.env.screen_size, p.env.screen_size)
    replay = make_replay(t.replay, t.capacity, p.env.frame_stack, frame_shape, t.alpha, t.priority_eps,
                         derive_seed(p.seed, "replay"), t.gamma, t.n_step, streams=n,
                         storage=replay_storage(device, t.capacity, frame_shape), pinned=device.type == "cuda")
    per = isinstance(replay.sampler, PrioritizedSampler)
    act_rng = np.random.default_rng(derive_seed(p.seed, "act"))
    step, episode, returns = 0, 0, deque(maxlen=100)
    if saved is not None:
        learner.load_state_dict(saved)
        act_rng.bit_generator.state = saved["rng"]["act"]
        replay.rng.bit_generator.state = saved["rng"]["replay"]
        torch.set_rng_state(saved["rng"]["torch"])
        if per:
            replay.sampler.max_priority = saved["max_priority"]
        step, episode = saved["step"], saved["episode"]
        returns.extend(saved["recent_returns"])
        console.print(f"Resuming from step {step:,} (episode {episode:,}); the replay buffer refills before learning resumes.")
    learn_from = step + t.learning_starts if saved is not None else t.learning_starts
    log = TrainingLog(layout.live, resume_step=step if saved is not None else None)

    def payload(complete: bool) -> dict:
        return {
            "step": step, "episode": episode, "complete": complete, **learner.state_dict(),
            "params": params_to_dict(params), "env_id": env_id(p.env.game), "action_meanings": meanings,
            "exploration": learner.exploration(step, episode), "beta": beta_at(step, t.beta0, t.steps, t.learning_starts),
            "max_priority": getattr(replay.sampler, "max_priority", 1.0), "recent_returns": list(returns),
            "rng": {"act": act_rng.bit_generator.state, "replay": replay.rng.bit_generator.state,
                    "torch": torch.get_rng_state()},
        }

    def checkpoint() -> Path:
        path = periodic_path(layout.checkpoints, step)
        save_checkpoint(path, payload(complete=False))
        prune_checkpoints(layout.checkpoints, t.keep_checkpoints)
        return path

    # a resumed run starts fresh episodes, seeded apart from the ones the run began with
    frames, info = envs.reset(seed=derive_seed(p.seed, "train-envs", step))
    replay.start(frames)
    stacks = FrameStacks(n, p.env.frame_stack, frame_shape)
    states, lives = stacks.start(frames), info["lives"]
    restarted = np.zeros(n, bool)  # envs whose episode ended on the last step: this step resets them
    episode_return, episode_length = np.zeros(n), np.zeros(n, np.int64)
    window: dict[str, list[float]] = defaultdict(list)
    snapshot_every = max(t.steps // 10, t.log_interval)
    rate, rate_clock, rate_step = 0.0, time.perf_counter(), step

    with contextlib.closing(envs), stop_on_signals() as stop, training_progress(console) as progress:
        task = progress.add_task("train", total=t.steps, completed=step, rate=0.0, last_return="-", schedule="")
        while step < t.steps:
            actions = choose_actions(learner, states, step, episode, act_rng, t.prefill_steps, len(meanings))
            frames, rewards, terminated, truncated, info = envs.step(actions)
            acted = ~restarted
            lost = acted & (info["lives"] < lives)
            lives = info["lives"]
            ended = terminated | truncated  # always False where the step was a reset
            replay.step(actions, learning_rewards(rewards, lost, t), terminated | (p.env.terminal_on_life_loss & lost),
                        frames, ended, restarted)
            before, step = step, step + int(acted.sum())  # a reset is not an agent step
            episode_return += np.where(acted, rewards, 0.0)
            episode_length += acted
            for i in np.flatnonzero(ended):
                episode += 1
                returns.append(float(episode_return[i]))
                log.log(step, {"episode/return": episode_return[i], "episode/length": episode_length[i]})
                progress.update(task, last_return=f"{episode_return[i]:g}")
            episode_return[ended], episode_length[ended] = 0.0, 0
            states = stacks.push(frames, restarted)
            restarted = ended

            beta = beta_at(step, t.beta0, t.steps, t.learning_starts)
            # the replay ratio stays gradient_steps per train_frequency agent steps, whatever the number of envs
            for _ in range(due(before, step, t.train_frequency, learn_from) * t.gradient_steps):
                batch = replay.sample(t.batch_size, beta)
                metrics, td_errors = learner.learn(batch, step)
                replay.update_priorities(batch.indices, td_errors)
                for name, value in metrics.items():
                    window[name].append(value)
                window["mean_abs_td"].append(float(np.abs(td_errors).mean()))
            if due(before, step, t.target_update_interval):
                learner.sync_target()
            if due(before, step, t.log_interval):
                now = time.perf_counter()
                rate = (step - rate_step) / max(now - rate_clock, 1e-9)
                rate_clock, rate_step = now, step
                schedule = learner.exploration(step, episode)
                metrics = {f"train/{k}": float(np.mean(v)) for k, v in window.items()}
                metrics.update({f"train/{k}": v for k, v in schedule.items()})
                metrics.update({"train/beta": beta, "train/steps_per_second": rate})
                log.log(step, metrics)
                window.clear()
                progress.update(task, completed=step, rate=rate,
                                schedule="  ".join(f"{k} {v:.3f}" for k, v in {**schedule, "beta": beta}.items()))
            if per and due(before, step, snapshot_every, learn_from):
                log.log_replay_snapshot(step, replay.sampler.priorities(), beta)
                if step < t.steps:  # the figure so far, to look at while training runs (the end draws its own)
                    write_diagnostics(layout.live)
            if due(before, step, t.checkpoint_interval):
                checkpoint()
            if stop:
                path = checkpoint()
                log.close()
                progress.stop()
                raise Interrupted(stop.signal, f"Interrupted at step {step:,}: checkpoint saved to {path}. "
                                               "Resume with `pipeline train --resume` (or rerun `dvc repro`).")
        progress.update(task, completed=step)

    save_checkpoint(layout.model, payload(complete=True))
    if returns:
        log.log(step, {"train/mean_return_last_100": float(np.mean(returns))})
    log.close()
    write_diagnostics(layout.live)
    console.print(f"Trained {step:,} steps over {episode:,} episodes; mean return of the last {len(returns)}: "
                  f"{np.mean(returns) if returns else float('nan'):.1f}. Model: {layout.model}")
    return layout.model
