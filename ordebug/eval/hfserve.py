"""An OpenAI-compatible chat server for CPU evaluation: transformers (+ a PEFT LoRA adapter),
concurrent requests answered in one batched ``generate``.

LLaMA-Factory's API answers one request at a time (its HF engine holds a semaphore of one).
On a CPU, decoding a small model is bound by the cost of each step, not by its arithmetic, so
a batch of several requests costs little more than one: SmolLM2-135M on 2 cores decoded 9.5
tokens/s alone and ~70 tokens/s in a batch of four (prefill, 370-450 tokens/s, does not gain).

The prompt is the tokenizer's own chat template (``render_prompt``, as GRPO's rollouts and the
SFT samples use it). ``python -m ordebug.eval.hfserve --model DIR [--adapter DIR] --name NAME
--port PORT``; the API key is read from ``API_KEY`` in the environment, never from argv.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("ordebug.hfserve")
MAX_BATCH = 8  # requests per generate call
GATHER_S = 0.05  # how long the first request of a batch waits for others


class BadRequest(ValueError):
    """A request the server refuses (HTTP 400), with OpenAI's error shape."""


@dataclass
class Job:
    """One chat request waiting for its answer."""

    prompt_ids: list[int]
    max_tokens: int
    sample: bool
    temperature: float
    top_p: float
    done: asyncio.Future = field(repr=False)
    # whether the client still waits (a client that timed out and retried must not cost a
    # second generation: under load that spiral made every batch slower than the timeout)
    alive: Callable[[], bool] = field(default=lambda: True, repr=False)

    @property
    def key(self) -> tuple:
        """Requests batched together share their sampling settings."""
        return (self.sample, self.temperature, self.top_p)


def sampling(body: dict) -> tuple[bool, float, float]:
    """(sample, temperature, top_p) from an OpenAI body: greedy where ``temperature`` is 0 or
    LLaMA-Factory's ``do_sample`` is false (what the evaluation sends), else sampling."""
    temperature = float(1.0 if body.get("temperature") is None else body["temperature"])
    top_p = float(1.0 if body.get("top_p") is None else body["top_p"])
    sample = bool(body.get("do_sample", True)) and temperature > 0
    return sample, temperature, top_p


def max_tokens(body: dict, default: int) -> int:
    for key in ("max_completion_tokens", "max_tokens"):
        if body.get(key) is not None:
            n = body[key]
            if not isinstance(n, int) or n < 1:
                raise BadRequest(f"{key} must be a positive integer, not {n!r}")
            return n
    return default


def generate_batch(model: Any, tokenizer: Any, jobs: list[Job]) -> list[tuple[list[int], str]]:
    """One left-padded ``generate`` for ``jobs`` (same sampling settings): per job, its
    completion's token ids (cut at its own ``max_tokens`` and at the end-of-turn token) and the
    finish reason (``stop`` or ``length``)."""
    import torch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    width = max(len(j.prompt_ids) for j in jobs)
    ids = torch.full((len(jobs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(jobs), width), dtype=torch.long)
    for i, j in enumerate(jobs):
        ids[i, width - len(j.prompt_ids):] = torch.tensor(j.prompt_ids)
        mask[i, width - len(j.prompt_ids):] = 1
    first = jobs[0]
    kw: dict[str, Any] = {"do_sample": first.sample}
    if first.sample:
        kw.update(temperature=first.temperature, top_p=first.top_p, top_k=0)
    stop = {t for t in (tokenizer.eos_token_id, getattr(model.generation_config, "eos_token_id", None))
            if isinstance(t, int)}
    with torch.no_grad():
        out = model.generate(input_ids=ids.to(model.device), attention_mask=mask.to(model.device),
                             max_new_tokens=max(j.max_tokens for j in jobs), pad_token_id=pad, **kw)
    results = []
    for i, j in enumerate(jobs):
        new = out[i, width:].tolist()[: j.max_tokens]
        end = next((k for k, t in enumerate(new) if t in stop), None)
        results.append((new[:end], "stop") if end is not None else (new, "length"))
    return results


class Batcher:
    """Collects requests and answers them in batches of at most ``max_batch``, one batch at a
    time (a CPU has no room for two)."""

    def __init__(self, model: Any, tokenizer: Any, max_batch: int = MAX_BATCH, gather_s: float = GATHER_S) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.max_batch, self.gather_s = max_batch, gather_s
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.batches: list[int] = []  # sizes of the batches run (for the log and the tests)
        self.skipped = 0  # requests dropped because their client had left

    async def run(self) -> None:
        waiting: list[Job] = []
        while True:
            if not waiting:
                waiting.append(await self.queue.get())
            deadline = time.monotonic() + self.gather_s
            while len(waiting) < self.max_batch and (left := deadline - time.monotonic()) > 0:
                try:
                    waiting.append(await asyncio.wait_for(self.queue.get(), left))
                except TimeoutError:
                    break
            gone = [j for j in waiting if not j.alive()]
            if gone:
                log.info("skipped %d request(s) whose client left before their batch", len(gone))
                for j in gone:
                    if not j.done.done():
                        j.done.cancel()
                waiting = [j for j in waiting if j not in gone]
                self.skipped += len(gone)
                if not waiting:
                    continue
            key = waiting[0].key
            batch = [j for j in waiting if j.key == key][: self.max_batch]
            waiting = [j for j in waiting if j not in batch]
            self.batches.append(len(batch))
            t0 = time.monotonic()
            try:
                results = await asyncio.to_thread(generate_batch, self.model, self.tokenizer, batch)
            except Exception as exc:  # answer every request of the batch with the error
                log.exception("generation failed")
                for j in batch:
                    if not j.done.done():
                        j.done.set_exception(exc)
                continue
            log.info("batch of %d: %d prompt + %d completion tokens in %.1f s", len(batch),
                     sum(len(j.prompt_ids) for j in batch), sum(len(r[0]) for r in results), time.monotonic() - t0)
            for j, r in zip(batch, results, strict=True):
                if not j.done.done():
                    j.done.set_result(r)


def _connected(request: Any) -> bool:
    """Whether the client of ``request`` is still connected."""
    transport = request.transport
    return transport is not None and not transport.is_closing()


def render(tokenizer: Any, messages: list[dict], enable_thinking: bool) -> list[int]:
    """The prompt's token ids under the tokenizer's chat template, ready for the answer."""
    roles = ("system", "user", "assistant")
    if not isinstance(messages, list) or not messages or not all(
            isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role") in roles for m in messages):
        raise BadRequest("messages must be a non-empty list of {role: system|user|assistant, content: text}")
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True,
                                         enable_thinking=enable_thinking)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def make_app(batcher: Batcher, name: str, key: str | None, default_max_tokens: int = 1024,
             enable_thinking: bool = True) -> Any:
    """The aiohttp application: ``GET /v1/models`` and ``POST /v1/chat/completions``."""
    from aiohttp import web

    def error(status: int, message: str, kind: str) -> web.Response:
        return web.json_response({"error": {"message": message, "type": kind, "code": status}}, status=status)

    @web.middleware
    async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
        if key and request.headers.get("Authorization") != f"Bearer {key}":
            return error(401, "invalid API key", "authentication_error")
        return await handler(request)

    async def models(_: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": name, "object": "model", "owned_by": "ordebug"}]})

    async def chat(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise BadRequest("the body must be a JSON object")
            if body.get("model") != name:
                return error(404, f"model {body.get('model')!r} is not served here (only {name!r})", "not_found")
            if body.get("stream"):
                raise BadRequest("stream is not supported")
            if int(body.get("n", 1) or 1) != 1:
                raise BadRequest("n must be 1")
            thinking = (body.get("chat_template_kwargs") or {}).get("enable_thinking", enable_thinking)
            prompt = render(batcher.tokenizer, body.get("messages"), bool(thinking))
            sample, temperature, top_p = sampling(body)
            job = Job(prompt, max_tokens(body, default_max_tokens), sample, temperature, top_p,
                      asyncio.get_running_loop().create_future(), alive=functools.partial(_connected, request))
        except (BadRequest, ValueError, TypeError) as exc:
            return error(400, str(exc), "invalid_request_error")
        await batcher.queue.put(job)
        try:
            ids, finish = await job.done
        except asyncio.CancelledError:
            if not job.done.cancelled():  # the handler itself was cancelled (shutdown): let it go
                raise
            return error(499, "the client closed the request", "client_closed")
        except Exception as exc:
            return error(500, f"generation failed: {exc}", "server_error")
        text = batcher.tokenizer.decode(ids, skip_special_tokens=True)
        return web.json_response({
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
            "model": name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": {"prompt_tokens": len(job.prompt_ids), "completion_tokens": len(ids),
                      "total_tokens": len(job.prompt_ids) + len(ids)},
        })

    app = web.Application(middlewares=[auth], client_max_size=64 * 1024 * 1024)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)

    async def start_batcher(app: web.Application) -> Any:
        task = asyncio.create_task(batcher.run())
        yield
        task.cancel()

    app.cleanup_ctx.append(start_batcher)
    return app


def load(model_dir: str, adapter: str | None) -> tuple[Any, Any]:
    """The model (the adapter applied, in eval mode) and its tokenizer, from local folders."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True, dtype="auto")
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    model.eval()
    return model, tokenizer


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m ordebug.eval.hfserve", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="local folder of the base model")
    p.add_argument("--adapter", default=None, help="local folder of a LoRA adapter (PEFT)")
    p.add_argument("--name", required=True, help="the model name clients ask for")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--max-batch", type=int, default=MAX_BATCH)
    p.add_argument("--max-tokens", type=int, default=1024, help="answer budget when a request names none")
    p.add_argument("--no-thinking", action="store_true", help="enable_thinking=False unless a request asks")
    p.add_argument("--gather-s", type=float, default=GATHER_S, help="how long a batch waits for more requests")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from aiohttp import web

    model, tokenizer = load(args.model, args.adapter)
    app = make_app(Batcher(model, tokenizer, args.max_batch, args.gather_s), args.name, os.environ.get("API_KEY"),
                   args.max_tokens, not args.no_thinking)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
