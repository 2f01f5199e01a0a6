"""Layer 3, experience replay: frames stored once, uniform or prioritized (sum tree) sampling."""
