#!/usr/bin/env python
"""Performance benchmark of the pipeline's stages; prints a Markdown table for the README.

    python scripts/benchmark.py bench [--cores 2] [--config config/config.yaml] [--json out.json]
"""

import argparse
import json
import sys

from ordebug.perf import bench_rows, bench_stage, markdown


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage", choices=["bench"])
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--config", default=None)
    p.add_argument("--workdir", default=None)
    p.add_argument("--json", default=None, help="also write the raw figures here")
    args = p.parse_args()
    result = bench_stage(args.cores, args.config, args.workdir)
    print(markdown(bench_rows(result)))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
