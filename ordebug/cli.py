"""Command-line interface: ``ordebug iis | bench-shard | summary | export | collect | check-config``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ordebug.solver.errors import OrDebugError


def _cmd_iis(args: argparse.Namespace) -> int:
    from ordebug.solver.iis import compute_iis
    from ordebug.solver.lpformat import read_model_file

    spec = read_model_file(args.model)
    iis = compute_iis(spec)
    data = iis.to_json()
    if not iis.certain:
        print("warning: a bound check timed out; the IIS is infeasible but may not be irreducible",
              file=sys.stderr)
    print(json.dumps(data, indent=None if args.compact else 2))
    return 0


def _cmd_bench_shard(args: argparse.Namespace) -> int:
    from ordebug.bench.shards import generate_shard, write_jsonl_atomic
    from ordebug.config import load_config

    cfg = load_config(args.config)
    n = write_jsonl_atomic(args.out, generate_shard(cfg["bench"], args.split, args.shard))
    print(f"wrote {n} problems to {args.out}", file=sys.stderr)
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    from ordebug.bench.shards import read_problems
    from ordebug.bench.summary import summarize

    print(json.dumps(summarize(read_problems(args.shards)), indent=2, sort_keys=True))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from ordebug.export import export_shard

    n = export_shard(args.shard, args.out, args.format)
    print(f"wrote {n} {args.format} files to {args.out}", file=sys.stderr)
    return 0


def _cmd_collect(args: argparse.Namespace) -> int:
    from ordebug.collect.shard import CollectConfig, collect_shard
    from ordebug.env.environment import EnvConfig
    from ordebug.logs import setup_logging

    setup_logging(args.log)
    cfg = CollectConfig(args.agent, args.workers, args.success_level, args.max_think_chars)
    env = EnvConfig(max_steps=args.max_steps, faithful_tol=args.faithful_tol)
    res = collect_shard(args.problems, args.samples, args.outcomes, args.journal, cfg, env)
    print(json.dumps(res))
    return 0


def _cmd_check_config(args: argparse.Namespace) -> int:
    from ordebug.config import load_config

    load_config(args.config)
    print(f"{args.config}: ok", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ordebug", description="Debug infeasible optimization models.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("iis", help="print an IIS of an infeasible .lp/.mps model as JSON")
    s.add_argument("model", type=Path)
    s.add_argument("--compact", action="store_true", help="one-line JSON")
    s.set_defaults(func=_cmd_iis)
    s = sub.add_parser("bench-shard", help="generate one verified benchmark shard")
    s.add_argument("--config", type=Path, default=Path("config/config.yaml"))
    s.add_argument("--split", choices=("train", "test"), required=True)
    s.add_argument("--shard", type=int, required=True)
    s.add_argument("--out", type=Path, required=True)
    s.set_defaults(func=_cmd_bench_shard)
    s = sub.add_parser("summary", help="statistics of benchmark shards (JSON)")
    s.add_argument("shards", nargs="+", type=Path)
    s.set_defaults(func=_cmd_summary)
    s = sub.add_parser("export", help="write a shard's problems as .lp or .mps files")
    s.add_argument("shard", type=Path)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--format", choices=("lp", "mps"), default="lp")
    s.set_defaults(func=_cmd_export)
    s = sub.add_parser("collect", help="run an agent over a bench shard and write SFT samples + outcomes")
    s.add_argument("--agent", default="heuristic")
    s.add_argument("--problems", type=Path, required=True, help="a bench shard (JSONL)")
    s.add_argument("--samples", type=Path, required=True)
    s.add_argument("--outcomes", type=Path, required=True)
    s.add_argument("--journal", type=Path, required=True, help="resume journal (kept until the outputs exist)")
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--success-level", choices=("faithful", "feasible"), default="faithful")
    s.add_argument("--max-think-chars", type=int, default=4000)
    s.add_argument("--max-steps", type=int, default=10)
    s.add_argument("--faithful-tol", type=float, default=1e-4)
    s.add_argument("--log", type=Path, default=None)
    s.set_defaults(func=_cmd_collect)
    s = sub.add_parser("check-config", help="validate a config file against the schema")
    s.add_argument("config", type=Path)
    s.set_defaults(func=_cmd_check_config)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except OrDebugError as exc:
        print(f"ordebug: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, OSError) as exc:
        print(f"ordebug: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
