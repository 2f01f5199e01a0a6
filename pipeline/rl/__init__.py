"""Layer 4, the learning algorithm: networks, acting, the DQN update, exploration modes, schedules, checkpoints."""
