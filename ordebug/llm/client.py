"""The request layer shared by collection and evaluation.

``LLMClient.complete(messages, sample)`` looks the request up in the response cache,
waits for the rate limiter, sends it with the official ``openai`` async client, retries
429/5xx/timeouts/connection errors/garbled bodies with exponential backoff and jitter
(honouring ``Retry-After``), fails fast on 401/403/404, accounts tokens and cost, and
caches the answer. The API key never reaches a log line, a cache row or an exception text.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any

import openai

from ordebug.llm.account import Account
from ordebug.llm.cache import ResponseCache, request_key
from ordebug.llm.config import TeacherConfig, redact
from ordebug.llm.ratelimit import RateLimiter, parse_duration
from ordebug.llm.usage import BudgetExceeded, Usage
from ordebug.solver.errors import OrDebugError

log = logging.getLogger("ordebug")


class FatalAPIError(OrDebugError):
    """401/403/404: no retry can help; the whole shard stops at once."""


class RequestFailed(RuntimeError):
    """A request that still failed after every retry (the problem fails, the shard goes on)."""


def _retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers if exc.response is not None else {}
    value = headers.get("retry-after-ms")
    if value:
        try:
            return float(value) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    return parse_duration(value) if value else None


class LLMClient:
    def __init__(self, config: TeacherConfig, cache: ResponseCache | None = None, usage: Usage | None = None,
                 limiter: RateLimiter | None = None) -> None:
        self.config = config
        self._key = config.api_key()  # raises MissingKeyError before any work
        self.cache = cache or ResponseCache(config.cache_path)
        self.usage = usage or Usage(config.price_input_per_mtok, config.price_output_per_mtok, config.budget_usd)
        self.account = Account(config.account_file, config.account, config.requests_per_minute,
                               config.tokens_per_minute)
        self.limiter = limiter or RateLimiter(config.requests_per_minute, config.tokens_per_minute, self.account)
        self.inflight = asyncio.Semaphore(config.max_concurrency)
        self._client = openai.AsyncOpenAI(
            api_key=self._key, base_url=config.endpoint, max_retries=0, timeout=config.timeout_s
        )

    def _params(self, sample: int) -> dict[str, Any]:
        p: dict[str, Any] = {"temperature": self.config.temperature, "max_tokens": self.config.max_tokens}
        if self.config.attempts_per_problem > 1 or sample:
            p["seed"] = sample
        return p

    def scrub(self, text: str) -> str:
        return redact(text, [self._key])

    def check_budget(self) -> None:
        """Stop before a request once the account's ledger (every job, every run) reaches the budget."""
        budget = self.config.budget_usd
        if budget is None:
            return
        spent = self.account.spent()
        if spent >= budget:
            raise BudgetExceeded(f"budget of ${budget:.2f} reached (${spent:.4f} spent on {self.config.account} "
                                 "by every job so far)")

    async def complete(self, messages: list[dict], sample: int = 0) -> dict:
        """The answer as ``{content, reasoning, finish_reason, prompt_tokens, completion_tokens, cached,
        retries, rate_limited, cost_usd}`` (the last three: this call's own)."""
        params = self._params(sample)
        key = request_key(self.config.endpoint, self.config.model, messages,
                          {**params, "extra_body": self.config.extra_body}, sample)
        hit = self.cache.get(key)
        if hit is not None:
            self.usage.add(hit["prompt_tokens"], hit["completion_tokens"], cached=True)
            return {**hit, "cached": True, "retries": 0, "rate_limited": 0, "cost_usd": 0.0}
        self.check_budget()
        estimate = len(json.dumps(messages)) / 4 + min(self.config.max_tokens, 1024)
        attempt = limited = 0
        while True:
            await self.limiter.acquire(estimate)
            try:
                async with self.inflight:
                    raw = await self._client.chat.completions.with_raw_response.create(
                        model=self.config.model, messages=messages, extra_body=self.config.extra_body or None,
                        **params,
                    )
                self.limiter.observe({k.lower(): v for k, v in raw.headers.items()})
                result = self._parse(raw.parse())
                break
            except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as exc:
                raise FatalAPIError(
                    f"teacher {self.config.name!r}: HTTP {exc.status_code} from {self.config.endpoint} "
                    f"({self._why(exc)}); check {self.config.api_key_env}, the model name and access"
                ) from None
            except openai.RateLimitError as exc:
                wait = _retry_after(exc) or self._backoff(attempt)
                self.limiter.pause(wait)
                reason = "429"
                limited += 1
                self.usage.rate_limited += 1
            except openai.BadRequestError as exc:
                raise RequestFailed(f"HTTP 400: {self.scrub(self._why(exc))}") from None
            except (openai.InternalServerError, openai.APIStatusError) as exc:
                wait, reason = self._backoff(attempt), f"HTTP {exc.status_code}"
            except (openai.APITimeoutError, openai.APIConnectionError):
                wait, reason = self._backoff(attempt), "timeout/connection"
            except (openai.APIResponseValidationError, json.JSONDecodeError, ValueError, TypeError, KeyError):
                wait, reason = self._backoff(attempt), "unparseable response body"
            attempt += 1
            self.usage.retries += 1
            if attempt > self.config.max_retries:
                raise RequestFailed(f"gave up after {attempt} attempts (last: {reason})")
            log.info("retry %d in %.2f s after %s", attempt, wait, reason)
            await asyncio.sleep(wait)
        self.limiter.refund(estimate - result["prompt_tokens"] - result["completion_tokens"])
        self.usage.add(result["prompt_tokens"], result["completion_tokens"], cached=False)
        cost = self.usage.cost(result["prompt_tokens"], result["completion_tokens"])
        self.account.record_spend(result["prompt_tokens"], result["completion_tokens"], cost)
        if result["finish_reason"] == "stop":
            self.cache.put(key, self.config.model, result)  # a truncated answer is not worth keeping
        return {**result, "cached": False, "retries": attempt, "rate_limited": limited, "cost_usd": cost}

    def _backoff(self, attempt: int) -> float:
        base = min(self.config.backoff_max_s, self.config.backoff_base_s * 2**attempt)
        return base * random.uniform(0.5, 1.0)

    @staticmethod
    def _why(exc: openai.APIStatusError) -> str:
        body = exc.body if isinstance(exc.body, dict) else {}
        err = body.get("error", body) if isinstance(body, dict) else {}
        return str(err.get("message") or err.get("code") or type(exc).__name__) if isinstance(err, dict) else str(err)

    @staticmethod
    def _parse(completion: Any) -> dict:
        if isinstance(completion, str | bytes) or not getattr(completion, "choices", None):
            raise ValueError("response has no choices")
        choice = completion.choices[0]
        msg = choice.message
        extra = getattr(msg, "model_extra", None) or {}
        reasoning = extra.get("reasoning_content") or extra.get("reasoning") or getattr(msg, "reasoning_content", None)
        usage = completion.usage
        return {
            "id": getattr(completion, "id", None),
            "content": msg.content or "",
            "reasoning": reasoning or "",
            "finish_reason": choice.finish_reason or "stop",
            "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
            "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
        }

    async def close(self) -> None:
        await self._client.close()
        self.account.close()
