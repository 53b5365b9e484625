#!/usr/bin/env python
"""Performance benchmark of the pipeline's stages; prints a Markdown table for the README.

    python scripts/benchmark.py all   [--cores 2] [--config config/config.yaml] [--json out.json]
    python scripts/benchmark.py bench ...   (benchmark generation only)
    python scripts/benchmark.py iis   [--models DIR]  (IIS time on real models vs bare generateIIS)
    python scripts/benchmark.py account [--rpm 240]  (2 and 4 teacher jobs sharing one account's limit)
    python scripts/benchmark.py teacher-api  (GPT-5 request rules, direct vs Batch API, ordebug status)
    python scripts/benchmark.py noop-slurm --workdir DIR [--target bench]
                                     (no-op rerun with Slurm installed but its controller stopped)
    python scripts/benchmark.py scale-models [--rows 50 --rows 200 ...] [--types IHD] [--time-limit 300]
                                     (seconds per generated problem against model size, by stage)
    python scripts/benchmark.py scale [--shards 1000 --shards 5000] [--config config/config.yaml]
                                     (DAG time with N shards; sizing of a large benchmark and collection)

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


def _teacher_api_limit() -> int:
    """Teacher jobs at once: the ``teacher_api`` resource of profiles/default."""
    import yaml

    with open("profiles/default/config.yaml") as fh:
        res = yaml.safe_load(fh).get("resources") or []
    return next((int(r.split("=")[1]) for r in res if r.startswith("teacher_api=")), 1)


def scale_models(args: argparse.Namespace) -> int:
    from ordebug.bench.cost_curve import KINDS, ROWS, markdown, measure, merge

    points = []
    for fam in args.family or list(KINDS):
        for rows in args.rows or list(ROWS):
            pt = merge([measure(fam, rows, t, problems=1, time_limit=args.time_limit) for t in args.types])
            points.append(pt)
            print(f"{fam} {pt.rows} rows: {pt.per_problem():.2f} s per problem {pt.note}", file=sys.stderr, flush=True)
            if pt.problems == 0:
                break  # larger sizes of this family would not finish either
    print(markdown(points))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([p.__dict__ for p in points], fh, indent=2)
    return 0


def scale(args: argparse.Namespace) -> int:
    import yaml

    from ordebug.scale import dag_timing, markdown_report, problem_costs, size_benchmark, size_teacher

    with open(args.config or "config/config.yaml") as fh:
        cfg = yaml.safe_load(fh)
    dag = [dag_timing(n) for n in (args.shards or [1000, 2500, 5000])]
    costs = problem_costs(cfg)
    bench = size_benchmark(costs, args.problems, args.shard_size, 1, args.concurrent_jobs)
    name, teacher = next(iter(cfg["teachers"].items()))
    teacher_jobs = _teacher_api_limit()
    tsize = size_teacher(costs, teacher, args.teacher_problems, args.shard_size, args.latency, teacher_jobs)
    print(markdown_report(dag, costs, bench, tsize, name))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"dag": dag, "costs": costs, "benchmark": bench, "teacher": tsize}, fh, indent=2)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage", choices=["all", "bench", "teacher", "iis", "account", "teacher-api", "noop-slurm",
                                     "scale", "scale-models"])
    p.add_argument("--rpm", type=int, default=240, help="account: the server-enforced requests/min limit")
    p.add_argument("--models", default=None, help="iis: folder of infeasible .lp/.mps models "
                   "(default ../shared/external/real-infeasible)")
    p.add_argument("--bench-dir", default=None, help="teacher: reuse a built benchmark (a workdir of `bench`)")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--config", default=None)
    p.add_argument("--workdir", default=None)
    p.add_argument("--json", default=None, help="also write the raw figures here")
    p.add_argument("--target", action="append", default=[], help="noop-slurm: targets of the no-op run")
    p.add_argument("--shards", action="append", type=int, default=[], help="scale: DAG sizes to time")
    p.add_argument("--problems", type=int, default=100_000, help="scale: benchmark size to plan")
    p.add_argument("--teacher-problems", type=int, default=10_000, help="scale: teacher collection to plan")
    p.add_argument("--shard-size", type=int, default=1000,
                   help="scale: bench.shard_size, problems per bench shard and per collect job")
    p.add_argument("--concurrent-jobs", type=int, default=100, help="scale: cluster jobs running at once")
    p.add_argument("--latency", type=float, default=20.0, help="scale: seconds per teacher request")
    p.add_argument("--rows", action="append", type=int, default=[], help="scale-models: row counts (repeat)")
    p.add_argument("--family", action="append", default=[], help="scale-models: families (repeat)")
    p.add_argument("--types", default="IHD", help="scale-models: error types generated at each point")
    p.add_argument("--time-limit", type=float, default=300.0, help="scale-models: seconds per point and type")
    return p


def report(result: dict, rows: list, json_path: str | None, after: str = "") -> int:
    """Print the figures as a Markdown table (then ``after``) and write them as JSON when asked."""
    print(markdown(rows) + after)
    if json_path:
        with open(json_path, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


def one_stage(args: argparse.Namespace) -> tuple[dict, list, str]:
    """The figures of a stage run alone (not ``all`` or ``bench``): result, table rows, text after."""
    if args.stage == "noop-slurm":
        result = {"noop_slurm": slurm_noop_stage(args.workdir, 4, tuple(args.target))}
        return result, slurm_noop_rows(result["noop_slurm"]), ""
    if args.stage == "iis":
        result = {"iis": iis_stage(args.models)}
        return result, iis_rows(result["iis"]), ""
    if args.stage == "account":
        from ordebug.perf_account import account_rows, account_stage

        result = {"account": account_stage(rpm=args.rpm)}
        return result, account_rows(result["account"]), ""
    if args.stage == "teacher-api":
        from ordebug.perf_teacher_api import teacher_api_rows, teacher_api_stage

        result = {"teacher_api": teacher_api_stage()}
        after = "".join(f"\n\n`ordebug status` ({when}):\n\n{text}"
                        for when, text in result["teacher_api"]["status"].items())
        return result, teacher_api_rows(result["teacher_api"]), after
    result = {"teacher": teacher_stage(args.bench_dir)}
    return result, teacher_rows(result["teacher"]), ""


def main() -> int:
    p = build_parser()
    args = p.parse_args()
    if args.stage == "scale-models":
        return scale_models(args)
    if args.stage == "scale":
        return scale(args)
    if args.stage == "noop-slurm" and not args.workdir:
        p.error("noop-slurm needs --workdir (a directory where the targets are already built)")
    if args.stage not in ("all", "bench"):
        result, rows, after = one_stage(args)
        return report(result, rows, args.json, after)
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
    return report(result, rows, args.json)


if __name__ == "__main__":
    sys.exit(main())
