"""Training for real on the CPU: the smoke DAG (tiny Qwen3, LLaMA-Factory, plain and
DeepSpeed ZeRO-2 on a dataset of its own), the adapter loaded with peft, the cutoff check,
bad inputs, a training killed mid-run that resumes from its checkpoint, the merged model,
serving and GRPO. The same trained tree under Slurm: test_training_slurm.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SMOKE, SMOKE_BENCH, copy_built

from ordebug.data.chat import read_jsonl
from ordebug.training.lengths import CutoffError, check_cutoff
from ordebug.training.llamafactory import TrainingError, check_model, render_config, run_settings

pytest.importorskip("llamafactory", reason="training extra not installed (pip install -e '.[train]')")
pytestmark = pytest.mark.slow
SMK = [sys.executable, "-m", "snakemake"]
N_TEST = SMOKE_BENCH["n_test"]


def smk(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SMK, *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def smoke(smoke_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the trained smoke tree (conftest.build_smoke: the whole smoke DAG up
    to and including `train` for both runs, built once per test run); its tests build the rest
    in it (merged model, exports, report, GRPO)."""
    return copy_built(smoke_built, tmp_path_factory.mktemp("smoke") / "wf")


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
        assert rendered["output_dir"] == f"results/train/{run}/checkpoints" and not rendered["overwrite_output_dir"]


def test_each_run_trains_on_its_own_dataset(smoke):
    """smoke_plain takes dataset.combine (`combined`), smoke_zero2 chose heuristic at weight 0.5."""
    data = smoke / "data" / "training"
    for run, dataset in (("smoke_plain", "combined"), ("smoke_zero2", "mix-heuristic@0.5")):
        out = smoke / "results" / "train" / run
        rendered = yaml.safe_load((out / "train_config.yaml").read_text())
        assert rendered["dataset"] == f"sft_{dataset}_train" and rendered["eval_dataset"] == f"sft_{dataset}_val"
        info = json.loads((data / "dataset_info.json").read_text())
        assert info[f"sft_{dataset}_train"]["file_name"] == f"sft_{dataset}.train.jsonl"
        card = json.loads((out / "run.json").read_text())
        train = read_jsonl(data / f"sft_{dataset}.train.jsonl")
        assert card["dataset"] == dataset and card["size"]["train"]["samples"] == len(train)
        assert card["hyperparameters"]["lora_rank"] == 32 and card["global_step"] == rendered["max_steps"]
    full = read_jsonl(data / "sft_combined.train.jsonl")
    half = read_jsonl(data / "sft_mix-heuristic@0.5.train.jsonl")
    stats = json.loads((data / "sft_mix-heuristic@0.5.stats.json").read_text())["train"]["sources"]["heuristic"]
    full_ids = {r["metadata"]["problem_id"] for r in full}
    half_ids = {r["metadata"]["problem_id"] for r in half}
    assert stats["weight"] == 0.5 and stats["problems_kept"] == len(half_ids) == round(len(full_ids) * 0.5)
    assert half_ids < full_ids
    assert all(r in full for r in half)  # whole problems, every step of each kept
    assert len(half) == sum(1 for r in full if r["metadata"]["problem_id"] in half_ids)


def test_loss_curve_file_has_train_and_validation_loss_per_step(smoke):
    from ordebug.training.curves import read_curve

    rows = read_curve(smoke / "results" / "train" / "smoke_plain" / "loss.csv")
    assert [r["step"] for r in rows] == list(range(1, 13))  # logging_steps 1, max_steps 12
    assert all(r["loss"] > 0 for r in rows)
    assert [r["step"] for r in rows if r["eval_loss"] is not None] == [6, 12]  # eval_steps 6
    log = [json.loads(x) for x in (smoke / "results" / "train" / "smoke_plain" / "adapter" /
                                   "trainer_log.jsonl").read_text().splitlines()]
    assert [round(r["loss"], 4) for r in rows] == [round(x["loss"], 4) for x in log if "loss" in x]


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
    assert "disable_gradient_checkpointing" not in cfg  # LLaMA-Factory's default (on) unless asked
    off = render_config(dict(s, gradient_checkpointing=False), "d", "t", None, "o", 4096)
    assert off["disable_gradient_checkpointing"] is True
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


def _trainer_log_steps(path: Path) -> list[int]:
    return [json.loads(x)["current_steps"] for x in path.read_text().splitlines() if '"loss"' in x]


def test_training_killed_mid_run_resumes_from_its_checkpoint(smoke, tmp_path):
    """kill -9 of snakemake and the training after checkpoint-4; the rerun continues at step 5."""
    d = copy_built(smoke, tmp_path / "wf")
    out = d / "results" / "train" / "smoke_plain"
    first = [json.loads(x) for x in (out / "adapter" / "trainer_log.jsonl").read_text().splitlines()]
    for name in ("adapter", "checkpoints", "train_results.json", "job.json", "loss.csv", "run.json"):
        p = out / name
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    target = "results/train/smoke_plain/train_results.json"
    proc = subprocess.Popen([*SMK, target, "--cores", "2", "--forcerun", "train", *SMOKE], cwd=d,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    state = out / "checkpoints" / "checkpoint-4" / "trainer_state.json"
    deadline = time.time() + 600
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the trainer state is the checkpoint's last file: let its write finish
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert state.exists(), "no checkpoint-4 before the deadline"
    assert not (out / "checkpoints" / "checkpoint-12").exists(), "training finished before it was killed"
    assert not (out / "adapter").exists() and not (out / "train_results.json").exists()  # nothing half-published
    killed_at = _trainer_log_steps(out / "checkpoints" / "trainer_log.jsonl")
    assert killed_at and killed_at[-1] >= 4
    assert smk(d, "--unlock", *SMOKE).returncode == 0
    r = smk(d, target, "--cores", "2", "--rerun-incomplete", *SMOKE)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    log = (d / "logs" / "train" / "smoke_plain" / "train.log").read_text()
    assert "resuming from results/train/smoke_plain/checkpoints/checkpoint-4 (step 4)" in log
    job = json.loads((out / "job.json").read_text())
    assert job["resumed_from"] == "checkpoint-4"
    assert [a["start_step"] for a in job["attempts"]] == [0, 4]
    # the step counter: the log of both attempts runs 1..k, then 5..12 (k >= 4: killed after the checkpoint)
    steps = _trainer_log_steps(out / "adapter" / "trainer_log.jsonl")
    assert steps == killed_at + list(range(5, 13)), steps
    assert json.loads((out / "adapter" / "trainer_state.json").read_text())["global_step"] == 12
    # the loss log: each step once; the resumed steps repeat the uninterrupted run's losses
    from ordebug.training.curves import read_curve

    rows = read_curve(out / "loss.csv")
    assert [r["step"] for r in rows] == list(range(1, 13))
    uninterrupted = {x["current_steps"]: x["loss"] for x in first if "loss" in x}
    for row in rows:
        assert row["loss"] == pytest.approx(uninterrupted[row["step"]], rel=1e-3), row["step"]
    assert (out / "adapter" / "adapter_model.safetensors").is_file()


def test_merged_model_generates_what_base_plus_adapter_generates(smoke):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    r = smk(smoke, "results/train/smoke_plain/merged", "--cores", "2", *SMOKE)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    merged_dir = smoke / "results" / "train" / "smoke_plain" / "merged"
    assert (merged_dir / "config.json").is_file() and list(merged_dir.glob("*.safetensors"))
    assert not (merged_dir / "adapter_config.json").exists()  # a plain model, no adapter to load
    base_dir = smoke / "data" / "models" / "tiny-qwen3"
    tok = AutoTokenizer.from_pretrained(base_dir)
    ids = tok.apply_chat_template([{"role": "user", "content": "## Problem\nID: odb_000000000000\nGET_IIS()"}],
                                  add_generation_prompt=True, return_tensors="pt")
    ids = ids["input_ids"] if hasattr(ids, "keys") else ids
    merged = AutoModelForCausalLM.from_pretrained(merged_dir)
    with_adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir),
                                             smoke / "results" / "train" / "smoke_plain" / "adapter")
    base = AutoModelForCausalLM.from_pretrained(base_dir)
    with torch.no_grad():
        out_m = merged.generate(ids, max_new_tokens=24, do_sample=False)
        out_a = with_adapter.generate(ids, max_new_tokens=24, do_sample=False)
        logits = [m(ids).logits for m in (merged, with_adapter, base)]
    assert out_m.tolist() == out_a.tolist()
    assert torch.allclose(logits[0], logits[1], atol=1e-4)
    assert not torch.allclose(logits[0], logits[2], atol=1e-2)  # the adapter is in it
    r = smk(smoke, "results/train/smoke_plain/merged", "--cores", "1", *SMOKE)
    assert "Nothing to be done" in r.stdout + r.stderr


def test_dataset_exports_beside_each_combined_set(smoke):
    datasets = pytest.importorskip("datasets")
    for name in ("combined", "mix-heuristic@0.5"):
        folder = smoke / "data" / "training" / "export" / name
        r = smk(smoke, str((folder / "README.md").relative_to(smoke)), "--cores", "1", *SMOKE)
        assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
        ds = datasets.load_dataset(str(folder), cache_dir=str(smoke / "hf-cache"))
        train = read_jsonl(smoke / "data" / "training" / f"sft_{name}.train.jsonl")
        val = read_jsonl(smoke / "data" / "training" / f"sft_{name}.val.jsonl")
        assert (ds["train"].num_rows, ds["validation"].num_rows) == (len(train), len(val))
        assert ds["train"][0]["messages"] == [{"content": m["content"], "role": m["role"]}
                                              for m in train[0]["messages"]]
        assert f"`{name}`" in (folder / "README.md").read_text()


def _api_servers(where: Path) -> list[str]:
    """Model servers still running that were started in ``where`` (their working directory is it
    or below it): test_training_slurm.py serves models from its own tree at the same time."""
    r = subprocess.run(["pgrep", "-af", "llamafactory-cli api"], capture_output=True, text=True)
    out = []
    for line in r.stdout.splitlines():
        try:
            cwd = Path(os.readlink(f"/proc/{line.split()[0]}/cwd"))
        except OSError:  # gone meanwhile
            continue
        if "pgrep" not in line and cwd.is_relative_to(where.resolve()):
            out.append(line)
    return out


def test_finetuned_model_is_served_evaluated_and_reported(smoke):
    r = smk(smoke, "report", "--cores", "2", *SMOKE)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    summary = json.loads((smoke / "results" / "eval" / "ft_smoke_plain" / "summary.json").read_text())
    assert summary["overall"]["problems"] == N_TEST
    outcomes = [json.loads(x) for x in
                (smoke / "results" / "eval" / "ft_smoke_plain" / "part_000.outcomes.jsonl").read_text().splitlines()]
    assert sum(o.get("prompt_tokens", 0) for o in outcomes) > 0  # it really answered over HTTP
    log = (smoke / "logs" / "eval" / "ft_smoke_plain" / "part_000.log").read_text()
    assert "model server healthy" in log and "model server stopped" in log
    comparison = (smoke / "results" / "report" / "comparison.md").read_text()
    assert f"| ft_smoke_plain | {N_TEST} |" in comparison and f"| ft_smoke_zero2 | {N_TEST} |" in comparison
    # the base model without an adapter (eval.base), served and scored the same way
    assert f"| base_smoke_plain | {N_TEST} |" in comparison
    base = json.loads((smoke / "results" / "eval" / "base_smoke_plain" / "summary.json").read_text())
    base_log = (smoke / "logs" / "eval" / "base_smoke_plain" / "part_000.log").read_text()
    assert "+ None)" in base_log and "model server stopped" in base_log  # served with no adapter
    # the runs table: dataset, size and hyperparameters next to the scores
    runs = comparison.split("Fine-tuned runs")[1]
    plain = next(line for line in runs.splitlines() if line.startswith("| ft_smoke_plain |"))
    card = json.loads((smoke / "results" / "train" / "smoke_plain" / "run.json").read_text())
    size = card["size"]
    assert f"| `combined` (heuristic) | {size['train']['samples']} / {size['val']['samples']} |" in plain
    assert "| 32 / 64 | 0.005 | 1 / 12 |" in plain
    assert f"| {summary['overall']['faithful']:.3f} |" in plain
    assert plain.endswith(f"| {base['overall']['faithful']:.3f} |")  # the base model's score beside it
    assert "| ft_smoke_zero2 | `mix-heuristic@0.5` (heuristic) |" in runs
    import matplotlib.image

    img = matplotlib.image.imread(smoke / "results" / "report" / "loss_curves.png")
    assert img.shape[1] > 1.8 * img.shape[0]  # two panels side by side
    assert _api_servers(smoke) == []


def test_finetuned_agent_is_scored_on_an_external_set(smoke, tmp_path):
    """eval.external with a fine-tuned agent: evaluate_external_finetuned serves the adapter
    (one server for the set) while the built-in agent's evaluate_external needs none."""
    folder = ROOT / "tests" / "data" / "external"  # three small infeasible models
    cfg = yaml.safe_load((smoke / "config" / "smoke.yaml").read_text())
    cfg["eval"]["external"] = {"tiny3": str(folder)}
    # keys kept in smoke.yaml's order: Snakemake compares params as written, and sorted keys would
    # count as changed params and rebuild the whole trained tree (bench, collection, training)
    (smoke / "config" / "smoke_ext.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    targets = [f"results/eval_external/tiny3/{a}/outcomes.jsonl" for a in ("ft_smoke_plain", "heuristic")]
    r = smk(smoke, *targets, "--cores", "2", "--configfile", "config/smoke_ext.yaml")
    text = r.stdout + r.stderr
    assert r.returncode == 0, text[-4000:]
    assert re.search(r"rule evaluate_external_finetuned:\n(.*\n){0,6}.*ft_smoke_plain", text)
    assert re.search(r"rule evaluate_external:\n(.*\n){0,6}.*heuristic", text)
    res = smoke / "results" / "eval_external" / "tiny3"
    out = {a: [json.loads(x) for x in (res / a / "outcomes.jsonl").read_text().splitlines()]
           for a in ("ft_smoke_plain", "heuristic")}
    assert {a: len(o) for a, o in out.items()} == {"ft_smoke_plain": 3, "heuristic": 3}
    assert sum(o.get("prompt_tokens", 0) for o in out["ft_smoke_plain"]) > 0  # the served adapter answered
    served = (smoke / "logs" / "eval_external" / "tiny3" / "ft_smoke_plain.log").read_text()
    assert served.count("model server healthy") == 1 and "model server stopped" in served
    assert "model server" not in (smoke / "logs" / "eval_external" / "tiny3" / "heuristic.log").read_text()
    assert _api_servers(smoke) == []


def test_grpo_after_sft_is_served_evaluated_and_reported(smoke):
    """train -> grpo -> evaluate -> report on the smoke config: the RL adapter is one LoRA over the
    base (SFT rank + RL rank), its reward curve is logged per step and plotted, and it is scored
    as agent rl_smoke over HTTP beside ft_smoke_plain."""
    r = smk(smoke, "report", "--cores", "2", *SMOKE)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    out = smoke / "results" / "rl" / "smoke"
    cfg = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert cfg["r"] == 32 + 8 and cfg["base_model_name_or_path"] == "data/models/tiny-qwen3"
    settings = json.loads((out / "rl_config.json").read_text())
    assert settings["base_run"] == "smoke_plain" and settings["success_level"] == "exact"
    curve = [json.loads(x) for x in (out / "reward_curve.jsonl").read_text().splitlines()]
    assert [c["step"] for c in curve] == [1, 2]
    for c in curve:
        assert c["episodes"] == 4 and -1 <= c["mean_return"] <= 1 and 0 <= c["invalid_rate"] <= 1
        assert 1 <= c["mean_steps"] <= 2 and "loss" in c and "kl" in c
    results = json.loads((out / "rl_results.json").read_text())
    assert results["states"] >= 2 and results["problems"] == 2
    log = (smoke / "logs" / "rl" / "smoke" / "grpo.log").read_text()
    assert "grpo step 2:" in log
    summary = json.loads((smoke / "results" / "eval" / "rl_smoke" / "summary.json").read_text())
    assert summary["overall"]["problems"] == N_TEST
    outcomes = [json.loads(x) for x in
                (smoke / "results" / "eval" / "rl_smoke" / "part_000.outcomes.jsonl").read_text().splitlines()]
    assert sum(o.get("prompt_tokens", 0) for o in outcomes) > 0
    served = (smoke / "logs" / "eval" / "rl_smoke" / "part_000.log").read_text()
    assert "results/rl/smoke/adapter" in served and "model server stopped" in served
    rep = smoke / "results" / "report"
    table = (rep / "comparison.md").read_text()
    assert f"| rl_smoke | {N_TEST} |" in table and f"| ft_smoke_plain | {N_TEST} |" in table
    assert (rep / "rl_reward_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _api_servers(smoke) == []


def test_server_that_never_becomes_healthy_is_stopped(tmp_path, monkeypatch):
    from ordebug.eval.serve import ServedModel, ServeError

    monkeypatch.chdir(tmp_path)  # the server starts here: only its own directory is checked below
    with pytest.raises(ServeError, match="exited with code"), ServedModel(str(tmp_path / "no-model"), None,
                                                                        startup_timeout=120):
        pass
    assert _api_servers(tmp_path) == []


def test_missing_adapter_is_a_clear_error(tmp_path, smoke):
    from ordebug.eval.serve import ServedModel, ServeError

    with pytest.raises(ServeError, match="does not exist"), ServedModel(
            str(smoke / "data" / "models" / "tiny-qwen3"), tmp_path / "nope"):
        pass
