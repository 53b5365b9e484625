"""An append-only, crash-safe journal of finished problems (one JSON line each).

It lives outside Snakemake's declared outputs (which Snakemake deletes when a job fails),
so a killed shard resumes where it stopped. A line cut by a kill mid-write is detected,
reported and skipped; its problem is simply done again.

A teacher in batch mode also writes its Batch API jobs here (``{"batch": {...}}`` when one
is submitted, ``{"batch_done": ID}`` once its answers are in the cache and the ledger), so a
killed job polls the batches it had submitted instead of paying for them again.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
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
        for entry in self._lines(warn=True):
            if "problem_id" in entry and entry.get("key") == self.key:
                done[entry["problem_id"]] = entry
        return done

    def _lines(self, warn: bool = False) -> list[dict]:
        out: list[dict] = []
        if not self.path.exists():
            return out
        with open(self.path, "rb") as fh:
            for n, raw in enumerate(fh, 1):
                try:
                    entry = json.loads(raw)
                    if not isinstance(entry, dict) or not raw.endswith(b"\n") or not (
                            "problem_id" in entry or "batch" in entry or "batch_done" in entry):
                        raise ValueError("incomplete entry")
                except ValueError:
                    if warn:
                        log.warning("journal %s line %d is corrupt (an interrupted write?); its problem will be "
                                    "redone", self.path, n)
                    continue
                out.append(entry)
        return out

    def pending_batches(self) -> list[dict]:
        """Batch API jobs of this key submitted but not yet harvested, oldest first."""
        lines = [e for e in self._lines() if e.get("key") == self.key]
        done = {e["batch_done"] for e in lines if "batch_done" in e}
        return [e["batch"] for e in lines if "batch" in e and e["batch"].get("id") not in done]

    def append_batch(self, batch: dict) -> None:
        self.append({"batch": batch})

    def batch_done(self, batch_id: str) -> None:
        self.append({"batch_done": batch_id})

    def append(self, entry: dict) -> None:
        line = json.dumps({**entry, "key": self.key, "ts": round(time.time(), 3)}, sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
