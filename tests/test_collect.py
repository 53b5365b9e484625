"""Sharded collection: samples per step, resume after kill -9, corrupt journal lines."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ordebug.actions import extract_action
from ordebug.agents import make_agent
from ordebug.bench.generate import BENCH_VERSION
from ordebug.bench.shards import write_jsonl_atomic
from ordebug.collect.driver import ShardError
from ordebug.collect.episode import run_episode
from ordebug.collect.journal import Journal
from ordebug.collect.samples import good_steps, replay, replay_samples
from ordebug.collect.shard import CollectConfig, collect_shard
from ordebug.data.merge import merge
from ordebug.env.environment import EnvConfig


@pytest.fixture(scope="module")
def shard(tmp_path_factory, sample) -> Path:
    """A shard of 45 problems: the first 45 of the session's sample (five of each type), as
    a benchmark shard holds them."""
    path = tmp_path_factory.mktemp("bench") / "shard_000.jsonl"
    write_jsonl_atomic(path, sample[:45])
    return path


def collect(shard: Path, out: Path, workers: int = 1, level: str = "faithful", think: int | None = None) -> dict:
    return collect_shard(shard, out / "s.jsonl", out / "o.jsonl", out / "journal.jsonl",
                         CollectConfig("heuristic", workers, level, think))


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_one_sample_per_step_of_verified_trajectories(shard, tmp_path):
    res = collect(shard, tmp_path)
    samples, outcomes = lines(tmp_path / "s.jsonl"), lines(tmp_path / "o.jsonl")
    assert res["samples"] == len(samples) and len(outcomes) == 45
    ok = {o["problem_id"] for o in outcomes if o["success"]}
    assert ok and {s["metadata"]["problem_id"] for s in samples} == ok
    assert all(o["faithful"] for o in outcomes if o["success"])
    problems = {json.loads(x)["problem_id"]: json.loads(x) for x in shard.read_text().splitlines()}
    for pid in sorted(ok):
        steps = [s for s in samples if s["metadata"]["problem_id"] == pid]
        assert [s["metadata"]["step"] for s in steps] == list(range(1, len(steps) + 1))
        assert all(s["metadata"]["steps"] == len(steps) for s in steps)
        # the input is exactly what the environment showed at that step; where steps were left
        # out (a repeated no-op edit), what a fresh environment shows on the kept actions
        ep = run_episode(make_agent("heuristic"), problems[pid])
        kept, dropped = good_steps(ep.steps)
        assert [extract_action(s["output"]).text for s in steps] == [st.action for st in kept]
        shown = ([st.observation for st in ep.steps] if not dropped
                 else replay(problems[pid], [st.action for st in kept], EnvConfig())[0])
        assert [s["input"] for s in steps] == shown
        for s in steps:
            assert s["output"].startswith("<think>\n") and "\n</think>\n\nAction: " in s["output"]
            assert extract_action(s["output"]).text == s["output"].rsplit("Action: ", 1)[1]
    assert not (tmp_path / "journal.jsonl").exists()  # removed once the outputs are in place
    # an independent replay accepts every sample, and every sample says where it comes from
    assert replay_samples(samples, problems) == []
    meta = samples[0]["metadata"]
    assert meta["agent"] == "heuristic" and meta["teacher_model"] is None and meta["bench_version"] == BENCH_VERSION
    assert len(meta["prompt_version"]) == len(meta["config_hash"]) == 12


def test_feasible_level_admits_more(shard, tmp_path):
    a = collect(shard, tmp_path / "a")
    b = collect(shard, tmp_path / "b", level="feasible")
    assert b["successful"] >= a["successful"]


def test_workers_give_the_same_outputs(shard, tmp_path):
    collect(shard, tmp_path / "one", workers=1)
    collect(shard, tmp_path / "two", workers=2)
    for name in ("s.jsonl", "o.jsonl"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_kill_9_mid_shard_then_resume_gives_the_same_samples(shard, tmp_path):
    ref = tmp_path / "ref"
    collect(shard, ref, level="exact", think=4000)  # the CLI's defaults: the same lineage
    run = tmp_path / "run"
    run.mkdir()
    journal = run / "journal.jsonl"
    cmd = [sys.executable, "-m", "ordebug.cli", "collect", "--problems", str(shard), "--samples",
           str(run / "s.jsonl"), "--outcomes", str(run / "o.jsonl"), "--journal", str(journal)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        if journal.exists() and journal.read_text().count("\n") >= 10:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = journal.read_text().count("\n")
    assert 10 <= done_before < 45, "the kill must land mid-shard"
    assert not (run / "s.jsonl").exists()
    # a kill mid-write leaves a cut line: simulate one and check it is skipped and redone
    with open(journal, "a") as fh:
        fh.write('{"problem_id": "odb_cut", "samp')
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert f"{done_before} already done" in res.stderr
    assert "corrupt" in res.stderr
    for name in ("s.jsonl", "o.jsonl"):
        assert (run / name).read_bytes() == (ref / name).read_bytes()
    ids = [o["problem_id"] for o in lines(run / "o.jsonl")]
    assert len(ids) == len(set(ids)) == 45


def test_journal_ignores_entries_of_another_run(tmp_path):
    j = Journal(tmp_path / "j.jsonl", key="a")
    j.append({"problem_id": "p1", "samples": [], "outcome": {}})
    assert set(j.load()) == {"p1"}
    assert Journal(tmp_path / "j.jsonl", key="b").load() == {}


def test_bad_problem_record_is_a_failed_problem_not_a_crash(tmp_path):
    path = tmp_path / "shard.jsonl"
    path.write_text(json.dumps({"problem_id": "odb_bad", "model": "garbage", "original_objective": 1}) + "\n"
                    + json.dumps({"problem_id": "odb_missing"}) + "\n")
    res = collect(path, tmp_path)
    outcomes = lines(tmp_path / "o.jsonl")
    assert res["samples"] == 0 and len(outcomes) == 2
    assert all(o["failure_reason"].startswith("bad problem record") for o in outcomes)


def test_merge_writes_sft_and_stats(shard, tmp_path):
    collect(shard, tmp_path)
    stats = merge([tmp_path / "s.jsonl"], [tmp_path / "o.jsonl"], tmp_path / "sft.json", tmp_path / "stats.json")
    sft = json.loads((tmp_path / "sft.json").read_text())
    assert len(sft) == stats["samples"] > 0
    assert set(sft[0]) == {"instruction", "input", "output", "metadata"}
    assert stats["problems"] == 45
    assert sum(v["problems"] for v in stats["by_error_type"].values()) == 45
    assert sum(v["samples"] for v in stats["by_error_type"].values()) == len(sft)
    assert 0 < stats["success_rate"] <= 1
    failed = sum(1 for o in lines(tmp_path / "o.jsonl") if not o["success"])
    assert sum(stats["dropped"]["trajectories"].values()) >= failed
    assert stats["usage"]["requests"] == 0 and stats["usage"]["cost_usd"] == 0  # a built-in agent
    t = stats["think_templates"]
    assert t["samples"] == len(sft) and 0 < t["distinct_templates"] <= t["distinct_thinks"] <= len(sft)
    assert stats["lineage"]["agent"] == ["heuristic"] and len(stats["lineage"]["prompt_version"]) == 1
    # the SFT file replays independently; a forged action is caught
    cmd = [sys.executable, "-m", "ordebug.cli", "replay", "--samples", str(tmp_path / "sft.json"), "--problems",
           str(shard)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0 and " 0 wrong" in r.stderr, r.stderr
    sft[0]["output"] = sft[0]["output"].rsplit("Action: ", 1)[0] + "Action: DROP_CONSTRAINT(nothing_here)"
    (tmp_path / "sft.json").write_text(json.dumps(sft))
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 1 and sft[0]["metadata"]["problem_id"] in r.stderr


def test_a_shard_where_every_problem_raises_fails_with_the_first_error(shard, tmp_path):
    with pytest.raises(ShardError, match="every problem of .* raised; the first: .*unknown agent 'nosuchagent'"):
        collect_shard(shard, tmp_path / "s.jsonl", tmp_path / "o.jsonl", tmp_path / "j.jsonl",
                      CollectConfig("nosuchagent"))
    assert not (tmp_path / "s.jsonl").exists() and not (tmp_path / "o.jsonl").exists()
    assert not (tmp_path / "j.jsonl").exists() or (tmp_path / "j.jsonl").read_text() == ""


def test_collect_does_not_import_eval():
    code = ("import sys, ordebug.collect.shard, ordebug.collect.teacher, ordebug.data.merge; "
            "bad = sorted(m for m in sys.modules if m.startswith('ordebug.eval')); assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
