"""The run card: what a training run trained on, with which settings, and how it went."""

from __future__ import annotations

from typing import Any

from ordebug.data.chat import part_size, source_stats
from ordebug.training.curves import curve_rows

HYPERPARAMETERS = ["model", "template", "lora_rank", "lora_alpha", "lora_dropout", "learning_rate", "num_train_epochs",
                   "max_steps", "per_device_train_batch_size", "gradient_accumulation_steps", "cutoff_len",
                   "deepspeed", "seed"]


def run_card(run: str, cfg: dict[str, Any], dataset: str, sources: dict[str, float], stats: dict, results: dict,
             state: dict, job: dict) -> dict[str, Any]:
    """A JSON-able summary for the report: dataset and its size, hyperparameters, losses, resumes."""
    hp = {k: cfg.get(k) for k in HYPERPARAMETERS if k != "model"}
    hp.update(model=cfg.get("model_name_or_path"), deepspeed=bool(cfg.get("deepspeed")),
              effective_batch_size=cfg["per_device_train_batch_size"] * cfg["gradient_accumulation_steps"]
              * max(1, int(job.get("gpus") or 0)))
    size = {part: part_size(stats, part) for part in ("train", "val")}
    curve = curve_rows(state.get("log_history", []))
    evals = [r["eval_loss"] for r in curve if r.get("eval_loss") is not None]
    return {
        "run": run,
        "dataset": dataset,
        "sources": sources,
        "used_sources": sorted(source_stats(stats, "train")),
        "size": size,
        "hyperparameters": hp,
        "global_step": state.get("global_step"),
        "train_loss": results.get("train_loss"),
        "final_eval_loss": evals[-1] if evals else None,
        "train_runtime_s": results.get("train_runtime"),
        "resumed_from": job.get("resumed_from"),
        "attempts": len(job.get("attempts", [])) or None,
    }
