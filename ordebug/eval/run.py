"""Evaluate one agent on one test shard: built-in agents, teachers, or a served fine-tuned adapter."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ordebug.answer import answer_budget
from ordebug.collect.shard import CollectConfig, collect_shard
from ordebug.env.environment import EnvConfig
from ordebug.llm.config import TeacherConfig


def evaluate_shard(agent: str, kind: str, shard: str | Path, outcomes: str | Path, trajectories: str | Path,
                   journal: str | Path, env: EnvConfig, workers: int = 1, teacher: dict | None = None,
                   finetuned: dict | None = None, log_path: str | None = None) -> dict[str, Any]:
    cfg = CollectConfig(agent, workers, "faithful")
    if kind == "builtin":
        return collect_shard(shard, None, outcomes, journal, cfg, env, trajectories)
    from ordebug.collect.teacher import collect_teacher_shard

    if kind == "teacher":
        return collect_teacher_shard(shard, None, outcomes, journal, TeacherConfig.from_dict(agent, teacher),
                                     cfg, env, trajectories)
    from ordebug.eval.serve import SERVE_KEY_ENV, ServedModel, served_model_name

    ft = finetuned or {}
    budget, why = answer_budget(ft.get("max_tokens", 1024),
                                ft.get("answer_lengths") if ft.get("cover_trained_answers", True) else None)
    if why:
        logging.getLogger("ordebug").warning(why)
    with ServedModel(ft["base_model"], ft["adapter"], ft.get("template", "qwen3"), ft.get("enable_thinking", True),
                     model_name=served_model_name(agent, ft["adapter"]),
                     startup_timeout=ft.get("startup_timeout_s", 600), log_path=log_path,
                     offline=ft.get("offline", False), backend=ft.get("backend", "auto"),
                     gpus=ft.get("gpus", 0), max_batch=ft.get("max_concurrency", 4)) as srv:
        tcfg = TeacherConfig(
            name=agent, model=srv.model_name, base_url=srv.base_url, api_key_env=SERVE_KEY_ENV,
            temperature=1.0, max_tokens=budget,
            # a served model's budget is eval.serve.max_tokens, not retried larger: an empty answer
            # cut there is the model's failure (a tiny CPU model would otherwise generate up to 16k tokens)
            max_tokens_cap=max(budget, ft.get("max_tokens_cap", budget)), extra_body=srv.extra_body,
            max_concurrency=ft.get("max_concurrency", 4), requests_per_minute=1e6, tokens_per_minute=1e12,
            timeout_s=ft.get("timeout_s", 600), max_retries=2, max_reprompts=ft.get("max_reprompts", 1),
            cache_path=ft.get("cache_path", "results/eval/.cache/responses.sqlite"),
            account_path=ft.get("account_path", "results/eval/.cache/accounts.sqlite"),
        )
        return collect_teacher_shard(shard, None, outcomes, journal, tcfg, cfg, env, trajectories)


def combine_shards(shards: list[str | Path], combined: str | Path) -> Path:
    """Concatenate bench shards (in order) into one problems file, written atomically; the
    journal key hashes the content, so a rerun of the same part resumes from its journal."""
    from ordebug.atomic import write_text_atomic

    combined = Path(combined)
    combined.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(Path(s).read_text() for s in shards)
    if not combined.is_file() or combined.read_text() != text:
        write_text_atomic(combined, text)
    return combined
