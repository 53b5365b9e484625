"""Snakemake entry point of rule eval_summary: every metric for one agent."""

import json
import logging

from ordebug.atomic import write_text_atomic
from ordebug.bench.shards import read_problems
from ordebug.eval.metrics import annotate_truth, full_summary
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
t = sm.params.teacher or {}
problems = {p["problem_id"]: p for p in read_problems(sm.input.problems)}
outcomes = [annotate_truth(o, problems[o["problem_id"]]) if o.get("problem_id") in problems else o
            for o in read_problems(sm.input.outcomes)]
summary = full_summary(sm.wildcards.agent, outcomes,
                       t.get("price_input_per_mtok", 0.0), t.get("price_output_per_mtok", 0.0))
write_text_atomic(sm.output[0], json.dumps(summary, indent=2, sort_keys=True) + "\n")
o = summary["overall"]
log.info("%s: %d problems, faithful %.3f, feasible %.3f", sm.wildcards.agent, o["problems"], o["faithful"],
         o["feasible"])
logging.shutdown()
