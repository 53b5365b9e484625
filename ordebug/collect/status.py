"""One view of a teacher collection across all its jobs (``ordebug status``).

Everything comes from files every job writes on the shared filesystem, so it works while
jobs run anywhere: the train shards (problems in all), each shard's outcomes (a finished
job) or its journal (a running or killed job: problems done, when, and Batch API jobs
pending), and the account database (requests, tokens, reasoning tokens, cost, 429s,
refused requests and the adaptations learnt). Requests, tokens and cost are the account's
ledger over every run, which is what ``budget_usd`` caps.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ordebug.llm.config import TeacherConfig

ETA_WINDOW_S = 3600.0


def _shards(root: Path) -> dict[str, Path]:
    """Train shard ids and files, as the workflow names them (``L`` ids: the large tier)."""
    out = {p.stem.removeprefix("shard_"): p for p in sorted((root / "data/bench/train").glob("shard_*.jsonl"))}
    out.update({f"L{p.stem.removeprefix('shard_')}": p
                for p in sorted((root / "data/bench/train_large").glob("shard_*.jsonl"))})
    return out


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def _journal(path: Path) -> tuple[dict[str, dict], list[float], int]:
    """Problem entries of the journal's latest key, their times, and batches pending."""
    lines = []
    for raw in path.read_bytes().splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if isinstance(entry, dict):
            lines.append(entry)
    problems = [e for e in lines if "problem_id" in e]
    key = problems[-1].get("key") if problems else None
    done = {e["problem_id"]: e for e in problems if e.get("key") == key}
    stamps = [float(e["ts"]) for e in done.values() if "ts" in e]
    harvested = {e["batch_done"] for e in lines if "batch_done" in e}
    pending = sum(1 for e in lines if "batch" in e and e["batch"].get("id") not in harvested)
    return done, stamps, pending


def _ledger(cfg: TeacherConfig) -> dict[str, Any]:
    """The account's totals (zeros before its first request)."""
    out: dict[str, Any] = {"requests": 0, "batch_requests": 0, "prompt_tokens": 0, "completion_tokens": 0,
                           "reasoning_tokens": 0, "cost_usd": 0.0, "rate_limited": 0, "refused": 0,
                           "adaptations": {}}
    path = Path(cfg.account_file)
    if not path.is_file():
        return out
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        cols = {row[1] for row in db.execute("PRAGMA table_info(spend)")}
        reasoning = "SUM(reasoning_tokens)" if "reasoning_tokens" in cols else "0"
        batch = "SUM(batch)" if "batch" in cols else "0"
        row = db.execute(f"SELECT COUNT(*), {batch}, SUM(prompt_tokens), SUM(completion_tokens), {reasoning}, "
                         "SUM(cost_usd) FROM spend WHERE account = ?", (cfg.account,)).fetchone()
        keys = ("requests", "batch_requests", "prompt_tokens", "completion_tokens", "reasoning_tokens", "cost_usd")
        out.update({k: v or 0 for k, v in zip(keys, row, strict=True)})
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "events" in tables:
            events = dict(db.execute("SELECT kind, COUNT(*) FROM events WHERE account = ? GROUP BY kind",
                                     (cfg.account,)).fetchall())
            out.update(rate_limited=events.get("429", 0), refused=events.get("refused", 0))
        if "adaptations" in tables:
            out["adaptations"] = dict(db.execute("SELECT param, action FROM adaptations WHERE account = ?",
                                                 (cfg.account,)).fetchall())
    finally:
        db.close()
    return out


def teacher_status(name: str, settings: dict, root: Path = Path("."), now: float | None = None) -> dict[str, Any]:
    """The collection of one teacher: problems, success, the account's usage, cost, ETA."""
    now = time.time() if now is None else now
    cfg = TeacherConfig.from_dict(name, settings)
    for key in ("cache_path", "account_path"):
        value = getattr(cfg, key)
        if value and not Path(value).is_absolute():
            setattr(cfg, key, str(root / value))
    shards = _shards(root)
    total = done = ok = finished = running = batches = 0
    stamps: list[float] = []
    for sid, path in shards.items():
        total += _count_lines(path)
        outcomes = root / f"data/collect/{name}/shard_{sid}.outcomes.jsonl"
        journal = root / f"data/journal/collect/{name}/shard_{sid}.jsonl"
        if outcomes.is_file():
            rows = [json.loads(x) for x in outcomes.read_text().splitlines() if x.strip()]
            done += len(rows)
            ok += sum(bool(r.get("success")) for r in rows)
            finished += 1
        elif journal.is_file():
            entries, times, pending = _journal(journal)
            done += len(entries)
            ok += sum(bool(e.get("outcome", {}).get("success")) for e in entries.values())
            stamps += times
            running += 1
            batches += pending
    recent = [t for t in stamps if now - t <= ETA_WINDOW_S]
    span = now - min(recent) if recent else 0.0
    rate = len(recent) / span if span > 0 else 0.0
    eta = (total - done) / rate if rate > 0 and total > done else None
    return {"teacher": name, "model": cfg.model, "endpoint": cfg.endpoint, "batch": cfg.batch, "shards": len(shards),
            "shards_finished": finished, "shards_started": running, "batches_pending": batches,
            "problems": total, "done": done, "successful": ok, "success_rate": ok / done if done else None,
            "problems_per_min": rate * 60, "eta_s": eta, "budget_usd": cfg.budget_usd, **_ledger(cfg)}


def collection_status(config: dict, root: Path = Path("."), teachers: list[str] | None = None) -> list[dict]:
    """The status of every configured teacher (or those named)."""
    configured = config.get("teachers") or {}
    names = teachers or list(configured)
    unknown = [n for n in names if n not in configured]
    if unknown:
        raise ValueError(f"not a configured teacher: {', '.join(unknown)} (configured: {', '.join(configured)})")
    return [teacher_status(n, configured[n], root) for n in names]


def _n(x: float) -> str:
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.1f}k" if x >= 1e4 else f"{int(x)}"


def _eta(s: dict) -> str:
    if s["done"] >= s["problems"] and s["problems"]:
        return "done"
    if s["eta_s"] is None:
        return "unknown"
    secs = int(s["eta_s"])
    return f"{secs // 3600}:{secs % 3600 // 60:02d}:{secs % 60:02d}"


def _cost(s: dict) -> str:
    if s["budget_usd"] is None:
        return f"${s['cost_usd']:.2f} (no budget_usd)"
    share = s["cost_usd"] / s["budget_usd"] if s["budget_usd"] else 0.0
    return f"${s['cost_usd']:.2f} of ${s['budget_usd']:.2f} budget ({100 * share:.1f}%)"


def format_status(rows: list[dict]) -> str:
    """A few lines per teacher, for a terminal."""
    out = []
    for s in rows:
        rate = "-" if s["success_rate"] is None else f"{100 * s['success_rate']:.1f}%"
        adapted = ", ".join(f"{k} {'omitted' if v == 'omit' else '-> ' + v.split(':', 1)[1]}"
                            for k, v in s["adaptations"].items())
        out += [f"{s['teacher']}: {s['model']} at {s['endpoint']}" + (" (Batch API)" if s["batch"] else ""),
                f"  problems  {s['done']}/{s['problems']} done ({s['shards_finished']} of {s['shards']} shards "
                f"finished, {s['shards_started']} started), success {rate}",
                f"  requests  {s['requests']} ({s['batch_requests']} batch, {s['batches_pending']} batches pending), "
                f"429s {s['rate_limited']}, refused {s['refused']}" + (f" (adapted: {adapted})" if adapted else ""),
                f"  tokens    in {_n(s['prompt_tokens'])}, out {_n(s['completion_tokens'])} "
                f"(reasoning {_n(s['reasoning_tokens'])})",
                f"  cost      {_cost(s)}",
                f"  ETA       {_eta(s)}" + (f" at {s['problems_per_min']:.1f} problems/min"
                                            if s["problems_per_min"] else "")]
    return "\n".join(out)


def status_line(s: dict) -> str:
    """One line of one teacher, for the Snakemake output."""
    rate = "-" if s["success_rate"] is None else f"{100 * s['success_rate']:.1f}%"
    budget = "" if s["budget_usd"] is None else f"/${s['budget_usd']:.2f}"
    return (f"status {s['teacher']}: {s['done']}/{s['problems']} problems, success {rate}, {s['requests']} requests, "
            f"tokens in/out/reasoning {_n(s['prompt_tokens'])}/{_n(s['completion_tokens'])}/"
            f"{_n(s['reasoning_tokens'])}, ${s['cost_usd']:.2f}{budget}, {s['rate_limited']} 429s, ETA {_eta(s)}")


def collecting(root: Path, name: str) -> bool:
    """Whether a collection of ``name`` has started (a journal exists)."""
    return any((root / f"data/journal/collect/{name}").glob("shard_*.jsonl"))


def start_reporter(config: dict, teachers: list[str], every_s: float, say: Any, root: Path = Path(".")
                   ) -> threading.Thread:
    """A daemon thread that says one :func:`status_line` per teacher whose collection has
    started, every ``every_s`` seconds (the Snakemake main process runs it)."""

    def loop() -> None:
        while True:
            time.sleep(every_s)
            for name in teachers:
                if not collecting(root, name):
                    continue
                try:
                    say(status_line(teacher_status(name, config["teachers"][name], root)))
                except Exception as exc:  # a status line never stops the workflow
                    say(f"status {name}: unavailable ({type(exc).__name__}: {exc})")

    thread = threading.Thread(target=loop, name="ordebug-status", daemon=True)
    thread.start()
    return thread
