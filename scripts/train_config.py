"""Snakemake entry point of rule train_config: cutoff check + LLaMA-Factory YAML."""

import json
import logging
from pathlib import Path

import yaml

from ordebug.atomic import write_text_atomic
from ordebug.data.chat import check_usable, read_jsonl
from ordebug.logs import setup_logging
from ordebug.training.lengths import check_cutoff
from ordebug.training.llamafactory import render_config

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
s = sm.params.settings
train, val = read_jsonl(sm.input.train), read_jsonl(sm.input.val)
check_usable(train, sm.input.train)
cutoff, summary = check_cutoff(train + val, s["model"], s["cutoff_len"], s.get("auto_raise_cutoff", False))
adapter = Path(sm.output.config).parent / "adapter"
cfg = render_config(s, str(Path(sm.input.info).parent), "sft_combined_train", "sft_combined_val" if val else None,
                    str(adapter), cutoff)
write_text_atomic(sm.output.config, yaml.safe_dump(cfg, sort_keys=False))
write_text_atomic(sm.output.lengths, json.dumps(summary, indent=2) + "\n")
log.info("run %s: cutoff_len %d, token lengths %s", sm.wildcards.run, cutoff, summary["total_tokens"])
logging.shutdown()
