"""Snakemake entry point of rule grpo: GRPO from a training run's SFT adapter."""

import json
import logging

from ordebug.atomic import write_text_atomic
from ordebug.logs import setup_logging
from ordebug.rl.grpo import train_grpo

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
settings = dict(sm.params.settings)
write_text_atomic(sm.output.config, json.dumps(settings, indent=2, sort_keys=True) + "\n")
results = train_grpo(settings, sm.input.problems, sm.params.sft_adapter, sm.params.env, sm.output.adapter,
                     sm.output.curve, sm.output.results, sm.output.job)
log.info("rl run %s: %s", sm.wildcards.run, json.dumps(results))
logging.shutdown()
