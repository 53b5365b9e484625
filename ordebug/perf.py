"""Performance figures of the pipeline's stages, gathered for the table in docs/performance.md."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from ordebug.bench.shards import n_shards, read_problems

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
    def pools(splits: tuple[str, ...]) -> list[str]:
        return [f"data/bench/pool/{s}/shard_{i:03d}.jsonl" for s in splits for i in range(n_shards(cfg, s, pool=True))]

    gen = _snakemake(work, cores, *pools(("train", "test")))
    large = pools(("train_large", "test_large"))
    gen_large = _snakemake(work, cores, *large) if large else 0.0
    filt = _snakemake(work, cores, "data/bench/filter.json")
    summ = _snakemake(work, cores, "bench")
    noop = _snakemake(work, cores, "bench")
    summary = json.loads((work / "data" / "bench" / "summary.json").read_text())
    n_large = summary["by_tier"].get("large", 0)
    n = summary["n"] - n_large
    p, a = summary["probes"], summary["adversary"]
    pool = sum(summary["filter"]["pool"].values())
    return {
        "problems": n,
        "pool": pool,
        "large_problems": n_large,
        "cores": cores,
        "generation_wall_s": round(gen, 1),
        "problems_per_s": round(pool / gen, 2),
        "filter_wall_s": round(filt, 1),
        "total_wall_s": round(gen + gen_large + filt + summ, 1),
        "ranker": round(a["ranker_top1"], 3),
        "prior_lookup": round(a["prior_top1"], 3),
        "ranker_chance": round(a["chance"], 3),
        "typed_chance": round(a["typed_chance"], 3),
        "search_exact": round(a["search_exact"], 3),
        "rejection_rate": summary["filter"].get("rejection_rate", {}),
        "large_generation_wall_s": round(gen_large, 1),
        "summary_wall_s": round(summ, 1),
        "noop_rerun_s": round(noop, 1),
        "drop_first_iis_faithful_rate": summary["drop_first_iis"]["faithful_rate"],
        "drop_first_iis_feasible_rate": summary["drop_first_iis"]["feasible_rate"],
        "leak_probe_accuracy": round(p["name"]["accuracy"], 3),
        "leak_probe_chance": round(p["name"]["chance"], 3),
        "structural_probe": round(p["structural"]["hit_rate"], 3),
        "structural_chance": round(p["structural"]["chance"], 3),
        "outlier_scan": round(p["outlier_scan"]["hit_rate"], 3),
        "outlier_chance": round(p["outlier_scan"]["chance"], 3),
        "sibling_probe": round(p["sibling"]["hit_rate"], 3),
        "sibling_chance": round(p["sibling"]["chance"], 3),
        "one_row_iis_share": round(summary["iis_size"]["one_row_share"], 3),
        "min_families_per_type": min(summary["families_per_type"].values()),
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
        ("collect", "exact success rate / SFT samples", f"{r['success_rate']:.3f} / {r['samples']}"),
    ]


def markdown(rows: list[tuple[str, str, str]]) -> str:
    out = ["| stage | figure | value |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(out)


def bench_rows(r: dict) -> list[tuple[str, str, str]]:
    return [
        ("bench", f"pool of {r['pool']} problems for {r['problems']}, `-j{r['cores']}` (wall)",
         f"{r['generation_wall_s']} s"),
        ("bench", "throughput incl. verification, IIS and the adversary's candidate solves",
         f"{r['problems_per_s']} problems/s"),
        ("bench", "filter rule (adversary cross-fitted on the pool)", f"{r['filter_wall_s']} s"),
        ("bench", "summary rule (adversary on the kept splits, probes, drop-first-IIS)", f"{r['summary_wall_s']} s"),
        ("bench", "whole benchmark, `-j2` (wall)", f"{r['total_wall_s']} s"),
        ("bench", "learned ranker top-1 (chance; typed chance) / search agent exact, test split",
         f"{r['ranker']:.3f} ({r['ranker_chance']:.3f}; {r['typed_chance']:.3f}) / {r['search_exact']:.3f}"),
        ("bench", "filter rejection rate per type", ", ".join(f"{t} {v:.2f}" for t, v in r["rejection_rate"].items())),
        ("bench", "no-op rerun of `snakemake bench`", f"{r['noop_rerun_s']} s"),
        ("bench", "drop-first-IIS faithful / feasible rate",
         f"{r['drop_first_iis_faithful_rate']:.3f} / {r['drop_first_iis_feasible_rate']:.3f}"),
        ("bench", "name-only leak probe accuracy (chance)",
         f"{r['leak_probe_accuracy']:.3f} ({r['leak_probe_chance']:.3f})"),
        ("bench", "structural probe root-cause hits on the test split (chance)",
         f"{r['structural_probe']:.3f} ({r['structural_chance']:.3f})"),
        ("bench", "whole-model outlier scan hits (chance)", f"{r['outlier_scan']:.3f} ({r['outlier_chance']:.3f})"),
        ("bench", "sibling probe: IIS row against its family in the whole model (chance)",
         f"{r['sibling_probe']:.3f} ({r['sibling_chance']:.3f})"),
        ("bench", "one-row IIS share / fewest families per type",
         f"{r['one_row_iis_share']:.3f} / {r['min_families_per_type']}"),
        ("bench", "easy / medium / hard", " / ".join(str(r["by_difficulty"].get(d, 0))
                                                    for d in ("easy", "medium", "hard"))),
        ("bench", f"large tier: {r['large_problems']} problems, `-j{r['cores']}` (wall)",
         f"{r['large_generation_wall_s']} s"),
    ]


def _server(latency: float, rpm: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "ordebug.testing.teacher_server", "--port", "0", "--latency",
                             str(latency), "--rpm", str(rpm), "--api-key", "sk-bench"], stdout=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    return proc, line.split(" on ")[1].strip()


def _stats(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(url.replace("/v1", "/stats"), timeout=10) as r:
        return json.loads(r.read())


def sync_baseline(url: str, problems: list[dict], workers: int = 4, duration: float = 20.0) -> float:
    """The seed's design: ``workers`` threads, each a blocking request loop. Requests/min."""
    import threading

    import openai

    from ordebug.actions import ActionError, extract_action
    from ordebug.env.environment import RepairEnv
    from ordebug.env.prompt import SYSTEM_PROMPT

    client = openai.OpenAI(api_key="sk-bench", base_url=url, max_retries=3)
    stop = time.monotonic() + duration
    count = [0]
    lock = threading.Lock()
    queue = list(problems)

    def worker() -> None:
        while time.monotonic() < stop:
            with lock:
                if not queue:
                    return
                p = queue.pop()
            env = RepairEnv()
            obs, _ = env.reset(p)
            while time.monotonic() < stop:
                r = client.chat.completions.create(model="teacher-sim", messages=[
                    {"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": obs}])
                with lock:
                    count[0] += 1
                try:
                    action = extract_action(r.choices[0].message.content or "").text
                except ActionError:
                    break
                obs, _, term, trunc, _ = env.step(action)
                if term or trunc:
                    break

    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return count[0] / (time.monotonic() - start) * 60


def teacher_stage(bench_dir: Path, latency: float = 2.0, rpm: int = 3000, n_shards: int = 8,
                  attempts: int = 2) -> dict:
    """Teacher throughput against the local server: ours vs the 4-worker synchronous design.

    Two attempts per problem (rejection sampling) make the run last well over a minute, so
    the busiest 60 s window measures the sustained rate against the per-minute limit."""
    import os

    from ordebug.collect.shard import CollectConfig
    from ordebug.collect.teacher import collect_teacher_shard
    from ordebug.env.environment import EnvConfig
    from ordebug.llm.config import TeacherConfig

    work = Path(tempfile.mkdtemp(prefix="ordebug-teacher-"))
    shards = sorted((Path(bench_dir) / "data" / "bench" / "train").glob("shard_*.jsonl"))[:n_shards]
    problems = list(read_problems(shards))
    joined = work / "problems.jsonl"
    joined.write_text("".join(json.dumps(p) + "\n" for p in problems))
    os.environ["ORDEBUG_BENCH_KEY"] = "sk-bench"
    proc, url = _server(latency, rpm)
    try:
        cfg = TeacherConfig("sim", "teacher-sim", base_url=url, api_key_env="ORDEBUG_BENCH_KEY",
                            requests_per_minute=rpm, tokens_per_minute=1e9,  # the request limit is under test
                            max_concurrency=int(rpm / 60 * latency * 1.6) + 8, attempts_per_problem=attempts,
                            cache_path=str(work / "cache.sqlite"), timeout_s=60)
        args = (joined, work / "s.jsonl", work / "o.jsonl", work / "j.jsonl", cfg, CollectConfig("sim", workers=2),
                EnvConfig())
        start, cpu = time.monotonic(), time.process_time()
        collect_teacher_shard(*args)
        wall, cpu = time.monotonic() - start, time.process_time() - cpu
        first = _stats(url)
        rerun_start = time.monotonic()
        collect_teacher_shard(*args)
        rerun = time.monotonic() - rerun_start
        second = _stats(url)
        ours = first["requests"] / wall * 60
        theirs = sync_baseline(url, problems[::-1], workers=4, duration=20.0)
    finally:
        proc.kill()
    return {
        "latency_s": latency,
        "limit_rpm": rpm,
        "problems": len(problems),
        "attempts_per_problem": attempts,
        "requests": first["requests"],
        "http_429": first["status"].get("429", 0),
        "wall_s": round(wall, 1),
        "collector_cpu_s": round(cpu, 1),
        "achieved_rpm": round(ours, 0),
        "ratio_to_limit": round(ours / rpm, 3),
        "peak_60s_window": first["peak_60s"],
        "peak_ratio_to_limit": round(first["peak_60s"] / rpm, 3),
        "peak_10s_rpm": first["peak_10s"] * 6,
        "sync_4_workers_rpm": round(theirs, 0),
        "speedup": round(ours / theirs, 1),
        "rerun_http_requests": second["requests"] - first["requests"],
        "rerun_s": round(rerun, 1),
    }


def teacher_rows(r: dict) -> list[tuple[str, str, str]]:
    return [
        ("teacher", f"{r['requests']} requests, {r['latency_s']:g} s latency, limit {r['limit_rpm']}/min "
                    f"({r['problems']} problems x {r['attempts_per_problem']} attempts)", f"{r['wall_s']} s"),
        ("teacher", "achieved requests/min over the whole run (ratio to limit; 429s)",
         f"{r['achieved_rpm']:.0f} ({r['ratio_to_limit']:.3f}; {r['http_429']})"),
        ("teacher", "busiest 60 s window at the server (ratio to limit)",
         f"{r['peak_60s_window']} ({r['peak_ratio_to_limit']:.3f})"),
        ("teacher", "busiest 10 s window, as requests/min (ratio to limit)",
         f"{r['peak_10s_rpm']} ({r['peak_10s_rpm'] / r['limit_rpm']:.3f})"),
        ("teacher", "4-worker synchronous collector (seed design)", f"{r['sync_4_workers_rpm']:.0f} requests/min"),
        ("teacher", "speed-up over it", f"{r['speedup']}x"),
        ("teacher", "full rerun after completion: HTTP requests (wall)",
         f"{r['rerun_http_requests']} ({r['rerun_s']} s)"),
    ]


def default_stage(workdir: Path, cores: int = 4) -> dict:
    """The default target end to end in the scratch dir, then its no-op rerun; token stats."""
    work = Path(workdir)
    full = _snakemake(work, cores)
    noop = _snakemake(work, cores)
    lengths = sorted((work / "results" / "train").glob("*/token_lengths.json"))
    tokens = json.loads(lengths[0].read_text()) if lengths else {}
    return {"cores": cores, "rest_of_dag_s": round(full, 1), "noop_s": round(noop, 1), "tokens": tokens}


def default_rows(r: dict) -> list[tuple[str, str, str]]:
    t = r["tokens"].get("total_tokens", {})
    return [
        ("pipeline", f"rest of the default DAG after bench+collect (`-j{r['cores']}`: SFT files, train config, "
                     "evaluation, report)", f"{r['rest_of_dag_s']} s"),
        ("pipeline", f"no-op rerun of `snakemake -j{r['cores']}` (default config)", f"{r['noop_s']} s"),
        ("training data", f"tokens per sample ({r['tokens'].get('method', '?')}): mean / p95 / max",
         f"{t.get('mean', 0):.0f} / {t.get('p95', 0)} / {t.get('max', 0)} (cutoff {r['tokens'].get('cutoff_len')})"),
    ]


REAL_MODELS = ROOT.parent / "shared" / "external" / "real-infeasible"


def iis_stage(folder: Path | None = None) -> dict:
    """``compute_iis`` per real model (read excluded) against SCIP's bare ``generateIIS()``
    on the same file, in the same run; every answer checked on fresh SCIP models."""
    import statistics

    import pyscipopt as ps

    from ordebug.solver.iis import check_irreducible, compute_iis
    from ordebug.solver.lpformat import read_model_file

    folder = Path(folder or REAL_MODELS)
    files = sorted(p for p in folder.iterdir() if p.suffix in (".lp", ".mps"))
    per_model = []
    for p in files:
        m = ps.Model()
        m.hideOutput()
        m.readProblem(str(p))
        start = time.perf_counter()
        try:
            m.generateIIS()
            bare_ok = True
        except Exception:  # SCIP's LP solver may fail; the bare call then has no answer
            bare_ok = False
        bare = time.perf_counter() - start
        spec = read_model_file(p)
        start = time.perf_counter()
        iis = compute_iis(spec)
        ours = time.perf_counter() - start
        try:
            valid = iis.certain and check_irreducible(spec, iis) == (True, True)
        except Exception:
            valid = False
        per_model.append({"model": p.name, "rows": len(spec.rows), "ours_s": round(ours, 3), "bare_s": round(bare, 3),
                          "bare_answered": bare_ok, "certain": iis.certain, "valid": valid,
                          "size": iis.size})
    ours = [r["ours_s"] for r in per_model]
    bare = [r["bare_s"] for r in per_model]
    return {
        "models": len(per_model),
        "ours_median_s": round(statistics.median(ours), 3),
        "ours_max_s": round(max(ours), 3),
        "bare_median_s": round(statistics.median(bare), 3),
        "bare_max_s": round(max(bare), 3),
        "valid": sum(r["valid"] for r in per_model),
        "certain": sum(r["certain"] for r in per_model),
        "bare_answered": sum(r["bare_answered"] for r in per_model),
        "slowest": max(per_model, key=lambda r: r["ours_s"])["model"],
        "per_model": per_model,
    }


def iis_rows(r: dict) -> list[tuple[str, str, str]]:
    return [
        ("iis", f"`ordebug iis` on {r['models']} real infeasible models: median / max per model",
         f"{r['ours_median_s']} s / {r['ours_max_s']} s ({r['slowest']})"),
        ("iis", "SCIP's bare `generateIIS()` (rows only, no bounds), same files, same run: median / max",
         f"{r['bare_median_s']} s / {r['bare_max_s']} s ({r['bare_answered']} of {r['models']} answered)"),
        ("iis", "answers certain / checked infeasible and irreducible",
         f"{r['certain']} / {r['valid']} of {r['models']}"),
    ]


# Snakemake as if the Slurm plugin were not installed: its modules hidden from plugin discovery.
_WITHOUT_SLURM_PLUGIN = (
    "import pkgutil, sys; _iter = pkgutil.iter_modules; "
    "pkgutil.iter_modules = lambda *a, **k: (m for m in _iter(*a, **k) "
    "if not m.name.startswith('snakemake_executor_plugin_slurm')); "
    "from snakemake.cli import main; sys.argv[0] = 'snakemake'; main()"
)


def _timed_snakemake(workdir: Path, cores: int, env: dict, *targets: str, plugin: bool = True) -> float:
    start = time.perf_counter()
    cmd = ["-m", "snakemake"] if plugin else ["-c", _WITHOUT_SLURM_PLUGIN]
    subprocess.run([sys.executable, *cmd, *targets, "--snakefile", str(ROOT / "Snakefile"),
                    "--directory", str(workdir), "--cores", str(cores)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def _stopped_controller_conf(src: Path, dst: Path, parked: bool) -> Path:
    """A copy of ``src`` whose controller port has nobody listening (a stopped controller,
    whatever the real cluster does), parked as ``slurm_cluster.sh stop`` leaves it or not."""
    import re
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = re.sub(r"(?m)^(SlurmctldPort|MessageTimeout)=.*\n?", "", src.read_text())
    text = re.sub(r"(?m)^# parked by slurm_cluster.sh.*\n?", "", text)
    text += f"\nSlurmctldPort={port}\n"
    dst.write_text(text)
    if parked:
        subprocess.run(["bash", str(ROOT / "scripts" / "ci" / "slurm_cluster.sh"), "park", str(dst)], check=True)
    return dst


def slurm_noop_stage(workdir: Path, cores: int = 4, targets: tuple[str, ...] = (), repeats: int = 3) -> dict:
    """No-op ``snakemake -j{cores}`` in a finished workdir with the Slurm executor plugin installed
    and Slurm's tools on PATH but no controller answering: as Slurm's stock configuration
    leaves it, and parked (``slurm_cluster.sh stop``); and, when the cluster is up, with the
    controller running. Best of ``repeats`` runs each."""
    import importlib.util
    import os

    conf = Path(os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf"))
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return {"skipped": "snakemake-executor-plugin-slurm is not installed (pip install -e '.[cluster]')"}
    if shutil.which("scontrol") is None or not conf.is_file():
        return {"skipped": f"Slurm's tools or {conf} are absent"}
    out: dict = {"cores": cores, "targets": list(targets) or ["(default)"]}

    def measure(state: str, env: dict, plugin: bool = True) -> None:
        if plugin:  # what the plugin runs at import, alone
            start = time.perf_counter()
            subprocess.run(["scontrol", "show", "config"], env=env, capture_output=True)
            out[f"scontrol_{state}_s"] = round(time.perf_counter() - start, 2)
        out[f"noop_{state}_s"] = round(min(_timed_snakemake(workdir, cores, env, *targets, plugin=plugin)
                                           for _ in range(repeats)), 1)

    with tempfile.TemporaryDirectory(prefix="ordebug-slurmconf-") as tmp:
        for state, parked in (("stopped", False), ("parked", True)):
            c = _stopped_controller_conf(conf, Path(tmp) / f"{state}.conf", parked)
            env = dict(os.environ, SLURM_CONF=str(c))
            measure(state, env)
        measure("no_plugin", env, plugin=False)
    env = dict(os.environ, SLURM_CONF=str(conf))
    ping = subprocess.run(["scontrol", "ping"], env=env, capture_output=True, text=True)
    if ping.returncode == 0 and "UP" in ping.stdout:  # the real cluster is running: its figure too
        measure("running", env)
    return out


def slurm_noop_rows(r: dict) -> list[tuple[str, str, str]]:
    if "skipped" in r:
        return [("pipeline", "no-op rerun with Slurm installed, controller stopped", f"skipped: {r['skipped']}")]
    target = " ".join(t for t in r["targets"] if t != "(default)")
    what = (f"no-op rerun of `snakemake -j{r['cores']}{' ' + target if target else ''}`, Slurm plugin + tools "
            "installed, controller stopped")
    return [
        ("pipeline", f"{what}: stock slurm.conf (`scontrol show config` waits)",
         f"{r['noop_stopped_s']} s ({r['scontrol_stopped_s']} s)"),
        ("pipeline", f"{what}: slurm.conf parked by `slurm_cluster.sh stop`",
         f"{r['noop_parked_s']} s ({r['scontrol_parked_s']} s)"),
        ("pipeline", f"{what.replace('Slurm plugin + tools', 'Slurm tools')}: plugin not installed "
                     "(no `cluster` extra)", f"{r['noop_no_plugin_s']} s"),
    ] + ([("pipeline", f"{what.replace('controller stopped', 'controller running')} (local run)",
           f"{r['noop_running_s']} s ({r['scontrol_running_s']} s)")] if "noop_running_s" in r else [])
