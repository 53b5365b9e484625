"""The Snakemake workflow on a tiny config: builds, reruns nothing, rejects bad config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import copy_built, copy_workflow

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def smk(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([*SNAKEMAKE, "--cores", "2", *args], cwd=cwd, capture_output=True, text=True, env=env)


pytestmark = pytest.mark.slow  # every test here runs Snakemake


# small_config() with two train shards of nine and one test shard; A and C are drawn twice over
# (type_factor) and the pool filtered for one round, the AFLite stage as the default config runs it
BENCH = {"n_train": 18, "shard_size": 9,
         "filter": {"pool_factor": 1.0, "type_factor": {"A": 2, "C": 2}, "rounds": 1, "folds": 3, "margin": 0.5}}


@pytest.fixture(scope="module")
def bench_built(tmp_path_factory) -> tuple[Path, str]:
    """The benchmark of BENCH built once by `snakemake bench`, and that run's output: the bench
    test checks it; the collection, teacher and report tests start from copies of it (their own
    settings leave the bench's params as they are)."""
    d = copy_workflow(tmp_path_factory.mktemp("bench_built"), **BENCH)
    r = smk(d, "bench")
    assert r.returncode == 0, r.stderr[-3000:]
    return d, r.stdout + r.stderr


def test_bench_builds_then_nothing_to_do(bench_built):
    workflow_dir, text = bench_built
    assert "[solve.c" not in text and "ERROR: Error <" not in text  # SCIP's console
    shards = sorted((workflow_dir / "data" / "bench").glob("*/shard_*.jsonl"))
    assert [p.relative_to(workflow_dir).as_posix() for p in shards] == [
        "data/bench/test/shard_000.jsonl",
        "data/bench/train/shard_000.jsonl",
        "data/bench/train/shard_001.jsonl",
    ]
    summary = json.loads((workflow_dir / "data" / "bench" / "summary.json").read_text())
    assert summary["n"] == 27 and summary["by_split"] == {"test": 9, "train": 18}
    assert summary["by_type"] == dict.fromkeys("ABCDEFGHI", 3)  # the balance kept through the filter
    for split in ("train", "test"):
        log = (workflow_dir / "logs" / "bench" / "pool" / split / "shard_000.log").read_text()
        assert "9 problems in" in log
    report = json.loads((workflow_dir / "data" / "bench" / "filter.json").read_text())
    assert report["pool"] == {"test": 11, "train": 22} and len(report["rounds"]) == 1
    rejected = report["rejection_rate"]
    assert set(rejected) == set("ABCDEFGHI") and all(rejected[t] == 0 for t in "BDEFGHI")  # no room to drop
    dropped = report["rounds"][0]["dropped"]
    assert all(v == 0 for t, v in dropped.items() if t not in "AC")
    assert all(dropped.get(t, 0) <= 3 and rejected[t] == round(dropped.get(t, 0) / 6, 4) for t in "AC")
    assert summary["filter"]["rejection_rate"] == rejected
    assert summary["adversary"]["n"] == 9 and set(summary["adversary"]["by_type"]) == set("ABCDEFGHI")
    cost = summary["pool_cost"]  # where the pool's time went, from the seconds its tables record
    assert cost["all"]["problems"] == 33 and cost["tier:small"]["problems"] == 33
    assert cost["A"]["problems"] == cost["C"]["problems"] == 6 and cost["B"]["problems"] == 3
    assert sum(cost[t]["problems"] for t in "ABCDEFGHI") == 33 and cost["all"]["generate_s"] > 0
    assert abs(sum(cost[t]["share"] for t in "ABCDEFGHI") - 1) < 0.01
    first = {p: p.read_bytes() for p in shards}
    r = smk(workflow_dir, "bench")
    assert r.returncode == 0
    assert "Nothing to be done" in r.stdout + r.stderr
    # touching one shard's inputs is not possible (no inputs); a forced shard reruns alone
    r = smk(workflow_dir, "bench", "--forcerun", "bench_summary")
    assert r.returncode == 0
    assert {p: p.read_bytes() for p in shards} == first


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda c: c["bench"].update(shard_size=0), "bench.shard_size"),
        (lambda c: c["bench"].update(error_types=["A", "X"]), "bench.error_types"),
        (lambda c: c["bench"].update(families=["warehouse"]), "bench.families"),
        (lambda c: c["bench"].pop("seed"), "bench.seed"),
        (lambda c: c.update(trian={}), "trian"),
        (lambda c: c["collect"].update(agents=["nosuchagent"]), "collect.agents"),
    ],
)
def test_bad_config_stops_with_the_key_named(workflow_dir, edit, key):
    cfg_path = workflow_dir / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    edit(cfg)
    cfg_path.write_text(yaml.safe_dump(cfg))
    r = smk(workflow_dir, "bench", "-n")
    assert r.returncode != 0
    assert f"config key '{key}'" in r.stdout + r.stderr
    assert not (workflow_dir / "data" / "bench").exists()


def test_large_tier_shards_join_collection_and_evaluation(workflow_dir):
    """The large tier's shards (ids L000, ...) are generated, collected and evaluated by the same rules."""
    cfg_path = workflow_dir / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["bench"]["large"] = {"n_train": 3, "n_test": 4, "shard_size": 2}
    cfg_path.write_text(yaml.safe_dump(cfg))
    r = smk(workflow_dir, "-n", "report", "data/training/sft_heuristic.json")
    out = r.stdout + r.stderr
    for path in ["data/bench/train_large/shard_001.jsonl", "data/bench/test_large/shard_001.jsonl",
                 "data/collect/heuristic/shard_L001.jsonl", "results/eval/heuristic/shard_L001.outcomes.jsonl"]:
        assert path in out, path
    assert "shard_L002" not in out


def test_lint_is_clean(workflow_dir):
    r = subprocess.run([*SNAKEMAKE, "--lint"], cwd=workflow_dir, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_collection_builds_resumes_nothing_and_reruns_one_shard(bench_built, tmp_path):
    workflow_dir = copy_built(bench_built[0], tmp_path / "wf")
    r = smk(workflow_dir, "data/training/sft_heuristic.json")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "rule bench_pool:" not in r.stdout + r.stderr  # the copied benchmark is up to date
    sft = json.loads((workflow_dir / "data" / "training" / "sft_heuristic.json").read_text())
    stats = json.loads((workflow_dir / "data" / "training" / "stats_heuristic.json").read_text())
    assert len(sft) == stats["samples"] > 0 and stats["problems"] == 18
    assert "problems/s" in (workflow_dir / "logs" / "collect" / "heuristic" / "shard_000.log").read_text()
    r = smk(workflow_dir, "data/training/sft_heuristic.json")
    assert "Nothing to be done" in r.stdout + r.stderr
    # a changed bench shard reruns only that shard's collection and the merge. (Snakemake 9
    # checksums small files, so a bare `touch` with unchanged content rightly reruns nothing.)
    time.sleep(1)
    shard = workflow_dir / "data" / "bench" / "train" / "shard_001.jsonl"
    shard.touch()
    r = smk(workflow_dir, "data/training/sft_heuristic.json", "--dry-run")
    assert "Nothing to be done" in r.stdout + r.stderr
    shard.write_text("".join(shard.read_text().splitlines(keepends=True)[:-1]))
    r = smk(workflow_dir, "data/training/sft_heuristic.json", "--dry-run")
    assert r.returncode == 0
    plan = r.stdout + r.stderr
    jobs = sorted(line.split("rule ")[1].rstrip(":") + ":" + w for line, w in _jobs(plan))
    assert jobs == ["collect:agent=heuristic, shard=001", "merge:agent=heuristic"], plan[-2000:]
    r = smk(workflow_dir, "data/training/sft_heuristic.json")
    assert r.returncode == 0
    assert json.loads((workflow_dir / "data" / "training" / "stats_heuristic.json").read_text())["problems"] == 17


def _jobs(plan: str) -> list[tuple[str, str]]:
    """(rule line, wildcards) pairs of a dry-run plan."""
    out, rule = [], None
    for line in plan.splitlines():
        if line.startswith("rule ") or line.startswith("localrule "):
            rule = line.replace("localrule ", "rule ")
        elif rule and line.strip().startswith("wildcards:"):
            out.append((rule, line.split("wildcards:")[1].strip()))
            rule = None
    return out


def _start_server(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "ordebug.testing.teacher_server", "--port", "0",
                             "--api-key", "sk-wf-test", *args], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert "teacher server on" in line, line
    return proc, line.split(" on ")[1].strip()


def _server_stats(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(url.replace("/v1", "/stats"), timeout=10) as r:
        return json.loads(r.read())


def _teacher_workflow(workflow_dir, base_url: str) -> None:
    cfg_path = workflow_dir / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["bench"].update(BENCH)
    cfg["teachers"] = {"sim": {"model": "teacher-sim", "base_url": base_url, "api_key_env": "ORDEBUG_WF_KEY",
                               "max_concurrency": 3, "backoff_base_s": 0.01, "price_input_per_mtok": 1.0,
                               "price_output_per_mtok": 2.0}}
    cfg["dataset"]["combine"] = {"sim": 1.0, "heuristic": 1.0}  # a source must be a known agent
    cfg_path.write_text(yaml.safe_dump(cfg))


def test_teacher_collection_survives_kill_9_without_paying_twice(bench_built, tmp_path, monkeypatch):
    import signal
    import sqlite3

    monkeypatch.setenv("ORDEBUG_WF_KEY", "sk-wf-test")
    workflow_dir = copy_built(bench_built[0], tmp_path / "wf")
    # reference: an uninterrupted run in another directory against its own server
    ref_dir = copy_built(bench_built[0], tmp_path / "ref")
    ref_server, ref_url = _start_server("--latency", "0.02", "--skill", "0.9", "--fault-rate", "500=0.05")
    try:
        _teacher_workflow(ref_dir, ref_url)
        r = smk(ref_dir, "data/training/sft_sim.json")
        assert r.returncode == 0, r.stderr[-3000:]
    finally:
        ref_server.kill()
    server, url = _start_server("--latency", "0.02", "--skill", "0.9", "--fault-rate", "500=0.05")
    try:
        _teacher_workflow(workflow_dir, url)
        proc = subprocess.Popen([*SNAKEMAKE, "--cores", "2", "data/training/sft_sim.json"], cwd=workflow_dir,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        journal_dir = workflow_dir / "data" / "journal" / "collect" / "sim"
        deadline = time.time() + 120
        while time.time() < deadline:
            lines = sum(p.read_text().count("\n") for p in journal_dir.glob("*.jsonl")) if journal_dir.exists() else 0
            if lines >= 4:
                break
            time.sleep(0.01)
        import os

        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.3)
        before = _server_stats(url)
        db = sqlite3.connect(workflow_dir / "data" / "cache" / "llm_responses.sqlite")
        cached_ids = {json.loads(row[0]).get("id") for row in db.execute("SELECT response FROM responses")}
        db.close()
        assert not (workflow_dir / "data" / "training" / "sft_sim.json").exists()
        assert smk(workflow_dir, "--unlock").returncode == 0  # a kill -9 leaves Snakemake's lock behind
        r = smk(workflow_dir, "data/training/sft_sim.json")
        assert r.returncode == 0, r.stderr[-3000:]
        after = _server_stats(url)
        # a full rerun after completion makes zero HTTP requests (everything comes from the cache)
        r = smk(workflow_dir, "data/training/sft_sim.json", "--forcerun", "collect")
        assert r.returncode == 0
        assert _server_stats(url)["requests"] == after["requests"]
    finally:
        server.kill()
    answered_prompts = {before["ids"][i] for i in cached_ids if i in before["ids"]}
    assert answered_prompts, "the kill should land after some answers were cached"
    for key in answered_prompts:
        assert after["by_prompt"][key] == before["by_prompt"][key], "an answered prompt was sent again"
    assert (workflow_dir / "data" / "training" / "sft_sim.json").read_text() == (
        ref_dir / "data" / "training" / "sft_sim.json").read_text()


def test_no_key_skips_the_teacher_with_one_notice(workflow_dir, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    r = smk(workflow_dir, "-n")
    text = r.stdout + r.stderr
    assert r.returncode == 0
    assert text.count("teacher 'gpt52chat' skipped: $OPENAI_API_KEY is not set") == 1
    assert "sft_gpt52chat" not in text


def test_report_builds_with_plots_and_html(bench_built, tmp_path):
    workflow_dir = copy_built(bench_built[0], tmp_path / "wf")
    viewers = [f"results/viewer/{s}_{a}.html" for s, agents in (("collect", ["heuristic"]),
                                                                ("eval", ["heuristic", "random", "drop_first_iis"]))
               for a in agents]
    r = smk(workflow_dir, "report")  # the target alone builds everything the HTML report lists
    assert r.returncode == 0, r.stderr[-3000:]
    rep = workflow_dir / "results" / "report"
    table = (rep / "comparison.md").read_text()
    for agent in ("heuristic", "random", "drop_first_iis"):
        assert f"| {agent} | 9 |" in table
    assert (rep / "comparison.csv").read_text().splitlines()[0].startswith("agent,problems,rr@1")
    for png in ("success_by_type.png", "rr_at_k.png", "steps_hist.png"):
        assert (rep / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = smk(workflow_dir, "--report", "report.html")
    assert r.returncode == 0, r.stderr[-3000:]
    html = (workflow_dir / "report.html").read_text()
    for png in ("success_by_type.png", "rr_at_k.png", "steps_hist.png", "comparison.md"):
        assert png in html
    for v in viewers:  # every trajectory viewer is in the report
        assert Path(v).name in html


def test_runs_get_one_dataset_per_source_choice_and_an_inactive_one_is_skipped(workflow_dir, monkeypatch):
    """Three runs, two choices the DAG can build (combined, heuristic@0.5) and a teacher-only run
    that is skipped with one notice when the teacher has no key, and fails clearly when asked for."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    cfg_path = workflow_dir / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["training"]["runs"] = {"full": {}, "half": {"sources": {"heuristic": 0.5}},
                               "also_half": {"sources": {"heuristic": 0.5}},
                               "teacher_only": {"sources": {"gpt52chat": 1.0}}}
    cfg["rl"]["runs"] = {"grpo_full": {"base_run": "full"}}  # an RL run must start from a training run
    cfg_path.write_text(yaml.safe_dump(cfg))
    r = smk(workflow_dir, "-n")
    text = r.stdout + r.stderr
    assert r.returncode == 0, text[-3000:]
    assert text.count("training run 'teacher_only' skipped: none of its sources (gpt52chat) is active") == 1
    jobs = _jobs(r.stdout)
    combines = sorted(w for rule, w in jobs if rule.startswith("rule combine"))
    assert combines == ["dataset=combined", "dataset=mix-heuristic@0.5"]  # one per distinct choice
    exports = sorted(w for rule, w in jobs if rule.startswith("rule export_dataset"))
    assert exports == ["dataset=combined", "dataset=mix-heuristic@0.5"]
    configs = sorted(w for rule, w in jobs if rule.startswith("rule train_config"))
    assert configs == ["run=also_half", "run=full", "run=half"]
    r = smk(workflow_dir, "-n", "results/train/teacher_only/train_config.yaml")
    assert r.returncode != 0
    assert "combined dataset 'mix-gpt52chat' has no active source: gpt52chat" in r.stdout + r.stderr
