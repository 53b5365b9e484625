#!/usr/bin/env python
"""Performance benchmark of the pipeline's stages; prints a Markdown table for the README.

    python scripts/benchmark.py all   [--cores 2] [--config config/config.yaml] [--json out.json]
    python scripts/benchmark.py bench ...   (benchmark generation only)
    python scripts/benchmark.py iis   [--models DIR]  (IIS time on real models vs bare generateIIS)
    python scripts/benchmark.py noop-slurm --workdir DIR [--target bench]
                                     (no-op rerun with Slurm installed but its controller stopped)

Stages run in a scratch directory (never in data/ of the checkout).
"""

import argparse
import json
import sys

from ordebug.perf import (
    REAL_MODELS,
    bench_rows,
    bench_stage,
    collect_rows,
    collect_stage,
    default_rows,
    default_stage,
    iis_rows,
    iis_stage,
    markdown,
    slurm_noop_rows,
    slurm_noop_stage,
    teacher_rows,
    teacher_stage,
)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage", choices=["all", "bench", "teacher", "iis", "noop-slurm"])
    p.add_argument("--models", default=None, help="iis: folder of infeasible .lp/.mps models "
                   "(default ../shared/external/real-infeasible)")
    p.add_argument("--bench-dir", default=None, help="teacher: reuse a built benchmark (a workdir of `bench`)")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--config", default=None)
    p.add_argument("--workdir", default=None)
    p.add_argument("--json", default=None, help="also write the raw figures here")
    p.add_argument("--target", action="append", default=[], help="noop-slurm: targets of the no-op run")
    args = p.parse_args()
    if args.stage == "noop-slurm":
        if not args.workdir:
            p.error("noop-slurm needs --workdir (a directory where the targets are already built)")
        result = {"noop_slurm": slurm_noop_stage(args.workdir, 4, tuple(args.target))}
        print(markdown(slurm_noop_rows(result["noop_slurm"])))
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(result, fh, indent=2)
        return 0
    if args.stage == "iis":
        result = {"iis": iis_stage(args.models)}
        print(markdown(iis_rows(result["iis"])))
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(result, fh, indent=2)
        return 0
    if args.stage == "teacher":
        result = {"teacher": teacher_stage(args.bench_dir)}
        print(markdown(teacher_rows(result["teacher"])))
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(result, fh, indent=2)
        return 0
    result = {"bench": bench_stage(args.cores, args.config, args.workdir)}
    rows = bench_rows(result["bench"])
    if args.stage == "all":
        result["collect"] = collect_stage(result["bench"]["workdir"], args.cores)
        rows += collect_rows(result["collect"])
        result["default"] = default_stage(result["bench"]["workdir"])
        rows += default_rows(result["default"])
        result["noop_slurm"] = slurm_noop_stage(result["bench"]["workdir"])
        rows += slurm_noop_rows(result["noop_slurm"])
        result["teacher"] = teacher_stage(result["bench"]["workdir"])
        rows += teacher_rows(result["teacher"])
        if REAL_MODELS.is_dir():
            result["iis"] = iis_stage()
            rows += iis_rows(result["iis"])
    print(markdown(rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
