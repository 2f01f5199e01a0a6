"""Throughput benchmark: learning-phase agent steps/s of our Trainer beside a CleanRL-style reference loop and
Stable-Baselines3's DQN, taking turns on one machine, quiet and under a synthetic load, with the machine's NN-bound
limit measured in the same run.

    python -m benchmarks.throughput                            # Breakout, 6 rounds of 5 s windows: ~20 min on 2 cores
    python -m benchmarks.throughput --seconds 3 --rounds 2     # a quicker look
    python -m benchmarks.throughput --json throughput.json     # the tables as JSON too
    python -m benchmarks.throughput.breakdown --replay per     # where an agent step of ours goes (cProfile)

The programs, all on the same settings (frame stack 4, the Nature network, a 100,000-transition replay, batch 32,
learning from step 5,000, an update every 4 agent steps, exploration held at epsilon 0.01 so that each runs its
network on every step, one environment unless num_envs says more):

- reference: ReferenceDQN (reference.py), a single-environment loop in the style of CleanRL's dqn_atari.py:
  gym.make with gymnasium's AtariPreprocessing and FrameStackObservation, a NumPy replay of stacked observations
  and next observations sampled uniformly, one forward pass per step, a Double DQN update (Huber loss, gradient
  clipping, Adam) on a batch copied with torch.as_tensor, a target network.
- sb3 (when installed: pip install -e '.[bench]'): stable_baselines3.DQN with CnnPolicy on make_atari_env and
  VecFrameStack, configured to the settings above (sb3.py). It is vanilla DQN, one forward pass per update fewer
  than the Double DQN of the other two.
- ours: the Trainer that `pipeline train` runs (its vector env, replay, evaluator process and DVCLive log), with
  uniform and prioritized replay at each --num-envs.

Both peers run twice, at torch's default intra-op threads and at one thread; ours runs on one thread whatever it is
started with (pipeline.rl.device.one_cpu_thread), so it runs once per load.

How a rate is taken (workers.py). Every program runs in its own process, started at once, and fills its replay to
learning_starts untimed. Its loop calls a gate at step boundaries where its learning is even: the reference after
every 4th step, SB3 from a callback at every 4th step, ours from its log, which the Trainer writes after a step's
updates (every 32 agent steps here). Past the fill the gate blocks; the benchmark then gives each program in turn a
window of --seconds: the gate lets the loop run to the first boundary past the deadline and reports the agent steps
and the exact seconds between the two boundaries. So a window holds whole update periods of the learning phase and
nothing else, and a program waiting for its turn uses no CPU.

Interleaving (schedule.py). --rounds rounds; in each, a quiet block and a block under load (--load-processes busy
Python processes, started before the block and killed after it; the two blocks' order alternates by round), and in
each block one window per program, in an order rotated by round. A program's rate under a load is its windows pooled:
their steps over their seconds. "x faster peer" divides by the fastest peer (either peer at either thread setting)
under the same load.

The NN-bound limit (limits.py): 1 / (env step + forward pass at batch 1 + update / 4), the time an agent step
cannot do without: make_env stepping random actions, our network at batch 1, and DQNAgent.update on a fixed batch of
32 (Double DQN, no sampling). A worker of its own runs cycles of 4 env steps, 4 forward passes and an update, timing
each call, for --seconds in every quiet block, taking its turn among the programs; one such worker runs on one thread,
one at torch's default, and the higher of their two limits is the one ours is compared with. The physical limit is
the bare emulator (ale_py.ALEInterface, frame skip 1, random actions) on one core.

--record adds the recording rows: our record() (HDF5 + MP4 with overlays) at num_envs 1 and the largest --num-envs
against a reference recorder (one env, a PNG per frame with cv2.imwrite and an MP4 with imageio), each over a whole
call, with an untrained network's checkpoint.

Timings taken while other work runs on the machine measure that contention too: compare the rows of one run, whose
interleaving gives every program the same share of it, not runs of different days.
"""
