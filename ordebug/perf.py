"""Performance figures of the pipeline's stages, gathered for the README table."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from ordebug.bench.leak import probe
from ordebug.bench.shards import read_problems

ROOT = Path(__file__).resolve().parents[1]


def _snakemake(workdir: Path, cores: int, *targets: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "snakemake", *targets, "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(workdir), "--cores", str(cores)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def bench_stage(cores: int = 2, config: Path | None = None, workdir: Path | None = None) -> dict:
    """Build the benchmark from scratch in a scratch directory and time it."""
    work = Path(workdir or tempfile.mkdtemp(prefix="ordebug-bench-"))
    (work / "config").mkdir(parents=True, exist_ok=True)
    shutil.copy(config or ROOT / "config" / "config.yaml", work / "config" / "config.yaml")
    cfg = yaml.safe_load((work / "config" / "config.yaml").read_text())["bench"]
    shard_glob = sorted((work / "data" / "bench").glob("*/shard_*.jsonl"))
    for p in shard_glob:
        p.unlink()
    gen = _snakemake(work, cores, *[f"data/bench/{s}/shard_{i:03d}.jsonl"
                                    for s, key in (("train", "n_train"), ("test", "n_test"))
                                    for i in range((cfg[key] + cfg["shard_size"] - 1) // cfg["shard_size"])])
    summ = _snakemake(work, cores, "bench")
    noop = _snakemake(work, cores, "bench")
    summary = json.loads((work / "data" / "bench" / "summary.json").read_text())
    train = list(read_problems(sorted((work / "data" / "bench" / "train").glob("*.jsonl"))))
    test = list(read_problems(sorted((work / "data" / "bench" / "test").glob("*.jsonl"))))
    leak = probe(train, test)
    n = summary["n"]
    return {
        "problems": n,
        "cores": cores,
        "generation_wall_s": round(gen, 1),
        "problems_per_s": round(n / gen, 1),
        "summary_wall_s": round(summ, 1),
        "noop_rerun_s": round(noop, 1),
        "drop_first_iis_faithful_rate": summary["drop_first_iis"]["faithful_rate"],
        "drop_first_iis_feasible_rate": summary["drop_first_iis"]["feasible_rate"],
        "leak_probe_accuracy": round(leak["accuracy"], 3),
        "leak_probe_chance": round(leak["chance"], 3),
        "by_difficulty": summary["by_difficulty"],
        "by_family": summary["by_family"],
        "workdir": str(work),
    }


def collect_stage(workdir: Path, cores: int = 2, agent: str = "heuristic") -> dict:
    """Collect the agent over the train split of an already built benchmark, timed."""
    work = Path(workdir)
    for p in (work / "data" / "collect" / agent).glob("*.jsonl"):
        p.unlink()
    wall = _snakemake(work, cores, f"data/training/sft_{agent}.json", "--forcerun", "collect")
    outcomes = list(read_problems(sorted((work / "data" / "collect" / agent).glob("*.outcomes.jsonl"))))
    steps = sum(o.get("steps", 0) for o in outcomes)
    stats = json.loads((work / "data" / "training" / f"stats_{agent}.json").read_text())
    return {
        "agent": agent,
        "problems": len(outcomes),
        "cores": cores,
        "wall_s": round(wall, 1),
        "problems_per_s": round(len(outcomes) / wall, 1),
        "env_steps_per_s": round(steps / wall, 1),
        "samples": stats["samples"],
        "success_rate": round(stats["success_rate"], 3),
    }


def collect_rows(r: dict) -> list[tuple[str, str, str]]:
    return [
        ("collect", f"{r['agent']} over {r['problems']} train problems, `-j{r['cores']}` (wall, incl. merge)",
         f"{r['wall_s']} s"),
        ("collect", "throughput", f"{r['problems_per_s']} problems/s, {r['env_steps_per_s']} env steps/s"),
        ("collect", "faithful success rate / SFT samples", f"{r['success_rate']:.3f} / {r['samples']}"),
    ]


def markdown(rows: list[tuple[str, str, str]]) -> str:
    out = ["| stage | figure | value |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(out)


def bench_rows(r: dict) -> list[tuple[str, str, str]]:
    return [
        ("bench", f"generation of {r['problems']} problems, `-j{r['cores']}` (wall)", f"{r['generation_wall_s']} s"),
        ("bench", "throughput incl. verification + IIS", f"{r['problems_per_s']} problems/s"),
        ("bench", "summary rule (drop-first-IIS baseline)", f"{r['summary_wall_s']} s"),
        ("bench", "no-op rerun of `snakemake bench`", f"{r['noop_rerun_s']} s"),
        ("bench", "drop-first-IIS faithful / feasible rate",
         f"{r['drop_first_iis_faithful_rate']:.3f} / {r['drop_first_iis_feasible_rate']:.3f}"),
        ("bench", "name-only leak probe accuracy (chance)",
         f"{r['leak_probe_accuracy']:.3f} ({r['leak_probe_chance']:.3f})"),
    ]
