"""Request layer for OpenAI-compatible endpoints: cache, rate limits, retries, usage."""
