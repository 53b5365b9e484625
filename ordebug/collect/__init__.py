"""Running agents in the environment and collecting verified trajectories."""
