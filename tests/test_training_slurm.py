"""The trained smoke tree through a real single-node Slurm cluster (profiles/slurm-local): the
sharded rules, training, GRPO and the served evaluation are submitted as Slurm jobs, in the
partitions the profile names, and a rerun submits nothing. Started from a copy of the tree
test_training.py trains (conftest.smoke_built), so it runs beside that module's tests."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SMOKE, copy_built

pytestmark = pytest.mark.slow
SMK = [sys.executable, "-m", "snakemake"]


def smk(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SMK, *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def smoke(smoke_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the trained smoke tree."""
    return copy_built(smoke_built, tmp_path_factory.mktemp("smoke_slurm") / "wf")


def _slurm_up() -> bool:
    return shutil.which("sinfo") is not None and subprocess.run(
        ["sinfo", "-h"], capture_output=True).returncode == 0


SLURM_SCRIPT = ROOT / "scripts" / "ci" / "slurm_cluster.sh"


@pytest.fixture(scope="module")
def slurm():
    """The single-node cluster; started here if it is down, and then stopped (and its
    slurm.conf parked) when the module's tests end, so later local runs do not wait on it."""
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="the cluster extra is not installed")
    started = False
    if not _slurm_up():
        if os.geteuid() != 0:
            pytest.skip("a Slurm cluster needs root to start")
        r = subprocess.run(["bash", str(SLURM_SCRIPT), "start"], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        started = True
    yield True
    if started:
        subprocess.run(["bash", str(SLURM_SCRIPT), "stop"], capture_output=True, text=True)


def _submitted(text: str) -> dict[str, str]:
    """Slurm job id -> rule, from a snakemake run's output."""
    rule_of = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", text):
        m = re.match(r"rule (\w+):", block)  # localrules never reach Slurm
        j = re.search(r"jobid: (\d+)", block)
        if m and j:
            rule_of[j.group(1)] = m.group(1)
    return {sid: rule_of.get(jid, "?")
            for jid, sid in re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", text)}


SACCT_FIELDS = ("JobID", "Partition", "Account", "State", "Comment")


def _sacct(*args: str) -> list[dict[str, str]]:
    """Slurm's accounting records (`sacct`, one line per job allocation, steps left out)."""
    r = subprocess.run(["sacct", "-a", "-X", "-n", "-P", "-o", ",".join(SACCT_FIELDS), *args],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"sacct failed (is slurmdbd running?): {r.stderr}"
    return [dict(zip(SACCT_FIELDS, line.split("|"), strict=True)) for line in r.stdout.splitlines() if line]


def test_grpo_runs_under_slurm_in_the_gpu_partition(slurm, smoke):
    """`grpo` is placed like `train`: the profile sends it to the GPU partition, for real. (First
    in this module: on the copied tree only grpo itself is stale.)"""
    r = smk(smoke, "results/rl/smoke/rl_results.json", "--forcerun", "grpo", "--profile", "profiles/slurm-local",
            *SMOKE)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    job = json.loads((smoke / "results" / "rl" / "smoke" / "job.json").read_text())
    assert job["slurm_partition"] == "gpu" and job["slurm_job_id"] and job["base_run"] == "smoke_plain"
    [rec] = _sacct("-j", job["slurm_job_id"])
    assert (rec["State"], rec["Partition"], rec["Comment"]) == ("COMPLETED", "gpu", "rule_grpo_wildcards_smoke"), rec


def test_sharded_rules_and_train_run_as_slurm_jobs_and_a_rerun_submits_nothing(slurm, smoke):
    """Under profiles/slurm-local the test split's pool shard is rebuilt, the pool filtered
    again and everything downstream rebuilt for one evaluated agent, one training run and its
    fine-tuned model's evaluation: bench_pool, collect, evaluate, train and evaluate_finetuned
    are submitted to Slurm and finish there; the filter and the aggregates stay local. (The
    two-step DeepSpeed run: the same rules as the plain one, a sixth of its training.)"""
    targets = ["results/train/smoke_zero2/train_results.json", "results/eval/heuristic/summary.json",
               "results/eval/ft_smoke_zero2/summary.json"]
    force = ["--forcerun", "data/bench/pool/test/shard_000.jsonl"]
    r = smk(smoke, *targets, *force, "--profile", "profiles/slurm-local", *SMOKE)
    text = r.stdout + r.stderr
    assert r.returncode == 0, text[-4000:]
    submitted = _submitted(text)
    assert sorted(set(submitted.values())) == ["bench_pool", "collect", "evaluate", "evaluate_finetuned",
                                               "train"], submitted
    local = set(re.findall(r"^localrule (\w+):", text, re.M))
    assert {"bench_filter", "merge", "convert", "split", "combine", "dataset_info", "train_config",
            "eval_summary"} <= local
    done = {rec["JobID"]: rec for rec in _sacct("-j", ",".join(submitted))}
    assert set(done) == set(submitted), f"not in sacct: {set(submitted) - set(done)}"
    for j, rec in done.items():
        rule = submitted[j]
        assert rec["State"] == "COMPLETED" and rec["Account"] == "ordebug", rec
        assert rec["Comment"].split("_wildcards_")[0] == f"rule_{rule}", rec
        assert rec["Partition"] == ("gpu" if rule in ("train", "evaluate_finetuned") else "cpu"), rec
    ft_log = (smoke / "logs" / "eval" / "ft_smoke_zero2" / "part_000.log").read_text()
    assert "model server healthy" in ft_log and "model server stopped" in ft_log  # on the node, then gone
    job = json.loads((smoke / "results" / "train" / "smoke_zero2" / "job.json").read_text())
    assert job["slurm_partition"] == "gpu" and job["slurm_job_id"] in submitted
    # the rerun: everything is up to date, nothing is submitted (sacct has no job after the last)
    r = smk(smoke, *targets, "--profile", "profiles/slurm-local", *SMOKE)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert _submitted(r.stdout + r.stderr) == {} and "Nothing to be done" in r.stdout + r.stderr
    last = max(int(j) for j in submitted)
    assert [rec for rec in _sacct("-S", "now-1hours") if int(rec["JobID"].split("_")[0]) > last] == []
