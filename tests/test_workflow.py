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

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def smk(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([*SNAKEMAKE, "--cores", "2", *args], cwd=cwd, capture_output=True, text=True, env=env)


@pytest.mark.slow
def test_bench_builds_then_nothing_to_do(workflow_dir):
    r = smk(workflow_dir, "bench")
    assert r.returncode == 0, r.stderr[-3000:]
    shards = sorted((workflow_dir / "data" / "bench").glob("*/shard_*.jsonl"))
    assert [p.relative_to(workflow_dir).as_posix() for p in shards] == [
        "data/bench/test/shard_000.jsonl",
        "data/bench/train/shard_000.jsonl",
    ]
    summary = json.loads((workflow_dir / "data" / "bench" / "summary.json").read_text())
    assert summary["n"] == 18 and summary["by_split"] == {"test": 9, "train": 9}
    assert sorted(summary["by_type"]) == list("ABCDEFGHI")
    for split in ("train", "test"):
        log = (workflow_dir / "logs" / "bench" / split / "shard_000.log").read_text()
        assert "9 problems in" in log
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


def test_lint_is_clean(workflow_dir):
    r = subprocess.run([*SNAKEMAKE, "--lint"], cwd=workflow_dir, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
def test_collection_builds_resumes_nothing_and_reruns_one_shard(workflow_dir):
    cfg_path = workflow_dir / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["bench"].update(n_train=18, shard_size=9)
    cfg_path.write_text(yaml.safe_dump(cfg))
    r = smk(workflow_dir, "data/training/sft_heuristic.json")
    assert r.returncode == 0, r.stderr[-3000:]
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
