"""Test helpers that speak real protocols (a local OpenAI-compatible teacher server)."""
