"""The LLaMA-Factory side: render the training YAML, check inputs, run `llamafactory-cli train`."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import yaml

from ordebug.atomic import write_text_atomic
from ordebug.solver.errors import OrDebugError
from ordebug.training import checkpoints as ckpt
from ordebug.training.base_model import is_gguf, resolve_model

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
    s = {**base, **(runs[run] or {})}
    if is_gguf(s.get("model")):  # trained, served and RL'd from its converted folder (rule base_model)
        s["model_source"], s["model"] = s["model"], resolve_model(s["model"])
    return s


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


def report_to(choice: str) -> str:
    """``auto``: TensorBoard logs where the tensorboard package is installed, else none."""
    if choice != "auto":
        return choice
    import importlib.util

    return "tensorboard" if importlib.util.find_spec("tensorboard") else "none"


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
        "save_strategy": "steps",
        "plot_loss": True,
        "overwrite_output_dir": False,  # a rerun resumes from a checkpoint (ordebug.training.checkpoints)
        "report_to": report_to(s.get("report_to", "auto")),  # tensorboard: results/train/{run}/tensorboard
        "per_device_train_batch_size": s["per_device_train_batch_size"],
        "gradient_accumulation_steps": s["gradient_accumulation_steps"],
        "learning_rate": s["learning_rate"],
        "num_train_epochs": s["num_train_epochs"],
        "lr_scheduler_type": s.get("lr_scheduler_type", "cosine"),
        "warmup_ratio": s.get("warmup_ratio", 0.1),
        "bf16": s.get("bf16", True),
        "seed": s.get("seed", 42),
    }
    if not s.get("gradient_checkpointing", True):  # (on by default: a small model on a CPU pays for it)
        cfg["disable_gradient_checkpointing"] = True
    if s.get("max_steps"):
        cfg["max_steps"] = s["max_steps"]
    if s.get("save_total_limit"):
        cfg["save_total_limit"] = s["save_total_limit"]
    if s.get("deepspeed"):
        cfg["deepspeed"] = DS_CONFIG
    if eval_name:
        cfg.update(eval_dataset=eval_name, per_device_eval_batch_size=1, eval_strategy="steps",
                   eval_steps=s.get("eval_steps", s.get("save_steps", 500)))
    return cfg


def data_files(cfg: dict[str, Any]) -> list[Path]:
    """The registered files of the config's train and eval datasets, checked to exist and hold data."""
    info = json.loads((Path(cfg["dataset_dir"]) / "dataset_info.json").read_text())
    files = []
    for name in [cfg["dataset"], cfg.get("eval_dataset")]:
        if not name:
            continue
        if name not in info:
            raise TrainingError(f"dataset {name!r} is not registered in {cfg['dataset_dir']}/dataset_info.json")
        f = Path(cfg["dataset_dir"]) / info[name]["file_name"]
        if not f.is_file() or f.stat().st_size == 0:
            raise TrainingError(f"dataset file {f} is missing or empty")
        files.append(f)
    return files


def _run_cli(exe: str, config: Path, env: dict, log_path: str | Path | None) -> int:
    """``llamafactory-cli train``; SIGTERM/SIGINT (Slurm preemption, Ctrl-C) go on to it."""
    with open(log_path, "a") if log_path else nullcontext() as fh:
        proc = subprocess.Popen([exe, "train", str(config)], env=env, stdout=fh,
                                stderr=subprocess.STDOUT if fh else None)

        def forward(signum: int, _frame: object) -> None:
            proc.send_signal(signum)

        main = threading.current_thread() is threading.main_thread()
        old = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)} if main else {}
        try:
            return proc.wait()
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)


def publish(work: Path, adapter_dir: Path) -> None:
    """Copy the finished adapter (the work folder's top level, no checkpoints) to the rule's
    output folder, which appears whole by one rename."""
    if adapter_dir.exists():
        raise TrainingError(f"{adapter_dir} already exists; finished work is never overwritten "
                            "(remove it, or let snakemake --forcerun train do it)")
    tmp = adapter_dir.with_name(f".{adapter_dir.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for f in work.iterdir():
        if f.is_file() and f.name not in (ckpt.FINGERPRINT, ckpt.COMPLETED):
            shutil.copy2(f, tmp / f.name)
    os.replace(tmp, adapter_dir)


def train(config_yaml: str | Path, adapter_dir: str | Path, results_json: str | Path, job_json: str | Path,
          gpus: int, offline: bool = False, log_path: str | Path | None = None, resume: bool = True) -> dict:
    """Run ``llamafactory-cli train`` in the run's work folder, resuming from its newest complete
    checkpoint; publish the adapter, ``train_results.json`` and where it ran only when it finished."""
    cfg = yaml.safe_load(Path(config_yaml).read_text())
    check_model(cfg["model_name_or_path"])
    files = data_files(cfg)
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
    # TensorBoard events beside loss.csv (transformers 5 takes the folder from the environment only)
    env.setdefault("TENSORBOARD_LOGGING_DIR", str(Path(results_json).parent / "tensorboard"))
    work, adapter_dir = Path(cfg["output_dir"]), Path(adapter_dir)
    if work.resolve() == adapter_dir.resolve():
        raise TrainingError(f"output_dir {work} must be the run's work folder, not the rule's adapter folder")
    fp = ckpt.fingerprint(cfg, files)
    job = {"host": socket.gethostname(), "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
           "slurm_partition": os.environ.get("SLURM_JOB_PARTITION"), "gpus": gpus,
           "force_torchrun": env.get("FORCE_TORCHRUN") == "1", "deepspeed": bool(cfg.get("deepspeed")),
           "fingerprint": fp}
    if resume and ckpt.completed(work, fp):
        log.info("training of this config and data already finished in %s: publishing it", work)
        job["resumed_from"] = "finished"
    else:
        start, notes = ckpt.prepare(work, fp, resume)
        for note in notes:
            log.warning("%s", note)
        run_cfg = dict(cfg)
        if start is not None:
            run_cfg["resume_from_checkpoint"] = str(start)
            log.info("resuming from %s (step %d)", start, ckpt.checkpoint_step(start))
        else:
            log.info("starting from step 0 in %s", work)
        effective = work / ckpt.RUN_CONFIG
        effective.write_text(yaml.safe_dump(run_cfg, sort_keys=False))
        job["resumed_from"] = start.name if start is not None else None
        job["attempts"] = ckpt.record_attempt(work, {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "resumed_from": job["resumed_from"],
            "start_step": ckpt.checkpoint_step(start) if start is not None else 0,
            "host": job["host"], "slurm_job_id": job["slurm_job_id"]})
        log.info("llamafactory-cli train %s (%s)", effective, job)
        rc = _run_cli(exe, effective, env, log_path)
        if rc != 0:
            last = ckpt.newest_complete(work)
            where = f"a rerun resumes from {last.name}" if last else "no checkpoint yet: a rerun starts over"
            raise TrainingError(f"llamafactory-cli train exited with {rc}; {where} (see the log above)")
        state = json.loads((work / "trainer_state.json").read_text()) if (work / "trainer_state.json").is_file() else {}
        ckpt.mark_completed(work, fp, state.get("global_step"))
    if not (work / "adapter_model.safetensors").is_file():
        raise TrainingError(f"no adapter_model.safetensors in {work}")
    results = json.loads((work / "train_results.json").read_text())
    publish(work, adapter_dir)
    write_text_atomic(results_json, json.dumps(results, indent=2) + "\n")
    write_text_atomic(job_json, json.dumps(job, indent=2) + "\n")
    return results
