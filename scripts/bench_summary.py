"""Snakemake entry point of rule bench_summary: counts, baselines, probes and the adversary."""

import json
import logging
import os

from ordebug.atomic import write_text_atomic
from ordebug.bench.adversary.measure import measure
from ordebug.bench.shards import read_problems
from ordebug.bench.summary import pool_cost, summarize
from ordebug.jsonl import iter_jsonl
from ordebug.logs import setup_logging
from ordebug.solver.lpformat import redirect_fds

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
records = list(read_problems(sm.input.shards))
summary = summarize(records)
wanted = {r["problem_id"] for r in records}
pool = list(iter_jsonl(sm.input.tables))
summary["pool_cost"] = pool_cost(pool)
tables = {t["problem_id"]: t for t in pool if t["problem_id"] in wanted}
train = [tables[r["problem_id"]] for r in records if r["split"] == "train"]
test = [(r, tables[r["problem_id"]]) for r in records if r["split"].startswith("test")]
with open(os.devnull, "w") as null, redirect_fds(null.fileno(), (2,)):
    summary["adversary"] = measure(train, test)
with open(sm.input.report) as fh:
    summary["filter"] = json.load(fh)
write_text_atomic(sm.output[0], json.dumps(summary, indent=2, sort_keys=True) + "\n")
p, a = summary["probes"], summary["adversary"]
log.info(
    "%d problems; drop-first-IIS faithful rate %.3f (feasible %.3f); one-row IIS %.3f",
    summary["n"], summary["drop_first_iis"]["faithful_rate"], summary["drop_first_iis"]["feasible_rate"],
    summary["iis_size"]["one_row_share"],
)
log.info("adversary on the test split: ranker top-1 %.3f (prior lookup %.3f) vs chance %.3f (typed %.3f); "
         "search agent exact %.3f", a["ranker_top1"], a["prior_top1"], a["chance"], a["typed_chance"],
         a["search_exact"])
for t, c in summary["pool_cost"].items():
    log.info("  pool %s: %d problems, %.0f s generating, %.0f s tables (%.2f s per problem)", t, c["problems"],
             c["generate_s"], c["table_s"], c["per_problem_s"])
for t, s in a["by_type"].items():
    log.info("  %s: ranker %.2f (prior %.2f) vs chance %.2f (typed %.2f), search exact %.2f (n=%d)", t,
             s["ranker_top1"], s["prior_top1"], s["chance"], s["typed_chance"], s["search_exact"], s["n"])
log.info(
    "probes on the test split: structural %.3f vs chance %.3f; outlier scan %.3f vs chance %.3f; "
    "name %.3f vs chance %.3f; sibling %.3f vs chance %.3f",
    p["structural"]["hit_rate"], p["structural"]["chance"], p["outlier_scan"]["hit_rate"],
    p["outlier_scan"]["chance"], p["name"]["accuracy"], p["name"]["chance"], p["sibling"]["hit_rate"],
    p["sibling"]["chance"],
)
logging.shutdown()
