"""GRPO / RLVR after SFT: episodes in the repair environment, the solver as the reward."""
