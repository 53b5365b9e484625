#!/usr/bin/env python
"""Paste pipeline-generated tables into the docs between their markers (the results table
into docs/evaluation.md, the performance table into docs/performance.md).

    python scripts/readme_tables.py --results results/report/comparison.md --perf perf.md
"""

import argparse
import re
import sys
from pathlib import Path


def replace(text: str, marker: str, table: str) -> str:
    pattern = re.compile(rf"(<!-- {marker} -->\n)(?:.*?\n)?(<!-- /{marker} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"no <!-- {marker} --> section to paste into")
    return pattern.sub(lambda m: m.group(1) + table.strip() + "\n" + m.group(2), text)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", default="docs", help="the docs folder")
    p.add_argument("--results", help="results/report/comparison.md from `snakemake report`")
    p.add_argument("--perf", help="the table printed by scripts/benchmark.py")
    args = p.parse_args()
    if args.results:
        page = Path(args.docs) / "evaluation.md"
        page.write_text(replace(page.read_text(), "results-table", Path(args.results).read_text()))
    if args.perf:
        page = Path(args.docs) / "performance.md"
        table = "\n".join(line for line in Path(args.perf).read_text().splitlines() if line.startswith("|"))
        page.write_text(replace(page.read_text(), "perf-table", table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
