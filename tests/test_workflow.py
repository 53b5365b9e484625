"""The Snakemake workflow on a tiny config: builds, reruns nothing, rejects bad config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
