"""Scale on paper, checked by simulation: how Snakemake's DAG grows with the number of shards,
and what a large benchmark and a large teacher collection cost (jobs, hours, API dollars, disk).

Everything here is measured on this machine (a small sample generated and collected, real
``snakemake`` runs on a DAG of N shards whose files are stand-ins) and then scaled linearly.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from ordebug.bench.shards import bench_spec

ROOT = Path(__file__).resolve().parents[1]
CHARS_PER_TOKEN = 3.0  # the estimate train_config uses where no tokenizer is at hand


def _dag_config(n_shards: int) -> dict[str, Any]:
    """The default config with ``n_shards`` one-problem train shards, one test shard, no teachers."""
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["bench"].update(n_train=n_shards, n_test=1, shard_size=1, large={"n_train": 0, "n_test": 0, "shard_size": 1})
    cfg["teachers"] = {}
    cfg["collect"]["agents"] = ["heuristic"]
    cfg["eval"].update(agents=["heuristic"], teachers=False, finetuned=[], external={})
    cfg["dataset"]["combine"] = {"heuristic": 1.0}
    return cfg


def _snakemake(workdir: Path, *args: str) -> float:
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "snakemake", *args, "--snakefile", str(ROOT / "Snakefile"),
                        "--directory", str(workdir), "--cores", "1"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"snakemake {' '.join(args)} failed:\n{(r.stdout + r.stderr)[-3000:]}")
    return time.perf_counter() - start


def dag_timing(n_shards: int, workdir: Path | None = None) -> dict[str, Any]:
    """DAG of ``n_shards`` bench shards + as many collect jobs + merge: the dry run with nothing
    built (DAG building, every job pending), then the no-op rerun with every output present."""
    work = Path(workdir or tempfile.mkdtemp(prefix=f"ordebug-dag{n_shards}-"))
    (work / "config").mkdir(parents=True, exist_ok=True)
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(_dag_config(n_shards)))
    targets = ["bench", "data/training/sft_heuristic.json"]
    dry = _snakemake(work, *targets, "-n", "--quiet", "rules")
    # stand-ins for every output, each newer than its inputs
    t0 = time.time() - 100
    layers = [
        [f"data/bench/train/shard_{i:03d}.jsonl" for i in range(n_shards)] + ["data/bench/test/shard_000.jsonl"],
        ["data/bench/summary.json"]
        + [f"data/collect/heuristic/shard_{i:03d}{ext}" for i in range(n_shards)
           for ext in (".jsonl", ".outcomes.jsonl")],
        ["data/training/sft_heuristic.json", "data/training/stats_heuristic.json"],
    ]
    for k, layer in enumerate(layers):
        for rel in layer:
            p = work / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text("{}\n")
            os.utime(p, (t0 + 10 * k, t0 + 10 * k))
    noop = _snakemake(work, *targets)
    jobs = 2 * n_shards + 3  # shards, collect jobs, test shard, summary, merge
    return {"shards": n_shards, "jobs": jobs, "dry_run_s": round(dry, 1), "noop_s": round(noop, 1),
            "ms_per_job_noop": round(1000 * noop / jobs, 2), "workdir": str(work)}


def problem_costs(config: dict[str, Any], n: int = 18, seed_offset: int = 0) -> dict[str, Any]:
    """Generate ``n`` problems (one core, timed), store them as the workflow does, and run the
    heuristic on them: seconds and bytes per problem, steps, prompt and answer sizes per step."""
    from ordebug.bench.generate import generate_problem
    from ordebug.collect.shard import CollectConfig, lineage_for, solve_problem
    from ordebug.env.environment import EnvConfig

    spec = bench_spec(config["bench"])
    start = time.perf_counter()
    problems = [generate_problem(spec, "train", seed_offset + i) for i in range(n)]
    gen_s = (time.perf_counter() - start) / n
    bench_bytes = statistics.mean(len(json.dumps(p, separators=(",", ":"))) + 1 for p in problems)
    env = EnvConfig.from_config(config["env"])
    cfg = CollectConfig("heuristic", 1, config["collect"]["success_level"])
    start = time.perf_counter()
    lineage = lineage_for(cfg, env)
    entries = [solve_problem(p, env, cfg, lineage) for p in problems]
    collect_s = (time.perf_counter() - start) / n
    samples = [s for e in entries for s in e["samples"]]
    steps = statistics.mean(e["outcome"]["steps"] for e in entries)
    prompt_chars = statistics.mean(len(s["instruction"]) + len(s["input"]) for s in samples)
    answer_chars = statistics.mean(len(s["output"]) for s in samples)
    sample_bytes = statistics.mean(len(json.dumps(s, separators=(",", ":"))) + 1 for s in samples)
    return {"problems": n, "generate_core_s": round(gen_s, 3), "heuristic_core_s": round(collect_s, 3),
            "bench_bytes": round(bench_bytes), "steps": round(steps, 2),
            "prompt_tokens": round(prompt_chars / CHARS_PER_TOKEN),
            "answer_tokens": round(answer_chars / CHARS_PER_TOKEN), "sample_bytes": round(sample_bytes),
            "samples_per_problem": round(len(samples) / n, 2)}


def size_benchmark(costs: dict[str, Any], problems: int, shard_size: int, cores_per_job: int,
                   concurrent_jobs: int) -> dict[str, Any]:
    """Jobs, core-hours, wall minutes and disk of generating ``problems`` (bench shards + summary)."""
    jobs = math.ceil(problems / shard_size)
    core_h = problems * costs["generate_core_s"] / 3600
    job_h = shard_size * costs["generate_core_s"] / cores_per_job / 3600
    waves = math.ceil(jobs / concurrent_jobs)
    return {"problems": problems, "shard_size": shard_size, "jobs": jobs, "core_hours": round(core_h, 1),
            "wall_minutes": round(waves * job_h * 60, 1), "minutes_per_job": round(job_h * 60, 1),
            "disk_gb": round(problems * costs["bench_bytes"] / 1e9, 2), "concurrent_jobs": concurrent_jobs}


def size_teacher(costs: dict[str, Any], teacher: dict[str, Any], problems: int, shard_size: int,
                 latency_s: float, teacher_jobs: int = 2) -> dict[str, Any]:
    """Requests, tokens, API cost, hours and disk of a teacher collection over ``problems``.

    One collect job per bench shard (``shard_size`` problems), at most ``teacher_jobs`` of them
    at once (the ``teacher_api`` resource of the profiles). Requests per problem: the
    heuristic's steps times attempts (re-prompts after malformed answers not counted). Prompt
    tokens: the heuristic's observation per step. Completion tokens: a range, from the
    heuristic's answer length (a terse teacher) to ``max_tokens`` (a teacher that reasons up to
    its cap on every step). Wall time, a range over those answer lengths: the longer of the
    requests at the slower of the key's requests/min and what the running jobs can drive
    (``max_concurrency`` x 60 / latency each), and the tokens at the key's tokens/min."""
    attempts = int(teacher.get("attempts_per_problem", 1))
    requests = problems * attempts * costs["steps"]
    prompt = requests * costs["prompt_tokens"]
    lo, hi = requests * costs["answer_tokens"], requests * int(teacher["max_tokens"])
    p_in, p_out = float(teacher["price_input_per_mtok"]), float(teacher["price_output_per_mtok"])
    cost_lo, cost_hi = (prompt * p_in + lo * p_out) / 1e6, (prompt * p_in + hi * p_out) / 1e6
    rpm = float(teacher["requests_per_minute"])
    conc_rpm = int(teacher["max_concurrency"]) * 60 / latency_s  # per shard job
    jobs = math.ceil(problems / shard_size)
    running = max(1, min(jobs, teacher_jobs))
    rate = min(rpm, running * conc_rpm)  # the key's limit is shared by all running jobs
    tpm = float(teacher["tokens_per_minute"])
    minutes_tpm = (prompt + hi) / tpm
    # either limit may bind: the request rate, or the tokens per minute (short or long answers)
    hours_lo = max(requests / rate, (prompt + lo) / tpm) / 60
    hours_hi = max(requests / rate, minutes_tpm) / 60
    return {"problems": problems, "shard_size": shard_size, "jobs": jobs, "requests": round(requests),
            "prompt_mtok": round(prompt / 1e6, 1),
            "completion_mtok": (round(lo / 1e6, 1), round(hi / 1e6, 1)), "usd": (round(cost_lo), round(cost_hi)),
            "hours": (round(hours_lo, 1), round(hours_hi, 1)), "rate_rpm": round(rate), "rpm_limit": round(rpm),
            "running_jobs": running, "hours_at_tpm_upper": round(minutes_tpm / 60, 1),
            "rpm_one_job_can_drive": round(conc_rpm), "latency_s": latency_s,
            "disk_gb": round(problems * attempts * costs["samples_per_problem"] * costs["sample_bytes"] / 1e9, 2)}


def markdown_report(dag: list[dict], costs: dict, bench: dict, teacher: dict, teacher_name: str) -> str:
    """The README's scale section tables."""
    out = ["| shards | jobs in the DAG | dry run, nothing built | no-op rerun | no-op per job |",
           "|---|---|---|---|---|"]
    out += [f"| {d['shards']:,} | {d['jobs']:,} | {d['dry_run_s']} s | {d['noop_s']} s | {d['ms_per_job_noop']} ms |"
            for d in dag]
    if len(dag) >= 2:
        a, b = dag[0], dag[-1]
        marg_noop = 1000 * (b["noop_s"] - a["noop_s"]) / (b["jobs"] - a["jobs"])
        marg_dry = 1000 * (b["dry_run_s"] - a["dry_run_s"]) / (b["jobs"] - a["jobs"])
        out.append(f"\nBetween {a['shards']:,} and {b['shards']:,} shards each further job adds {marg_dry:.1f} ms to "
                   f"the dry run and {marg_noop:.1f} ms to the no-op rerun (a fixed start-up cost of "
                   f"~{max(a['noop_s'] - marg_noop * a['jobs'] / 1000, 0):.0f} s comes on top).")
        for m in dag[1:-1]:  # the sizes in between, against the straight line through the ends
            at = (m["jobs"] - a["jobs"]) / 1000
            line_dry, line_noop = a["dry_run_s"] + marg_dry * at, a["noop_s"] + marg_noop * at
            out.append(f"At {m['shards']:,} shards the line predicts {line_dry:.1f} s (dry run) and "
                       f"{line_noop:.1f} s (no-op); measured {m['dry_run_s']} s and {m['noop_s']} s.")
    out += ["", f"Measured per problem on one core ({costs['problems']} problems): generation "
            f"{costs['generate_core_s']} s, heuristic episode {costs['heuristic_core_s']} s, "
            f"{costs['bench_bytes']:,} bytes stored, {costs['steps']} steps, "
            f"~{costs['prompt_tokens']:,} prompt tokens and ~{costs['answer_tokens']} answer tokens per step "
            f"({CHARS_PER_TOKEN:g} chars/token).", "",
            "| plan | jobs | compute | wall | API cost | disk |", "|---|---|---|---|---|---|",
            f"| benchmark of {bench['problems']:,} problems, shards of {bench['shard_size']} | {bench['jobs']:,} "
            f"| {bench['core_hours']} core-hours ({bench['minutes_per_job']} min per 1-core job) "
            f"| {bench['wall_minutes']} min with {bench['concurrent_jobs']} jobs at once (no queue wait) | none "
            f"| {bench['disk_gb']} GB |",
            f"| `{teacher_name}` collection over {teacher['problems']:,} problems, shards of "
            f"{teacher['shard_size']} | {teacher['jobs']:,} "
            f"| {teacher['requests']:,} requests, {teacher['prompt_mtok']} M prompt + "
            f"{teacher['completion_mtok'][0]}-{teacher['completion_mtok'][1]} M completion tokens "
            f"| {teacher['hours'][0]}-{teacher['hours'][1]} h: {teacher['running_jobs']} jobs at once "
            f"(`teacher_api`) drive {teacher['rate_rpm']} of the {teacher['rpm_limit']} requests/min allowed; "
            f"the tokens/min limit alone needs {teacher['hours_at_tpm_upper']} h with the longest answers "
            f"| ${teacher['usd'][0]:,}-${teacher['usd'][1]:,} | {teacher['disk_gb']} GB |"]
    return "\n".join(out)
