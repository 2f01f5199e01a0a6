"""Layer 7, recording: seeded episodes of the agents into the gameplay dataset, MP4 videos and PNG frames."""
