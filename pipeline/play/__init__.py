"""Layer 5, playing: the agents that play (trained or random), one seeded episode, and the worker pool."""
