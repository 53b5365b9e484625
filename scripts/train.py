"""Snakemake entry point of rule train: `llamafactory-cli train` on the rendered config."""

import logging

from ordebug.logs import setup_logging
from ordebug.training.llamafactory import train

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
results = train(sm.input.config, sm.output.adapter, sm.output.results, sm.output.job, sm.params.gpus,
                sm.params.offline, log_path=sm.log[0])
log.info("run %s: %s", sm.wildcards.run, results)
logging.shutdown()
