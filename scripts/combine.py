"""Snakemake entry point of rule combine: one combined set of chosen sources and weights, deduplicated,
optionally balanced."""

import json
import logging

from ordebug.atomic import write_text_atomic
from ordebug.data.chat import balance, check_train_only, check_usable, combine
from ordebug.jsonl import jsonl_text, read_jsonl
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
weights = sm.params.weights
stats = {}
for part in ("train", "val"):
    files = getattr(sm.input, part)
    sources = {agent: (read_jsonl(f), weights[agent]) for agent, f in zip(weights, files, strict=True)}
    records, sources_stats = combine(sources, sm.params.seed)
    stats[part] = {"sources": sources_stats}
    b = sm.params.balance
    if b:
        records, stats[part]["balance"] = balance(records, b["by"], b.get("cap"), b.get("weights"), sm.params.seed)
    else:
        stats[part]["balance"] = None
    stats[part]["samples"] = len(records)
    stats[part]["problems"] = len({(r["metadata"].get("agent"), r["metadata"]["problem_id"]) for r in records})
    check_train_only(records, f"sft_{sm.wildcards.dataset}.{part}")
    if part == "train":
        check_usable(records, f"sft_{sm.wildcards.dataset}.train")
    write_text_atomic(getattr(sm.output, part), jsonl_text(records))
    log.info("combined %s: %d samples from %s", part, len(records), stats[part]["sources"])
write_text_atomic(sm.output.stats, json.dumps(stats, indent=2, sort_keys=True) + "\n")
logging.shutdown()
