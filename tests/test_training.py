"""Training for real on the CPU: the smoke DAG (tiny Qwen3, LLaMA-Factory, plain and
DeepSpeed ZeRO-2), the adapter loaded with peft, the cutoff check, bad inputs, and the
train rule through a real single-node Slurm cluster."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from ordebug.data.chat import read_jsonl
from ordebug.training.lengths import CutoffError, check_cutoff
from ordebug.training.llamafactory import TrainingError, check_model, render_config, run_settings

pytest.importorskip("llamafactory", reason="training extra not installed (pip install -e '.[train]')")
SMK = [sys.executable, "-m", "snakemake"]
SMOKE = ["--configfile", "config/smoke.yaml", "--replace-workflow-config"]


def smk(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SMK, *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> Path:
    """The whole smoke DAG up to and including `train` for both runs, run once."""
    d = tmp_path_factory.mktemp("smoke")
    for name in ("Snakefile", "rules", "scripts", "config", "envs", "profiles"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, d / name)
    r = smk(d, "train_all", "--cores", "2", *SMOKE)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    return d


def test_smoke_dag_writes_adapters_plain_and_zero2(smoke):
    for run, ds in (("smoke_plain", False), ("smoke_zero2", True)):
        out = smoke / "results" / "train" / run
        assert (out / "adapter" / "adapter_model.safetensors").is_file()
        cfg = json.loads((out / "adapter" / "adapter_config.json").read_text())
        assert cfg["r"] == 32 and cfg["lora_alpha"] == 64
        job = json.loads((out / "job.json").read_text())
        assert job["deepspeed"] is ds and job["force_torchrun"] is ds
        assert json.loads((out / "train_results.json").read_text())["train_loss"] > 0
        rendered = yaml.safe_load((out / "train_config.yaml").read_text())
        assert rendered["template"] == "qwen3" and rendered["lora_target"] == "all"
        assert ("deepspeed" in rendered) is ds


def test_training_loss_decreases(smoke):
    log = smoke / "results" / "train" / "smoke_plain" / "adapter" / "trainer_log.jsonl"
    losses = [json.loads(x)["loss"] for x in log.read_text().splitlines() if '"loss"' in x]
    assert len(losses) >= 8
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.1, losses


def test_adapter_loads_with_peft_and_generates(smoke):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_dir = smoke / "data" / "models" / "tiny-qwen3"
    tok = AutoTokenizer.from_pretrained(base_dir)
    base = AutoModelForCausalLM.from_pretrained(base_dir)
    model = PeftModel.from_pretrained(base, smoke / "results" / "train" / "smoke_plain" / "adapter")
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and any(p.abs().sum() > 0 for p in lora_b)  # trained, not the zero init
    ids = tok.apply_chat_template([{"role": "user", "content": "## Problem\nID: x"}], add_generation_prompt=True,
                                  return_tensors="pt")
    ids = ids["input_ids"] if hasattr(ids, "keys") else ids
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=8, do_sample=False)
    assert out.shape[1] > ids.shape[1]


def test_token_length_summary_and_cutoff(smoke):
    summary = json.loads((smoke / "results" / "train" / "smoke_plain" / "token_lengths.json").read_text())
    assert summary["method"] == "tokenizer" and summary["over_cutoff"] == 0
    records = read_jsonl(smoke / "data" / "training" / "sft_combined.train.jsonl")
    tok_path = str(smoke / "data" / "models" / "tiny-qwen3")
    longest = summary["total_tokens"]["max"]
    with pytest.raises(CutoffError, match=r"would cut \d+ of \d+ samples; the longest is \d+ tokens"):
        check_cutoff(records, tok_path, 64, auto_raise=False)
    cutoff, s = check_cutoff(records, tok_path, 64, auto_raise=True)
    assert cutoff >= s["total_tokens"]["max"] and cutoff % 256 == 0
    assert s["total_tokens"]["max"] <= longest


def test_bad_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(TrainingError, match="does not exist"):
        check_model(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(TrainingError, match="no config.json"):
        check_model(str(tmp_path / "empty"))
    check_model("Qwen/Qwen3-8B")  # a hub id is left to the GPU node


def test_render_config_and_runs():
    training = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["training"]
    s = run_settings(training, "qwen3_8b_lora")
    cfg = render_config(s, "data/training", "sft_combined_train", "sft_combined_val", "results/train/x/adapter", 4096)
    assert (cfg["lora_rank"], cfg["lora_alpha"], cfg["lora_target"], cfg["template"]) == (32, 64, "all", "qwen3")
    assert cfg["deepspeed"] == "config/training/ds_config_zero2.json" and cfg["eval_dataset"] == "sft_combined_val"
    with pytest.raises(TrainingError, match="unknown training run"):
        run_settings(training, "nope")


def test_train_rule_refuses_bad_inputs_before_llamafactory(smoke, tmp_path):
    cfg_path = smoke / "results" / "train" / "smoke_plain" / "train_config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    from ordebug.training.llamafactory import train

    bad = dict(cfg, model_name_or_path=str(tmp_path / "missing-model"))
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(bad))
    with pytest.raises(TrainingError, match="does not exist"):
        train(p, tmp_path / "a", tmp_path / "r.json", tmp_path / "j.json", 0)
    bad = dict(cfg, dataset="not_registered", dataset_dir=str(smoke / "data" / "training"),
               model_name_or_path=str(smoke / "data" / "models" / "tiny-qwen3"))
    p.write_text(yaml.safe_dump(bad))
    with pytest.raises(TrainingError, match="not registered"):
        train(p, tmp_path / "a", tmp_path / "r.json", tmp_path / "j.json", 0)


def test_empty_sft_input_fails_before_training(tmp_path):
    d = tmp_path / "wf"
    d.mkdir()
    for name in ("Snakefile", "rules", "scripts", "config", "envs", "profiles"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, d / name)
    (d / "data" / "training").mkdir(parents=True)
    for part in ("train", "val"):
        (d / "data" / "training" / f"sft_combined.{part}.jsonl").write_text("")
    (d / "data" / "training" / "dataset_info.json").write_text("{}")
    r = smk(d, "results/train/qwen3_8b_lora/train_config.yaml", "--cores", "1", "--allowed-rules", "train_config")
    assert r.returncode != 0
    log = (d / "logs" / "train" / "qwen3_8b_lora" / "train_config.log").read_text()
    assert "no samples (empty or all-failed collection)" in log


def _slurm_up() -> bool:
    return shutil.which("sinfo") is not None and subprocess.run(
        ["sinfo", "-h"], capture_output=True).returncode == 0


SLURM_SCRIPT = ROOT / "scripts" / "ci" / "slurm_cluster.sh"
SLURM_STATE = Path(os.environ.get("ORDEBUG_SLURM_DIR", "/tmp/ordebug-slurm"))


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


def _completed(job_ids: set[str]) -> dict[str, dict]:
    """Slurm's own record of the jobs (the test cluster has no slurmdbd, so no sacct): the
    controller's (`scontrol show job`, kept MinJobAge = 300 s after the end), else the
    job-completion log slurm_cluster.sh configures: job id -> {JobState, Partition, ...}."""
    records = {}
    log = SLURM_STATE / "log" / "jobcomp.log"
    for line in log.read_text().splitlines() if log.is_file() else []:
        rec = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        if rec.get("JobId") in job_ids:
            records[rec["JobId"]] = rec
    for jid in job_ids - set(records):
        r = subprocess.run(["scontrol", "-o", "show", "job", jid], capture_output=True, text=True)
        rec = dict(kv.split("=", 1) for kv in r.stdout.split() if "=" in kv)
        if rec.get("JobId") == jid:
            records[jid] = rec
    return records


def test_sharded_rules_and_train_run_as_slurm_jobs_and_a_rerun_submits_nothing(smoke, slurm):
    """Under profiles/slurm-local one bench shard of each split is rebuilt and everything
    downstream of it for one evaluated agent and one training run: bench_shard, collect,
    evaluate and train are submitted to Slurm and finish there; the aggregates stay local."""
    targets = ["results/train/smoke_plain/train_results.json", "results/eval/heuristic/summary.json"]
    force = ["--forcerun", "data/bench/train/shard_001.jsonl", "data/bench/test/shard_000.jsonl"]
    r = smk(smoke, *targets, *force, "--profile", "profiles/slurm-local", *SMOKE)
    text = r.stdout + r.stderr
    assert r.returncode == 0, text[-4000:]
    submitted = _submitted(text)
    assert sorted(set(submitted.values())) == ["bench_shard", "collect", "evaluate", "train"], submitted
    local = set(re.findall(r"^localrule (\w+):", text, re.M))
    assert {"merge", "convert", "split", "combine", "dataset_info", "train_config", "eval_summary"} <= local
    done = _completed(set(submitted))
    if (SLURM_STATE / "log" / "jobcomp.log").is_file():  # our cluster: every job is on record
        assert set(done) == set(submitted), f"not recorded as finished by Slurm: {set(submitted) - set(done)}"
    else:  # a cluster started otherwise: what the controller still remembers, the last job at least
        assert [j for j in submitted if submitted[j] == "train"][0] in done, (submitted, done)
    assert all(rec["JobState"] == "COMPLETED" for rec in done.values()), done
    for j, rec in done.items():
        assert rec["Partition"] == ("gpu" if submitted[j] == "train" else "cpu"), (submitted[j], rec)
    job = json.loads((smoke / "results" / "train" / "smoke_plain" / "job.json").read_text())
    assert job["slurm_partition"] == "gpu" and job["slurm_job_id"] in submitted
    # the rerun: everything is up to date, nothing is submitted
    r = smk(smoke, *targets, "--profile", "profiles/slurm-local", *SMOKE)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert _submitted(r.stdout + r.stderr) == {} and "Nothing to be done" in r.stdout + r.stderr


def _api_servers() -> list[str]:
    r = subprocess.run(["pgrep", "-af", "llamafactory-cli api"], capture_output=True, text=True)
    return [line for line in r.stdout.splitlines() if "pgrep" not in line]


def test_finetuned_model_is_served_evaluated_and_reported(smoke):
    r = smk(smoke, "report", "--cores", "2", *SMOKE)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    summary = json.loads((smoke / "results" / "eval" / "ft_smoke_plain" / "summary.json").read_text())
    assert summary["overall"]["problems"] == 27
    outcomes = [json.loads(x) for x in
                (smoke / "results" / "eval" / "ft_smoke_plain" / "part_000.outcomes.jsonl").read_text().splitlines()]
    assert sum(o.get("prompt_tokens", 0) for o in outcomes) > 0  # it really answered over HTTP
    log = (smoke / "logs" / "eval" / "ft_smoke_plain" / "part_000.log").read_text()
    assert "model server healthy" in log and "model server stopped" in log
    assert "| ft_smoke_plain | 27 |" in (smoke / "results" / "report" / "comparison.md").read_text()
    assert _api_servers() == []


def test_server_that_never_becomes_healthy_is_stopped(tmp_path):
    from ordebug.eval.serve import ServedModel, ServeError

    with pytest.raises(ServeError, match="exited with code"), ServedModel(str(tmp_path / "no-model"), None,
                                                                        startup_timeout=120):
        pass
    assert _api_servers() == []


def test_missing_adapter_is_a_clear_error(tmp_path, smoke):
    from ordebug.eval.serve import ServedModel, ServeError

    with pytest.raises(ServeError, match="does not exist"), ServedModel(
            str(smoke / "data" / "models" / "tiny-qwen3"), tmp_path / "nope"):
        pass
