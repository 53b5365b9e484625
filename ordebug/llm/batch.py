"""Rounds of requests through the Batch API (``teachers.<name>.batch: true``).

Every problem of a shard waits on its teacher at the same point of its episode; when all
problems still running are waiting (or ``batch_gather_s`` has passed), their requests go out
as one batch: one JSONL file (``/v1/files``) and one batch (``/v1/batches``), polled every
``batch_poll_s`` until it ends. Each line's ``custom_id`` is the answer's cache key, so a
harvested answer lands in the response cache and the account's ledger (at batch prices,
once per line). The batch id goes to the shard's journal when the batch is created and is
marked done once harvested; a killed job, rerun, first polls the batches it had submitted,
so their answers come from the cache instead of being bought again.

What comes back per line: an answer (to the waiting problem); a 429, 5xx or a line the
window expired (``batch_expired``) goes out again in the next round, up to ``max_retries``
times; a refused field is adapted (:mod:`ordebug.llm.rules`) and the line sent again; other
errors fail the problem with the reason. A batch that fails as a whole fails its problems.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import openai

from ordebug.llm.client import FatalAPIError, RequestFailed, parse_completion

if TYPE_CHECKING:
    from ordebug.llm.client import LLMClient

log = logging.getLogger("ordebug")
ENDED = ("completed", "failed", "expired", "cancelled")


class BatchJournal(Protocol):
    def pending_batches(self) -> list[dict]: ...

    def append_batch(self, batch: dict) -> None: ...

    def batch_done(self, batch_id: str) -> None: ...


@dataclass
class Pending:
    """One request waiting for a round."""

    messages: list[dict]
    sample: int
    budget: int
    future: asyncio.Future = field(repr=False)
    tries: int = 0


class BatchRunner:
    """Sends the requests of ``expected`` concurrent problems round by round."""

    def __init__(self, client: LLMClient, journal: BatchJournal | None, expected: int) -> None:
        self.client, self.cfg, self.journal = client, client.config, journal
        self.active = expected  # problems not finished yet
        self.waiting = 0  # problems waiting for an answer (queued or in a running batch)
        self.queue: dict[str, Pending] = {}
        self.first_queued: float | None = None
        self.batches = 0
        self._ticker: asyncio.Task | None = None
        self._rounds: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        """The batch endpoint: Azure's is relative to its ``/openai`` root."""
        return "/chat/completions" if self.cfg.provider == "azure" else "/v1/chat/completions"

    def finished_one(self) -> None:
        """A problem is done: it will not ask again."""
        self.active -= 1

    async def submit(self, key: str, messages: list[dict], sample: int, budget: int) -> dict:
        """Queue a request for the next round; its answer (counted here) once harvested."""
        if key in self.queue:
            fut = self.queue[key].future
        else:
            fut = asyncio.get_running_loop().create_future()
            self.queue[key] = Pending(messages, sample, budget, fut)
            self.first_queued = self.first_queued or time.monotonic()
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick())
        self.waiting += 1
        try:
            result = await fut
        finally:
            self.waiting -= 1
        return result

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            late = self.first_queued is not None and time.monotonic() - self.first_queued >= self.cfg.batch_gather_s
            if self.queue and (self.waiting >= self.active or late):
                items, self.queue, self.first_queued = self.queue, {}, None
                task = asyncio.create_task(self._round(items))
                self._rounds.add(task)
                task.add_done_callback(self._rounds.discard)

    async def _round(self, items: dict[str, Pending]) -> None:
        try:
            batch_id = await self._send(items)
            outcomes, status, why = await self.collect(batch_id, items)
            default = ("retry", f"batch {status}") if status in ("completed", "expired") else ("fail", why)
            for key, p in items.items():
                self._settle(key, p, *outcomes.get(key, default))
        except BaseException as exc:  # nothing may leave a problem waiting forever
            for p in items.values():
                if not p.future.done():
                    p.future.set_exception(exc if isinstance(exc, FatalAPIError | RequestFailed)
                                           else RequestFailed(f"batch round failed: {exc!r}"))
            if not isinstance(exc, Exception):
                raise

    def _settle(self, key: str, p: Pending, kind: str, value: Any) -> None:
        if p.future.done():
            return
        if kind == "ok":
            self.client.usage.add(value["prompt_tokens"], value["completion_tokens"], cached=False,
                                  reasoning=value.get("reasoning_tokens", 0), batch=True)
            p.future.set_result({**value, "retries": p.tries, "rate_limited": 0})
        elif kind == "fatal":
            p.future.set_exception(value)
        elif kind in ("retry", "adapted"):
            p.tries += 1
            self.client.usage.retries += kind == "retry"
            if p.tries > self.cfg.max_retries:
                p.future.set_exception(RequestFailed(f"gave up after {p.tries} batch attempts (last: {value})"))
            else:
                self.queue[key] = p
                self.first_queued = self.first_queued or time.monotonic()
        else:
            p.future.set_exception(RequestFailed(str(value)))

    async def _send(self, items: dict[str, Pending]) -> str:
        lines = "".join(json.dumps({"custom_id": key, "method": "POST", "url": self.url,
                                    "body": self.client.body(p.messages, p.sample, p.budget)}) + "\n"
                        for key, p in items.items())
        oc = self.client._client
        upload = await self._call(lambda: oc.files.create(file=("ordebug-round.jsonl", lines.encode()),
                                                          purpose="batch"))
        batch = await self._call(lambda: oc.batches.create(
            input_file_id=upload.id, endpoint=self.url,  # type: ignore[arg-type]
            completion_window=self.cfg.batch_completion_window,  # type: ignore[arg-type]
            metadata={"teacher": self.cfg.name}))
        self.batches += 1
        if self.journal is not None:
            self.journal.append_batch({"id": batch.id, "input_file_id": upload.id, "requests": len(items)})
        log.info("batch %s: %d requests sent (round %d)", batch.id, len(items), self.batches)
        return batch.id

    async def resume(self) -> int:
        """Harvest the batches a killed run had submitted (answers into the cache); how many."""
        pending = self.journal.pending_batches() if self.journal is not None else []
        for rec in pending:
            log.info("batch %s of an earlier run: polling it instead of sending its %s requests again", rec["id"],
                     rec.get("requests", "?"))
            await self.collect(rec["id"])
        return len(pending)

    async def collect(self, batch_id: str, items: dict[str, Pending] | None = None
                      ) -> tuple[dict[str, tuple[str, Any]], str, str]:
        """Wait for a batch to end; every line's verdict ``(kind, value)`` by custom id, the
        batch's status and why it failed. Answers go to the cache and the ledger."""
        oc = self.client._client
        while True:
            batch = await self._call(lambda: oc.batches.retrieve(batch_id))
            if batch.status in ENDED:
                break
            await asyncio.sleep(self.cfg.batch_poll_s)
        errors = getattr(getattr(batch, "errors", None), "data", None) or []
        why = f"batch {batch_id} {batch.status}" + (
            f": {'; '.join(str(e.message or e.code) for e in errors)}" if errors else "")
        out: dict[str, tuple[str, Any]] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = await self._call(lambda fid=file_id: oc.files.content(fid))  # type: ignore[misc]
            for raw in content.text.splitlines():
                try:
                    line = json.loads(raw)
                    out[line["custom_id"]] = self._judge(batch_id, line, (items or {}).get(line["custom_id"]))
                except (ValueError, KeyError, TypeError):
                    log.warning("batch %s: an unreadable output line was skipped", batch_id)
        if self.journal is not None:
            self.journal.batch_done(batch_id)
        done = sum(kind == "ok" for kind, _ in out.values())
        log.info("%s: %d answers, %d lines with errors", why, done, len(out) - done)
        return out, str(batch.status), why

    def _judge(self, batch_id: str, line: dict, pending: Pending | None) -> tuple[str, Any]:
        key = line["custom_id"]
        resp = line.get("response") or {}
        status = resp.get("status_code")
        body = resp.get("body") or {}
        err = line.get("error") or (body.get("error") if isinstance(body, dict) else None) or {}
        if status == 200 and not line.get("error"):
            try:
                result = parse_completion(body)
            except (ValueError, TypeError, KeyError, openai.OpenAIError) as exc:
                return "retry", f"unparseable answer ({type(exc).__name__})"
            cost = self.client.usage.cost(result["prompt_tokens"], result["completion_tokens"], batch=True)
            self.client.account.record_spend(result["prompt_tokens"], result["completion_tokens"], cost,
                                             result["reasoning_tokens"], batch=True, ref=f"{batch_id}:{key}")
            self.client.store(key, result)
            return "ok", {**result, "cost_usd": cost}
        message = self.client.scrub(str(err.get("message") or err.get("code") or "no detail"))
        if status == 400:
            try:
                sample, budget = (pending.sample, pending.budget) if pending else (0, 1)
                if self.client.on_refusal(body, sample, budget):
                    return "adapted", message
            except FatalAPIError as exc:
                return "fatal", exc
        if status in (401, 403, 404):
            return "fatal", FatalAPIError(f"teacher {self.cfg.name!r}: HTTP {status} in batch {batch_id} "
                                          f"({message}); check {self.cfg.api_key_env}, the model name and access")
        if status is None or status == 429 or status >= 500:
            if status == 429:
                self.client.account.record_event("429")
            return "retry", f"{err.get('code') or status}: {message}"
        return "fail", f"HTTP {status} in batch {batch_id}: {message}"

    async def _call(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        """One Files/Batches API call, retried like a request (401/403/404: fatal)."""
        attempt = 0
        while True:
            try:
                return await fn()
            except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as exc:
                raise self.client.fatal(exc) from None
            except openai.BadRequestError as exc:
                raise RequestFailed(f"batch API refused: {self.client.scrub(self.client._why(exc))}") from None
            except (openai.APIStatusError, openai.APITimeoutError, openai.APIConnectionError) as exc:
                attempt += 1
                if attempt > self.cfg.max_retries:
                    raise RequestFailed(f"batch API: gave up after {attempt} attempts ({type(exc).__name__})") from None
                await asyncio.sleep(self.client._backoff(attempt))

    async def close(self) -> None:
        for task in (self._ticker, *self._rounds):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (self._ticker, *self._rounds) if t is not None), return_exceptions=True)
