"""An append-only, crash-safe journal of finished problems (one JSON line each).

It lives outside Snakemake's declared outputs (which Snakemake deletes when a job fails),
so a killed shard resumes where it stopped. A line cut by a kill mid-write is detected,
reported and skipped; its problem is simply done again.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger("ordebug")


class Journal:
    def __init__(self, path: str | os.PathLike[str], key: str) -> None:
        self.path = Path(path)
        self.key = key
        self._lock = threading.Lock()

    def load(self) -> dict[str, dict]:
        """Entries of this key by problem id; corrupt or foreign lines are skipped."""
        done: dict[str, dict] = {}
        if not self.path.exists():
            return done
        with open(self.path, "rb") as fh:
            for n, raw in enumerate(fh, 1):
                try:
                    entry = json.loads(raw)
                    if not isinstance(entry, dict) or "problem_id" not in entry or not raw.endswith(b"\n"):
                        raise ValueError("incomplete entry")
                except ValueError:
                    log.warning("journal %s line %d is corrupt (an interrupted write?); its problem will be redone",
                                self.path, n)
                    continue
                if entry.get("key") != self.key:
                    continue
                done[entry["problem_id"]] = entry
        return done

    def append(self, entry: dict) -> None:
        line = json.dumps({**entry, "key": self.key}, sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
