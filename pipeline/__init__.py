"""Reproducible Atari gameplay datasets: DQN training, evaluation, recording and splitting."""

__version__ = "0.1.0"
