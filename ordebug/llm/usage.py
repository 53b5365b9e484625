"""Token and cost accounting, with an optional budget cap."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


class BudgetExceeded(RuntimeError):
    """The configured budget is spent: no new request is sent."""


@dataclass
class Usage:
    """This process's counters. Reasoning tokens are part of the completion tokens (billed at
    the output price); they have their own column to show what the hidden reasoning costs."""

    price_input_per_mtok: float = 0.0
    price_output_per_mtok: float = 0.0
    budget_usd: float | None = None
    batch_price_factor: float = 1.0
    requests: int = 0
    batch_requests: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    retries: int = 0
    rate_limited: int = 0  # 429 answers
    refused: int = 0  # 400 unsupported_parameter / unsupported_value answers
    spent_usd: float = 0.0
    start: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def cost(self, prompt: int, completion: int, batch: bool = False) -> float:
        factor = self.batch_price_factor if batch else 1.0
        return (prompt * self.price_input_per_mtok + completion * self.price_output_per_mtok) * factor / 1e6

    @property
    def cost_usd(self) -> float:
        return self.spent_usd

    def add(self, prompt: int, completion: int, cached: bool, reasoning: int = 0, batch: bool = False) -> float:
        """Count one answer; its cost (0 for a cached one)."""
        with self._lock:
            if cached:
                self.cached += 1
                return 0.0
            cost = self.cost(prompt, completion, batch)
            self.requests += 1
            self.batch_requests += int(batch)
            self.prompt_tokens += prompt
            self.completion_tokens += completion
            self.reasoning_tokens += reasoning
            self.spent_usd += cost
            return cost

    def summary(self) -> dict:
        dt = max(time.monotonic() - self.start, 1e-9)
        return {
            "requests": self.requests,
            "batch_requests": self.batch_requests,
            "cached": self.cached,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "refused": self.refused,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "requests_per_s": round(self.requests / dt, 3),
            "tokens_per_s": round((self.prompt_tokens + self.completion_tokens) / dt, 1),
        }
