"""Merge collected shards into one SFT file per agent, with statistics."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from ordebug.atomic import write_text_atomic
from ordebug.bench.shards import read_problems


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
        }
        for k, v in sorted(groups.items())
    }


def merge(sample_files: Iterable[str | Path], outcome_files: Iterable[str | Path], sft_out: str | Path,
          stats_out: str | Path) -> dict:
    """Write ``sft_{agent}.json`` (a JSON list of Alpaca records) and its stats."""
    samples = list(read_problems(sample_files))
    outcomes = list(read_problems(outcome_files))
    ids = [s["metadata"]["problem_id"] for s in samples]
    stats = {
        "samples": len(samples),
        "problems": len(outcomes),
        "problems_with_samples": len(set(ids)),
        "success_rate": sum(o["success"] for o in outcomes) / max(1, len(outcomes)),
        "by_error_type": _rates(outcomes, "error_type"),
        "by_family": _rates(outcomes, "family"),
        "by_difficulty": _rates(outcomes, "difficulty"),
        "failure_reasons": dict(sorted(
            {r: sum(1 for o in outcomes if o.get("failure_reason") == r)
             for r in {o.get("failure_reason") for o in outcomes if o.get("failure_reason")}}.items())),
    }
    write_text_atomic(sft_out, json.dumps(samples, ensure_ascii=False, indent=1) + "\n")
    write_text_atomic(stats_out, json.dumps(stats, indent=2, sort_keys=True) + "\n")
    return stats
