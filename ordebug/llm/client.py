"""The request layer shared by collection and evaluation.

``LLMClient.complete(messages, sample)`` looks the request up in the response cache,
waits for the rate limiter, sends it with the official ``openai`` async client (or its
Azure client), retries 429/5xx/timeouts/connection errors/garbled bodies with exponential
backoff and jitter (honouring ``Retry-After``), fails fast on 401/403/404, accounts tokens
(reasoning tokens too) and cost, and caches the answer. Request fields follow
:mod:`ordebug.llm.rules`; a 400 that refuses a field adapts the account's rules once (or
stops, ``on_unsupported: stop``). An empty answer cut by the completion budget is asked
again with twice the budget, up to ``max_tokens_cap``; past the cap it comes back with a
``failure`` reason. The first request of a client goes alone, so a refused field costs
one request per job, not one per request in flight. With a :class:`~ordebug.llm.batch.
BatchRunner` attached, requests after that first one go out through the Batch API.
The API key never reaches a log line, a cache row or an exception text.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import TYPE_CHECKING, Any

import openai

from ordebug.llm.account import Account
from ordebug.llm.cache import ResponseCache, request_key
from ordebug.llm.config import TeacherConfig, redact
from ordebug.llm.ratelimit import RateLimiter, parse_duration
from ordebug.llm.rules import adaptation_for, apply, base_params, config_key, reasoning_family, refusal
from ordebug.llm.usage import BudgetExceeded, Usage
from ordebug.solver.errors import OrDebugError

if TYPE_CHECKING:
    from ordebug.llm.batch import BatchRunner

log = logging.getLogger("ordebug")
SUMS = ("prompt_tokens", "completion_tokens", "reasoning_tokens", "cost_usd", "retries", "rate_limited")
STORED = ("id", "content", "reasoning", "finish_reason", "prompt_tokens", "completion_tokens", "reasoning_tokens")


class FatalAPIError(OrDebugError):
    """401/403/404 or a refused request field: no retry can help; the whole shard stops at once."""


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


def make_openai(config: TeacherConfig, key: str) -> openai.AsyncOpenAI:
    """The ``openai`` async client of a teacher: Azure's for ``provider: azure``."""
    if config.provider == "azure":
        return openai.AsyncAzureOpenAI(api_key=key, azure_endpoint=config.azure_endpoint,
                                       azure_deployment=config.deployment, api_version=config.api_version,
                                       max_retries=0, timeout=config.timeout_s)
    return openai.AsyncOpenAI(api_key=key, base_url=config.endpoint, max_retries=0, timeout=config.timeout_s)


def parse_completion(completion: Any) -> dict:
    """The fields we keep of a chat completion (an ``openai`` object or its JSON dict)."""
    if isinstance(completion, dict):
        from openai.types.chat import ChatCompletion

        completion = ChatCompletion.model_validate(completion)
    if isinstance(completion, str | bytes) or not getattr(completion, "choices", None):
        raise ValueError("response has no choices")
    choice = completion.choices[0]
    msg = choice.message
    extra = getattr(msg, "model_extra", None) or {}
    reasoning = extra.get("reasoning_content") or extra.get("reasoning") or getattr(msg, "reasoning_content", None)
    usage = completion.usage
    details = getattr(usage, "completion_tokens_details", None)
    return {
        "id": getattr(completion, "id", None),
        "content": msg.content or "",
        "reasoning": reasoning or "",
        "finish_reason": choice.finish_reason or "stop",
        "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
        "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
        "reasoning_tokens": int(getattr(details, "reasoning_tokens", 0) or 0),
    }


def empty_cut(result: dict) -> bool:
    """An answer with no content because the completion budget ran out (on reasoning)."""
    return result.get("finish_reason") == "length" and not str(result.get("content") or "").strip()


class LLMClient:
    def __init__(self, config: TeacherConfig, cache: ResponseCache | None = None, usage: Usage | None = None,
                 limiter: RateLimiter | None = None) -> None:
        self.config = config
        self._key = config.api_key()  # raises MissingKeyError before any work
        self.cache = cache or ResponseCache(config.cache_path)
        self.usage = usage or Usage(config.price_input_per_mtok, config.price_output_per_mtok, config.budget_usd,
                                    config.batch_price_factor)
        self.account = Account(config.account_file, config.account, config.requests_per_minute,
                               config.tokens_per_minute)
        self.limiter = limiter or RateLimiter(config.requests_per_minute, config.tokens_per_minute, self.account)
        self.inflight = asyncio.Semaphore(config.max_concurrency)
        self._client = make_openai(config, self._key)
        self.adaptations = self.account.adaptations()
        self.batcher: BatchRunner | None = None
        self._settled = False  # one request of this client was accepted: its fields are fine
        self._probe: asyncio.Lock | None = None
        self._fatal: FatalAPIError | None = None
        if config.temperature not in (None, 1, 1.0) and reasoning_family(config.model):
            log.warning("teacher %r: temperature %s is not sent: %s (GPT-5/o-series) takes only its default "
                        "(teachers.%s.temperature)", config.name, config.temperature, config.model, config.name)

    # -- what a request carries ----------------------------------------------------------
    def params(self, sample: int, budget: int) -> dict[str, Any]:
        """The request's settings as sent: family rules, then the account's adaptations."""
        return apply(base_params(self.config, budget, sample), self.adaptations)

    def body(self, messages: list[dict], sample: int, budget: int) -> dict[str, Any]:
        """The JSON body of a chat-completions request (a batch line's ``body``)."""
        return {"model": self.config.request_model, "messages": messages, **self.params(sample, budget),
                **self.config.extra_body}

    def cache_key(self, messages: list[dict], sample: int, budget: int) -> str:
        """The answer's cache key: what was asked (the configured settings, not their wire names)."""
        params: dict[str, Any] = {"temperature": self.config.temperature, "max_tokens": budget}
        if self.config.reasoning_effort is not None:
            params["reasoning_effort"] = self.config.reasoning_effort
        if self.config.attempts_per_problem > 1 or sample:
            params["seed"] = sample
        return request_key(self.config.endpoint, self.config.model, messages,
                           {**params, "extra_body": self.config.extra_body}, sample)

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

    # -- one step's answer -----------------------------------------------------------------
    async def complete(self, messages: list[dict], sample: int = 0) -> dict:
        """The answer as ``{content, reasoning, finish_reason, prompt_tokens, completion_tokens,
        reasoning_tokens, cached, requests, cached_answers, retries, rate_limited, cost_usd, budget}``
        (counts: this call's own, over every budget it tried) and ``failure`` when the answer
        stayed empty under ``max_tokens_cap``."""
        budget, cap = self.config.max_tokens, self.config.max_tokens_cap
        total: dict[str, float] = dict.fromkeys((*SUMS, "requests", "cached_answers"), 0)
        while True:
            key = self.cache_key(messages, sample, budget)
            hit = self.cache.get(key)
            if hit is not None:
                self.usage.add(hit["prompt_tokens"], hit["completion_tokens"], cached=True)
                res = {"reasoning_tokens": 0, **hit, "retries": 0, "rate_limited": 0, "cost_usd": 0.0}
                total["cached_answers"] += 1
            else:
                self.check_budget()
                res = await self._send(messages, sample, budget, key)
                self.store(key, res)
                total["requests"] += 1
            for k in SUMS:
                total[k] += res.get(k, 0) or 0
            if not empty_cut(res) or budget >= cap:
                break
            log.info("empty answer cut at %d completion tokens (%d reasoning); asking again with %d", budget,
                     res.get("reasoning_tokens", 0), min(cap, 2 * budget))
            budget = min(cap, 2 * budget)
        out = {**res, **total, "cached": total["requests"] == 0, "budget": budget}
        if empty_cut(res):
            out["failure"] = (f"empty answer: the completion budget of {budget} tokens (max_tokens_cap) went to "
                              f"reasoning ({res.get('reasoning_tokens', 0)} tokens; finish_reason=length)")
        return out

    def store(self, key: str, result: dict) -> None:
        """Cache a finished answer, and an empty cut one (a rerun then asks with more budget at
        once); an answer cut mid-text is not kept."""
        if result.get("finish_reason") == "stop" or empty_cut(result):
            self.cache.put(key, self.config.model, {k: result.get(k) for k in STORED})

    async def _send(self, messages: list[dict], sample: int, budget: int, key: str) -> dict:
        try:
            if not self._settled:  # the first request goes alone: a refused field is learnt once
                if self._probe is None:
                    self._probe = asyncio.Lock()
                async with self._probe:
                    if self._fatal is not None:
                        raise self._fatal
                    if not self._settled:
                        res = await self._send_direct(messages, sample, budget)
                        self._settled = True
                        return res
            if self._fatal is not None:
                raise self._fatal
            if self.batcher is not None:
                return await self.batcher.submit(key, messages, sample, budget)
            return await self._send_direct(messages, sample, budget)
        except FatalAPIError as exc:  # no request of this client goes out after a fatal answer
            self._fatal = exc
            raise

    async def _send_direct(self, messages: list[dict], sample: int, budget: int) -> dict:
        estimate = len(json.dumps(messages)) / 4 + min(budget, 1024)
        attempt = limited = 0
        while True:
            await self.limiter.acquire(estimate)
            try:
                async with self.inflight:
                    raw = await self._client.chat.completions.with_raw_response.create(
                        model=self.config.request_model, messages=messages,
                        extra_body=self.config.extra_body or None, **self.params(sample, budget),
                    )
                self.limiter.observe({k.lower(): v for k, v in raw.headers.items()})
                result = parse_completion(raw.parse())
                break
            except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as exc:
                raise self.fatal(exc) from None
            except openai.RateLimitError as exc:
                wait = _retry_after(exc) or self._backoff(attempt)
                self.limiter.pause(wait)
                reason = "429"
                limited += 1
                self.usage.rate_limited += 1
                self.account.record_event("429")
            except openai.BadRequestError as exc:
                if self.on_refusal(exc.body, sample, budget):
                    continue  # the field is adapted: send again at once
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
        cost = self.charge(result, batch=False)
        return {**result, "retries": attempt, "rate_limited": limited, "cost_usd": cost}

    def charge(self, result: dict, batch: bool, ref: str | None = None) -> float:
        """Count a paid answer here and in the account's ledger; its cost."""
        cost = self.usage.add(result["prompt_tokens"], result["completion_tokens"], cached=False,
                              reasoning=result.get("reasoning_tokens", 0), batch=batch)
        self.account.record_spend(result["prompt_tokens"], result["completion_tokens"], cost,
                                  result.get("reasoning_tokens", 0), batch, ref)
        return cost

    # -- refused fields ----------------------------------------------------------------------
    def on_refusal(self, body: object, sample: int = 0, budget: int = 1) -> bool:
        """A 400 body: True if it refused a field that is now adapted (send again), False if it
        is another 400; raises FatalAPIError if nothing we may change fixes it."""
        found = refusal(body)
        if found is None:
            return False
        code, param, message = found
        self.usage.refused += 1
        self.account.record_event("refused")
        self.adaptations = self.account.adaptations()  # another job may have learnt it already
        if param not in {**self.params(sample, budget), **self.config.extra_body}:
            return True  # sent before the field was adapted: the next request goes without it
        cfg = self.config
        adapt = cfg.on_unsupported == "adapt" and param not in cfg.extra_body  # extra_body is the user's own
        adaptation = adaptation_for(param, message, self.adaptations) if adapt else None
        if adaptation is None:
            raise FatalAPIError(f"teacher {cfg.name!r}: {cfg.endpoint} refuses {param!r} for {cfg.model} ({code}: "
                                f"{self.scrub(message)}); change config key '{config_key(cfg, param)}'")
        if self.account.adapt(param, adaptation.action, self.scrub(message)):
            log.warning("teacher %r: %s refuses %r for %s (%s); %s from now on for every job of this account "
                        "(recorded in %s; set %s to silence this)", cfg.name, cfg.endpoint, param, cfg.model, code,
                        adaptation.describe(), cfg.account_file, config_key(cfg, param))
        self.adaptations = self.account.adaptations()
        return True

    def fatal(self, exc: openai.APIStatusError) -> FatalAPIError:
        return FatalAPIError(f"teacher {self.config.name!r}: HTTP {exc.status_code} from {self.config.endpoint} "
                             f"({self.scrub(self._why(exc))}); check {self.config.api_key_env}, the model name and "
                             "access")

    def _backoff(self, attempt: int) -> float:
        base = min(self.config.backoff_max_s, self.config.backoff_base_s * 2**attempt)
        return base * random.uniform(0.5, 1.0)

    @staticmethod
    def _why(exc: openai.APIStatusError) -> str:
        body = exc.body if isinstance(exc.body, dict) else {}
        err = body.get("error", body) if isinstance(body, dict) else {}
        return str(err.get("message") or err.get("code") or type(exc).__name__) if isinstance(err, dict) else str(err)

    async def close(self) -> None:
        if self.batcher is not None:
            await self.batcher.close()
        await self._client.close()
        self.account.close()
