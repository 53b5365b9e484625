"""Teacher collection: many problems in flight against one endpoint, resumable and cached.

Each problem runs as an asyncio task; the environment's solver work runs in threads.
Finished problems go to the shard's journal at once. A 401/403/404 stops the shard
immediately; a spent budget stops new requests, keeps what finished, and fails the shard
with a clear message so a rerun (with a larger budget) resumes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from ordebug.agents.llm import LLMAgent
from ordebug.bench.shards import read_problems
from ordebug.collect.envpool import EnvPool
from ordebug.collect.episode import Episode
from ordebug.collect.journal import Journal
from ordebug.collect.shard import CollectConfig, _key, finish_shard
from ordebug.data.sft import step_sample
from ordebug.env.environment import EnvConfig, ProblemError, RepairEnv
from ordebug.eval.metrics import annotate
from ordebug.llm.client import FatalAPIError, LLMClient, RequestFailed
from ordebug.llm.config import RedactFilter, TeacherConfig
from ordebug.llm.usage import BudgetExceeded

log = logging.getLogger("ordebug")


async def run_episode_async(agent: LLMAgent, problem: dict, env_cfg: EnvConfig, sample: int,
                            pool: EnvPool | None = None) -> Episode:
    """One episode; the environment runs in ``pool`` (worker processes) or in a thread."""
    key = f"{problem.get('problem_id')}#{sample}"
    env = RepairEnv(env_cfg) if pool is None else None

    async def call(name: str, *args: Any) -> Any:
        if pool is not None:
            return await getattr(pool, name)(key, *args)
        fn = {"reset": env.reset, "step": env.step, "evaluate": lambda: env.evaluate(submitted=False).to_json()}
        return await asyncio.to_thread(fn[name], *args)

    ep = Episode(problem)
    try:
        obs, _ = await call("reset", problem)
    except ProblemError as exc:
        ep.outcome = {"feasible": False, "faithful": False, "failure_reason": f"bad problem record: {exc}"}
        return ep
    reprompts = tokens_in = tokens_out = 0
    failure = None
    info: dict = {}
    try:
        while True:
            ans = await agent.act(obs, sample)
            reprompts += ans.reprompts
            tokens_in += ans.prompt_tokens
            tokens_out += ans.completion_tokens
            if ans.action is None:
                failure = ans.failure
                break
            ep.steps.append({"observation": obs, "answer": ans.text, "action": ans.action.text, "valid": True,
                             "parsed": ans.action})
            obs, _, terminated, truncated, info = await call("step", ans.action.text)
            if terminated or truncated:
                break
        if failure is not None:
            outcome = await call("evaluate")
            outcome.update(feasible=False, faithful=False, failure_reason=failure)
        else:
            outcome = dict(info["outcome"])
            outcome["failure_reason"] = (None if outcome["faithful"] else
                                         "feasible but the objective changed" if outcome["feasible"] else
                                         "still infeasible")
    finally:
        if pool is not None:
            await pool.close(key)
    outcome.update(actions=[s["action"] for s in ep.steps], reprompts=reprompts, sample=sample,
                   prompt_tokens=tokens_in, completion_tokens=tokens_out)
    ep.outcome = outcome
    return ep


def best_episode(episodes: list[Episode]) -> Episode:
    """Exact first, then faithful, then feasible, then fewest steps, then the earliest sample."""
    return min(episodes, key=lambda e: (not e.outcome.get("exact"), not e.outcome.get("faithful"),
                                        not e.outcome.get("feasible"), len(e.steps), e.outcome.get("sample", 0)))


async def _solve(agent: LLMAgent, problem: dict, env_cfg: EnvConfig, cfg: CollectConfig, attempts: int,
                 pool: EnvPool | None = None) -> dict:
    episodes = [await run_episode_async(agent, problem, env_cfg, s, pool) for s in range(attempts)]
    ep = best_episode(episodes)
    success = bool(ep.outcome.get(cfg.success_level))
    outcome = {"problem_id": problem.get("problem_id"), "agent": agent.name,
               "error_type": problem.get("error_type"), "family": problem.get("family"),
               "difficulty": problem.get("difficulty"), "tier": problem.get("tier", "small"), "success": success,
               "attempts": attempts, **ep.outcome,
               "prompt_tokens": sum(e.outcome.get("prompt_tokens", 0) for e in episodes),
               "completion_tokens": sum(e.outcome.get("completion_tokens", 0) for e in episodes)}
    annotate(outcome, problem)
    samples = []
    if success:
        n = len(ep.steps)
        samples = [step_sample(problem, s["observation"], s["answer"], i, n, agent.name)
                   for i, s in enumerate(ep.steps, 1)]
    return {"problem_id": problem["problem_id"], "outcome": outcome, "samples": samples}


async def collect_teacher_shard_async(problems_path: str | Path, samples_out: str | Path, outcomes_out: str | Path,
                                      journal_path: str | Path, teacher: TeacherConfig,
                                      cfg: CollectConfig, env_cfg: EnvConfig,
                                      pool: EnvPool | None = None) -> dict[str, Any]:
    problems_path = Path(problems_path)
    client = LLMClient(teacher)  # a missing key fails here, before any work
    logging.getLogger().addFilter(RedactFilter([client._key]))
    for h in logging.getLogger().handlers:
        h.addFilter(RedactFilter([client._key]))
    agent = LLMAgent(teacher.name, client, teacher.max_reprompts, teacher.max_think_chars)
    problems = list(read_problems([problems_path]))
    journal = Journal(journal_path, _key(problems_path, cfg.agent, env_cfg, cfg))
    done = journal.load()
    todo = [p for p in problems if p.get("problem_id") not in done]
    log.info("%s on %s: %d problems, %d already done, %d to run (max %d requests in flight, %.0f req/min)",
             teacher.name, problems_path.name, len(problems), len(done), len(todo), teacher.max_concurrency,
             teacher.requests_per_minute)
    start = time.monotonic()
    state = {"new": 0, "ok": 0}
    stop: list[BaseException] = []
    sem = asyncio.Semaphore(teacher.max_concurrency)

    async def one(p: dict) -> None:
        async with sem:
            if stop:
                return
            try:
                entry = await _solve(agent, p, env_cfg, cfg, teacher.attempts_per_problem, pool)
            except RequestFailed as exc:
                entry = {"problem_id": p["problem_id"], "samples": [],
                         "outcome": {"problem_id": p["problem_id"], "agent": teacher.name, "success": False,
                                     "feasible": False, "faithful": False, "failure_reason": f"request failed: {exc}",
                                     "error_type": p.get("error_type"), "family": p.get("family"),
                                     "difficulty": p.get("difficulty")}}
            except (FatalAPIError, BudgetExceeded) as exc:
                stop.append(exc)
                return
            journal.append(entry)
            done[entry["problem_id"]] = entry
            state["new"] += 1
            state["ok"] += int(entry["outcome"]["success"])
            if state["new"] % 20 == 0 or len(done) == len(problems):
                _progress(len(done), len(problems), state, start, client)

    tasks = [asyncio.create_task(one(p)) for p in todo]
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
    return {**finish_shard(problems, done, samples_out, outcomes_out, journal), "usage": client.usage.summary()}


def _progress(done: int, total: int, state: dict, start: float, client: LLMClient) -> None:
    dt = max(time.monotonic() - start, 1e-9)
    rate = state["new"] / dt
    u = client.usage.summary()
    log.info("%d/%d problems, success %.1f%%, %.2f requests/s, %.0f tokens/s, cost $%.4f, ETA %.0f s",
             done, total, 100 * state["ok"] / max(1, state["new"]), u["requests_per_s"], u["tokens_per_s"],
             u["cost_usd"], (total - done) / max(rate, 1e-9))


def collect_teacher_shard(problems_path: str | Path, samples_out: str | Path, outcomes_out: str | Path,
                          journal_path: str | Path, teacher: TeacherConfig, cfg: CollectConfig,
                          env_cfg: EnvConfig) -> dict[str, Any]:
    """Run a teacher shard; the environments live in ``cfg.workers`` worker processes,
    forked before the event loop starts, so solver work never stalls the requests."""
    teacher.api_key()  # a missing key is one clear error before any process starts
    pool = EnvPool(cfg.workers, env_cfg)
    try:
        return asyncio.run(collect_teacher_shard_async(problems_path, samples_out, outcomes_out, journal_path,
                                                       teacher, cfg, env_cfg, pool))
    finally:
        pool.shutdown()
