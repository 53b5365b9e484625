"""Snakemake entry point of rule import_external: one external set as benchmark records."""

import logging
from pathlib import Path

from ordebug.bench.external import import_dir, skipped_lines, summary_line
from ordebug.bench.shards import write_jsonl_atomic
from ordebug.logs import setup_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup_logging(sm.log[0])
src = Path(sm.input[0])
res = (import_dir(src, workers=sm.threads) if src.is_dir()
       else import_dir(src.parent, src, workers=sm.threads))
for line in skipped_lines(res.skipped):
    log.warning(line)
if not res.records:
    raise SystemExit(f"external set {sm.wildcards.set!r}: no importable model in {src} "
                     f"({len(res.skipped)} skipped; see {sm.log[0]})")
write_jsonl_atomic(sm.output.skipped, (s.to_json() for s in res.skipped))
write_jsonl_atomic(sm.output.problems, res.records)
log.info("%s: %s", sm.wildcards.set, summary_line(res))
logging.shutdown()
