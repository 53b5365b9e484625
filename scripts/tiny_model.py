"""Snakemake entry point of rule tiny_model: a tiny random Qwen3 + local tokenizer (smoke runs)."""

import logging

from ordebug.data.chat import read_jsonl
from ordebug.logs import setup_logging
from ordebug.training.tiny_model import build_tiny_qwen3

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
texts = [m["content"] for r in read_jsonl(sm.input[0]) for m in r["messages"]]
build_tiny_qwen3(sm.output[0], texts)
log.info("tiny Qwen3 written to %s", sm.output[0])
logging.shutdown()
