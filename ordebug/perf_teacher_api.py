"""The teacher on the real API's terms, measured against the local server enforcing the GPT-5
rules (refused ``max_tokens`` and temperature, hidden reasoning tokens): the same problems
collected with the shipped config directly and through the Batch API, and with a config
written for an open-model server (``max_tokens``, temperature 0.7) under a model name that
hides its family, over two jobs of one account. Figures: HTTP requests, batch lines, 400s,
tokens, cost from the account's ledger at the configured prices, wall time; and the text of
``ordebug status`` in the middle of the direct run and at its end.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from ordebug.jsonl import write_jsonl_atomic

KEY_ENV = "ORDEBUG_BENCH_KEY"
MODEL = "gpt-5.2-chat"


def _collect(root: Path, teacher: dict, name: str = "gpt52chat") -> dict:
    from ordebug.collect.shard import CollectConfig
    from ordebug.collect.teacher import collect_teacher_shard
    from ordebug.env.environment import EnvConfig
    from ordebug.llm.config import TeacherConfig

    cfg = TeacherConfig.from_dict(name, teacher)
    out = root / f"data/collect/{name}"
    start = time.monotonic()
    res = collect_teacher_shard(root / "data/bench/train/shard_000.jsonl", out / "shard_000.jsonl",
                                out / "shard_000.outcomes.jsonl", root / f"data/journal/collect/{name}/shard_000.jsonl",
                                cfg, CollectConfig(name, workers=2), EnvConfig())
    return {**res, "wall_s": round(time.monotonic() - start, 1)}


def _ledger(path: Path) -> dict:
    db = sqlite3.connect(path)
    row = db.execute("SELECT COUNT(*), SUM(batch), SUM(prompt_tokens), SUM(completion_tokens), SUM(reasoning_tokens),"
                     " SUM(cost_usd) FROM spend").fetchone()
    refused = db.execute("SELECT COUNT(*) FROM events WHERE kind = 'refused'").fetchone()[0]
    db.close()
    keys = ("paid", "batch_lines", "prompt_tokens", "completion_tokens", "reasoning_tokens", "cost_usd")
    return {**dict(zip(keys, (v or 0 for v in row), strict=True)), "refused": refused}


def teacher_api_stage(n_problems: int = 40, latency: float = 0.2, reasoning_tokens: int = 600,
                      batch_delay_s: float = 2.0) -> dict:
    from ordebug.bench.generate import BenchSpec, generate_problem
    from ordebug.collect.status import collection_status, format_status
    from ordebug.config import load_config
    from ordebug.testing.teacher_server import ServerConfig, ServerThread

    os.environ[KEY_ENV] = "sk-bench"
    work = Path(tempfile.mkdtemp(prefix="ordebug-teacher-api-"))
    problems = [generate_problem(BenchSpec(seed=20260101), "train", i) for i in range(n_problems)]
    config = load_config("config/config.yaml")
    shipped = dict(config["teachers"]["gpt52chat"])
    server = ServerConfig(api_key="sk-bench", models=(MODEL, "house-model"), gpt5_models=(MODEL, "house-model"),
                          reasoning_tokens=reasoning_tokens, latency_s=latency, batch_delay_s=batch_delay_s)
    runs: dict[str, dict] = {}
    status: dict[str, str] = {}
    with ServerThread(server) as srv:
        def run(label: str, root: Path, snapshot: bool = False, **overrides: object) -> None:
            write_jsonl_atomic(root / "data/bench/train/shard_000.jsonl", problems)
            teacher = {**shipped, "base_url": srv.base_url, "api_key_env": KEY_ENV, "max_concurrency": 16,
                       "cache_path": str(root / "data/cache/llm_responses.sqlite"), "batch_poll_s": 0.5,
                       "budget_usd": 5.0, **overrides}
            config["teachers"] = {"gpt52chat": teacher}
            s = srv.server
            before = (s.requests, s.batch_lines, s.status.get(400, 0), len(s.batches))
            journal = root / "data/journal/collect/gpt52chat/shard_000.jsonl"
            if snapshot:
                def peek() -> None:
                    while not (journal.is_file() and journal.read_text().count("\n") >= n_problems // 3):
                        time.sleep(0.05)
                    status["running"] = format_status(collection_status(config, root))

                watcher = threading.Thread(target=peek, daemon=True)
                watcher.start()
            res = _collect(root, teacher)
            if snapshot:
                watcher.join(5)
                status["finished"] = format_status(collection_status(config, root))
            runs[label] = {"problems": res["problems"], "successful": res["successful"], "wall_s": res["wall_s"],
                           "http_requests": s.requests - before[0], "batch_lines": s.batch_lines - before[1],
                           "http_400": s.status.get(400, 0) - before[2], "batches": len(s.batches) - before[3],
                           **_ledger(root / "data/cache/teacher_accounts.sqlite")}

        run("direct", work / "direct", snapshot=True)
        run("batch", work / "batch", batch=True)
        legacy = {"model": "house-model", "temperature": 0.7}  # token_param auto: max_tokens at 127.0.0.1
        hidden = work / "hidden"
        run("hidden_job1", hidden, **legacy)
        (hidden / "data/cache/llm_responses.sqlite").unlink()  # job 2: nothing cached, same account
        run("hidden_job2", hidden, **legacy)
    return {"runs": runs, "status": status, "problems": n_problems, "latency_s": latency,
            "reasoning_tokens": reasoning_tokens, "workdir": str(work)}


def teacher_api_rows(r: dict) -> list[tuple[str, str, str]]:
    d, b = r["runs"]["direct"], r["runs"]["batch"]
    h1, h2 = r["runs"]["hidden_job1"], r["runs"]["hidden_job2"]
    n = r["problems"]

    def cost(x: dict) -> str:
        return f"${x['cost_usd']:.4f} ({x['prompt_tokens']} in, {x['completion_tokens']} out of which " \
               f"{x['reasoning_tokens']} reasoning)"

    return [
        ("teacher API", f"shipped config vs GPT-5 rules, {n} problems, direct: HTTP requests (400s; successful)",
         f"{d['http_requests']} ({d['http_400']}; {d['successful']}/{d['problems']})"),
        ("teacher API", "direct: cost at list price (tokens)", cost(d)),
        ("teacher API", "same problems, `batch: true`: batches, batch lines + direct requests (400s; successful)",
         f"{b['batches']}, {b['batch_lines']} + {b['http_requests']} ({b['http_400']}; "
         f"{b['successful']}/{b['problems']})"),
        ("teacher API", "batch: cost at batch price (tokens)", cost(b)),
        ("teacher API", "batch / direct cost", f"{b['cost_usd'] / max(d['cost_usd'], 1e-12):.3f}"),
        ("teacher API", f"wall: direct / batch ({r['latency_s']:g} s latency; a local batch takes seconds, "
         "a real one up to 24 h)", f"{d['wall_s']} s / {b['wall_s']} s"),
        ("teacher API", "config for an open-model server (max_tokens, temperature 0.7) on a model name hiding "
         "its family: 400s in job 1 / job 2 of the account", f"{h1['http_400']} / {h2['http_400']}"),
    ]
