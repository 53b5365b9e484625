"""Logging into a rule's log file (and stderr)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def setup_logging(path: str | Path | None = None, level: int = logging.INFO) -> logging.Logger:
    """Log lines with a timestamp to ``path`` (emptied first) and stderr. The file is written
    in append mode: a server the rule starts appends its own lines to the same log, and a
    handler with its own offset (mode "w") wrote over them (seen in the demo's eval logs)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text("")
        handlers.append(logging.FileHandler(path, mode="a"))
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True)
    log = logging.getLogger("ordebug")

    def excepthook(kind: type[BaseException], exc: BaseException, tb: object) -> None:
        # an expected error (bad input) is one clear line in the rule's log; others keep the trace
        from ordebug.solver.errors import OrDebugError

        if isinstance(exc, OrDebugError):
            log.error("%s", exc)
        else:
            log.error("unexpected error", exc_info=(kind, exc, tb))  # type: ignore[arg-type]
        logging.shutdown()
        sys.__excepthook__(kind, exc, tb)  # type: ignore[arg-type]

    sys.excepthook = excepthook
    return log
