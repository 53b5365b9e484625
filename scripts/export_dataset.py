"""Snakemake entry point of rule export_dataset: `datasets`-loadable splits and the dataset card."""

import json
import logging
from pathlib import Path

from ordebug.atomic import write_text_atomic
from ordebug.data.card import card_text, export_record
from ordebug.data.chat import jsonl_text, read_jsonl
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
train, val = read_jsonl(sm.input.train), read_jsonl(sm.input.val)
stats = json.loads(Path(sm.input.stats).read_text())
write_text_atomic(sm.output.train, jsonl_text(export_record(r) for r in train))
write_text_atomic(sm.output.val, jsonl_text(export_record(r) for r in val))
write_text_atomic(sm.output.card, card_text(sm.wildcards.dataset, sm.params.sources, sm.params.skipped, stats, train,
                                            val, sm.params.settings))
log.info("dataset %s exported: %d train / %d validation samples", sm.wildcards.dataset, len(train), len(val))
logging.shutdown()
