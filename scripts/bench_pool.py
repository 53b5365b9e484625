"""Snakemake entry point of rule bench_pool: one pool shard, verified, with adversary tables."""

import logging
import time

from ordebug.bench.shards import generate_shard
from ordebug.jsonl import write_jsonl_atomic
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
split, shard = sm.wildcards.split, int(sm.wildcards.shard)
start = time.perf_counter()
pairs = list(generate_shard(sm.params.bench, split, shard))
write_jsonl_atomic(sm.output.tables, (t for _, t in pairs))
write_jsonl_atomic(sm.output.problems, (r for r, _ in pairs))
elapsed = time.perf_counter() - start
log.info("%s pool shard %03d: %d problems in %.1f s (%.2f s per problem, adversary tables included)",
         split, shard, len(pairs), elapsed, elapsed / max(len(pairs), 1))
logging.shutdown()
