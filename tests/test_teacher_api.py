"""The teacher on the real API's terms, against local servers speaking its rules (real openai
client, real HTTP on 127.0.0.1): GPT-5-family request fields, refusals learnt once per
account, reasoning tokens, empty answers under a small budget, Azure OpenAI, the Batch API
(with failed and expired batches, lines with errors, kill -9 in a round) and ``ordebug status``."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import small_config

from ordebug.agents.llm import LLMAgent
from ordebug.bench.shards import generate_problems, write_jsonl_atomic
from ordebug.collect.driver import ShardError
from ordebug.collect.samples import replay_samples
from ordebug.collect.shard import CollectConfig
from ordebug.collect.status import collection_status, format_status, start_reporter, status_line
from ordebug.collect.teacher import collect_teacher_shard, run_episode_async
from ordebug.config import load_config
from ordebug.data.merge import merge
from ordebug.env.environment import EnvConfig
from ordebug.llm.client import FatalAPIError, LLMClient
from ordebug.llm.config import TeacherConfig
from ordebug.llm.rules import base_params, token_param
from ordebug.testing.teacher_server import ServerConfig, ServerThread

KEY = "sk-test-5e4d3c2b1a-GPT5-SECRET"
GPT5 = "gpt-5.2-chat"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def key_env(monkeypatch):
    monkeypatch.setenv("ORDEBUG_TEST_KEY", KEY)


@pytest.fixture(scope="module")
def shard(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "shard_000.jsonl"
    write_jsonl_atomic(path, generate_problems(small_config(n_train=8, shard_size=8, seed=5)["bench"], "train", 0))
    return path


def gpt5_server(**kw) -> ServerConfig:
    """A server that enforces the GPT-5 rules for gpt-5.2-chat (and a model whose name hides it)."""
    defaults = dict(api_key=KEY, models=(GPT5, "house-model"), gpt5_models=(GPT5, "house-model"),
                    reasoning_tokens=200, deployments={"chat-prod": GPT5})
    return ServerConfig(**{**defaults, **kw})


def default_teacher(tmp_path: Path, base_url: str, **kw) -> TeacherConfig:
    """The shipped config's teacher (config/config.yaml), pointed at the local server."""
    settings = dict(load_config(ROOT / "config/config.yaml")["teachers"]["gpt52chat"])
    settings.update(base_url=base_url, api_key_env="ORDEBUG_TEST_KEY", cache_path=str(tmp_path / "cache.sqlite"),
                    requests_per_minute=60000, tokens_per_minute=1e9, backoff_base_s=0.01, backoff_max_s=0.05,
                    timeout_s=10, max_concurrency=8, **kw)
    return TeacherConfig.from_dict("gpt52chat", settings)


def run_shard(shard: Path, out: Path, cfg: TeacherConfig) -> dict:
    return collect_teacher_shard(shard, out / "s.jsonl", out / "o.jsonl", out / "j.jsonl", cfg,
                                 CollectConfig(cfg.name), EnvConfig(), out / "t.jsonl")


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def ledger(cfg: TeacherConfig) -> dict:
    db = sqlite3.connect(cfg.account_file)
    row = db.execute("SELECT COUNT(*), SUM(batch), SUM(prompt_tokens), SUM(completion_tokens), "
                     "SUM(reasoning_tokens), SUM(cost_usd) FROM spend").fetchone()
    return dict(zip(("requests", "batch", "prompt", "completion", "reasoning", "cost"), row, strict=True))


def assert_good_sft(out: Path, shard: Path) -> list[dict]:
    stats = merge([out / "s.jsonl"], [out / "o.jsonl"], out / "sft.json", out / "stats.json")
    samples = json.loads((out / "sft.json").read_text())
    assert samples and stats["samples"] == len(samples)
    problems = {p["problem_id"]: p for p in lines(shard)}
    assert replay_samples(samples, problems) == []
    return samples


# -- request rules -------------------------------------------------------------------------
def test_family_rules_pick_the_fields():
    def cfg(**kw) -> TeacherConfig:
        return TeacherConfig("t", kw.pop("model", GPT5), **kw)

    assert base_params(cfg(base_url="http://x/v1", temperature=0.7), 100, 0) == {"max_completion_tokens": 100}
    assert base_params(cfg(model="Qwen3-8B", base_url="http://x/v1", temperature=0.7), 100, 0) == {
        "max_tokens": 100, "temperature": 0.7}
    assert token_param(cfg(model="my-model", base_url="https://api.openai.com/v1")) == "max_completion_tokens"
    assert token_param(cfg(model="o3-mini", base_url="http://x/v1")) == "max_completion_tokens"
    assert token_param(cfg(model="my-model", provider="azure", azure_endpoint="https://a", deployment="d")) \
        == "max_completion_tokens"
    assert base_params(cfg(reasoning_effort="low", attempts_per_problem=2), 5, 1) == {
        "max_completion_tokens": 5, "reasoning_effort": "low", "seed": 1}
    with pytest.raises(ValueError, match="teachers.t.token_param"):
        cfg(token_param="max_output_tokens")
    with pytest.raises(ValueError, match="teachers.t.deployment"):
        cfg(provider="azure", azure_endpoint="https://a")


def test_default_config_collects_from_a_gpt5_server_without_a_refusal(shard, tmp_path):
    """The shipped config against the GPT-5 rules: no refused request; answers whose hidden
    reasoning exhausts the default budget are asked again with a larger one; reasoning tokens
    are counted and paid for; the SFT file replays."""
    with ServerThread(gpt5_server(reasoning_tokens=5000)) as srv:  # > max_tokens 4096: empty at first
        cfg = default_teacher(tmp_path, srv.base_url, price_input_per_mtok=1.25, price_output_per_mtok=10.0)
        res = run_shard(shard, tmp_path / "a", cfg)
        assert srv.server.status.get(400, 0) == 0 and not srv.server.refused
        assert res["successful"] > 0 and res["errors"] == 0
        outcomes = lines(tmp_path / "a" / "o.jsonl")
        assert all(o["reasoning_tokens"] >= 5000 * o["requests"] // 2 for o in outcomes)
        paid = ledger(cfg)
        assert paid["requests"] == srv.server.status[200] and paid["reasoning"] == sum(
            o["reasoning_tokens"] for o in outcomes)
        assert paid["cost"] == pytest.approx((paid["prompt"] * 1.25 + paid["completion"] * 10.0) / 1e6)
        assert res["usage"]["reasoning_tokens"] == paid["reasoning"]
        assert_good_sft(tmp_path / "a", shard)
        stats = json.loads((tmp_path / "a" / "stats.json").read_text())
        assert stats["usage"]["reasoning_tokens"] == paid["reasoning"]
        sent = srv.server.requests  # a rerun: every answer (the empty ones too) comes from the cache
        run_shard(shard, tmp_path / "b", cfg)
        assert srv.server.requests == sent


def test_refused_fields_are_learnt_once_per_account(shard, tmp_path, caplog):
    """A model whose name hides its family (an Azure deployment, a proxy alias): the first job
    is refused once per field, adapts and records it; the next job sends right from the start."""
    with ServerThread(gpt5_server()) as srv:
        cfg = default_teacher(tmp_path, srv.base_url, temperature=0.7)
        cfg.model = "house-model"
        with caplog.at_level(logging.WARNING, logger="ordebug"):
            run_shard(shard, tmp_path / "a", cfg)
        assert srv.server.refused == {"max_tokens": 1, "temperature": 1}
        assert caplog.text.count("refuses 'max_tokens'") == 1 and caplog.text.count("refuses 'temperature'") == 1
        db = sqlite3.connect(cfg.account_file)
        assert dict(db.execute("SELECT param, action FROM adaptations")) == {
            "max_tokens": "rename:max_completion_tokens", "temperature": "omit"}
        cfg.cache_path = str(tmp_path / "fresh" / "cache.sqlite")  # another job, nothing cached, same account
        cfg.account_path = str(tmp_path / "teacher_accounts.sqlite")
        run_shard(shard, tmp_path / "b", cfg)
        assert srv.server.refused == {"max_tokens": 1, "temperature": 1}
        assert_good_sft(tmp_path / "b", shard)


def test_on_unsupported_stop_names_the_config_key(shard, tmp_path):
    with ServerThread(gpt5_server()) as srv:
        cfg = default_teacher(tmp_path, srv.base_url, temperature=0.7, token_param="max_completion_tokens",
                              on_unsupported="stop")
        cfg.model = "house-model"
        with pytest.raises(FatalAPIError, match=r"refuses 'temperature'.*change config key "
                                                r"'teachers.gpt52chat.temperature'") as info:
            run_shard(shard, tmp_path / "a", cfg)
        assert "\n" not in str(info.value) and KEY not in str(info.value)
        assert srv.server.requests == 1  # the first request goes alone: one refusal, then the job stops


def test_an_empty_answer_past_the_cap_is_a_failed_step_with_its_reason(shard, tmp_path):
    problem = lines(shard)[0]
    with ServerThread(gpt5_server(reasoning_tokens=1000)) as srv:
        cfg = default_teacher(tmp_path, srv.base_url, max_tokens=100, max_tokens_cap=400)

        async def go():
            client = LLMClient(cfg)
            try:
                return await run_episode_async(LLMAgent("t", client, 2), problem, EnvConfig(), 0)
            finally:
                await client.close()

        ep = asyncio.run(go())
        assert ep.outcome["failure_reason"].startswith("empty answer: the completion budget of 400 tokens")
        assert "malformed" not in ep.outcome["failure_reason"] and ep.outcome["reprompts"] == 0
        assert not ep.steps and ep.outcome["requests"] == 3  # 100, 200, 400: never re-prompted as malformed
        assert sorted(int(k.rsplit("|", 1)[1]) for k in srv.server.paid) == [100, 200, 400]
        assert ep.outcome["reasoning_tokens"] == 700


# -- Azure ---------------------------------------------------------------------------------
def test_azure_provider_uses_deployment_paths_and_the_api_key_header(shard, tmp_path):
    with ServerThread(gpt5_server()) as srv:
        base = f"http://127.0.0.1:{srv.server.port}"
        cfg = default_teacher(tmp_path, None, provider="azure", azure_endpoint=base, deployment="chat-prod",
                              api_version="2025-04-01-preview")
        res = run_shard(shard, tmp_path / "a", cfg)
        assert res["successful"] > 0 and res["errors"] == 0
        assert set(srv.server.paths) == {"/openai/deployments/chat-prod/chat/completions"}
        assert srv.server.status.get(400, 0) == 0 and srv.server.status.get(401, 0) == 0
        assert cfg.account == f"{base}/openai/deployments/chat-prod|{GPT5}"
        samples = assert_good_sft(tmp_path / "a", shard)
        assert {s["metadata"]["teacher_model"] for s in samples} == {GPT5}
    with ServerThread(gpt5_server(api_key="sk-other")) as srv:
        cfg = default_teacher(tmp_path / "bad", None, provider="azure", azure_endpoint=f"http://127.0.0.1:"
                              f"{srv.server.port}", deployment="chat-prod")
        with pytest.raises(FatalAPIError, match="HTTP 401") as info:
            run_shard(shard, tmp_path / "bad", cfg)
        assert KEY not in str(info.value)


# -- Batch API -----------------------------------------------------------------------------
def batch_teacher(tmp_path: Path, base_url: str, **kw) -> TeacherConfig:
    return default_teacher(tmp_path, base_url, batch=True, batch_poll_s=0.05, price_input_per_mtok=1.0,
                           price_output_per_mtok=4.0, **kw)


@pytest.mark.parametrize("provider", ["openai", "azure"])
def test_batch_mode_sends_each_round_as_one_batch_at_batch_prices(shard, tmp_path, provider):
    with ServerThread(gpt5_server(batch_delay_s=0.1)) as srv:
        azure = dict(provider="azure", azure_endpoint=f"http://127.0.0.1:{srv.server.port}", deployment="chat-prod")
        cfg = batch_teacher(tmp_path, srv.base_url, **(azure if provider == "azure" else {}))
        res = run_shard(shard, tmp_path / "a", cfg)
        assert res["errors"] == 0 and res["successful"] > 0
        assert srv.server.requests == 1  # the first request goes alone (the probe), the rest in batches
        assert {b["endpoint"] for b in srv.server.batches.values()} == {
            "/chat/completions" if provider == "azure" else "/v1/chat/completions"}
        outcomes = lines(tmp_path / "a" / "o.jsonl")
        steps = max(len(o["actions"]) for o in outcomes)
        assert 1 <= len(srv.server.batches) <= steps + 1  # one batch per round, not per request
        assert max(srv.server.paid.values()) == 1  # nothing bought twice
        paid = ledger(cfg)
        assert paid["batch"] == srv.server.batch_lines and paid["requests"] == srv.server.batch_lines + 1
        full = (paid["prompt"] * 1.0 + paid["completion"] * 4.0) / 1e6
        assert full / 2 < paid["cost"] < full  # half price for all but the one direct request
        assert_good_sft(tmp_path / "a", shard)
        assert not (tmp_path / "a" / "j.jsonl").exists()


@pytest.mark.parametrize("fault", ["expired", "line_errors"])
def test_batch_expired_and_erroneous_lines_are_sent_again(shard, tmp_path, fault):
    kw = {"batch_faults": {1: "expired"}} if fault == "expired" else {"batch_line_faults": {"500": 3, "429": 4}}
    with ServerThread(gpt5_server(batch_delay_s=0.05, **kw)) as srv:
        cfg = batch_teacher(tmp_path, srv.base_url)
        res = run_shard(shard, tmp_path / "a", cfg)
        assert res["errors"] == 0 and res["problems"] == 8
        assert max(srv.server.paid.values()) == 1  # an expired or failed line is not paid: sent again
        assert res["usage"]["retries"] >= (4 if fault == "line_errors" else 1)
        assert_good_sft(tmp_path / "a", shard)


def test_a_failed_batch_fails_its_problems_and_a_rerun_resumes(shard, tmp_path):
    with ServerThread(gpt5_server(batch_delay_s=0.05, batch_faults={1: "failed"})) as srv:
        cfg = batch_teacher(tmp_path, srv.base_url)
        with pytest.raises(ShardError, match="batch batch_1 failed: The batch could not be processed"):
            run_shard(shard, tmp_path / "a", cfg)
        res = run_shard(shard, tmp_path / "a", cfg)  # batch 1 only was made to fail
        assert res["errors"] == 0 and res["problems"] == 8
        assert max(srv.server.paid.values()) == 1


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_batch_round_killed_mid_way_is_polled_not_paid_again(shard, tmp_path):
    """kill -9 while a batch is running; the rerun polls the journaled batch: no request twice."""
    with ServerThread(gpt5_server(batch_delay_s=3.0)) as srv:
        out = tmp_path / "a"
        out.mkdir()
        code = (f"import sys; sys.path.insert(0, {str(ROOT / 'tests')!r})\n"
                "from test_teacher_api import batch_teacher, run_shard\n"
                "from pathlib import Path\n"
                f"run_shard(Path({str(shard)!r}), Path({str(out)!r}), batch_teacher(Path({str(tmp_path)!r}), "
                f"{srv.base_url!r}))\n")
        proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "ORDEBUG_TEST_KEY": KEY},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        journal = out / "j.jsonl"
        deadline = time.time() + 60
        while time.time() < deadline and not (journal.exists() and '"batch": {' in journal.read_text()):
            time.sleep(0.05)
        assert '"batch": {' in journal.read_text(), proc.stderr.read1().decode() if proc.poll() else "no batch"
        workers = _children(proc.pid)
        assert workers  # the environments' worker processes
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.time() + 10
        while time.time() < deadline and [w for w in workers if _alive(w)]:
            time.sleep(0.05)
        assert not [w for w in workers if _alive(w)], "a worker outlived its killed parent"
        assert srv.server.batches["batch_1"]["status"] == "in_progress"  # killed in the middle of the round
        srv.server.config.batch_delay_s = 0.05
        res = run_shard(shard, out, batch_teacher(tmp_path, srv.base_url))
        assert res["problems"] == 8 and res["errors"] == 0
        assert max(srv.server.paid.values()) == 1  # no request paid twice
        assert srv.server.requests == 2  # the probe of each job: direct, the rest in batches
        cfg = batch_teacher(tmp_path, srv.base_url)
        assert ledger(cfg)["requests"] == sum(srv.server.paid.values())
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert KEY.encode() not in f.read_bytes(), f


# -- one live view ----------------------------------------------------------------------------
def test_status_reads_journals_outputs_and_the_account(shard, tmp_path, capsys):
    from ordebug.cli import main

    root = tmp_path / "run"
    (root / "data/bench/train").mkdir(parents=True)
    for sid in ("000", "001"):
        (root / f"data/bench/train/shard_{sid}.jsonl").write_bytes(shard.read_bytes())
    config = load_config(ROOT / "config/config.yaml")
    with ServerThread(gpt5_server(latency_s=0.02, fault_first={"429": 1}, retry_after_s=0.05)) as srv:
        t = config["teachers"]["gpt52chat"]
        t.update(base_url=srv.base_url, api_key_env="ORDEBUG_TEST_KEY", budget_usd=50.0, max_concurrency=1,
                 requests_per_minute=60000, price_input_per_mtok=1.25, price_output_per_mtok=10.0,
                 cache_path=str(root / "data/cache/llm_responses.sqlite"))
        cfg = TeacherConfig.from_dict("gpt52chat", t)
        done = root / "data/collect/gpt52chat"
        collect_teacher_shard(root / "data/bench/train/shard_000.jsonl", done / "shard_000.jsonl",
                              done / "shard_000.outcomes.jsonl", root / "data/journal/collect/gpt52chat/shard_000"
                              ".jsonl", cfg, CollectConfig("gpt52chat"), EnvConfig())
        # shard 001 is "running": its journal holds three finished problems
        journal = root / "data/journal/collect/gpt52chat/shard_001.jsonl"
        journal.parent.mkdir(parents=True, exist_ok=True)
        finished = lines(done / "shard_000.outcomes.jsonl")[:3]
        journal.write_text("".join(json.dumps({"problem_id": o["problem_id"], "outcome": o, "key": "k",
                                               "ts": time.time() - 30 + i}) + "\n" for i, o in enumerate(finished)))
    [s] = collection_status(config, root)
    outcomes = lines(done / "shard_000.outcomes.jsonl")
    assert (s["problems"], s["done"], s["shards_finished"], s["shards_started"]) == (16, 11, 1, 1)
    assert s["successful"] == sum(o["success"] for o in outcomes) + sum(o["success"] for o in finished)
    assert s["requests"] == sum(o["requests"] for o in outcomes) and s["rate_limited"] == 1
    assert s["reasoning_tokens"] == sum(o["reasoning_tokens"] for o in outcomes) > 0
    assert s["cost_usd"] == pytest.approx(sum(o["cost_usd"] for o in outcomes))
    assert s["eta_s"] is not None and s["eta_s"] > 0
    text = format_status([s])
    assert "11/16 done (1 of 2 shards finished, 1 started)" in text and "of $50.00 budget" in text
    assert status_line(s).startswith("status gpt52chat: 11/16 problems")
    cfg_file = tmp_path / "config.yaml"
    import yaml

    cfg_file.write_text(yaml.safe_dump(config))
    assert main(["status", "--config", str(cfg_file), "--root", str(root)]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("gpt52chat: gpt-5.2-chat at ") and "reasoning" in shown and KEY not in shown
    assert main(["status", "--config", str(cfg_file), "--root", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["done"] == 11
    said: list[str] = []  # what the Snakemake main process prints every collect.status_every_s
    start_reporter(config, ["gpt52chat"], 0.05, said.append, root)
    deadline = time.time() + 10
    while not said and time.time() < deadline:
        time.sleep(0.05)
    assert said and said[0].split(", ETA")[0] == status_line(collection_status(config, root)[0]).split(", ETA")[0]
