"""Cluster placement without a cluster: a parked slurm.conf fails fast, and the rules'
resources agree with what the Slurm profiles ask for."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from ordebug.perf import _stopped_controller_conf

MINIMAL_CONF = """ClusterName=t
SlurmctldHost=localhost
AuthType=auth/munge
NodeName=localhost CPUs=1
PartitionName=cpu Nodes=localhost Default=YES
"""


def test_parked_slurm_conf_makes_scontrol_fail_at_once(tmp_path: Path):
    """What `slurm_cluster.sh stop` leaves: the plugin's import-time `scontrol show config`
    gets its answer (no controller) at once instead of after ~9 s of retries."""
    if shutil.which("scontrol") is None:
        pytest.skip("Slurm's tools are not installed")
    src = tmp_path / "slurm.conf"
    src.write_text(MINIMAL_CONF)
    conf = _stopped_controller_conf(src, tmp_path / "parked.conf", parked=True)
    text = conf.read_text()
    assert text.count("MessageTimeout=1") == 1 and "SlurmctldPort=" in text
    subprocess.run(["bash", str(ROOT / "scripts" / "ci" / "slurm_cluster.sh"), "park", str(conf)], check=True)
    assert conf.read_text().count("MessageTimeout=1") == 1  # parking twice changes nothing
    start = time.perf_counter()
    r = subprocess.run(["scontrol", "show", "config"], env={"SLURM_CONF": str(conf), "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=30)
    assert time.perf_counter() - start < 3
    assert r.returncode != 0 and "Unable to contact slurm controller" in r.stdout + r.stderr


PLACEMENT_KEYS = {"slurm_partition", "gpu_model", "slurm_account", "slurm_qos", "slurm_reservation", "constraint"}
SUBMITTED = {"bench_shard", "collect", "evaluate", "evaluate_finetuned", "train"}


def _dry_run_jobs(workdir: Path, *args: str) -> dict[str, list[dict]]:
    """Rule name -> resources (plus threads) of every job in a dry run."""
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", *args], cwd=workdir, capture_output=True, text=True)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    jobs: dict[str, list[dict]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", r.stdout + r.stderr):
        m = re.match(r"(?:local)?rule (\w+):", block)
        if not m:
            continue
        res = dict(re.findall(r"(\w+)=([^,\n]+)", (re.search(r"resources: (.*)", block) or ["", ""])[1]))
        t = re.search(r"threads: (\d+)", block)
        res["threads"] = t.group(1) if t else "1"
        jobs.setdefault(m.group(1), []).append(res)
    return jobs


def test_slurm_profile_only_places_and_the_rules_declare_what_jobs_need(workflow_dir: Path):
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    for rule, res in profile["set-resources"].items():
        assert set(res) <= PLACEMENT_KEYS, f"profiles/slurm sizes {rule}: {set(res) - PLACEMENT_KEYS}"
    assert set(profile["default-resources"]) <= PLACEMENT_KEYS
    cfg = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    cfg["eval"]["serve"]["gpus"] = 1
    cfg["eval"]["finetuned"], cfg["eval"]["rl"] = ["smoke_plain"], []  # one served agent
    cfg["training"]["runs"]["smoke_plain"]["gpus"] = 2
    (workflow_dir / "config" / "scale.yaml").write_text(yaml.safe_dump(cfg))
    jobs = _dry_run_jobs(workflow_dir, "report", "train_all", "--profile", "profiles/slurm",
                         "--configfile", "config/scale.yaml", "--replace-workflow-config")
    assert set(jobs) >= SUBMITTED
    train = {j["gpu"]: j for j in jobs["train"]}
    assert set(train) == {"0", "2"}  # each run's own GPU count
    t = train["2"]
    assert (t["slurm_partition"], t["gpu_model"], t["mem_mb"], t["runtime"], t["cpus_per_task"]) == \
        ("gpu", "a800", "131072", "720", "16")
    ft = jobs["evaluate_finetuned"]
    assert len(ft) == 1 and ft[0]["slurm_partition"] == "gpu" and ft[0]["gpu"] == "1"
    for rule in ("bench_shard", "collect", "evaluate"):
        for j in jobs[rule]:
            assert j["slurm_partition"] == "cpu" and int(j["mem_mb"]) >= 2048 and int(j["runtime"]) >= 10, (rule, j)
            assert j.get("gpu", "0") == "0"
    # the same DAG locally (profiles/default): nothing asks for a partition
    local = _dry_run_jobs(workflow_dir, "report", "--configfile", "config/scale.yaml", "--replace-workflow-config")
    assert all("slurm_partition" not in j for js in local.values() for j in js)


def test_finetuned_agent_is_evaluated_in_configured_parts(workflow_dir: Path):
    cfg = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    cfg["eval"]["finetuned_shards"] = 2
    cfg["eval"]["finetuned"], cfg["eval"]["rl"] = ["smoke_plain"], []  # one served agent
    cfg["bench"]["n_test"] = 27 * 3  # two test shards of 45 problems (the last shorter)
    (workflow_dir / "config" / "parts.yaml").write_text(yaml.safe_dump(cfg))
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "report", "--configfile", "config/parts.yaml",
                        "--replace-workflow-config"], cwd=workflow_dir, capture_output=True, text=True)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    out = r.stdout
    parts = sorted(set(re.findall(r"results/eval/ft_smoke_plain/part_(\d+)\.outcomes\.jsonl", out)))
    assert parts == ["000", "001"]
    assert "results/eval/ft_smoke_plain/shard_" not in out  # no per-shard job, one server per part
    blocks = [b for b in re.split(r"\n(?=rule )", out) if b.startswith("rule evaluate_finetuned:")]
    inputs = sorted(re.search(r"input: (.*)", b).group(1) for b in blocks)
    assert ["data/bench/test/shard_000.jsonl" in inputs[0], "data/bench/test/shard_001.jsonl" in inputs[1]] == \
        [True, True]


def test_serve_backend_choice_and_vllm_command(tmp_path: Path):
    import importlib.util

    from ordebug.eval.serve import ServeError, pick_backend, vllm_command

    have_vllm = importlib.util.find_spec("vllm") is not None
    assert pick_backend("auto") == ("vllm" if have_vllm else "llamafactory")
    assert pick_backend("llamafactory") == "llamafactory"
    with pytest.raises(ServeError, match="eval.serve.backend"):
        pick_backend("tgi")
    if not have_vllm:
        with pytest.raises(ServeError, match="vLLM is not installed"):
            pick_backend("vllm")
    cmd = vllm_command("Qwen/Qwen3-8B", tmp_path / "adapter", "ordebug-ft", 8123, gpus=2, max_lora_rank=32)
    i = cmd.index("--lora-modules")
    assert cmd[i + 1] == f"ordebug-ft={tmp_path / 'adapter'}"
    assert cmd[cmd.index("--tensor-parallel-size") + 1] == "2" and cmd[cmd.index("--max-lora-rank") + 1] == "32"
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and "--api-key" not in cmd  # the key stays off argv


def test_config_is_validated_once_and_defaults_are_filled():
    from ordebug.config import ConfigError, validate_config

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    del cfg["eval"]["finetuned_shards"], cfg["eval"]["serve"]["backend"], cfg["eval"]["external"]
    validate_config(cfg)
    assert cfg["eval"]["finetuned_shards"] == 1 and cfg["eval"]["serve"]["backend"] == "auto"
    assert cfg["eval"]["external"] == {}
    cfg["eval"]["finetuned_shards"] = 0
    with pytest.raises(ConfigError, match="eval.finetuned_shards"):
        validate_config(cfg)
    common = (ROOT / "rules" / "common.smk").read_text()
    assert common.count("validate_config(config)") == 1 and "snakemake.utils import validate" not in common
