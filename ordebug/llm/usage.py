"""Token and cost accounting, with an optional budget cap."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


class BudgetExceeded(RuntimeError):
    """The configured budget is spent: no new request is sent."""


@dataclass
class Usage:
    price_input_per_mtok: float = 0.0
    price_output_per_mtok: float = 0.0
    budget_usd: float | None = None
    requests: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    rate_limited: int = 0  # 429 answers
    start: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def cost(self, prompt: int, completion: int) -> float:
        return (prompt * self.price_input_per_mtok + completion * self.price_output_per_mtok) / 1e6

    @property
    def cost_usd(self) -> float:
        return self.cost(self.prompt_tokens, self.completion_tokens)

    def add(self, prompt: int, completion: int, cached: bool) -> None:
        with self._lock:
            if cached:
                self.cached += 1
                return
            self.requests += 1
            self.prompt_tokens += prompt
            self.completion_tokens += completion

    def summary(self) -> dict:
        dt = max(time.monotonic() - self.start, 1e-9)
        return {
            "requests": self.requests,
            "cached": self.cached,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "requests_per_s": round(self.requests / dt, 3),
            "tokens_per_s": round((self.prompt_tokens + self.completion_tokens) / dt, 1),
        }
