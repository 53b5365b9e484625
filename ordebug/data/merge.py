"""Merge collected shards into one SFT file per agent, with statistics."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from ordebug.agents.base import USAGE_KEYS
from ordebug.atomic import write_text_atomic
from ordebug.data.templates import template_stats
from ordebug.jsonl import iter_jsonl, write_json_atomic

LINEAGE_KEYS = ("agent", "teacher_model", "prompt_version", "bench_version", "config_hash")


def _rates(outcomes: list[dict], key: str) -> dict[str, dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for o in outcomes:
        groups[str(o.get(key))].append(o)
    return {
        k: {
            "problems": len(v),
            "success": sum(o["success"] for o in v) / len(v),
            "feasible": sum(bool(o.get("feasible")) for o in v) / len(v),
            "faithful": sum(bool(o.get("faithful")) for o in v) / len(v),
            "samples": sum(int(o.get("samples") or 0) for o in v),
        }
        for k, v in sorted(groups.items())
    }


def usage_stats(outcomes: list[dict]) -> dict:
    """Requests, tokens, cost, 429s and retries summed over problems (zero for built-in agents)."""
    u = {k: sum(o.get(k) or 0 for o in outcomes) for k in USAGE_KEYS}
    u["cost_usd"] = round(u["cost_usd"], 6)
    attempts = u["requests"] + u["retries"]
    u["share_429"] = round(u["rate_limited"] / attempts, 5) if attempts else 0.0
    return u


def drop_stats(outcomes: list[dict]) -> dict:
    """What never became a sample, and why: whole trajectories and single steps."""
    c: Counter[str] = Counter()
    for o in outcomes:
        c.update(o.get("dropped") or {})
    traj = {k.split(": ", 1)[1]: v for k, v in sorted(c.items()) if k.startswith("trajectory: ")}
    steps = {k: v for k, v in sorted(c.items()) if not k.startswith("trajectory: ")}
    return {"trajectories": traj, "steps": steps}


def merge(sample_files: Iterable[str | Path], outcome_files: Iterable[str | Path], sft_out: str | Path,
          stats_out: str | Path) -> dict:
    """Write ``sft_{agent}.json`` (a JSON list of Alpaca records) and its stats."""
    samples = list(iter_jsonl(sample_files))
    outcomes = list(iter_jsonl(outcome_files))
    ids = [s["metadata"]["problem_id"] for s in samples]
    stats = {
        "samples": len(samples),
        "problems": len(outcomes),
        "problems_with_samples": len(set(ids)),
        "success_rate": sum(o["success"] for o in outcomes) / max(1, len(outcomes)),
        "by_error_type": _rates(outcomes, "error_type"),
        "by_family": _rates(outcomes, "family"),
        "by_difficulty": _rates(outcomes, "difficulty"),
        "failure_reasons": dict(sorted(Counter(o["failure_reason"] for o in outcomes
                                               if o.get("failure_reason")).items())),
        "dropped": drop_stats(outcomes),
        "usage": usage_stats(outcomes),
        "think_templates": template_stats(s["output"] for s in samples),
        "lineage": {k: sorted({str(s["metadata"].get(k)) for s in samples}) for k in LINEAGE_KEYS},
    }
    write_text_atomic(sft_out, json.dumps(samples, ensure_ascii=False, indent=1) + "\n")
    write_json_atomic(stats_out, stats)
    return stats
