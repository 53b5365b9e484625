"""The teacher request layer and LLM agent against a real local HTTP server (real openai client)."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from pathlib import Path

import pytest
from conftest import small_config

from ordebug.agents.base import USAGE_KEYS
from ordebug.agents.llm import LLMAgent
from ordebug.bench.generate import BenchSpec, generate_problem, slot
from ordebug.bench.shards import generate_problems, write_jsonl_atomic
from ordebug.collect.shard import CollectConfig
from ordebug.collect.teacher import collect_teacher_shard, run_episode_async
from ordebug.env.environment import EnvConfig, RepairEnv
from ordebug.llm.account import Account
from ordebug.llm.client import FatalAPIError, LLMClient, RequestFailed
from ordebug.llm.config import MissingKeyError, TeacherConfig
from ordebug.llm.ratelimit import RateLimiter, parse_duration
from ordebug.llm.usage import BudgetExceeded
from ordebug.testing.teacher_server import ServerConfig, ServerThread

KEY = "sk-test-9f8e7d6c5b4a-SECRET"
def _a_problem() -> tuple[str, str]:
    """The first observation of a generated problem that one action repairs (a reversed rule
    of one row where there is one, else a wrong value), and that action."""
    spec = BenchSpec(seed=424242)
    for types in ("A", "IH"):
        for i in range(120):
            if slot(spec, "train", i)[0] not in types:
                continue
            rec = generate_problem(spec, "train", i)
            if len(rec["ground_truth"]["fixes"]) == 1:
                return RepairEnv().reset(rec)[0], rec["ground_truth"]["fixes"][0]
    raise AssertionError("no problem with a one-action repair among the first 120")


OBS, FIX = _a_problem()


def teacher(tmp_path: Path, base_url: str, **kw) -> TeacherConfig:
    defaults = dict(base_url=base_url, api_key_env="ORDEBUG_TEST_KEY", cache_path=str(tmp_path / "cache.sqlite"),
                    backoff_base_s=0.01, backoff_max_s=0.05, requests_per_minute=60000, timeout_s=5)
    defaults.update(kw)
    return TeacherConfig("sim", "teacher-sim", **defaults)


@pytest.fixture(autouse=True)
def key_env(monkeypatch):
    monkeypatch.setenv("ORDEBUG_TEST_KEY", KEY)


def ask(cfg: TeacherConfig, obs: str = OBS, sample: int = 0):
    async def go():
        client = LLMClient(cfg)
        agent = LLMAgent("sim", client, cfg.max_reprompts, cfg.max_think_chars)
        try:
            return await agent.act(obs, sample), client.usage.summary()
        finally:
            await client.close()
            client.cache.close()

    return asyncio.run(go())


@pytest.mark.parametrize("fault", ["429", "500", "502", "503", "nonjson"])
def test_transient_faults_are_retried(tmp_path, fault):
    with ServerThread(ServerConfig(api_key=KEY, fault_first={fault: 2}, retry_after_s=0.3)) as srv:
        start = time.monotonic()
        ans, usage = ask(teacher(tmp_path, srv.base_url))
        took = time.monotonic() - start
        assert ans.action is not None and ans.action.text == FIX
        assert usage["retries"] == 2 and srv.server.requests == 3
        if fault == "429":
            assert took >= 0.6  # Retry-After honoured twice


def test_timeouts_are_retried(tmp_path):
    with ServerThread(ServerConfig(api_key=KEY, fault_first={"timeout": 1}, timeout_sleep_s=3)) as srv:
        ans, usage = ask(teacher(tmp_path, srv.base_url, timeout_s=0.5))
        assert ans.action is not None and usage["retries"] == 1


def test_retries_are_bounded(tmp_path):
    with ServerThread(ServerConfig(api_key=KEY, fault_rate={"503": 1.0})) as srv:
        with pytest.raises(RequestFailed, match="gave up after 3 attempts"):
            ask(teacher(tmp_path, srv.base_url, max_retries=2))
        assert srv.server.requests == 3


@pytest.mark.parametrize("fault", ["length", "malformed"])
def test_bad_answers_get_a_corrective_reprompt(tmp_path, fault):
    with ServerThread(ServerConfig(api_key=KEY, fault_first={fault: 1})) as srv:
        ans, _ = ask(teacher(tmp_path, srv.base_url))
        assert ans.reprompts == 1 and ans.action is not None
        assert ans.text.startswith("<think>\n") and ans.text.endswith(f"Action: {FIX}")


def test_malformed_after_every_reprompt_fails_with_a_reason(tmp_path):
    with ServerThread(ServerConfig(api_key=KEY, fault_rate={"malformed": 1.0})) as srv:
        ans, _ = ask(teacher(tmp_path, srv.base_url, max_reprompts=2))
        assert ans.action is None and ans.reprompts == 2
        assert "malformed answer after 2 re-prompts" in ans.failure
        assert srv.server.requests == 3
        assert ans.text.endswith("I would increase the capacity.")  # what it wrote, kept for the report


def test_separate_reasoning_field_becomes_the_think_text(tmp_path):
    with ServerThread(ServerConfig(api_key=KEY, reasoning_field=True)) as srv:
        ans, _ = ask(teacher(tmp_path, srv.base_url, max_think_chars=120))
        think = ans.text.split("</think>")[0]
        from ordebug.agents.heuristic import HeuristicAgent
        from ordebug.answer import trim_think

        reasoned = HeuristicAgent().act(OBS).split("</think>")[0].split("<think>")[1]  # the server's policy
        assert len(reasoned.strip()) > 120
        assert think == f"<think>\n{trim_think(reasoned, 120)}\n"  # trimmed to max_think_chars, as SFT samples are
        assert len(think) <= len("<think>\n") + 124


@pytest.mark.parametrize(("status", "kind"), [(401, "key"), (404, "model")])
def test_fail_fast_on_401_and_404(tmp_path, monkeypatch, status, kind):
    with ServerThread(ServerConfig(api_key="sk-other")) as srv:
        cfg = teacher(tmp_path, srv.base_url)
        if kind == "model":
            monkeypatch.setenv("ORDEBUG_TEST_KEY", "sk-other")
            cfg.model = "no-such-model"
        with pytest.raises(FatalAPIError, match=f"HTTP {status}") as info:
            ask(cfg)
        assert srv.server.requests == 1
        assert KEY not in str(info.value) and "sk-other" not in str(info.value)


def test_missing_key_is_one_clear_error_before_any_request(tmp_path, monkeypatch):
    monkeypatch.delenv("ORDEBUG_TEST_KEY")
    with ServerThread(ServerConfig(api_key=KEY)) as srv:
        with pytest.raises(MissingKeyError, match="ORDEBUG_TEST_KEY is not set"):
            ask(teacher(tmp_path, srv.base_url))
        assert srv.server.requests == 0


def test_cache_replays_without_http(tmp_path):
    with ServerThread(ServerConfig(api_key=KEY)) as srv:
        cfg = teacher(tmp_path, srv.base_url)
        a, _ = ask(cfg)
        b, usage = ask(cfg)
        assert a.text == b.text and usage["requests"] == 0 and usage["cached"] == 1
        assert srv.server.requests == 1
        # another sample index is another request
        ask(cfg, sample=1)
        assert srv.server.requests == 2
    rows = sqlite3.connect(tmp_path / "cache.sqlite").execute("PRAGMA journal_mode").fetchone()
    assert rows[0] == "wal"


def test_token_bucket_never_exceeds_the_rate():
    async def go():
        limiter = RateLimiter(requests_per_minute=1220, tokens_per_minute=10**9)  # 20/s
        stamps = []
        start = time.monotonic()
        for _ in range(60):
            await limiter.acquire(1)
            stamps.append(time.monotonic() - start)
        return stamps

    stamps = asyncio.run(go())
    for i, t in enumerate(stamps):
        assert i + 1 <= 20 * t + 20 + 1e-6  # at most the rate plus one second's burst
    assert stamps[-1] >= (60 - 20) / 20 * 0.95


def test_rate_limit_headers_pause_everyone():
    limiter = RateLimiter(6000, 10**9)
    limiter.observe({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "250ms"})
    assert 0.2 < limiter.account.paused_for() <= 0.25
    assert parse_duration("6m0s") == 360 and parse_duration("1.5") == 1.5 and parse_duration("20ms") == 0.02


def test_client_stays_under_a_server_enforced_limit(tmp_path):
    with ServerThread(ServerConfig(api_key=KEY, rpm_limit=600, latency_s=0.01)) as srv:
        cfg = teacher(tmp_path, srv.base_url, requests_per_minute=600)

        async def go():
            client = LLMClient(cfg)
            msgs = [[{"role": "user", "content": f"{OBS}\n{i}"}] for i in range(25)]
            await asyncio.gather(*(client.complete(m) for m in msgs))
            await client.close()
            return client.usage.summary()

        usage = asyncio.run(go())
        assert usage["requests"] == 25 and usage["retries"] == 0
        assert srv.server.status.get(429, 0) == 0


@pytest.fixture(scope="module")
def shard(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "shard_000.jsonl"
    write_jsonl_atomic(path, generate_problems(small_config(n_train=18, shard_size=18, seed=3)["bench"], "train", 0))
    return path


def run_shard(shard: Path, out: Path, cfg: TeacherConfig, **kw) -> dict:
    return collect_teacher_shard(shard, out / "s.jsonl", out / "o.jsonl", out / "j.jsonl", cfg,
                                 CollectConfig("sim", **kw), EnvConfig())


def test_teacher_shard_collects_verified_samples_and_reruns_free(shard, tmp_path):
    with ServerThread(ServerConfig(api_key=KEY, skill=0.8, fault_rate={"500": 0.1, "malformed": 0.05})) as srv:
        cfg = teacher(tmp_path, srv.base_url, price_input_per_mtok=1.0, price_output_per_mtok=4.0)
        res = run_shard(shard, tmp_path / "a", cfg)
        assert res["problems"] == 18 and 0 < res["successful"] <= 18
        assert res["usage"]["cost_usd"] > 0
        outcomes = [json.loads(x) for x in (tmp_path / "a" / "o.jsonl").read_text().splitlines()]
        assert all(o["faithful"] for o in outcomes if o["success"])
        assert all("prompt_tokens" in o for o in outcomes)
        first = srv.server.requests
        res2 = run_shard(shard, tmp_path / "b", cfg, max_think_chars=200)  # a formatting change
        assert srv.server.requests == first and res2["usage"]["requests"] == 0
        def verdicts(run: str) -> list[dict]:  # a rerun answers from the cache: only the usage differs
            outs = [json.loads(x) for x in (tmp_path / run / "o.jsonl").read_text().splitlines()]
            return [{k: v for k, v in o.items() if k not in USAGE_KEYS} for o in outs]

        assert verdicts("a") == verdicts("b")
        assert sum(o["requests"] for o in outcomes) == first - srv.server.status.get(500, 0)
        b = [json.loads(x) for x in (tmp_path / "b" / "o.jsonl").read_text().splitlines()]
        assert sum(o["cached"] for o in b) == first - srv.server.status.get(500, 0)
        assert sum(o["requests"] for o in b) == 0
        assert max(srv.server.answered.values()) == 1


def test_journal_is_not_reused_when_the_teacher_settings_change(shard, tmp_path, caplog):
    """A killed shard's journal belongs to the teacher settings it was collected with: the same
    settings resume from it; another model or temperature (a retrained adapter is served under
    a new name) starts afresh even though the journal file is there."""
    import dataclasses
    import re
    import shutil
    import threading

    with ServerThread(ServerConfig(api_key=KEY, latency_s=0.05, models=("teacher-sim", "teacher-sim-2"))) as srv:
        cfg = teacher(tmp_path, srv.base_url, max_concurrency=2)
        journal, snapshot = tmp_path / "a" / "j.jsonl", tmp_path / "snapshot.jsonl"
        t = threading.Thread(target=run_shard, args=(shard, tmp_path / "a", cfg))
        t.start()
        deadline = time.time() + 60
        while time.time() < deadline and (not journal.exists() or journal.read_text().count("\n") < 4):
            time.sleep(0.01)
        shutil.copy(journal, snapshot)  # the journal of a run killed here
        t.join(120)

        def resumed(run: str, c: TeacherConfig) -> int:
            (tmp_path / run).mkdir()
            shutil.copy(snapshot, tmp_path / run / "j.jsonl")
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="ordebug"):
                run_shard(shard, tmp_path / run, c)
            return int(re.search(r"(\d+) already done \(journal\)", caplog.text).group(1))

        assert resumed("same", cfg) >= 4
        assert resumed("hotter", dataclasses.replace(cfg, temperature=1.2)) == 0
        assert resumed("other", dataclasses.replace(cfg, model="teacher-sim-2")) == 0


def test_rejection_sampling_keeps_the_best(shard, tmp_path):
    with ServerThread(ServerConfig(api_key=KEY, skill=0.4)) as srv:
        one = run_shard(shard, tmp_path / "one", teacher(tmp_path / "c1", srv.base_url))
        three = run_shard(shard, tmp_path / "three", teacher(tmp_path / "c3", srv.base_url, attempts_per_problem=3))
        assert three["successful"] >= one["successful"]
        outs = [json.loads(x) for x in (tmp_path / "three" / "o.jsonl").read_text().splitlines()]
        assert all(o["attempts"] == 3 for o in outs)


def test_budget_cap_stops_cleanly_and_keeps_finished_work(shard, tmp_path):
    with ServerThread(ServerConfig(api_key=KEY, latency_s=0.02)) as srv:
        # one request at a time, ~$0.1 each: about ten requests fit, so a few problems finish
        cfg = teacher(tmp_path, srv.base_url, price_input_per_mtok=100.0, budget_usd=1.0, max_concurrency=1)
        with pytest.raises(BudgetExceeded, match="budget of \\$1.00 reached"):
            run_shard(shard, tmp_path / "a", cfg)
        assert not (tmp_path / "a" / "s.jsonl").exists()
        kept = (tmp_path / "a" / "j.jsonl").read_text().count("\n")
        assert 0 < kept < 18
        sent = srv.server.requests
        cfg.budget_usd = None  # rerun with a larger budget resumes: finished problems are not redone
        res = run_shard(shard, tmp_path / "a", cfg)
        assert res["problems"] == 18
        assert max(srv.server.answered.values()) == 1 and srv.server.requests > sent


def test_fatal_error_stops_the_shard_at_once(shard, tmp_path):
    with ServerThread(ServerConfig(api_key="sk-other")) as srv:
        with pytest.raises(FatalAPIError):
            run_shard(shard, tmp_path / "a", teacher(tmp_path, srv.base_url, max_concurrency=4))
        assert srv.server.requests <= 4


def test_the_key_never_leaks(shard, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with ServerThread(ServerConfig(api_key=KEY, fault_rate={"429": 0.2, "500": 0.1}, retry_after_s=0.01)) as srv:
        run_shard(shard, tmp_path / "ok", teacher(tmp_path, srv.base_url))
    with ServerThread(ServerConfig(api_key="sk-other")) as srv, pytest.raises(FatalAPIError) as info:
        run_shard(shard, tmp_path / "bad", teacher(tmp_path / "bad", srv.base_url))
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    assert KEY not in caplog.text
    for f in [*tmp_path.rglob("*")]:
        if f.is_file():
            assert KEY.encode() not in f.read_bytes(), f


def test_episode_failure_reason_is_recorded(shard, tmp_path):
    problem = json.loads(shard.read_text().splitlines()[0])
    with ServerThread(ServerConfig(api_key=KEY, fault_rate={"malformed": 1.0})) as srv:
        cfg = teacher(tmp_path, srv.base_url, max_reprompts=1)

        async def go():
            client = LLMClient(cfg)
            ep = await run_episode_async(LLMAgent("sim", client, 1), problem, EnvConfig(), 0)
            await client.close()
            return ep

        ep = asyncio.run(go())
        assert not ep.outcome["feasible"] and ep.outcome["reprompts"] == 1
        assert ep.outcome["failure_reason"].startswith("malformed answer")
        assert ep.outcome["failed_answer"].startswith("<think>\nI think the capacity is wrong.")


def test_server_dying_mid_run_keeps_finished_problems(shard, tmp_path):
    """The endpoint disappears mid-shard: finished problems stay, the rest fail with a reason."""
    import threading

    srv = ServerThread(ServerConfig(api_key=KEY, latency_s=0.05))
    srv.__enter__()
    cfg = teacher(tmp_path, srv.base_url, max_concurrency=2, max_retries=1, timeout_s=2)
    journal = tmp_path / "a" / "j.jsonl"
    result: dict = {}

    def run():
        result["res"] = run_shard(shard, tmp_path / "a", cfg)

    t = threading.Thread(target=run)
    t.start()
    deadline = time.time() + 60
    while time.time() < deadline and (not journal.exists() or journal.read_text().count("\n") < 4):
        time.sleep(0.01)
    srv.__exit__(None, None, None)  # the endpoint dies
    t.join(120)
    outcomes = [json.loads(x) for x in (tmp_path / "a" / "o.jsonl").read_text().splitlines()]
    assert len(outcomes) == 18
    finished = [o for o in outcomes if not str(o.get("failure_reason") or "").startswith("request failed")]
    failed = [o for o in outcomes if str(o.get("failure_reason") or "").startswith("request failed")]
    assert len(finished) >= 4 and failed


def _take(path: str, n: int, out) -> None:  # one "job": its own process and connection
    async def go():
        limiter = RateLimiter(1220, 10**9, Account(path, "http://x/v1|m", 1220, 10**9))
        for _ in range(n):
            await limiter.acquire(1)
            out.put(time.time())

    asyncio.run(go())


def test_jobs_on_one_machine_share_one_account_limit(tmp_path):
    """Two processes at 20 requests/s each would get 40/s with private buckets; shared, 20/s in all."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    jobs = [ctx.Process(target=_take, args=(str(tmp_path / "acct.sqlite"), 30, q)) for _ in range(2)]
    for j in jobs:
        j.start()
    stamps = sorted(q.get(timeout=30) for _ in range(60))
    for j in jobs:
        j.join(10)
    took = stamps[-1] - stamps[0]
    assert took >= (60 - 20) / 20 * 0.95  # one bucket of 20/s (plus one second's burst) for both
    for i, t in enumerate(stamps):
        assert i + 1 <= 20 * (t - stamps[0]) + 20 + 1, "a second's window saw more than the shared rate"


def test_budget_is_shared_by_every_job_and_rerun(shard, tmp_path):
    with ServerThread(ServerConfig(api_key=KEY, latency_s=0.01)) as srv:
        cfg = teacher(tmp_path, srv.base_url, price_input_per_mtok=100.0, budget_usd=0.5, max_concurrency=1)
        with pytest.raises(BudgetExceeded):
            run_shard(shard, tmp_path / "a", cfg)
        sent = srv.server.requests
        # another job (another shard, another process's client) on the same account: nothing left to spend
        with pytest.raises(BudgetExceeded, match=r"budget of \$0.50 reached .* by every job"):
            run_shard(shard, tmp_path / "b", cfg)
        assert srv.server.requests == sent
        spent = Account(cfg.account_file, cfg.account, 1, 1).spent()
        assert 0.5 <= spent < 0.5 + 0.2  # at most the requests already in flight go over


def test_rejected_teacher_steps_never_become_samples(shard, tmp_path):
    """The issue's case: a teacher that sometimes names a row family instead of a row."""
    from ordebug.collect.samples import replay_samples
    from ordebug.data.merge import merge

    with ServerThread(ServerConfig(api_key=KEY, fault_rate={"rejected": 0.25}, seed=4)) as srv:
        run_shard(shard, tmp_path / "a", teacher(tmp_path, srv.base_url))
    out = tmp_path / "a"
    outcomes = [json.loads(x) for x in (out / "o.jsonl").read_text().splitlines()]
    assert any(o["invalid_actions"] for o in outcomes if o["success"]), "some kept trajectories had a rejected step"
    stats = merge([out / "s.jsonl"], [out / "o.jsonl"], out / "sft.json", out / "stats.json")
    assert stats["dropped"]["steps"]["rejected step"] >= 1
    samples = json.loads((out / "sft.json").read_text())
    assert samples and not any("The whole" in s["output"] for s in samples)
    problems = {json.loads(x)["problem_id"]: json.loads(x) for x in shard.read_text().splitlines()}
    assert replay_samples(samples, problems) == []
    assert {s["metadata"]["teacher_model"] for s in samples} == {"teacher-sim"}
