"""The LLaMA-Factory side: render the training YAML, check inputs, run `llamafactory-cli train`."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from ordebug.solver.errors import OrDebugError

log = logging.getLogger("ordebug")
DS_CONFIG = "config/training/ds_config_zero2.json"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class TrainingError(OrDebugError):
    """An input the training run would fail on, reported before llamafactory-cli starts."""


def run_settings(training: dict[str, Any], run: str) -> dict[str, Any]:
    """The run's settings: the training defaults overridden by ``training.runs[run]``."""
    runs = training.get("runs") or {}
    if run not in runs:
        raise TrainingError(f"unknown training run {run!r}; configured: {', '.join(runs) or 'none'}")
    base = {k: v for k, v in training.items() if k != "runs"}
    return {**base, **(runs[run] or {})}


def check_model(path: str) -> None:
    """A local model directory must exist; a hub id is left to the training node."""
    p = Path(path)
    if p.exists():
        if not (p / "config.json").is_file():
            raise TrainingError(f"model path {path} has no config.json; is it a Hugging Face model directory?")
        return
    if _HUB_ID.match(path) and not path.startswith(("./", "../", "/", "data/", "results/")):
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            raise TrainingError(f"model {path} is a hub id but HF_HUB_OFFLINE=1 and it is not a local directory")
        return
    raise TrainingError(f"model path {path} does not exist")


def render_config(s: dict[str, Any], dataset_dir: str, train_name: str, eval_name: str | None, output_dir: str,
                  cutoff_len: int) -> dict[str, Any]:
    """The LLaMA-Factory YAML as a dict."""
    cfg: dict[str, Any] = {
        "model_name_or_path": s["model"],
        "trust_remote_code": True,
        "stage": "sft",
        "do_train": True,
        "finetuning_type": "lora",
        "lora_rank": s["lora_rank"],
        "lora_alpha": s["lora_alpha"],
        "lora_dropout": s["lora_dropout"],
        "lora_target": "all",
        "dataset_dir": dataset_dir,
        "dataset": train_name,
        "template": s["template"],
        "enable_thinking": s.get("enable_thinking", True),
        "cutoff_len": cutoff_len,
        "overwrite_cache": True,
        "preprocessing_num_workers": s.get("preprocessing_num_workers", 1),
        "dataloader_num_workers": 0,
        "output_dir": output_dir,
        "logging_steps": s.get("logging_steps", 10),
        "save_steps": s.get("save_steps", 500),
        "plot_loss": False,
        "overwrite_output_dir": True,
        "report_to": "none",
        "per_device_train_batch_size": s["per_device_train_batch_size"],
        "gradient_accumulation_steps": s["gradient_accumulation_steps"],
        "learning_rate": s["learning_rate"],
        "num_train_epochs": s["num_train_epochs"],
        "lr_scheduler_type": s.get("lr_scheduler_type", "cosine"),
        "warmup_ratio": s.get("warmup_ratio", 0.1),
        "bf16": s.get("bf16", True),
        "seed": s.get("seed", 42),
    }
    if s.get("max_steps"):
        cfg["max_steps"] = s["max_steps"]
    if s.get("deepspeed"):
        cfg["deepspeed"] = DS_CONFIG
    if eval_name:
        cfg.update(eval_dataset=eval_name, per_device_eval_batch_size=1, eval_strategy="steps",
                   eval_steps=s.get("eval_steps", s.get("save_steps", 500)))
    return cfg


def train(config_yaml: str | Path, adapter_dir: str | Path, results_json: str | Path, job_json: str | Path,
          gpus: int, offline: bool = False, log_path: str | Path | None = None) -> dict:
    """Run ``llamafactory-cli train``; copy ``train_results.json`` out; record where it ran."""
    cfg = yaml.safe_load(Path(config_yaml).read_text())
    check_model(cfg["model_name_or_path"])
    for name in [cfg["dataset"], cfg.get("eval_dataset")]:
        if not name:
            continue
        info = json.loads((Path(cfg["dataset_dir"]) / "dataset_info.json").read_text())
        if name not in info:
            raise TrainingError(f"dataset {name!r} is not registered in {cfg['dataset_dir']}/dataset_info.json")
        f = Path(cfg["dataset_dir"]) / info[name]["file_name"]
        if not f.is_file() or f.stat().st_size == 0:
            raise TrainingError(f"dataset file {f} is missing or empty")
    exe = shutil.which("llamafactory-cli") or str(Path(sys.executable).with_name("llamafactory-cli"))
    if not Path(exe).exists():
        raise TrainingError("llamafactory-cli not found: install the training extra (pip install -e '.[train]')")
    env = dict(os.environ)
    env["PATH"] = f"{Path(exe).parent}{os.pathsep}{env.get('PATH', '')}"  # torchrun beside llamafactory-cli
    if gpus > 1 or cfg.get("deepspeed"):
        env["FORCE_TORCHRUN"] = "1"
        env.setdefault("NPROC_PER_NODE", str(max(1, gpus)))
    if offline:
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    env.setdefault("WANDB_DISABLED", "true")
    job = {"host": socket.gethostname(), "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
           "slurm_partition": os.environ.get("SLURM_JOB_PARTITION"), "gpus": gpus,
           "force_torchrun": env.get("FORCE_TORCHRUN") == "1", "deepspeed": bool(cfg.get("deepspeed"))}
    log.info("llamafactory-cli train %s (%s)", config_yaml, job)
    if log_path:
        with open(log_path, "a") as fh:
            proc = subprocess.run([exe, "train", str(config_yaml)], env=env, stdout=fh, stderr=subprocess.STDOUT)
    else:
        proc = subprocess.run([exe, "train", str(config_yaml)], env=env)
    if proc.returncode != 0:
        raise TrainingError(f"llamafactory-cli train exited with {proc.returncode}; see the log above")
    out = Path(cfg["output_dir"])
    if Path(adapter_dir).resolve() != out.resolve():
        raise TrainingError(f"output_dir {out} differs from the rule's adapter directory {adapter_dir}")
    if not (out / "adapter_model.safetensors").is_file():
        raise TrainingError(f"no adapter_model.safetensors in {out}")
    results = json.loads((out / "train_results.json").read_text())
    Path(results_json).write_text(json.dumps(results, indent=2) + "\n")
    Path(job_json).write_text(json.dumps(job, indent=2) + "\n")
    return results
