"""Snakemake entry point of rule bench_filter: the adversary filters the pool into the benchmark."""

import logging
import time

from ordebug.bench.filtering import fault_kind, filter_benchmark, final_shards
from ordebug.jsonl import iter_jsonl, write_json_atomic, write_jsonl_atomic
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
start = time.perf_counter()
pool = {p: list(iter_jsonl([p])) for p in sm.input.problems}  # read once: the strata, then the kept records
kinds = {rec["problem_id"]: fault_kind(rec) for recs in pool.values() for rec in recs}
kept, report = filter_benchmark(sm.params.bench, iter_jsonl(sm.input.tables), kinds)
for split, ids in kept.items():
    records = [rec for p, recs in pool.items() if f"/pool/{split}/" in p for rec in recs]
    outputs = sorted(p for p in sm.output.shards if f"/bench/{split}/" in p)
    shards = final_shards(sm.params.bench, split, records, ids)
    if len(shards) != len(outputs):
        raise RuntimeError(f"{split}: {len(shards)} shards kept for {len(outputs)} outputs")
    for path, recs in zip(outputs, shards, strict=True):
        write_jsonl_atomic(path, recs)
    log.info("%s: kept %d of %d pool problems", split, len(ids), report["pool"][split])
report["seconds"] = round(time.perf_counter() - start, 1)
write_json_atomic(sm.output.report, report)
for i, r in enumerate(report["rounds"]):
    log.info("round %d: predictable %s, dropped %s", i + 1, r["predictable"], r["dropped"])
logging.shutdown()
