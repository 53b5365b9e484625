"""Snakemake entry point of rule bench_summary: counts and the drop-first-IIS baseline."""

import json
import logging

from ordebug.atomic import write_text_atomic
from ordebug.bench.shards import read_problems
from ordebug.bench.summary import summarize
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
summary = summarize(read_problems(sm.input))
write_text_atomic(sm.output[0], json.dumps(summary, indent=2, sort_keys=True) + "\n")
p = summary["probes"]
log.info(
    "%d problems; drop-first-IIS faithful rate %.3f (feasible %.3f); one-row IIS %.3f",
    summary["n"],
    summary["drop_first_iis"]["faithful_rate"],
    summary["drop_first_iis"]["feasible_rate"],
    summary["iis_size"]["one_row_share"],
)
log.info(
    "probes on the test split: structural %.3f vs chance %.3f; outlier scan %.3f vs chance %.3f; "
    "name %.3f vs chance %.3f; sibling %.3f vs chance %.3f",
    p["structural"]["hit_rate"], p["structural"]["chance"], p["outlier_scan"]["hit_rate"],
    p["outlier_scan"]["chance"], p["name"]["accuracy"], p["name"]["chance"], p["sibling"]["hit_rate"],
    p["sibling"]["chance"],
)
logging.shutdown()
