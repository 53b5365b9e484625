"""Snakemake entry point of rule eval_external_summary: every metric for one agent on one external set."""

import json
import logging

from ordebug.atomic import write_text_atomic
from ordebug.bench.shards import read_problems
from ordebug.eval.external_report import fmt
from ordebug.eval.metrics import annotate_truth, full_summary
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
t = sm.params.teacher or {}
problems = {p["problem_id"]: p for p in read_problems([sm.input.problems])}
outcomes = [annotate_truth(o, problems[o["problem_id"]]) if o.get("problem_id") in problems else o
            for o in read_problems([sm.input.outcomes])]
summary = full_summary(sm.wildcards.agent, outcomes,
                       t.get("price_input_per_mtok", 0.0), t.get("price_output_per_mtok", 0.0))
summary["set"] = sm.wildcards.set
write_text_atomic(sm.output[0], json.dumps(summary, indent=2, sort_keys=True) + "\n")
o = summary["overall"]
log.info("%s on %s: %d problems, feasible %s, faithful %s, exact %s", sm.wildcards.agent, sm.wildcards.set,
         o["problems"], fmt(o.get("feasible")), fmt(o.get("faithful")), fmt(o.get("exact")))
logging.shutdown()
