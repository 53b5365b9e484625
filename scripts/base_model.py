"""Snakemake entry point of rule base_model: a gguf: model source into a Hugging Face folder."""

import logging

from ordebug.logs import setup_logging
from ordebug.training.base_model import convert

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
info = convert(sm.params.source, sm.output[0])
log.info("base model %s: %s", sm.output[0], info)
logging.shutdown()
