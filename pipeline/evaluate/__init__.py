"""Layer 7, evaluation: the trained agent against the random baseline on the same seeded episodes."""
