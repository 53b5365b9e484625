#!/usr/bin/env python
"""Paste pipeline-generated tables into README.md between their markers.

    python scripts/readme_tables.py --results results/report/comparison.md --perf perf.md
"""

import argparse
import re
import sys
from pathlib import Path


def replace(text: str, marker: str, table: str) -> str:
    pattern = re.compile(rf"(<!-- {marker} -->\n)(?:.*?\n)?(<!-- /{marker} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"README has no <!-- {marker} --> section")
    return pattern.sub(lambda m: m.group(1) + table.strip() + "\n" + m.group(2), text)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--readme", default="README.md")
    p.add_argument("--results", help="results/report/comparison.md from `snakemake report`")
    p.add_argument("--perf", help="the table printed by scripts/benchmark.py")
    args = p.parse_args()
    readme = Path(args.readme)
    text = readme.read_text()
    if args.results:
        text = replace(text, "results-table", Path(args.results).read_text())
    if args.perf:
        table = "\n".join(line for line in Path(args.perf).read_text().splitlines() if line.startswith("|"))
        text = replace(text, "perf-table", table)
    readme.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
