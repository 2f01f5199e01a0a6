"""The DQN training loop: act, store, learn, log, checkpoint; resumable and interruptible."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict, deque
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from pipeline.config.errors import InputError
from pipeline.config.layout import TrainLayout
from pipeline.config.params import Params, TrainParams, params_to_dict
from pipeline.core.atomic import remove
from pipeline.core.seeding import derive_seed
from pipeline.core.signals import Interrupted, stop_on_signals
from pipeline.envs.atari import env_id, game_action_meanings, game_settings
from pipeline.envs.stacks import FrameStacks
from pipeline.envs.vector import make_vector_env
from pipeline.replay.buffer import make_replay
from pipeline.replay.samplers import PrioritizedSampler
from pipeline.rl.checkpoint import (
    load_checkpoint,
    periodic_checkpoints,
    periodic_path,
    prune_checkpoints,
    save_checkpoint,
)
from pipeline.rl.device import one_cpu_thread, pick_device
from pipeline.rl.exploration import Learner, make_learner
from pipeline.rl.schedules import beta_at
from pipeline.train.diagnostics import write_diagnostics
from pipeline.train.evaluation import Best, Evaluator, Snapshot, eval_seeds, free_cores
from pipeline.train.log import TrainingLog, training_progress
from pipeline.train.preflight import check_can_train

# train keys that may change between an interrupted run and its resumption: they do not change what is learned
RESUMABLE_CHANGES = {"steps", "checkpoint_interval", "keep_checkpoints", "log_interval", "device"}


def changed_keys(saved: dict, current: dict) -> list[str]:
    """Params that differ between a checkpoint and this run, other than those a resumption may change."""
    diffs = ["seed"] if saved.get("seed") != current["seed"] else []
    if saved.get("evaluate", {}).get("epsilon") != current["evaluate"]["epsilon"]:
        diffs.append("evaluate.epsilon")  # the evaluations that chose best.pt were played at it
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
            raise InputError(
                f"--resume: no checkpoint in '{layout.checkpoints}'; run `pipeline train` without --resume"
            )
        return None
    state = load_checkpoint(found[-1])
    diffs = changed_keys(state["params"], params_to_dict(params))
    if diffs:
        if required:
            raise InputError(
                f"--resume: checkpoint '{found[-1]}' was trained with different params ({', '.join(diffs)}); "
                "restore them or train without --resume"
            )
        return None
    return state


def learning_rewards(rewards: np.ndarray, lives_lost: np.ndarray, t: TrainParams) -> np.ndarray:
    """What the learner sees: the sign of the raw rewards (with clip_rewards), minus the shaping penalties."""
    shaped = np.sign(rewards) if t.clip_rewards else np.asarray(rewards, np.float64)
    return (shaped - t.living_penalty - np.where(lives_lost, t.life_loss_penalty, 0.0)).astype(np.float32)


def choose_actions(
    learner: Learner,
    states: np.ndarray,
    step: int,
    episode: int,
    rng: np.random.Generator,
    prefill_steps: int,
    num_actions: int,
) -> np.ndarray:
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


class Trainer:
    """One training run: its learner, replay buffer, counters, RNGs and evaluations, and the loop that advances them.

    What a checkpoint holds is `state_dict()`, and `load_state_dict()` puts exactly that back, so saving and
    restoring cannot drift apart. The replay buffer is not in it (it can be gigabytes): a resumed run refills it,
    learning again once it holds `learning_starts` transitions.
    """

    def __init__(self, params: Params, layout: TrainLayout, console: Console):
        p, t = params, params.train
        self.params, self.layout, self.console = params, layout, console
        self.device = pick_device(t.device)
        one_cpu_thread()
        torch.manual_seed(derive_seed(p.seed, "torch"))
        self.meanings = game_action_meanings(p.env)
        self.learner = make_learner(t, p.env.frame_stack, len(self.meanings), p.env.screen_size, self.device)
        self.frame_shape = (p.env.screen_size, p.env.screen_size)
        self.replay = make_replay(
            t.replay,
            t.capacity,
            p.env.frame_stack,
            self.frame_shape,
            t.alpha,
            t.priority_eps,
            derive_seed(p.seed, "replay"),
            t.gamma,
            t.n_step,
            streams=p.env.num_envs,
            storage=replay_storage(self.device, t.capacity, self.frame_shape),
            pinned=self.device.type == "cuda",
        )
        self.per = isinstance(self.replay.sampler, PrioritizedSampler)
        self.act_rng = np.random.default_rng(derive_seed(p.seed, "act"))
        self.step, self.episode = 0, 0
        self.returns: deque[float] = deque(maxlen=100)
        self.learn_from = t.learning_starts  # the first step that may learn: later after a resume, once refilled
        self.best = Best()
        self.best_policy: dict | None = None  # the best evaluated network, as best.pt holds it
        self.evaluated_to = 0  # the last step whose network was sent for evaluation
        self.unevaluated: list[Snapshot] = []  # sent for evaluation before a checkpoint, no result yet
        self.evaluator: Evaluator | None = None

    def policy_state(self, online: dict | None = None, step: int | None = None) -> dict:
        """A policy checkpoint: the acting network (now, or `online` at `step`) and what it needs to play."""
        p = self.params
        online = online if online is not None else self.learner.agent.online.state_dict()
        return {
            "step": self.step if step is None else step,
            "params": params_to_dict(p),
            "env_id": env_id(p.env.game),
            "action_meanings": self.meanings,
            "agent": {"online": {k: v.detach().cpu().clone() for k, v in online.items()}},
        }

    def state_dict(self, complete: bool) -> dict:
        """Everything a checkpoint holds: plain data (tensors, numbers, strings, lists, dicts)."""
        t = self.params.train
        pending = list(self.evaluator.pending) if self.evaluator is not None else self.unevaluated
        return {
            **self.policy_state(),
            "complete": complete,
            "episode": self.episode,
            **self.learner.state_dict(),
            "exploration": self.learner.schedule(self.step, self.episode),
            "beta": beta_at(self.step, t.beta0, t.steps, t.learning_starts),
            "max_priority": getattr(self.replay.sampler, "max_priority", 1.0),
            "recent_returns": list(self.returns),
            "rng": {
                "act": self.act_rng.bit_generator.state,
                "replay": self.replay.rng.bit_generator.state,
                "torch": torch.get_rng_state(),
            },
            "evaluation": {
                "best": {
                    "step": self.best.step,
                    "mean": self.best.mean,
                    "std": self.best.std,
                    "online": self.best_policy["agent"]["online"] if self.best_policy else {},
                },
                "evaluated_to": self.evaluated_to,
                "pending": [{"step": s.step, "online": s.policy["agent"]["online"]} for s in pending],
            },
        }

    def load_state_dict(self, state: dict) -> None:
        self.learner.load_state_dict(state)
        self.act_rng.bit_generator.state = state["rng"]["act"]
        self.replay.rng.bit_generator.state = state["rng"]["replay"]
        torch.set_rng_state(state["rng"]["torch"])
        if self.per:
            self.replay.sampler.max_priority = state["max_priority"]
        self.step, self.episode = state["step"], state["episode"]
        self.returns.extend(state["recent_returns"])
        self.learn_from = self.step + self.params.train.learning_starts
        evaluation = state["evaluation"]
        best = evaluation["best"]
        self.best = Best(best["step"], best["mean"], best["std"])
        self.best_policy = self.policy_state(best["online"], best["step"]) if best["step"] >= 0 else None
        self.evaluated_to = evaluation["evaluated_to"]
        self.unevaluated = [
            Snapshot(s["step"], self.policy_state(s["online"], s["step"])) for s in evaluation["pending"]
        ]

    def write_best(self) -> None:
        """best.pt as the state says: a run killed after a better evaluation than its checkpoint knows of must not
        keep a network from a future the resumed run does not share."""
        if self.best_policy is None:
            remove(self.layout.best)
        else:
            save_checkpoint(self.layout.best, {**self.best_policy, "evaluation": self.best_summary()})

    def best_summary(self) -> dict:
        t = self.params.train
        return {
            "step": self.best.step,
            "return_mean": self.best.mean,
            "return_std": self.best.std,
            "episodes": t.eval_episodes,
            "epsilon": self.params.evaluate.epsilon,
        }

    def checkpoint(self) -> Path:
        """A periodic checkpoint at the current step, pruned to the newest train.keep_checkpoints."""
        path = periodic_path(self.layout.checkpoints, self.step)
        save_checkpoint(path, self.state_dict(complete=False))
        prune_checkpoints(self.layout.checkpoints, self.params.train.keep_checkpoints)
        return path

    def take_evaluations(self, log: TrainingLog, progress, task, block: bool = False) -> None:
        """Log the evaluations that finished; keep the best network as best.pt (ties go to the later step)."""
        for snapshot, result in self.evaluator.finished(block):
            log.log(result.step, {"eval/return_mean": result.mean, "eval/return_std": result.std})
            if self.best.improved_by(result):
                self.best_policy = snapshot.policy
                self.write_best()
            progress.update(
                task,
                evaluation=f"eval {result.mean:,.0f} ± {result.std:,.0f} at {result.step:,} "
                f"(best {self.best.mean:,.0f} at {self.best.step:,})",
            )

    def evaluate_now(self) -> None:
        self.evaluator.submit(Snapshot(self.step, self.policy_state()))
        self.evaluated_to = self.step

    def run(self, log: TrainingLog) -> None:
        """Train from the current step to train.steps, evaluating on the way and at the end; on SIGINT or SIGTERM,
        checkpoint and raise Interrupted."""
        p, t, learner, replay = self.params, self.params.train, self.learner, self.replay
        n = p.env.num_envs
        envs = make_vector_env(p.env, n)
        self.evaluator = Evaluator(
            p.env, eval_seeds(p.seed, t.eval_episodes), p.evaluate.epsilon, background=free_cores() > 1
        )
        for snapshot in self.unevaluated:  # sent before the checkpoint this run resumed from, never answered
            self.evaluator.submit(snapshot)
        # a resumed run starts fresh episodes, seeded apart from the ones the run began with
        frames, info = envs.reset(seed=derive_seed(p.seed, "train-envs", self.step))
        replay.start(frames)
        stacks = FrameStacks(n, p.env.frame_stack, self.frame_shape)
        states, lives = stacks.start(frames), info["lives"]
        restarted = np.zeros(n, bool)  # envs whose episode ended on the last step: this step resets them
        episode_return, episode_length = np.zeros(n), np.zeros(n, np.int64)
        window: dict[str, list[float]] = defaultdict(list)
        snapshot_every = max(t.steps // 10, t.log_interval)
        rate, rate_clock, rate_step = 0.0, time.perf_counter(), self.step

        with (
            contextlib.closing(envs),
            contextlib.closing(self.evaluator),
            stop_on_signals() as stop,
            training_progress(self.console) as progress,
        ):
            task = progress.add_task(
                "train", total=t.steps, completed=self.step, rate=0.0, last_return="-", schedule="", evaluation=""
            )
            while self.step < t.steps:
                actions = choose_actions(
                    learner, states, self.step, self.episode, self.act_rng, t.prefill_steps, len(self.meanings)
                )
                frames, rewards, terminated, truncated, info = envs.step(actions)
                acted = ~restarted
                lost = acted & (info["lives"] < lives)
                lives = info["lives"]
                ended = terminated | truncated  # always False where the step was a reset
                replay.step(
                    actions,
                    learning_rewards(rewards, lost, t),
                    terminated | (p.env.terminal_on_life_loss & lost),
                    frames,
                    ended,
                    restarted,
                )
                before = self.step
                self.step += int(acted.sum())  # a reset is not an agent step
                episode_return += np.where(acted, rewards, 0.0)
                episode_length += acted
                for i in np.flatnonzero(ended):
                    self.episode += 1
                    self.returns.append(float(episode_return[i]))
                    log.log(self.step, {"episode/return": episode_return[i], "episode/length": episode_length[i]})
                    progress.update(task, last_return=f"{episode_return[i]:g}")
                episode_return[ended], episode_length[ended] = 0.0, 0
                states = stacks.push(frames, restarted)
                restarted = ended

                beta = beta_at(self.step, t.beta0, t.steps, t.learning_starts)
                # the replay ratio stays gradient_steps per train_frequency agent steps, whatever the number of envs
                for _ in range(due(before, self.step, t.train_frequency, self.learn_from) * t.gradient_steps):
                    batch = replay.sample(t.batch_size, beta)
                    metrics, td_errors = learner.learn(batch, self.step)
                    replay.update_priorities(batch.indices, td_errors)
                    for name, value in metrics.items():
                        window[name].append(value)
                    window["mean_abs_td"].append(float(np.abs(td_errors).mean()))
                if due(before, self.step, t.target_update_interval):
                    learner.sync_target()
                if due(before, self.step, t.eval_interval):
                    self.evaluate_now()
                self.take_evaluations(log, progress, task)
                if due(before, self.step, t.log_interval):
                    now = time.perf_counter()
                    rate = (self.step - rate_step) / max(now - rate_clock, 1e-9)
                    rate_clock, rate_step = now, self.step
                    schedule = learner.schedule(self.step, self.episode)
                    metrics = {f"train/{k}": float(np.mean(v)) for k, v in window.items()}
                    metrics.update({f"train/{k}": v for k, v in schedule.items()})
                    metrics.update({"train/beta": beta, "train/steps_per_second": rate})
                    log.log(self.step, metrics)
                    window.clear()
                    progress.update(
                        task,
                        completed=self.step,
                        rate=rate,
                        schedule="  ".join(f"{k} {v:.3f}" for k, v in {**schedule, "beta": beta}.items()),
                    )
                if self.per and due(before, self.step, snapshot_every, self.learn_from):
                    log.log_replay_snapshot(self.step, replay.sampler.priorities(), beta)
                    if self.step < t.steps:  # the figure so far, to look at while training runs (the end draws its own)
                        write_diagnostics(self.layout.live)
                if due(before, self.step, t.checkpoint_interval):
                    self.checkpoint()
                if stop:
                    path = self.checkpoint()
                    log.close()
                    progress.stop()
                    raise Interrupted(
                        stop.signal,
                        f"Interrupted at step {self.step:,}: checkpoint saved to {path}. "
                        "Resume with `pipeline train --resume` (or rerun `dvc repro`).",
                    )
            if self.evaluated_to < self.step:  # the final network is always a candidate
                self.evaluate_now()
            self.take_evaluations(log, progress, task, block=True)
            progress.update(task, completed=self.step)
        self.evaluator = None
        self.unevaluated = []


def train(params: Params, out_dir: Path, resume: str = "no", console: Console | None = None) -> Path:
    """Train a DQN agent as `params` say; return the final model's path.

    resume: "no" starts fresh (clearing earlier checkpoints and logs), "yes" continues from the newest
    periodic checkpoint (an error if there is none or its params differ), "auto" continues when it can.
    """
    console = console or Console(stderr=True)
    layout = TrainLayout(Path(out_dir))
    check_can_train(params, layout)
    game_settings(params.env)  # an unknown game, mode or difficulty stops here, before a fresh start clears results
    saved = resumable_checkpoint(layout, params, required=resume == "yes") if resume != "no" else None
    if saved is None:
        for stale in (layout.checkpoints, layout.live, layout.model, layout.best):
            remove(stale)
    layout.checkpoints.mkdir(parents=True, exist_ok=True)

    trainer = Trainer(params, layout, console)
    if saved is not None:
        trainer.load_state_dict(saved)
        trainer.write_best()
        console.print(
            f"Resuming from step {trainer.step:,} (episode {trainer.episode:,}); the replay buffer "
            "refills before learning resumes."
        )
    redo = min((s.step for s in trainer.unevaluated), default=None)  # logged by a run killed before it checkpointed
    log = TrainingLog(layout.live, resume_step=trainer.step if saved is not None else None, eval_from=redo)
    trainer.run(log)

    save_checkpoint(layout.model, trainer.state_dict(complete=True))
    returns = trainer.returns
    if returns:
        log.log(trainer.step, {"train/mean_return_last_100": float(np.mean(returns))})
    log.close()
    write_diagnostics(layout.live)
    console.print(
        f"Best evaluation: {trainer.best.mean:,.1f} ± {trainer.best.std:,.1f} at step {trainer.best.step:,} "
        f"({params.train.eval_episodes} episodes at epsilon {params.evaluate.epsilon:g}): {layout.best}",
        highlight=False,
    )
    console.print(
        f"Trained {trainer.step:,} steps over {trainer.episode:,} episodes; mean return of the last "
        f"{len(returns)}: {np.mean(returns) if returns else float('nan'):.1f}. Model: {layout.model}"
    )
    return layout.model
