"""Snakemake entry point of rule report_external: one external set's table beside the paper's figures."""

import json
import logging
from pathlib import Path

from ordebug.atomic import write_text_atomic
from ordebug.bench.shards import read_problems
from ordebug.eval.external_report import external_markdown
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
summaries = [json.loads(Path(p).read_text()) for p in sm.input.summaries]
text = external_markdown(sm.wildcards.set, summaries, list(read_problems([sm.input.problems])),
                         list(read_problems([sm.input.skipped])), source=sm.params.source)
write_text_atomic(sm.output[0], text)
log.info("external report for %s: %s", sm.wildcards.set, ", ".join(s["agent"] for s in summaries))
logging.shutdown()
