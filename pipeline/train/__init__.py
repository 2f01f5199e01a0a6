"""Layer 6, training: the Trainer (act, store, learn, log, checkpoint), its logs and its diagnostics figure."""
