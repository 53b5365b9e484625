"""Teacher collection: many problems in flight against one endpoint, resumable and cached.

Each problem runs as an asyncio task; the environments live in worker processes. The
episode loop, outcome record, sample selection and shard driver are the same as for
built-in agents. A 401/403/404 stops the shard immediately; a spent budget stops new
requests, keeps what finished, and fails the shard with a clear message so a rerun (with
a larger budget) resumes. With ``batch: true`` every problem of the shard is in flight at
once and each round of requests goes out as one Batch API job (ordebug.llm.batch), whose id
is journaled so that a rerun polls it instead of paying again.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from ordebug.agents.llm import LLMAgent
from ordebug.collect.driver import ShardRun, error_entry, problem_entry
from ordebug.collect.envpool import EnvPool
from ordebug.collect.episode import EnvHandle, Episode, play
from ordebug.collect.shard import CollectConfig, lineage_for
from ordebug.env.environment import EnvConfig
from ordebug.llm.batch import BatchRunner
from ordebug.llm.client import FatalAPIError, LLMClient, RequestFailed
from ordebug.llm.config import RedactFilter, TeacherConfig
from ordebug.llm.usage import BudgetExceeded

log = logging.getLogger("ordebug")


async def run_episode_async(agent: LLMAgent, problem: dict, env_cfg: EnvConfig, sample: int,
                            pool: EnvPool | None = None) -> Episode:
    """One episode; the environment runs in ``pool`` (worker processes) or in a thread."""
    key = f"{problem.get('problem_id')}#{sample}"
    return await play(agent, problem, EnvHandle(env_cfg, key, pool, threaded=pool is None), sample)


def best_episode(episodes: list[Episode]) -> Episode:
    """Submitted first, then exact, faithful, feasible, then fewest steps, then the earliest sample."""
    return min(episodes, key=lambda e: (not e.outcome.get("submitted"), not e.outcome.get("exact"),
                                        not e.outcome.get("faithful"), not e.outcome.get("feasible"), len(e.steps),
                                        e.sample))


def _settings(teacher: TeacherConfig) -> dict:
    """The teacher's settings that shape its answers (never the key, nor the endpoint's address, limits or paths)."""
    keys = ("name", "model", "temperature", "max_tokens", "extra_body", "attempts_per_problem", "max_reprompts",
            "max_think_chars")
    out = {k: getattr(teacher, k) for k in keys}
    out.update({k: getattr(teacher, k) for k in ("reasoning_effort", "max_tokens_cap")  # new keys: only when set
                if getattr(teacher, k) != type(teacher).__dataclass_fields__[k].default})
    return out


async def collect_teacher_shard_async(problems_path: str | Path, samples_out: str | Path | None,
                                      outcomes_out: str | Path, journal_path: str | Path, teacher: TeacherConfig,
                                      cfg: CollectConfig, env_cfg: EnvConfig, pool: EnvPool | None = None,
                                      trajectories_out: str | Path | None = None) -> dict[str, Any]:
    client = LLMClient(teacher)  # a missing key fails here, before any work
    for target in (logging.getLogger(), *logging.getLogger().handlers):
        target.addFilter(RedactFilter([client._key]))
    agent = LLMAgent(teacher.name, client, teacher.max_reprompts, teacher.max_think_chars)
    lineage = lineage_for(cfg, env_cfg, _settings(teacher))
    run = ShardRun(problems_path, journal_path, cfg.agent, env_cfg, cfg, _settings(teacher))
    run.extra_progress = lambda: _usage_text(client)
    stop: list[BaseException] = []
    if teacher.batch:
        client.batcher = BatchRunner(client, run.journal, len(run.todo))
        log.info("%s: Batch API, %d problems per round, account %s", teacher.name, len(run.todo), teacher.account)
    else:
        log.info("%s: max %d requests in flight, %.0f req/min for the whole account %s", teacher.name,
                 teacher.max_concurrency, teacher.requests_per_minute, teacher.account)
    sem = asyncio.Semaphore(max(1, len(run.todo)) if teacher.batch else teacher.max_concurrency)

    async def one(p: dict) -> None:
        try:
            async with sem:
                if stop:
                    return
                try:
                    episodes = [await run_episode_async(agent, p, env_cfg, s, pool)
                                for s in range(teacher.attempts_per_problem)]
                    entry = problem_entry(best_episode(episodes), episodes, teacher.name, cfg.success_level,
                                          lineage, env_cfg, cfg.max_think_chars, samples_out is not None)
                except RequestFailed as exc:
                    entry = error_entry(p, teacher.name, f"request failed: {exc}")
                except (FatalAPIError, BudgetExceeded) as exc:
                    stop.append(exc)
                    return
                run.record(entry)
        finally:
            if client.batcher is not None:
                client.batcher.finished_one()

    try:
        if client.batcher is not None:
            await client.batcher.resume()
    except BaseException:
        await client.close()
        client.cache.close()
        raise
    tasks = [asyncio.create_task(one(p)) for p in run.todo]
    try:
        for fut in asyncio.as_completed(tasks):
            await fut
            if stop and isinstance(stop[0], FatalAPIError):
                for t in tasks:
                    t.cancel()
                break
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await client.close()
        client.cache.close()
    log.info("usage: %s", client.usage.summary())
    if stop:
        raise stop[0]
    return {**run.finish(samples_out, outcomes_out, trajectories_out), "usage": client.usage.summary()}


def _usage_text(client: LLMClient) -> str:
    u = client.usage.summary()
    return (f"{u['requests_per_s']:.2f} requests/s, {u['tokens_per_s']:.0f} tokens/s, {u['rate_limited']} 429s, "
            f"{u['reasoning_tokens']} reasoning tokens, cost ${u['cost_usd']:.4f}")


def collect_teacher_shard(problems_path: str | Path, samples_out: str | Path | None, outcomes_out: str | Path,
                          journal_path: str | Path, teacher: TeacherConfig, cfg: CollectConfig,
                          env_cfg: EnvConfig, trajectories_out: str | Path | None = None) -> dict[str, Any]:
    """Run a teacher shard; the environments live in ``cfg.workers`` worker processes,
    forked before the event loop starts, so solver work never stalls the requests."""
    teacher.api_key()  # a missing key is one clear error before any process starts
    pool = EnvPool(cfg.workers, env_cfg)
    try:
        return asyncio.run(collect_teacher_shard_async(problems_path, samples_out, outcomes_out, journal_path,
                                                       teacher, cfg, env_cfg, pool, trajectories_out))
    finally:
        pool.shutdown()
