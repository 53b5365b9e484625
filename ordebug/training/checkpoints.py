"""Resumable training: the work folder of a run, its fingerprint and its complete checkpoints.

LLaMA-Factory (the HF Trainer) writes ``checkpoint-N/`` every ``save_steps`` steps into the
run's work folder (``results/train/{run}/checkpoints``, outside the rule's outputs, so neither
a failed job nor Snakemake's clean-up removes it). A checkpoint is *complete* when its
``trainer_state.json`` parses and names step N: the Trainer writes that file last, after the
weights, optimizer, scheduler and RNG states. A rerun resumes from the newest complete
checkpoint, but only in a work folder of the same *fingerprint* (rendered config and the
bytes of the training data): checkpoints of other settings or data are moved aside, never
resumed and never deleted.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
FINGERPRINT = "fingerprint.json"
COMPLETED = "COMPLETED"
ATTEMPTS = "attempts.jsonl"
RUN_CONFIG = "run_config.yaml"
_VOLATILE = ("output_dir", "resume_from_checkpoint")


def fingerprint(cfg: dict[str, Any], data_files: list[Path]) -> str:
    """Hash of the training settings (not where they write) and of the training data."""
    h = hashlib.sha256(json.dumps({k: v for k, v in cfg.items() if k not in _VOLATILE}, sort_keys=True).encode())
    for f in data_files:
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def checkpoint_step(path: Path) -> int | None:
    """N of a ``checkpoint-N`` folder whose trainer state is whole and says step N, else None."""
    m = CHECKPOINT.match(path.name)
    if not m or not path.is_dir():
        return None
    try:
        state = json.loads((path / "trainer_state.json").read_text())
    except (OSError, ValueError):
        return None
    return int(m.group(1)) if state.get("global_step") == int(m.group(1)) else None


def newest_complete(work: Path) -> Path | None:
    """The complete checkpoint with the highest step, if any."""
    done = [(s, p) for p in work.glob("checkpoint-*") if (s := checkpoint_step(p)) is not None]
    return max(done)[1] if done else None


def _aside(path: Path, tag: str) -> Path:
    target = path.with_name(f"{path.name}.{tag}-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.{tag}-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
        n += 1
    path.rename(target)
    return target


def prepare(work: Path, fp: str, resume: bool = True) -> tuple[Path | None, list[str]]:
    """Get the work folder ready for an attempt; return the checkpoint to resume from and notes.

    A folder of another fingerprint (or any folder when ``resume`` is false) is moved aside
    whole; an incomplete ``checkpoint-N`` (killed while saving) is renamed so that neither we
    nor the Trainer resume from it; without a complete checkpoint, leftovers of a killed first
    attempt are moved aside so that the Trainer starts in an empty folder.
    """
    notes: list[str] = []
    if work.exists():
        try:
            old = json.loads((work / FINGERPRINT).read_text()).get("fingerprint")
        except (OSError, ValueError):
            old = None
        if not resume or old != fp:
            moved = _aside(work, "stale" if resume else "previous")
            why = "resume is off" if not resume else f"settings or data changed ({old} -> {fp})"
            notes.append(f"{why}: earlier work kept in {moved}")
    work.mkdir(parents=True, exist_ok=True)
    (work / FINGERPRINT).write_text(json.dumps({"fingerprint": fp}) + "\n")
    for p in sorted(work.glob("checkpoint-*")):
        if CHECKPOINT.match(p.name) and checkpoint_step(p) is None:
            notes.append(f"incomplete {p.name} (killed while saving) moved to {_aside(p, 'incomplete').name}")
    ckpt = newest_complete(work)
    if ckpt is None and any(p.name not in (FINGERPRINT, ATTEMPTS, RUN_CONFIG) and not p.name.startswith("checkpoint-")
                            for p in work.iterdir()):
        moved = _aside(work, "unfinished")
        work.mkdir(parents=True)
        (work / FINGERPRINT).write_text(json.dumps({"fingerprint": fp}) + "\n")
        if (moved / ATTEMPTS).exists():
            (work / ATTEMPTS).write_text((moved / ATTEMPTS).read_text())
        notes.append(f"no complete checkpoint: leftovers of the killed attempt kept in {moved.name}")
    return ckpt, notes


def completed(work: Path, fp: str) -> bool:
    """Whether training of this fingerprint already finished in the work folder."""
    try:
        return json.loads((work / COMPLETED).read_text()).get("fingerprint") == fp
    except (OSError, ValueError):
        return False


def mark_completed(work: Path, fp: str, step: int | None) -> None:
    (work / COMPLETED).write_text(json.dumps({"fingerprint": fp, "global_step": step}) + "\n")


def record_attempt(work: Path, entry: dict[str, Any]) -> list[dict]:
    """Append this attempt to the work folder's attempt log; return every attempt so far."""
    path = work / ATTEMPTS
    with open(path, "a") as fh:
        fh.write(json.dumps(entry) + "\n")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
