"""The DQN training loop: act, store, learn, log, checkpoint; resumable and interruptible."""

from __future__ import annotations

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
from pipeline.envs import FrameStack, action_meanings, env_id, game_settings, make_env
from pipeline.errors import InputError
from pipeline.learners import DQNLearner, make_learner
from pipeline.params import Params, TrainParams, params_to_dict
from pipeline.replay import PrioritizedSampler, make_replay
from pipeline.schedules import beta_at
from pipeline.seeding import derive_seed
from pipeline.signals import Interrupted, stop_on_signals
from pipeline.training_log import TrainingLog, training_progress

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


def learning_reward(reward: float, life_lost: bool, t: TrainParams) -> float:
    """What the learner sees: the sign of the raw reward (with clip_rewards), minus the shaping penalties."""
    shaped = float(np.sign(reward)) if t.clip_rewards else float(reward)
    return shaped - t.living_penalty - (t.life_loss_penalty if life_lost else 0.0)


def choose_action(learner: DQNLearner, state: np.ndarray, step: int, episode: int, rng: np.random.Generator,
                  prefill_steps: int, num_actions: int) -> int:
    """Uniformly random during the prefill, then the learner's exploration policy."""
    if step < prefill_steps:
        return int(rng.integers(num_actions))
    return learner.act(state, step, episode, rng)


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
    env = make_env(p.env)
    meanings = action_meanings(env)
    learner = make_learner(t, p.env.frame_stack, len(meanings), p.env.screen_size, device)
    frame_shape = (p.env.screen_size, p.env.screen_size)
    replay = make_replay(t.replay, t.capacity, p.env.frame_stack, frame_shape, t.alpha, t.priority_eps,
                         derive_seed(p.seed, "replay"), t.gamma, t.n_step)
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

    stacker = FrameStack(p.env.frame_stack, frame_shape)

    def new_episode():
        frame, info = env.reset(seed=derive_seed(p.seed, "train-episode", episode))
        replay.start_episode(frame)
        return stacker.reset(frame), info["lives"]

    state, lives = new_episode()
    episode_return, episode_length = 0.0, 0
    window: dict[str, list[float]] = defaultdict(list)
    snapshot_every = max(t.steps // 10, t.log_interval)
    rate, rate_clock, rate_step = 0.0, time.perf_counter(), step

    with stop_on_signals() as stop, training_progress(console) as progress:
        task = progress.add_task("train", total=t.steps, completed=step, rate=0.0, last_return="-", schedule="")
        while step < t.steps:
            action = choose_action(learner, state, step, episode, act_rng, t.prefill_steps, len(meanings))
            frame, reward, terminated, truncated, info = env.step(action)
            life_lost = info["lives"] < lives
            lives = info["lives"]
            replay.add(action, learning_reward(reward, life_lost, t),
                       terminated or (p.env.terminal_on_life_loss and life_lost), frame,
                       episode_over=terminated or truncated)
            step += 1
            episode_return += reward
            episode_length += 1
            if terminated or truncated:
                episode += 1
                returns.append(episode_return)
                log.log(step, {"episode/return": episode_return, "episode/length": episode_length})
                progress.update(task, last_return=f"{episode_return:g}")
                state, lives = new_episode()
                episode_return, episode_length = 0.0, 0
            else:
                state = stacker.push(frame)

            beta = beta_at(step, t.beta0, t.steps, t.learning_starts)
            if step >= learn_from and step % t.train_frequency == 0:
                for _ in range(t.gradient_steps):
                    batch = replay.sample(t.batch_size, beta)
                    metrics, td_errors = learner.learn(batch, step)
                    replay.update_priorities(batch.indices, td_errors)
                    for name, value in metrics.items():
                        window[name].append(value)
                    window["mean_abs_td"].append(float(np.abs(td_errors).mean()))
            if step % t.target_update_interval == 0:
                learner.sync_target()
            if step % t.log_interval == 0:
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
            if per and step % snapshot_every == 0 and step >= learn_from:
                log.log_replay_snapshot(step, replay.sampler.priorities(), beta)
                if step < t.steps:  # the figure so far, to look at while training runs (the end draws its own)
                    write_diagnostics(layout.live)
            if step % t.checkpoint_interval == 0:
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
    env.close()
    console.print(f"Trained {step:,} steps over {episode:,} episodes; mean return of the last {len(returns)}: "
                  f"{np.mean(returns) if returns else float('nan'):.1f}. Model: {layout.model}")
    return layout.model
