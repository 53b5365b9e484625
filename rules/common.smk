# Shared helpers: config validation and the file lists the rules depend on.
from snakemake.utils import validate

from ordebug.config import ConfigError, validate_config
from ordebug.bench.shards import n_shards

# Snakemake's own validation (sets defaults), then ours, which names the offending key.
try:
    validate_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
validate(config, "../config/config.schema.yaml")


wildcard_constraints:
    split="train|test",
    shard=r"\d{3}",
    agent="|".join(config["collect"]["agents"]),


def get_bench_shards(split):
    """All shard files of one split."""
    return [
        f"data/bench/{split}/shard_{i:03d}.jsonl"
        for i in range(n_shards(config["bench"], split))
    ]


def get_all_bench_shards(wildcards=None):
    """Train and test shards together."""
    return get_bench_shards("train") + get_bench_shards("test")


def get_agents():
    """Agents whose trajectories are collected."""
    return config["collect"]["agents"]


def get_journal(wildcards):
    """Per-shard journal, outside the declared outputs (kept when a job fails)."""
    return f"data/journal/collect/{wildcards.agent}/shard_{wildcards.shard}.jsonl"


def get_collect_samples(wildcards):
    return [
        f"data/collect/{wildcards.agent}/shard_{i:03d}.jsonl"
        for i in range(n_shards(config["bench"], "train"))
    ]


def get_collect_outcomes(wildcards):
    return [
        f"data/collect/{wildcards.agent}/shard_{i:03d}.outcomes.jsonl"
        for i in range(n_shards(config["bench"], "train"))
    ]
