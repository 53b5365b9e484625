"""Snakemake entry point of rule dataset_info: register every chat file for LLaMA-Factory."""

import json
import logging
from pathlib import Path

from ordebug.atomic import write_text_atomic
from ordebug.data.chat import dataset_info
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
files = {name: Path(f).name for name, f in sm.input.items()}  # sft_combined_train -> sft_combined.train.jsonl
write_text_atomic(sm.output[0], json.dumps(dataset_info(files), indent=2) + "\n")
log.info("registered %d datasets", len(files))
logging.shutdown()
