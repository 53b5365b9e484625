"""One account, one limit: rate buckets, pauses and the spend ledger of a teacher endpoint,
shared by every process on the machine through one SQLite file (next to the response cache).

An *account* is an endpoint and a model (``https://api.openai.com/v1|gpt-5.2-chat``): all
teacher jobs that use it, however many run at once, draw requests and tokens from the same
two buckets, pause together after a 429 or an exhausted ``x-ratelimit-remaining-*``, and
add every paid answer to the same ledger, which the budget is checked against (so
``budget_usd`` caps the total across shards and reruns). Each decision is one short
``BEGIN IMMEDIATE`` transaction; the clock is the wall clock, common to all processes.

The same file keeps the account's events (429s, refused requests), the request-rule
adaptations learnt from 400 ``unsupported_parameter``/``unsupported_value`` answers (see
:mod:`ordebug.llm.rules`), and per paid answer its reasoning tokens and whether it went
through the Batch API. A ledger row with a ``ref`` (a batch line) is written at most once.

Buckets refill at ``per_minute / 61`` per second with one second's burst and start empty,
so that no 60-second window sees more than the configured rate.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (account TEXT, kind TEXT, level REAL, stamp REAL, PRIMARY KEY (account, kind));
CREATE TABLE IF NOT EXISTS pauses (account TEXT PRIMARY KEY, until REAL);
CREATE TABLE IF NOT EXISTS spend (account TEXT, ts REAL, prompt_tokens INTEGER, completion_tokens INTEGER,
                                  cost_usd REAL);
CREATE INDEX IF NOT EXISTS spend_account ON spend (account);
CREATE TABLE IF NOT EXISTS events (account TEXT, ts REAL, kind TEXT);
CREATE TABLE IF NOT EXISTS adaptations (account TEXT, param TEXT, action TEXT, note TEXT, ts REAL,
                                        PRIMARY KEY (account, param));
"""
SPEND_COLUMNS = {"reasoning_tokens": "INTEGER DEFAULT 0", "batch": "INTEGER DEFAULT 0", "ref": "TEXT"}


def migrate(db: sqlite3.Connection) -> None:
    """Add the ledger columns a file written by an older version lacks."""
    have = {row[1] for row in db.execute("PRAGMA table_info(spend)")}
    for name, decl in SPEND_COLUMNS.items():
        if name not in have:
            with contextlib.suppress(sqlite3.OperationalError):  # another process added it first
                db.execute(f"ALTER TABLE spend ADD COLUMN {name} {decl}")
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS spend_ref ON spend (account, ref)")


class Account:
    """The shared state of one account (``path=None``: private to this process, in memory)."""

    def __init__(self, path: str | Path | None, account: str, requests_per_minute: float,
                 tokens_per_minute: float) -> None:
        self.account = account
        self.rates = {"requests": requests_per_minute / 61.0, "tokens": tokens_per_minute / 61.0}
        self.capacity = {"requests": max(1.0, self.rates["requests"]), "tokens": tokens_per_minute / 60.0 * 2}
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path) if path is not None else ":memory:", timeout=60,
                                   check_same_thread=False, isolation_level=None)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        migrate(self._db)

    # -- buckets -----------------------------------------------------------------------
    def _levels(self, now: float) -> dict[str, float]:
        levels = {}
        for kind in ("requests", "tokens"):
            row = self._db.execute("SELECT level, stamp FROM buckets WHERE account = ? AND kind = ?",
                                   (self.account, kind)).fetchone()
            level, stamp = row if row else (0.0, now)
            levels[kind] = min(self.capacity[kind], level + max(0.0, now - stamp) * self.rates[kind])
        return levels

    def _store(self, levels: dict[str, float], now: float) -> None:
        for kind, level in levels.items():
            self._db.execute("INSERT OR REPLACE INTO buckets VALUES (?, ?, ?, ?)", (self.account, kind, level, now))

    def _tx(self, fn):  # type: ignore[no-untyped-def]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                out = fn(time.time())
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return out

    def try_take(self, tokens: float) -> float:
        """Take one request and ``tokens`` if both buckets hold them and no pause is on:
        0.0; else the seconds to wait before trying again (nothing taken)."""
        def go(now: float) -> float:
            levels = self._levels(now)
            want = {"requests": 1.0, "tokens": min(tokens, self.capacity["tokens"])}
            wait = max(self.paused_for_at(now),
                       *((want[k] - levels[k]) / self.rates[k] for k in levels if want[k] > levels[k]), 0.0)
            if wait <= 0:
                levels = {k: levels[k] - want[k] for k in levels}
            self._store(levels, now)
            return wait

        return self._tx(go)

    def refund(self, tokens: float) -> None:
        """Give back the part of a token estimate the answer did not use."""
        if tokens <= 0:
            return

        def go(now: float) -> None:
            levels = self._levels(now)
            levels["tokens"] = min(self.capacity["tokens"], levels["tokens"] + tokens)
            self._store(levels, now)

        self._tx(go)

    # -- pauses ------------------------------------------------------------------------
    def paused_for_at(self, now: float) -> float:
        row = self._db.execute("SELECT until FROM pauses WHERE account = ?", (self.account,)).fetchone()
        return max(0.0, row[0] - now) if row else 0.0

    def paused_for(self) -> float:
        """Seconds every job of this account still waits."""
        with self._lock:
            return self.paused_for_at(time.time())

    def pause(self, seconds: float) -> None:
        """Every job of the account waits ``seconds`` from now (a pause never shrinks)."""
        def go(now: float) -> None:
            until = max(now + seconds, now + self.paused_for_at(now))
            self._db.execute("INSERT OR REPLACE INTO pauses VALUES (?, ?)", (self.account, until))

        self._tx(go)

    # -- spend ledger ------------------------------------------------------------------
    def record_spend(self, prompt_tokens: int, completion_tokens: int, cost_usd: float, reasoning_tokens: int = 0,
                     batch: bool = False, ref: str | None = None) -> bool:
        """Add a paid answer to the ledger; False if ``ref`` is there already (nothing added)."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO spend (account, ts, prompt_tokens, completion_tokens, cost_usd, "
                "reasoning_tokens, batch, ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (self.account, time.time(), prompt_tokens, completion_tokens, cost_usd, reasoning_tokens, int(batch),
                 ref))
            return cur.rowcount > 0

    def record_event(self, kind: str) -> None:
        """A 429 (``"429"``) or a refused request (``"refused"``), for ``ordebug status``."""
        with self._lock:
            self._db.execute("INSERT INTO events VALUES (?, ?, ?)", (self.account, time.time(), kind))

    # -- request-rule adaptations -----------------------------------------------------
    def adaptations(self) -> dict[str, str]:
        """``param -> action`` learnt for this account (``omit`` or ``rename:OTHER``)."""
        with self._lock:
            rows = self._db.execute("SELECT param, action FROM adaptations WHERE account = ? ORDER BY ts",
                                    (self.account,)).fetchall()
        return dict(rows)

    def adapt(self, param: str, action: str, note: str) -> bool:
        """Record an adaptation; False if another job recorded one for ``param`` first."""
        with self._lock:
            cur = self._db.execute("INSERT OR IGNORE INTO adaptations VALUES (?, ?, ?, ?, ?)",
                                   (self.account, param, action, note, time.time()))
            return cur.rowcount > 0

    def spent(self) -> float:
        """Dollars every job of this account has spent so far (all runs)."""
        with self._lock:
            row = self._db.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM spend WHERE account = ?",
                                   (self.account,)).fetchone()
        return float(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
