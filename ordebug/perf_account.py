"""One account, one limit, measured: 2 and 4 concurrent teacher shard jobs (separate
processes, as Snakemake runs them) against the local teacher server, which enforces the
account's requests-per-minute limit over a sliding 60 s window and answers 429 beyond it.

Figures per run: requests the server received, the share answered 429, and the achieved
rate (requests between the first and the last arrival, per minute) against the limit.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from pathlib import Path

from ordebug.jsonl import read_jsonl, write_jsonl_atomic
from ordebug.perf import _server, _stats

KEY_ENV = "ORDEBUG_BENCH_KEY"


def _job(problems: Path, out: Path, url: str, rpm: int, cache: Path, concurrency: int, attempts: int,
         account: Path) -> None:
    from ordebug.collect.shard import CollectConfig
    from ordebug.collect.teacher import collect_teacher_shard
    from ordebug.env.environment import EnvConfig
    from ordebug.llm.config import TeacherConfig

    cfg = TeacherConfig("sim", "teacher-sim", base_url=url, api_key_env=KEY_ENV, requests_per_minute=rpm,
                        tokens_per_minute=1e9, max_concurrency=concurrency, attempts_per_problem=attempts,
                        cache_path=str(cache / "responses.sqlite"), account_path=str(account), timeout_s=60,
                        max_retries=8)
    collect_teacher_shard(problems, out / "s.jsonl", out / "o.jsonl", out / "j.jsonl", cfg,
                          CollectConfig("sim", workers=1), EnvConfig())


def run_jobs(problems: list[dict], jobs: int, rpm: int, latency: float, work: Path, attempts: int = 5,
             concurrency: int = 16, shared: bool = True) -> dict:
    """``jobs`` concurrent shard jobs over ``problems`` (split evenly), one account; with
    ``shared=False`` each job keeps its own buckets (the design before issue 11), for contrast."""
    os.environ[KEY_ENV] = "sk-bench"
    run = work / f"jobs{jobs}{'' if shared else '_private'}"
    cache = run / "cache"  # fresh: nothing answered from a cache
    paths = []
    for j in range(jobs):
        p = run / f"shard_{j}.jsonl"
        write_jsonl_atomic(p, problems[j::jobs])
        paths.append(p)
    proc, url = _server(latency, rpm)
    ctx = multiprocessing.get_context("fork")
    try:
        start = time.monotonic()
        procs = [ctx.Process(target=_job, args=(p, run / f"out_{j}", url, rpm, cache, concurrency, attempts,
                                                 cache / (f"account_{j}.sqlite" if not shared else "account.sqlite")))
                 for j, p in enumerate(paths)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        wall = time.monotonic() - start
        stats = _stats(url)
    finally:
        proc.kill()
    arrivals = stats["arrivals_s"]
    span = max(arrivals[-1] - arrivals[0], 1e-9) if arrivals else 1e-9
    n = stats["requests"]
    limited = int(stats["status"].get("429", 0))
    outcomes = [o for j in range(jobs) for o in read_jsonl(run / f"out_{j}" / "o.jsonl")]
    return {"jobs": jobs, "shared": shared, "limit_rpm": rpm, "latency_s": latency, "problems": len(problems),
            "requests": n,
            "http_429": limited, "share_429": round(limited / max(1, n), 4), "span_s": round(span, 1),
            "wall_s": round(wall, 1), "achieved_rpm": round(n / span * 60, 1),
            "ratio_to_limit": round(n / span * 60 / rpm, 3), "peak_60s": stats["peak_60s"],
            "exit_codes": [p.exitcode for p in procs], "problems_done": len(outcomes)}


def account_stage(problems_file: Path | None = None, jobs: tuple[int, ...] = (2, 4), rpm: int = 240,
                  latency: float = 0.5, n_problems: int = 40, contrast: bool = True) -> dict:
    """Generate (or read) problems, then one run per job count (and 2 jobs with private buckets)."""
    work = Path(tempfile.mkdtemp(prefix="ordebug-account-"))
    if problems_file is None:
        from ordebug.bench.generate import BenchSpec, generate_problem

        problems = [generate_problem(BenchSpec(seed=20260101), "train", i) for i in range(n_problems)]
    else:
        problems = read_jsonl(problems_file)[:n_problems]
    runs = [run_jobs(problems, j, rpm, latency, work) for j in jobs]
    if contrast:
        runs.append(run_jobs(problems, 2, rpm, latency, work, shared=False))
    return {"runs": runs, "workdir": str(work)}


def account_rows(r: dict) -> list[tuple[str, str, str]]:
    rows = []
    for x in r["runs"]:
        how = "" if x.get("shared", True) else " with private buckets (before)"
        rows.append(("teacher account", f"{x['jobs']} concurrent shard jobs{how}, limit {x['limit_rpm']}/min, "
                     f"{x['latency_s']:g} s latency: requests (429s, share)",
                     f"{x['requests']} ({x['http_429']}, {100 * x['share_429']:.2f}%)"))
        rows.append(("teacher account", f"{x['jobs']} jobs{how}: achieved requests/min over {x['span_s']} s "
                     "(ratio to limit; busiest 60 s window)",
                     f"{x['achieved_rpm']:.0f} ({x['ratio_to_limit']:.3f}; {x['peak_60s']})"))
    return rows
