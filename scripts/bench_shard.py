"""Snakemake entry point of rule bench_shard: generate one verified shard."""

import logging
import time

from ordebug.bench.shards import generate_shard, write_jsonl_atomic
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
split, shard = sm.wildcards.split, int(sm.wildcards.shard)
start = time.perf_counter()
n = write_jsonl_atomic(sm.output[0], generate_shard(sm.params.bench, split, shard))
elapsed = time.perf_counter() - start
log.info("%s shard %03d: %d problems in %.1f s (%.1f problems/s)", split, shard, n, elapsed, n / max(elapsed, 1e-9))
logging.shutdown()
