"""A rule's log file: what the rule logs and what a server it starts appends both survive."""

from __future__ import annotations

import logging
import subprocess
import sys

from ordebug.logs import setup_logging


def test_a_server_appending_to_the_rule_log_is_not_written_over(tmp_path):
    path = tmp_path / "rule.log"
    path.write_text("a previous run's line\n")
    hook = sys.excepthook
    try:
        log = setup_logging(path)
        log.info("client line one")
        subprocess.run([sys.executable, "-c", f"open({str(path)!r}, 'a').write('server line\\n')"], check=True)
        log.info("client line two")
        logging.shutdown()
    finally:
        sys.excepthook = hook
        logging.basicConfig(handlers=[logging.NullHandler()], force=True)
    lines = path.read_text().splitlines()
    assert "a previous run's line" not in lines  # each run starts the log afresh
    assert lines[0].endswith("client line one") and lines[1] == "server line"
    assert lines[2].endswith("client line two") and len(lines) == 3
