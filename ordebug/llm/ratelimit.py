"""Async token buckets for requests and tokens per minute, shared by all workers of a shard.

Buckets start nearly empty and refill continuously, so no 60-second window ever sees
more than the configured rate (plus one small burst). Rate-limit headers from the server
(``x-ratelimit-remaining-*`` at 0, ``Retry-After``) pause every worker until the reset.
"""

from __future__ import annotations

import asyncio
import re
import time


class TokenBucket:
    """Refills at ``per_minute / 61`` per second with one second's burst, so that
    burst + 60 s of refill never exceeds ``per_minute`` in any 60-second window."""

    def __init__(self, per_minute: float, burst: float | None = None) -> None:
        self.rate = per_minute / 61.0
        self.capacity = burst if burst is not None else max(1.0, self.rate)
        self.level = 0.0
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self, amount: float) -> float:
        self._refill()
        need = min(amount, self.capacity) - self.level
        return 0.0 if need <= 0 else need / self.rate

    def take(self, amount: float) -> None:
        self._refill()
        self.level -= min(amount, self.capacity)


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
    """Requests/min and tokens/min buckets plus a pause set from server headers."""

    def __init__(self, requests_per_minute: float, tokens_per_minute: float) -> None:
        self.requests = TokenBucket(requests_per_minute)
        self.tokens = TokenBucket(tokens_per_minute, burst=tokens_per_minute / 60.0 * 2)
        self.paused_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self, tokens: float) -> None:
        async with self._lock:
            while True:
                wait = max(self.paused_until - time.monotonic(), self.requests.wait_time(1),
                           self.tokens.wait_time(tokens))
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            self.requests.take(1)
            self.tokens.take(tokens)

    def refund(self, tokens: float) -> None:
        """Give back the part of a token estimate that the answer did not use."""
        if tokens > 0:
            self.tokens.level = min(self.tokens.capacity, self.tokens.level + tokens)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

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
