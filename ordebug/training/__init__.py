"""Training: tiny local models, length checks, LLaMA-Factory config and runs."""
