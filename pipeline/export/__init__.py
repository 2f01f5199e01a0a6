"""Layer 7, exports: a recorded dataset in other formats users already load (Minari), built from the file alone."""
