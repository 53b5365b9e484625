"""Snakemake entry point of rule viewer: one agent's trajectories as a self-contained HTML page."""

import logging

from ordebug.logs import setup_logging
from ordebug.viewer.page import build_viewer

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
n = build_viewer(sm.input, sm.output[0], f"{sm.wildcards.agent} ({sm.wildcards.stage})")
log.info("viewer of %s (%s): %d problems", sm.wildcards.agent, sm.wildcards.stage, n)
logging.shutdown()
