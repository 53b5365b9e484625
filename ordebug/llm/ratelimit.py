"""Request and token rates per minute, shared by every job of an account (the buckets live
in :class:`~ordebug.llm.account.Account`), so no 60-second window sees more than the
configured rate. Rate-limit headers from the server (``x-ratelimit-remaining-*`` at 0,
``Retry-After``) pause every job until the reset.
"""

from __future__ import annotations

import asyncio
import re

from ordebug.llm.account import Account

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$")


def parse_duration(text: str) -> float | None:
    """``1s``, ``6m0s``, ``250ms``, ``0.5`` (seconds) -> seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    m = _DURATION.match(text)
    if not m or not any(m.groups()):
        return None
    h, mi, s, ms = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mi * 60 + s + ms / 1000


class RateLimiter:
    """Requests/min and tokens/min for one account, and pauses set from server headers.

    The buckets live in an :class:`~ordebug.llm.account.Account`: a SQLite file shared by
    every job on the machine, or (without one) a private in-memory store. Within a process
    one coroutine at a time waits for the buckets, so requests leave in order."""

    def __init__(self, requests_per_minute: float, tokens_per_minute: float, account: Account | None = None) -> None:
        self.account = account or Account(None, "local", requests_per_minute, tokens_per_minute)
        self._lock: asyncio.Lock | None = None

    async def acquire(self, tokens: float) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while True:
                wait = self.account.try_take(tokens)
                if wait <= 0:
                    return
                await asyncio.sleep(wait)

    def refund(self, tokens: float) -> None:
        """Give back the part of a token estimate that the answer did not use."""
        self.account.refund(tokens)

    def pause(self, seconds: float) -> None:
        self.account.pause(seconds)

    def observe(self, headers: dict[str, str]) -> None:
        """Honour ``x-ratelimit-remaining-*`` = 0 by pausing until the matching reset."""
        for kind in ("requests", "tokens"):
            remaining = headers.get(f"x-ratelimit-remaining-{kind}")
            reset = headers.get(f"x-ratelimit-reset-{kind}")
            if remaining is not None and reset is not None:
                try:
                    if float(remaining) <= 0:
                        secs = parse_duration(reset)
                        if secs:
                            self.pause(secs)
                except ValueError:
                    continue
