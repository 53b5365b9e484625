"""OR-Debug-Bench generation: verified problems written as JSONL shards."""
