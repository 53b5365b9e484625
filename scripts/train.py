"""Snakemake entry point of rule train: `llamafactory-cli train` on the rendered config, resumable."""

import json
import logging
from pathlib import Path

import yaml

from ordebug.atomic import write_text_atomic
from ordebug.logs import setup_logging
from ordebug.training.curves import curve_csv, trainer_curve
from ordebug.training.llamafactory import train
from ordebug.training.run_card import run_card

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
results = train(sm.input.config, sm.output.adapter, sm.output.results, sm.output.job, sm.params.gpus,
                sm.params.offline, log_path=sm.log[0], resume=sm.params.resume)
adapter = Path(sm.output.adapter)
write_text_atomic(sm.output.loss, curve_csv(trainer_curve(adapter / "trainer_state.json")))
card = run_card(sm.wildcards.run, yaml.safe_load(Path(sm.input.config).read_text()), sm.params.dataset,
                sm.params.sources, json.loads(Path(sm.input.stats).read_text()), results,
                json.loads((adapter / "trainer_state.json").read_text()), json.loads(Path(sm.output.job).read_text()))
write_text_atomic(sm.output.card, json.dumps(card, indent=2) + "\n")
log.info("run %s: %s", sm.wildcards.run, results)
logging.shutdown()
