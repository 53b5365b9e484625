"""Snakemake entry point of rule train_config: cutoff check + LLaMA-Factory YAML."""

import json
import logging
from pathlib import Path

import yaml

from ordebug.atomic import write_text_atomic
from ordebug.data.chat import check_usable, read_jsonl
from ordebug.data.mixes import registered_name
from ordebug.logs import setup_logging
from ordebug.training.lengths import check_cutoff
from ordebug.training.llamafactory import render_config

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
s = sm.params.settings
dataset = sm.params.dataset
train, val = read_jsonl(sm.input.train), read_jsonl(sm.input.val)
check_usable(train, sm.input.train)
cutoff, summary = check_cutoff(train + val, s["model"], s["cutoff_len"], s.get("auto_raise_cutoff", False))
work = Path(sm.output.config).parent / "checkpoints"  # outside the train rule's outputs: kept for resuming
cfg = render_config(s, str(Path(sm.input.info).parent), registered_name(dataset, "train"),
                    registered_name(dataset, "val") if val else None, str(work), cutoff)
write_text_atomic(sm.output.config, yaml.safe_dump(cfg, sort_keys=False))
write_text_atomic(sm.output.lengths, json.dumps(summary, indent=2) + "\n")
log.info("run %s on %s: cutoff_len %d, token lengths %s", sm.wildcards.run, dataset, cutoff, summary["total_tokens"])
logging.shutdown()
