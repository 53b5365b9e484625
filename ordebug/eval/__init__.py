"""Evaluation: metrics, serving a fine-tuned model, report tables and plots."""
