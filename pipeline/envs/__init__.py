"""Layer 3, the Atari environments: one preprocessed ALE game, several stepped together, the agent's frame stacks."""
