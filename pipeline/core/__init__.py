"""Layer 1, plumbing every stage shares: atomic outputs, file hashes, derived seeds, signal handling, versions."""
