"""A combined SFT dataset as the Hugging Face ``datasets`` library loads it, with its card.

``export/{dataset}/`` holds ``data/train.jsonl``, ``data/validation.jsonl`` and a
``README.md`` whose YAML header declares the splits and the features, so
``datasets.load_dataset("data/training/export/combined")`` gives a ``DatasetDict`` with
``train`` and ``validation`` and these exact features (tested); the same folder can be
uploaded to the hub as it is.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import yaml

from ordebug.data.chat import source_stats

# (name, dtype, meaning) of each metadata field; the order is the card's.
METADATA_FIELDS: list[tuple[str, str, str]] = [
    ("problem_id", "string", "OR-Debug-Bench problem id (`odb_<12 hex>`); every step of a problem is in one split"),
    ("error_type", "string", "error type A-I of the injected fault(s)"),
    ("difficulty", "string", "easy / medium / hard"),
    ("family", "string", "model family (production, transportation, ...)"),
    ("split", "string", "benchmark split the problem comes from (always `train`: test problems never enter)"),
    ("step", "int64", "step of the trajectory this sample answers (1 = first action)"),
    ("steps", "int64", "length of the whole verified trajectory"),
    ("agent", "string", "source agent that wrote the answer (heuristic, a teacher name)"),
]
SPLIT_FILES = {"train": "data/train.jsonl", "validation": "data/validation.jsonl"}


def features_yaml() -> list[dict[str, Any]]:
    """The ``dataset_info.features`` of the card, as ``datasets`` reads them."""
    return [
        {"name": "messages", "list": [{"name": "content", "dtype": "string"}, {"name": "role", "dtype": "string"}]},
        {"name": "metadata", "struct": [{"name": n, "dtype": t} for n, t, _ in METADATA_FIELDS]},
    ]


def export_record(record: dict) -> dict:
    """One line of the export: the chat turns and the declared metadata fields only."""
    meta = record.get("metadata", {})
    return {"messages": [{"content": m["content"], "role": m["role"]} for m in record["messages"]],
            "metadata": {n: meta.get(n) for n, _, _ in METADATA_FIELDS}}


def _counts(records: list[dict], key: str) -> Counter:
    return Counter(str(r["metadata"].get(key)) for r in records)


def _table(title: str, key: str, parts: dict[str, list[dict]]) -> str:
    values = sorted(set().union(*(_counts(recs, key) for recs in parts.values())))
    head = f"| {title} | " + " | ".join(parts) + " |"
    sep = "|---|" + "|".join("---" for _ in parts) + "|"
    rows = [f"| {v} | " + " | ".join(str(_counts(recs, key)[v]) for recs in parts.values()) + " |" for v in values]
    return "\n".join([head, sep, *rows])


def card_header(name: str, n_train: int, n_val: int) -> dict[str, Any]:
    """The card's YAML header, as ``datasets`` reads it: files per split, features, sizes."""
    return {
        "pretty_name": f"OR-Debug SFT ({name})",
        "language": ["en"],
        "license": "mit",
        "task_categories": ["text-generation"],
        "tags": ["operations-research", "infeasibility", "debugging", "sft", "chat"],
        "configs": [{"config_name": "default",
                     "data_files": [{"split": s, "path": p} for s, p in SPLIT_FILES.items()]}],
        "dataset_info": {"features": features_yaml(),
                         "splits": [{"name": "train", "num_examples": n_train},
                                    {"name": "validation", "num_examples": n_val}]},
    }


def source_rows(sources: dict[str, float], skipped: list[str], stats: dict) -> list[str]:
    """One table row per source: its weight, samples and problems kept per split, duplicates."""
    rows = []
    for agent, w in sources.items():
        if agent in skipped:
            rows.append(f"| {agent} | {w:g} | not active in this build (skipped) | – | – |")
            continue
        st, sv = (source_stats(stats, part).get(agent, {}) for part in ("train", "val"))
        rows.append(f"| {agent} | {w:g} | {st.get('samples', 0)} / {sv.get('samples', 0)} | "
                    f"{st.get('problems_kept', 0)} / {sv.get('problems_kept', 0)} | "
                    f"{st.get('duplicates_dropped', 0) + sv.get('duplicates_dropped', 0)} |")
    return rows


def card_text(name: str, sources: dict[str, float], skipped: list[str], stats: dict, train: list[dict],
              val: list[dict], settings: dict[str, Any]) -> str:
    """The dataset card (README.md): YAML header for ``datasets``, then what the set is and holds."""
    header = card_header(name, len(train), len(val))
    parts = {"train": train, "validation": val}
    problems = {p: len({r["metadata"]["problem_id"] for r in recs}) for p, recs in parts.items()}
    src_rows = source_rows(sources, skipped, stats)
    feature_rows = ["| `messages` | list of `{role, content}` | system prompt, observation (user), answer "
                    "(assistant: `<think>...</think>` then `Action: NAME(args)`) |"]
    feature_rows += [f"| `metadata.{n}` | {t} | {m} |" for n, t, m in METADATA_FIELDS]
    body = f"""# OR-Debug SFT data: `{name}`

Multi-step supervised fine-tuning data for repairing **infeasible LP/MILP models** against
their specification, built by the ordebug pipeline. Each sample is one step of a trajectory
that SCIP verified (success level `{settings.get('success_level', 'exact')}`): the system
prompt, the environment's observation at that step and the agent's answer. Only problems of
the benchmark's train split are in it; train and validation are split **by problem** (all
steps of a problem on one side; validation share {settings.get('val_ratio')} of problems,
seed {settings.get('seed')}).

## Sources

| source | weight (share of problems kept) | samples train / val. | problems train / val. | duplicates dropped |
|---|---|---|---|---|
{chr(10).join(src_rows)}

Totals: {len(train)} train samples ({problems['train']} problems), {len(val)} validation samples
({problems['validation']} problems).

## Loading

```python
from datasets import load_dataset
ds = load_dataset("path/to/this/folder")   # DatasetDict: train, validation
ds["train"][0]["messages"]                  # [{{"content": ..., "role": "system"}}, ...]
```

## Features

| field | type | meaning |
|---|---|---|
{chr(10).join(feature_rows)}

## Composition

{_table("error type", "error_type", parts)}

{_table("difficulty", "difficulty", parts)}

{_table("family", "family", parts)}
"""
    return "---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n\n" + body
