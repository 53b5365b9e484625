"""The one shard driver: journal, to-do list, progress and the atomic outputs.

Built-in agents (worker processes) and LLM agents (asyncio tasks) feed it entries
``{problem_id, outcome, samples, trajectory, error?}``. Finished problems go to the
journal at once, so a killed job resumes where it stopped. A problem that raised (an
``error`` entry) is written to the outputs as a failure but not journaled, so a rerun
tries it again; a shard in which every problem raised is a bug, not a bad collection:
it fails with the first error instead of writing empty files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ordebug.collect.episode import Episode
from ordebug.collect.journal import Journal
from ordebug.collect.outcome import error_record, outcome_record
from ordebug.collect.samples import Lineage, select_samples
from ordebug.env.environment import EnvConfig
from ordebug.jsonl import read_jsonl, write_jsonl_atomic
from ordebug.solver.errors import OrDebugError

log = logging.getLogger("ordebug")
PROGRESS_EVERY = 20


class ShardError(OrDebugError):
    """Every problem of a shard raised: the job fails with the first error."""


def run_key(problems_path: Path, *settings: object) -> str:
    """The journal key: the shard's bytes and every setting that shapes its results."""
    h = hashlib.sha256(problems_path.read_bytes())
    norm = [asdict(s) if hasattr(s, "__dataclass_fields__") else s for s in settings]  # type: ignore[arg-type]
    h.update(json.dumps(norm, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


class ShardRun:
    """One shard's collection: what is done, what is left, progress, and the outputs."""

    def __init__(self, problems_path: str | Path, journal_path: str | Path, label: str, *settings: object) -> None:
        self.problems_path = Path(problems_path)
        self.problems = read_jsonl(self.problems_path)
        self.journal = Journal(journal_path, run_key(self.problems_path, label, *settings))
        self.done = self.journal.load()
        self.todo = [p for p in self.problems if p.get("problem_id") not in self.done]
        self.new = self.ok = 0
        self.start = time.perf_counter()
        self.extra_progress: Any = None  # a callable giving more text for the progress line
        log.info("%s on %s: %d problems, %d already done (journal), %d to run", label, self.problems_path.name,
                 len(self.problems), len(self.done), len(self.todo))

    def record(self, entry: dict) -> None:
        if not entry.get("error"):
            self.journal.append(entry)
        self.done[entry["problem_id"]] = entry
        self.new += 1
        self.ok += int(bool(entry["outcome"].get("success")))
        if self.new % PROGRESS_EVERY == 0 or len(self.done) == len(self.problems):
            dt = max(time.perf_counter() - self.start, 1e-9)
            rate = self.new / dt
            more = f", {self.extra_progress()}" if self.extra_progress else ""
            log.info("%d/%d problems, success %.1f%% (this run), %.2f problems/s%s, ETA %.0f s", len(self.done),
                     len(self.problems), 100 * self.ok / self.new, rate, more,
                     (len(self.problems) - len(self.done)) / max(rate, 1e-9))

    def finish(self, samples_out: str | Path | None, outcomes_out: str | Path,
               trajectories_out: str | Path | None = None) -> dict[str, Any]:
        """Write the outputs in problem order, atomically, then drop the journal."""
        ordered = [self.done[p["problem_id"]] for p in self.problems if p.get("problem_id") in self.done]
        errors = [e for e in ordered if e.get("error")]
        if ordered and len(errors) == len(ordered):
            raise ShardError(f"every problem of {self.problems_path} raised; the first: {errors[0]['error']}")
        n_samples = 0
        if samples_out is not None:
            n_samples = write_jsonl_atomic(samples_out, (s for e in ordered for s in e["samples"]))
        if trajectories_out is not None:
            write_jsonl_atomic(trajectories_out, (e["trajectory"] for e in ordered if e.get("trajectory")))
        write_jsonl_atomic(outcomes_out, (e["outcome"] for e in ordered))
        self.journal.remove()
        ok = sum(bool(e["outcome"].get("success")) for e in ordered)
        log.info("wrote %d samples from %d/%d successful problems (%d raised)", n_samples, ok, len(ordered),
                 len(errors))
        return {"problems": len(ordered), "successful": ok, "samples": n_samples, "errors": len(errors)}


def trajectory_record(problem: dict, outcome: dict, steps: list[dict]) -> dict:
    """What the trajectory viewer shows of one problem."""
    keys = ("problem_id", "agent", "error_type", "family", "difficulty", "tier", "success", "feasible", "faithful",
            "exact", "submitted", "objective", "failure_reason", "attempts")
    return {**{k: outcome.get(k) for k in keys}, "original_objective": problem.get("original_objective"),
            "root_cause": problem.get("ground_truth", {}).get("fixes"), "steps": steps,
            "dropped": outcome.get("dropped", {})}


def problem_entry(ep: Episode, episodes: list[Episode], agent: str, level: str, lineage: Lineage,
                  env_cfg: EnvConfig, max_think_chars: int | None, want_samples: bool = True) -> dict:
    """The journal entry of a finished problem: outcome, samples, drops and trajectory
    (``want_samples=False``, as in evaluation: no selection, no replay)."""
    outcome = outcome_record(ep.problem, agent, ep, level, episodes)
    samples, drops = select_samples(ep, level, lineage, env_cfg, max_think_chars) if want_samples else ([], {})
    outcome["dropped"] = dict(sorted(drops.items()))
    outcome["samples"] = len(samples)
    return {"problem_id": ep.problem["problem_id"], "outcome": outcome, "samples": samples,
            "trajectory": trajectory_record(ep.problem, outcome, [s.to_json() for s in ep.steps])}


def error_entry(problem: dict, agent: str, reason: str) -> dict:
    """A problem that raised: a failed outcome with the reason, no samples, not journaled."""
    outcome = error_record(problem, agent, reason)
    return {"problem_id": problem.get("problem_id"), "outcome": outcome, "samples": [], "error": reason,
            "trajectory": trajectory_record(problem, outcome, [])}
