"""Logging into a rule's log file (and stderr)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def setup_logging(path: str | Path | None = None, level: int = logging.INFO) -> logging.Logger:
    """Log lines with a timestamp to ``path`` and stderr."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w"))
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True)
    return logging.getLogger("ordebug")
