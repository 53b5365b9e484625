"""Snakemake entry point of rule export_model: base model + LoRA adapter merged (`llamafactory-cli export`)."""

import logging

from ordebug.logs import setup_logging
from ordebug.training.export import export_merged

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
s = sm.params.settings
dtype = "bfloat16" if s.get("bf16", True) else "float32"  # the dtype the run trained in
export_merged(s["model"], sm.params.adapter, s["template"], sm.output[0], dtype=dtype, offline=s.get("offline", False),
              log_path=sm.log[0])
log.info("run %s: merged model written to %s", sm.wildcards.run, sm.output[0])
logging.shutdown()
