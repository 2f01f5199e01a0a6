"""The DQN training loop: act, store, learn, log, evaluate, checkpoint; resumable exactly and interruptible."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections import defaultdict, deque
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from pipeline.config.errors import InputError
from pipeline.config.layout import TrainLayout
from pipeline.config.params import Params, TrainParams, params_to_dict
from pipeline.config.sources import snapshot_schedule
from pipeline.core.atomic import atomic_path, remove
from pipeline.core.resources import available_memory, gib
from pipeline.core.seeding import derive_seed
from pipeline.core.signals import Interrupted, stop_on_signals
from pipeline.envs.atari import env_id, game_action_meanings, game_settings
from pipeline.envs.stacks import FrameStacks
from pipeline.envs.vector import env_states, make_vector_env, restore_env_states
from pipeline.replay.buffer import make_replay, replay_bytes
from pipeline.replay.persist import ReplayFileError, load_replay, save_replay
from pipeline.replay.samplers import PrioritizedSampler
from pipeline.rl.checkpoint import save_checkpoint
from pipeline.rl.device import one_cpu_thread, pick_device
from pipeline.rl.exploration import Learner, make_learner
from pipeline.rl.schedules import beta_at
from pipeline.train.diagnostics import write_diagnostics
from pipeline.train.evaluation import Best, Evaluator, Snapshot, eval_seeds, free_cores
from pipeline.train.log import TrainingLog, training_progress
from pipeline.train.preflight import check_can_train
from pipeline.train.resume import RunState, clear, resumable_checkpoint, state_key
from pipeline.train.snapshots import check_kept, publish, save_passed


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
    """One training run: its learner, replay buffer, environments, counters, RNGs and evaluations, and the loop that
    advances them.

    A checkpoint is `resumable_state()` plus the replay buffer in a file beside it, and `load_state_dict()` puts
    exactly that back: a run resumed from any checkpoint goes on as if it had never stopped, and ends with the same
    bytes. The final model (dqn.pt) is `state_dict()`: the same less the environments and the replay buffer.
    """

    def __init__(self, params: Params, layout: TrainLayout, state: RunState, console: Console):
        p, t = params, params.train
        self.params, self.layout, self.state, self.console = params, layout, state, console
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
        self.learn_from = t.learning_starts  # the first step that may learn: later after an approximate resume
        self.best = Best()
        self.best_policy: dict | None = None  # the best evaluated network, as best.pt holds it
        self.evaluated_to = 0  # the last step whose network was sent for evaluation
        self.unevaluated: list[Snapshot] = []  # sent for evaluation before a checkpoint, no result yet
        self.evaluator: Evaluator | None = None
        # the episodes in progress, each environment's: its agent's stack, lives, return and length so far
        n = p.env.num_envs
        self.stacks = FrameStacks(n, p.env.frame_stack, self.frame_shape)
        self.lives = np.zeros(n, np.int64)
        self.restarted = np.zeros(n, bool)  # its episode ended on the last step: this step resets it
        self.episode_return, self.episode_length = np.zeros(n), np.zeros(n, np.int64)
        self.window: dict[str, list[float]] = defaultdict(list)  # metrics since the last log line
        self.saved_envs: list[dict] | None = None  # environment states to restore when the loop starts
        self.envs = None
        self.snapshot_steps = snapshot_schedule(t.snapshot_steps, t.steps)

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
        """The model and its training state: plain data (tensors, numbers, strings, lists, dicts)."""
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
            "learn_from": self.learn_from,
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

    def resumable_state(self, complete: bool, replay_file: str) -> dict:
        """state_dict and what the running loop holds: the environments and episodes in progress."""
        return {
            **self.state_dict(complete),
            "replay_file": replay_file,
            "envs": [
                {**s, "obs_buffer": [torch.from_numpy(f) for f in s["obs_buffer"]]} for s in env_states(self.envs)
            ],
            "episodes": {
                "stacks": torch.from_numpy(self.stacks.states.copy()),
                "lives": self.lives.tolist(),
                "restarted": self.restarted.tolist(),
                "return": self.episode_return.tolist(),
                "length": self.episode_length.tolist(),
                "window": dict(self.window),
            },
        }

    def load_state_dict(self, state: dict) -> bool:
        """Put a checkpoint's state back; True when the resume is exact (the replay buffer and the environments were
        saved with it and load), False when the buffer refills and the episodes start afresh."""
        self.learner.load_state_dict(state)
        self.act_rng.bit_generator.state = state["rng"]["act"]
        self.replay.rng.bit_generator.state = state["rng"]["replay"]
        torch.set_rng_state(state["rng"]["torch"])
        if self.per:
            self.replay.sampler.max_priority = state["max_priority"]
        self.step, self.episode = state["step"], state["episode"]
        self.returns.extend(state["recent_returns"])
        evaluation = state["evaluation"]
        best = evaluation["best"]
        self.best = Best(best["step"], best["mean"], best["std"])
        self.best_policy = self.policy_state(best["online"], best["step"]) if best["step"] >= 0 else None
        self.evaluated_to = evaluation["evaluated_to"]
        self.unevaluated = [
            Snapshot(sent["step"], self.policy_state(sent["online"], sent["step"])) for sent in evaluation["pending"]
        ]
        if self.load_episodes(state):
            self.learn_from = state["learn_from"]
            return True
        self.learn_from = self.step + self.params.train.learning_starts
        return False

    def load_episodes(self, state: dict) -> bool:
        """The replay buffer and the episodes in progress, where the checkpoint has them."""
        replay_file = state.get("replay_file")
        if replay_file is None:
            return False
        try:
            load_replay(self.replay, self.state.folder / replay_file)
        except ReplayFileError as err:
            self.console.print(f"[yellow]The replay buffer {replay_file} does not load ({err}).[/]", highlight=False)
            return False
        episodes = state["episodes"]
        self.stacks.states[...] = episodes["stacks"].numpy()
        self.lives[...], self.restarted[...] = episodes["lives"], episodes["restarted"]
        self.episode_return[...], self.episode_length[...] = episodes["return"], episodes["length"]
        self.window = defaultdict(list, episodes["window"])
        self.saved_envs = [{**s, "obs_buffer": [f.numpy() for f in s["obs_buffer"]]} for s in state["envs"]]
        return True

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

    def checkpoint(self, complete: bool = False) -> Path:
        """A checkpoint at the current step with its replay buffer beside it (written first, so a checkpoint in place
        always has its buffer); older buffers are then removed, and checkpoints beyond train.keep_checkpoints."""
        save_replay(self.replay, self.state.replay(self.step))
        path = self.state.checkpoint(self.step)
        save_checkpoint(path, self.resumable_state(complete, self.state.replay(self.step).name))
        self.state.prune(self.params.train.keep_checkpoints, replay_of=self.step)
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

    def start_episodes(self) -> None:
        """Begin the environments: where they were (an exact resume), else fresh episodes seeded by the step."""
        p = self.params
        frames, info = self.envs.reset(seed=derive_seed(p.seed, "train-envs", self.step))
        if self.saved_envs is not None:
            restore_env_states(self.envs, self.saved_envs)
            self.saved_envs = None
            return
        self.replay.start(frames)
        self.stacks.start(frames)
        self.lives[...] = info["lives"]
        self.restarted[...] = False

    def act_and_store(self, log: TrainingLog, progress, task) -> int:
        """One step of every environment, stored in the replay buffer; returns the step count before it."""
        p, t = self.params, self.params.train
        actions = choose_actions(
            self.learner, self.stacks.states, self.step, self.episode, self.act_rng, t.prefill_steps, len(self.meanings)
        )
        frames, rewards, terminated, truncated, info = self.envs.step(actions)
        acted = ~self.restarted
        lost = acted & (info["lives"] < self.lives)
        self.lives[...] = info["lives"]
        ended = terminated | truncated  # always False where the step was a reset
        self.replay.step(
            actions,
            learning_rewards(rewards, lost, t),
            terminated | (p.env.terminal_on_life_loss & lost),
            frames,
            ended,
            self.restarted,
        )
        before = self.step
        self.step += int(acted.sum())  # a reset is not an agent step
        self.episode_return += np.where(acted, rewards, 0.0)
        self.episode_length += acted
        for i in np.flatnonzero(ended):
            self.episode += 1
            self.returns.append(float(self.episode_return[i]))
            log.log(self.step, {"episode/return": self.episode_return[i], "episode/length": self.episode_length[i]})
            progress.update(task, last_return=f"{self.episode_return[i]:g}")
        self.episode_return[ended], self.episode_length[ended] = 0.0, 0
        self.stacks.push(frames, self.restarted)
        self.restarted[...] = ended
        return before

    def learn(self, before: int) -> float:
        """The updates due since step `before` (gradient_steps per train_frequency agent steps, whatever the number
        of environments) and the target syncs; returns beta."""
        t = self.params.train
        beta = beta_at(self.step, t.beta0, t.steps, t.learning_starts)
        for _ in range(due(before, self.step, t.train_frequency, self.learn_from) * t.gradient_steps):
            batch = self.replay.sample(t.batch_size, beta)
            metrics, td_errors = self.learner.learn(batch, self.step)
            self.replay.update_priorities(batch.indices, td_errors)
            for name, value in metrics.items():
                self.window[name].append(value)
            self.window["mean_abs_td"].append(float(np.abs(td_errors).mean()))
        if due(before, self.step, t.target_update_interval):
            self.learner.sync_target()
        return beta

    def run(self, log: TrainingLog) -> None:
        """Train from the current step to train.steps, evaluating on the way and at the end, then checkpoint; on
        SIGINT or SIGTERM, checkpoint and raise Interrupted."""
        p, t = self.params, self.params.train
        self.envs = make_vector_env(p.env, p.env.num_envs)
        self.evaluator = Evaluator(
            p.env, eval_seeds(p.seed, t.eval_episodes), p.evaluate.epsilon, background=free_cores() > 1
        )
        for snapshot in self.unevaluated:  # sent before the checkpoint this run resumed from, never answered
            self.evaluator.submit(snapshot)
        self.start_episodes()
        snapshot_every = max(t.steps // 10, t.log_interval)
        rate, rate_clock, rate_step = 0.0, time.perf_counter(), self.step

        with (
            contextlib.closing(self.envs),
            contextlib.closing(self.evaluator),
            stop_on_signals() as stop,
            training_progress(self.console) as progress,
        ):
            task = progress.add_task(
                "train", total=t.steps, completed=self.step, rate=0.0, last_return="-", schedule="", evaluation=""
            )
            while self.step < t.steps:
                before = self.act_and_store(log, progress, task)
                beta = self.learn(before)
                save_passed(self.state.snapshots, self.snapshot_steps, before, self.step, self.policy_state)
                if due(before, self.step, t.eval_interval):
                    self.evaluate_now()
                self.take_evaluations(log, progress, task)
                if due(before, self.step, t.log_interval):
                    now = time.perf_counter()
                    rate = (self.step - rate_step) / max(now - rate_clock, 1e-9)
                    rate_clock, rate_step = now, self.step
                    schedule = self.learner.schedule(self.step, self.episode)
                    metrics = {f"train/{k}": float(np.mean(v)) for k, v in self.window.items()}
                    metrics.update({f"train/{k}": v for k, v in schedule.items()})
                    metrics.update({"train/beta": beta, "train/steps_per_second": rate})
                    log.log(self.step, metrics)
                    self.window.clear()
                    progress.update(
                        task,
                        completed=self.step,
                        rate=rate,
                        schedule="  ".join(f"{k} {v:.3f}" for k, v in {**schedule, "beta": beta}.items()),
                    )
                if self.per and due(before, self.step, snapshot_every, self.learn_from):
                    log.log_replay_snapshot(self.step, self.replay.sampler.priorities(), beta)
                    if self.step < t.steps:  # the figure so far, to look at while training runs (the end draws its own)
                        write_diagnostics(self.state.live)
                if due(before, self.step, t.checkpoint_interval) and self.step < t.steps:
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
            self.checkpoint(complete=True)  # the final state, from which the run can be extended
            progress.update(task, completed=self.step)
        self.evaluator = None
        self.unevaluated = []


def check_replay_fits(params: Params) -> None:
    """Refuse a replay buffer larger than the memory it would live in, before anything is deleted or allocated."""
    t, size = params.train, params.env.screen_size
    device = pick_device(t.device)
    if replay_storage(device, t.capacity, (size, size)) is not None:
        return  # it fits on the GPU
    need, free = replay_bytes(t.capacity, (size, size), t.replay == "per"), available_memory()
    if free is not None and need > free:
        raise InputError(
            f"train.capacity = {t.capacity:,}: the replay buffer would need {gib(need)} of memory and {gib(free)} is "
            "available; lower train.capacity (or env.screen_size)"
        )


def publish_curves(state: RunState, layout: TrainLayout) -> None:
    """Copy the finished run's curves to the declared output."""
    with atomic_path(layout.live) as tmp:
        shutil.copytree(state.live, tmp)


def train(params: Params, out_dir: Path, resume: str = "no", console: Console | None = None) -> Path:
    """Train a DQN agent as `params` say; return the final model's path.

    resume: "no" starts afresh (clearing this run's state and the outputs), "yes" continues from this run's newest
    checkpoint (an error if there is none; train.steps may be raised to extend a finished run), "auto" continues
    when a checkpoint of the very same run exists (what `dvc repro` does after an interruption).
    """
    console = console or Console(stderr=True)
    layout = TrainLayout(Path(out_dir))
    check_can_train(params, layout)
    game_settings(params.env)  # an unknown game, mode or difficulty stops here, before a fresh start clears results
    check_replay_fits(params)
    state = RunState(layout.states / state_key(params))
    saved = resumable_checkpoint(state, params, required=resume == "yes", console=console) if resume != "no" else None
    trainer = Trainer(params, layout, state, console)
    if saved is not None:
        check_kept(state.snapshots, trainer.snapshot_steps, saved["step"])
    # everything that can be checked was: from here on the previous outputs go
    for stale in (layout.model, layout.best, layout.live, layout.snapshots):
        remove(stale)
    if saved is None:
        clear(state)
    state.folder.mkdir(parents=True, exist_ok=True)
    if saved is not None:
        exact = trainer.load_state_dict(saved)
        trainer.write_best()
        how = "exactly" if exact else "approximately: the replay buffer refills and new episodes start"
        console.print(f"Resuming from step {trainer.step:,} (episode {trainer.episode:,}) {how}.", highlight=False)
    redo = min((s.step for s in trainer.unevaluated), default=None)  # logged by a run killed before it checkpointed
    log = TrainingLog(state.live, resume_step=trainer.step if saved is not None else None, eval_from=redo)
    trainer.run(log)

    save_checkpoint(layout.model, trainer.state_dict(complete=True))
    returns = trainer.returns
    if returns:
        log.log(trainer.step, {"train/mean_return_last_100": float(np.mean(returns))})
    log.close()
    write_diagnostics(state.live)
    publish_curves(state, layout)
    publish(state.snapshots, trainer.snapshot_steps, layout.snapshots)
    console.print(
        f"Best evaluation: {trainer.best.mean:,.1f} ± {trainer.best.std:,.1f} at step {trainer.best.step:,} "
        f"({params.train.eval_episodes} episodes at epsilon {params.evaluate.epsilon:g}): {layout.best}",
        highlight=False,
    )
    console.print(
        f"Trained {trainer.step:,} steps over {trainer.episode:,} episodes; mean return of the last "
        f"{len(returns)}: {np.mean(returns) if returns else float('nan'):.1f}. Model: {layout.model}; resumable "
        f"state: {state.folder}",
        highlight=False,
    )
    return layout.model
