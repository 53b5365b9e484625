"""Snakemake entry point of rule split: train/val grouped by problem id."""

import logging

from ordebug.atomic import write_text_atomic
from ordebug.data.chat import jsonl_text, read_jsonl, split_by_problem
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
train, val = split_by_problem(read_jsonl(sm.input[0]), sm.params.ratio, sm.params.seed)
write_text_atomic(sm.output.train, jsonl_text(train))
write_text_atomic(sm.output.val, jsonl_text(val))
log.info("%s: %d train / %d val samples", sm.wildcards.agent, len(train), len(val))
logging.shutdown()
