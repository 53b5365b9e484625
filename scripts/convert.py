"""Snakemake entry point of rule convert: Alpaca -> Qwen chat JSONL."""

import logging

from ordebug.atomic import write_text_atomic
from ordebug.data.chat import convert, jsonl_text
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
chats = convert(sm.input[0])
write_text_atomic(sm.output[0], jsonl_text(chats))
log.info("%s: %d chat samples", sm.wildcards.agent, len(chats))
logging.shutdown()
