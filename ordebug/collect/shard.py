"""Collect one (built-in agent, bench shard): worker processes, a journal for resume, atomic outputs."""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ordebug.agents.base import make_agent
from ordebug.collect.driver import ShardRun, error_entry, problem_entry
from ordebug.collect.episode import SUCCESS_LEVELS, run_episode
from ordebug.collect.samples import Lineage, config_hash, prompt_version
from ordebug.env.environment import EnvConfig

log = logging.getLogger("ordebug")


@dataclass
class CollectConfig:
    agent: str
    workers: int = 1
    success_level: str = "exact"
    max_think_chars: int | None = None

    def __post_init__(self) -> None:
        if self.success_level not in SUCCESS_LEVELS:
            raise ValueError(f"success_level must be one of {SUCCESS_LEVELS}, got {self.success_level!r}")


def lineage_for(cfg: CollectConfig, env: EnvConfig, teacher: dict | None = None) -> Lineage:
    """Lineage of a collection (the worker count is not part of it); ``teacher``: the settings
    that shape a teacher's answers (never its key)."""
    model = teacher.get("model") if isinstance(teacher, dict) else None
    shaping = {"agent": cfg.agent, "success_level": cfg.success_level, "max_think_chars": cfg.max_think_chars}
    return Lineage(cfg.agent, model, prompt_version(), config_hash(shaping, env, teacher))


def solve_problem(problem: dict, env: EnvConfig, cfg: CollectConfig, lineage: Lineage,
                  want_samples: bool = True) -> dict:
    """Run one problem with a built-in agent; its journal entry."""
    try:
        ep = run_episode(make_agent(cfg.agent), problem, env)
        return problem_entry(ep, [ep], cfg.agent, cfg.success_level, lineage, env, cfg.max_think_chars,
                             want_samples)
    except Exception as exc:  # one bad problem never takes the shard down (all of them do)
        log.exception("problem %s failed", problem.get("problem_id"))
        return error_entry(problem, cfg.agent, f"error: {exc!r}")


def collect_shard(problems_path: str | Path, samples_out: str | Path | None, outcomes_out: str | Path,
                  journal_path: str | Path, cfg: CollectConfig, env: EnvConfig | None = None,
                  trajectories_out: str | Path | None = None) -> dict[str, Any]:
    """Collect a shard with a built-in agent; resumable from the journal. Returns counts."""
    env = env or EnvConfig()
    lineage = lineage_for(cfg, env)
    run = ShardRun(problems_path, journal_path, cfg.agent, env, cfg)
    if cfg.workers <= 1:
        for p in run.todo:
            run.record(solve_problem(p, env, cfg, lineage, samples_out is not None))
    else:
        with ProcessPoolExecutor(max_workers=cfg.workers) as pool:
            futures = [pool.submit(solve_problem, p, env, cfg, lineage, samples_out is not None) for p in run.todo]
            for fut in as_completed(futures):
                run.record(fut.result())
    return run.finish(samples_out, outcomes_out, trajectories_out)
