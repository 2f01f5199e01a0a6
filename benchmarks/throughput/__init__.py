"""Throughput benchmark: agent steps/s while learning, gradient updates/s and recorded frames/s of this pipeline,
beside the emulator's physical limit and a reference DQN loop of the usual kind, all measured in one process on
one machine and printed as one table with an "x reference" column.

    python -m benchmarks.throughput                          # Breakout, num_envs 1,4,8,16, ~20 s per config
    python -m benchmarks.throughput --num-envs 1,8 --seconds 10 --skip-record
    python -m benchmarks.throughput --device cuda --json throughput.json   # the table as JSON too

Every rate is a count divided by the wall-clock seconds of the window it was counted in. What each row measures:

- Physical limit: ale_py.ALEInterface on the game's ROM (ale_py.roms.get_rom_path), frame skip 1, no sticky actions,
  uniformly random actions from the minimal set, act() in a loop on one core for a quarter of --seconds (at least 2 s),
  reset_game() at game over (ALE counts no frames for a reset, and neither does this; its time is counted). The
  "x os.cpu_count()" rows multiply by the core count: an extrapolation, not a measurement. Agent steps/s are frames/s
  divided by env.frameskip (4).
- Reference training: ReferenceDQN below, a single-environment loop in the style of CleanRL's dqn_atari.py: gym.make
  ALE/<Game>-v5 with gymnasium's AtariPreprocessing (noop_max 30, frame skip 4, 84x84 grayscale) and
  FrameStackObservation(k) (k = --frame-stack, as ours); a NumPy replay of stacked observations and next observations,
  sampled uniformly; epsilon-greedy with one forward pass per step; every 4 agent steps one Double DQN update (Huber
  loss, gradient-norm clipping, Adam, batch 32), the batch copied to the device with torch.as_tensor; a target network.
  It is given the benefit of the doubt where such scripts differ (acting under no_grad, uint8 batches converted on the
  device), but uses torch's default threads as they do (ours acts with one intra-op thread on the CPU). Its rate is
  agent steps counted over --seconds of learning after --warmup steps of filling.
- Ours, training: train() with the library's default TrainParams and EnvParams (PER, frame_stack 8, batch 32,
  train_frequency 4, ...) except the game, frame_stack, device, num_envs, and steps, learning_starts, capacity,
  checkpoint_interval and log_interval scaled down. The rate is read from the run's own DVCLive log
  (<out>/training/plots/metrics/train/steps_per_second.tsv, one row per log_interval window): the windows that start
  at or after learning_starts, leaving out those holding a PER snapshot with its diagnostics redraw (train() makes ten
  per run whatever its length, so a run scaled down to seconds would overweight them; the snapshot files name their
  steps), give steps / seconds = sum(window steps) / sum(window steps / window rate). Process start, environment
  start-up, the fill and the final checkpoint and figure are outside every kept window. Each config runs twice: a
  short pilot (uniform replay, so no snapshots) only to learn its rate, then the measured run, with PER as the
  defaults say, sized to about --seconds of learning in about 40 windows (at least 16 steps and 20 windows each).
- Updates/s: the gradient step alone, sampling included, for a quarter of --seconds (at least 2 s) after 3 untimed
  updates: the reference's update on its buffer (as its training run left it), against our replay.sample +
  learner.learn + replay.update_priorities (make_learner, and make_replay built as train() builds it on this device,
  filled with 10,000 random frames through its public API). Same batch size and device.
- Recording: record() (HDF5 + MP4 with overlays, default RecordParams but for episodes = max(4, largest num_envs) and
  max_episode_steps = max(25, 5 x --seconds)) with the checkpoint of the first training run, at num_envs 1 and the
  largest asked for, against a reference recorder:
  one environment playing the same checkpoint batch-1 (the same share of random episodes), each frame written as a PNG
  with cv2.imwrite and appended to an MP4 with imageio. Frames/s = rows recorded / wall seconds of the whole call.

On the CPU, torch's intra-op threads are left at torch's default unless --threads sets them (for all rows). Timings
taken while other work runs on the machine are noisy (batch-1 forward passes with several OpenMP threads suffer most);
compare rows of one run, not runs of different days.
"""
