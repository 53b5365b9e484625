"""Snakemake entry point of rule merge: shards -> sft_{agent}.json + stats_{agent}.json."""

import logging

from ordebug.data.merge import merge
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
stats = merge(sm.input.samples, sm.input.outcomes, sm.output.sft, sm.output.stats)
log.info("%s: %d samples from %d problems (success rate %.3f)", sm.wildcards.agent, stats["samples"],
         stats["problems"], stats["success_rate"])
logging.shutdown()
