"""Alpaca -> Qwen chat conversion, grouped train/val split, combination of sources."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ordebug.answer import prompt_messages
from ordebug.env.prompt import SYSTEM_PROMPT
from ordebug.jsonl import jsonl_text, read_jsonl  # noqa: F401  (re-exported)
from ordebug.solver.errors import OrDebugError


class DataError(OrDebugError):
    """Empty or unusable SFT data, or data that would leak test problems."""


def to_chat(sample: dict) -> dict:
    """``{"messages": [system, user, assistant], "metadata": ...}`` with the inference system prompt."""
    if sample.get("instruction") != SYSTEM_PROMPT:
        raise DataError(
            f"sample of {sample.get('metadata', {}).get('problem_id')} has another instruction than the system "
            "prompt the LLM agent uses at inference; recollect it with this version"
        )
    return {
        "messages": [*prompt_messages(sample["input"]), {"role": "assistant", "content": sample["output"]}],
        "metadata": sample.get("metadata", {}),
    }


def check_train_only(records: Iterable[dict], source: str) -> None:
    """Only bench train problems may ever enter SFT data."""
    bad = [r["metadata"].get("problem_id") for r in records if r["metadata"].get("split") != "train"]
    if bad:
        raise DataError(f"{source}: {len(bad)} samples come from non-train problems (e.g. {bad[0]}); "
                        "test problems must never enter SFT data")


def convert(sft_json: str | Path) -> list[dict]:
    samples = json.loads(Path(sft_json).read_text())
    if not isinstance(samples, list):
        raise DataError(f"{sft_json}: expected a JSON list of Alpaca records")
    chats = [to_chat(s) for s in samples]
    check_train_only(chats, str(sft_json))
    return chats


def split_by_problem(records: list[dict], ratio: float, seed: int) -> tuple[list[dict], list[dict]]:
    """All steps of a problem land on one side; deterministic for a seed."""
    ids = sorted({r["metadata"]["problem_id"] for r in records})
    random.Random(seed).shuffle(ids)
    n_train = round(len(ids) * ratio)
    if len(ids) >= 2:
        n_train = min(max(n_train, 1), len(ids) - 1)  # both sides non-empty when possible
    train_ids = set(ids[:n_train])
    train = [r for r in records if r["metadata"]["problem_id"] in train_ids]
    val = [r for r in records if r["metadata"]["problem_id"] not in train_ids]
    return train, val


def _key(r: dict) -> str:
    return json.dumps(r["messages"], sort_keys=True, ensure_ascii=False)


def combine(sources: dict[str, tuple[list[dict], float]], seed: int) -> tuple[list[dict], dict]:
    """Join sources (records, weight in (0, 1]: the share of each source's problems kept),
    dropping exact duplicates; returns records and per-source counts."""
    out: list[dict] = []
    seen: set[str] = set()
    stats: dict[str, dict] = {}
    for name, (records, weight) in sources.items():
        ids = sorted({r["metadata"]["problem_id"] for r in records})
        random.Random(f"{seed}:{name}").shuffle(ids)
        keep = set(ids[: round(len(ids) * weight)])
        kept = dups = 0
        for r in records:
            if r["metadata"]["problem_id"] not in keep:
                continue
            k = _key(r)
            if k in seen:
                dups += 1
                continue
            seen.add(k)
            out.append(r)
            kept += 1
        stats[name] = {"available": len(records), "problems_kept": len(keep), "samples": kept,
                       "duplicates_dropped": dups, "weight": weight}
    return out, stats


def dataset_info(files: dict[str, str]) -> dict:
    """LLaMA-Factory registration of OpenAI-style ``messages`` JSONL files."""
    tags = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
            "system_tag": "system"}
    return {name: {"file_name": fname, "formatting": "sharegpt", "columns": {"messages": "messages"}, "tags": tags}
            for name, fname in sorted(files.items())}


def check_usable(records: list[dict], source: str) -> None:
    """What LLaMA-Factory would reject ('Cannot find valid samples'), said before it runs."""
    if not records:
        raise DataError(f"{source}: no samples (empty or all-failed collection); nothing to train on")
    roles = Counter(tuple(m["role"] for m in r["messages"]) for r in records)
    bad = {k: v for k, v in roles.items() if k != ("system", "user", "assistant")}
    if bad:
        raise DataError(f"{source}: {sum(bad.values())} samples are not system/user/assistant turns: {list(bad)[:2]}")
    empty = sum(1 for r in records if not r["messages"][2]["content"].strip())
    if empty:
        raise DataError(f"{source}: {empty} samples have an empty assistant answer")


BALANCE_KEYS = ("error_type", "difficulty")


def mix(records: list[dict]) -> dict[str, dict[str, dict[str, int]]]:
    """Problems (trajectories: agent and problem) and samples per error type and per difficulty."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for key in BALANCE_KEYS:
        groups: dict[str, dict[str, int]] = {}
        seen: set[tuple] = set()
        for r in records:
            m = r["metadata"]
            g = groups.setdefault(str(m.get(key)), {"problems": 0, "samples": 0})
            g["samples"] += 1
            unit = (m.get("agent"), m["problem_id"])
            if unit not in seen:
                seen.add(unit)
                g["problems"] += 1
        out[key] = dict(sorted(groups.items()))
    return out


def source_stats(stats: dict, part: str) -> dict[str, dict]:
    """Per-source counts of one part (``train``/``val``) of a combined set's stats
    (``{sources, balance, samples, problems}``; older files hold the per-source dict alone)."""
    st = stats.get(part) or {}
    return st["sources"] if isinstance(st.get("sources"), dict) else st


def part_size(stats: dict, part: str) -> dict[str, int]:
    """Samples and problems one part of a combined set holds (after balancing, where it was)."""
    st = stats.get(part) or {}
    if "samples" in st and "problems" in st:
        return {"samples": int(st["samples"]), "problems": int(st["problems"])}
    src = source_stats(stats, part).values()
    return {"samples": sum(s.get("samples", 0) for s in src), "problems": sum(s.get("problems_kept", 0) for s in src)}


def balance(records: list[dict], by: list[str], cap: int | None, weights: dict[str, float] | None,
            seed: int) -> tuple[list[dict], dict]:
    """Keep at most ``cap`` trajectories per group of ``by`` (None: the smallest group's
    count, so every group ends up equal), times a group's weight (``weights`` by the value of
    the first key, default 1). Whole trajectories are kept or dropped; the choice is
    deterministic for a seed. Returns the records and the mix before and after."""
    def group(r: dict) -> tuple:
        return tuple(str(r["metadata"].get(k)) for k in by)

    units: dict[tuple, list[tuple]] = {}
    for r in records:
        unit = (r["metadata"].get("agent"), r["metadata"]["problem_id"])
        units.setdefault(group(r), [])
        if unit not in units[group(r)]:
            units[group(r)].append(unit)
    base = cap if cap is not None else min((len(u) for u in units.values()), default=0)
    keep: set[tuple] = set()
    for g, us in sorted(units.items()):
        n = min(len(us), round(base * (weights or {}).get(g[0], 1.0)))
        chosen = sorted(us, key=str)
        random.Random(f"{seed}:{'|'.join(g)}").shuffle(chosen)
        keep.update(chosen[:n])
    out = [r for r in records if (r["metadata"].get("agent"), r["metadata"]["problem_id"]) in keep]
    return out, {"by": by, "cap_per_group": base, "weights": weights or {}, "before": mix(records), "after": mix(out)}
