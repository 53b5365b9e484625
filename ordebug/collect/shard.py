"""Collect one (agent, bench shard): parallel workers, a journal for resume, atomic outputs."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ordebug.agents.base import make_agent
from ordebug.bench.shards import read_problems, write_jsonl_atomic
from ordebug.collect.episode import SUCCESS_LEVELS, episode_samples, outcome_record, run_episode
from ordebug.collect.journal import Journal
from ordebug.env.environment import EnvConfig

log = logging.getLogger("ordebug")
PROGRESS_EVERY = 20


@dataclass
class CollectConfig:
    agent: str
    workers: int = 1
    success_level: str = "exact"
    max_think_chars: int | None = None

    def __post_init__(self) -> None:
        if self.success_level not in SUCCESS_LEVELS:
            raise ValueError(f"success_level must be one of {SUCCESS_LEVELS}, got {self.success_level!r}")


def solve_problem(agent_name: str, problem: dict, env: EnvConfig, cfg: CollectConfig) -> dict:
    """Run one problem; the journal entry (outcome + samples if the trajectory succeeded)."""
    try:
        ep = run_episode(make_agent(agent_name), problem, env)
    except Exception as exc:  # one bad problem never takes the shard down
        log.exception("problem %s failed", problem.get("problem_id"))
        return {"problem_id": problem.get("problem_id"),
                "outcome": {"problem_id": problem.get("problem_id"), "agent": agent_name, "success": False,
                            "feasible": False, "faithful": False, "failure_reason": f"error: {exc!r}"},
                "samples": []}
    outcome = outcome_record(ep, agent_name, cfg.success_level)
    samples = episode_samples(ep, agent_name, cfg.max_think_chars) if outcome["success"] else []
    return {"problem_id": problem["problem_id"], "outcome": outcome, "samples": samples}


def _key(problems_path: Path, agent: str, env: EnvConfig, cfg: CollectConfig) -> str:
    h = hashlib.sha256(problems_path.read_bytes())
    h.update(json.dumps([agent, asdict(env), asdict(cfg)], sort_keys=True).encode())
    return h.hexdigest()[:16]


class Progress:
    """A progress line every PROGRESS_EVERY problems: done, success rate, rate, ETA."""

    def __init__(self, total: int, already: int) -> None:
        self.total, self.done, self.ok = total, already, 0
        self.new = 0
        self.start = time.perf_counter()

    def update(self, success: bool) -> None:
        self.done += 1
        self.new += 1
        self.ok += int(success)
        if self.new % PROGRESS_EVERY == 0 or self.done == self.total:
            dt = time.perf_counter() - self.start
            rate = self.new / max(dt, 1e-9)
            eta = (self.total - self.done) / max(rate, 1e-9)
            log.info("%d/%d problems, success %.1f%% (this run), %.1f problems/s, ETA %.0f s",
                     self.done, self.total, 100 * self.ok / self.new, rate, eta)


def collect_shard(
    problems_path: str | Path,
    samples_out: str | Path,
    outcomes_out: str | Path,
    journal_path: str | Path,
    cfg: CollectConfig,
    env: EnvConfig | None = None,
    on_result: Callable[[dict], None] | None = None,
) -> dict[str, Any]:
    """Collect a shard; resumable from the journal. Returns counts."""
    env = env or EnvConfig()
    problems_path = Path(problems_path)
    problems = list(read_problems([problems_path]))
    journal = Journal(journal_path, _key(problems_path, cfg.agent, env, cfg))
    done = journal.load()
    todo = [p for p in problems if p.get("problem_id") not in done]
    log.info("%s on %s: %d problems, %d already done (journal), %d to run with %d worker(s)",
             cfg.agent, problems_path.name, len(problems), len(done), len(todo), cfg.workers)
    progress = Progress(len(problems), len(done))

    def record(entry: dict) -> None:
        journal.append(entry)
        done[entry["problem_id"]] = entry
        progress.update(entry["outcome"]["success"])
        if on_result:
            on_result(entry)

    if cfg.workers <= 1:
        for p in todo:
            record(solve_problem(cfg.agent, p, env, cfg))
    else:
        with ProcessPoolExecutor(max_workers=cfg.workers) as pool:
            futures = [pool.submit(solve_problem, cfg.agent, p, env, cfg) for p in todo]
            for fut in as_completed(futures):
                record(fut.result())
    return finish_shard(problems, done, samples_out, outcomes_out, journal)


def finish_shard(problems: list[dict], done: dict[str, dict], samples_out: str | Path, outcomes_out: str | Path,
                 journal: Journal) -> dict[str, Any]:
    """Write both outputs in problem order, atomically, then drop the journal."""
    ordered = [done[p["problem_id"]] for p in problems if p.get("problem_id") in done]
    n_samples = write_jsonl_atomic(samples_out, (s for e in ordered for s in e["samples"]))
    write_jsonl_atomic(outcomes_out, (e["outcome"] for e in ordered))
    journal.remove()
    ok = sum(e["outcome"]["success"] for e in ordered)
    log.info("wrote %d samples from %d/%d successful problems", n_samples, ok, len(ordered))
    return {"problems": len(ordered), "successful": ok, "samples": n_samples}
