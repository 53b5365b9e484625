"""A local OpenAI-compatible chat-completions server that plays a teacher.

It answers ``POST /v1/chat/completions`` (and ``GET /v1/models``) from a scripted policy:
the HeuristicAgent reading the observation in the user message, right with probability
``skill`` and otherwise answering with a deletion. Latency and faults are configurable:
429 with ``Retry-After``, 500/502/503, timeouts, truncated answers
(``finish_reason: "length"``), malformed actions, non-JSON bodies and well-formed actions the
environment rejects (a row family's name instead of a row: ``rejected``). It enforces a
requests-per-minute limit over a sliding 60 s window with ``x-ratelimit-*`` headers and
counts every request per prompt, so tests can prove nothing was asked twice.

Models named in ``gpt5_models`` follow the GPT-5 request rules of the real API: ``max_tokens``
is a 400 ``unsupported_parameter``, a ``temperature``/``top_p`` other than 1 a 400
``unsupported_value``, ``reasoning_effort`` must be one of ``reasoning_efforts``; every
answer spends ``reasoning_tokens`` hidden tokens (``usage.completion_tokens_details``), and
a ``max_completion_tokens`` budget they exhaust gives an empty answer, ``finish_reason:
"length"``. It also speaks Azure OpenAI (``/openai/deployments/{deployment}/chat/completions``,
``api-key`` header, ``api-version`` query) and the Batch API (``/v1/files``,
``/v1/batches``; Azure: ``/openai/files``, ``/openai/batches``), with batches that fail,
expire or carry lines with errors on request.

    python -m ordebug.testing.teacher_server --port 8765 --latency 0.05 --skill 0.9
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import json
import random
import re
import time
from dataclasses import dataclass, field

from aiohttp import web

from ordebug import actions as act
from ordebug.agents.heuristic import HeuristicAgent

FAULTS = ("429", "500", "502", "503", "timeout", "length", "malformed", "nonjson", "rejected")


@dataclass
class ServerConfig:
    api_key: str = "sk-test-local"
    models: tuple[str, ...] = ("teacher-sim",)
    skill: float = 1.0
    latency_s: float = 0.0
    rpm_limit: int | None = None
    fault_rate: dict[str, float] = field(default_factory=dict)  # fault -> probability per request
    fault_first: dict[str, int] = field(default_factory=dict)  # fault -> on the first N requests
    retry_after_s: float = 0.2
    timeout_sleep_s: float = 30.0
    reasoning_field: bool = False  # put the reasoning in message.reasoning_content
    seed: int = 0
    gpt5_models: tuple[str, ...] = ()  # models that follow the GPT-5 request rules
    reasoning_tokens: int = 0  # hidden reasoning tokens per answer of a gpt5 model
    reasoning_efforts: tuple[str, ...] = ("minimal", "low", "medium", "high")
    deployments: dict[str, str] = field(default_factory=dict)  # Azure deployment -> model
    batch_delay_s: float = 0.3  # a batch ends this long after its creation (at the next poll)
    batch_faults: dict[int, str] = field(default_factory=dict)  # batch number (1-based) -> failed | expired
    batch_line_faults: dict[str, int] = field(default_factory=dict)  # "500"/"429" -> on the first N batch lines


def prompt_key(body: dict) -> str:
    msgs = json.dumps(body.get("messages", []), sort_keys=True)
    return hashlib.sha256(f"{body.get('model')}|{body.get('seed')}|{msgs}".encode()).hexdigest()[:16]


class TeacherServer:
    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        self.requests = 0
        self.by_prompt: collections.Counter[str] = collections.Counter()
        self.answered: collections.Counter[str] = collections.Counter()  # 200 answers per prompt
        self.status: collections.Counter[int] = collections.Counter()
        self.window: collections.deque[float] = collections.deque()
        self.agents: dict[tuple, HeuristicAgent] = {}
        self.answers: dict[str, str] = {}
        self.ids: dict[str, str] = {}  # response id -> prompt key
        self.arrivals: list[float] = []  # monotonic arrival time of every request
        self.rng = random.Random(self.config.seed)
        self.paid: collections.Counter[str] = collections.Counter()  # answers billed per (prompt, budget)
        self.paths: collections.Counter[str] = collections.Counter()  # chat requests per URL path
        self.refused: collections.Counter[str] = collections.Counter()  # 400 refusals per parameter
        self.files: dict[str, dict] = {}
        self.batches: dict[str, dict] = {}
        self.batch_lines = 0
        self.app = web.Application()
        self.app.router.add_post("/v1/chat/completions", self.chat)
        self.app.router.add_post("/openai/deployments/{deployment}/chat/completions", self.chat)
        self.app.router.add_get("/v1/models", self.list_models)
        for root in ("/v1", "/openai"):
            self.app.router.add_post(f"{root}/files", self.upload)
            self.app.router.add_get(f"{root}/files/{{file_id}}/content", self.file_content)
            self.app.router.add_post(f"{root}/batches", self.create_batch)
            self.app.router.add_get(f"{root}/batches/{{batch_id}}", self.get_batch)
        self.app.router.add_get("/stats", self.stats)
        self.runner: web.AppRunner | None = None
        self.port: int | None = None

    # -- lifecycle --------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.port

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    # -- handlers ---------------------------------------------------------------------
    def _auth(self, request: web.Request) -> bool:
        if request.path.startswith("/openai/"):  # Azure: api-key header and an api-version
            return request.headers.get("api-key", "") == self.config.api_key and "api-version" in request.query
        return request.headers.get("Authorization", "") == f"Bearer {self.config.api_key}"

    async def list_models(self, request: web.Request) -> web.Response:
        if not self._auth(request):
            return self._error(401, "invalid_api_key", "Incorrect API key provided")
        return web.json_response({"object": "list", "data": [{"id": m, "object": "model"} for m in self.config.models]})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response({"requests": self.requests, "by_prompt": dict(self.by_prompt),
                                  "answered": dict(self.answered), "status": dict(self.status), "ids": self.ids,
                                  "paid": dict(self.paid), "refused": dict(self.refused),
                                  "batches": len(self.batches), "batch_lines": self.batch_lines,
                                  "peak_60s": self.peak_window(60.0), "peak_10s": self.peak_window(10.0),
                                  "arrivals_s": [round(t - self.arrivals[0], 3) for t in self.arrivals]})

    def peak_window(self, width: float) -> int:
        """Most requests that arrived within any ``width``-second window."""
        best, j = 0, 0
        for i, t in enumerate(self.arrivals):
            while t - self.arrivals[j] >= width:
                j += 1
            best = max(best, i - j + 1)
        return best

    def _error(self, status: int, code: str, message: str, headers: dict | None = None) -> web.Response:
        self.status[status] += 1
        body = {"error": {"message": message, "type": code, "code": code}}
        return web.json_response(body, status=status, headers=headers or {})

    def _rate_headers(self) -> dict[str, str]:
        limit = self.config.rpm_limit
        if not limit:
            return {}
        remaining = max(0, limit - len(self.window))
        reset = 60.0 - (time.monotonic() - self.window[0]) if self.window else 0.0
        return {"x-ratelimit-limit-requests": str(limit), "x-ratelimit-remaining-requests": str(remaining),
                "x-ratelimit-reset-requests": f"{max(0.0, reset):.3f}s"}

    def _fault(self) -> str | None:
        for fault, n in self.config.fault_first.items():
            if self.requests <= n:
                return fault
        for fault, p in self.config.fault_rate.items():
            if self.rng.random() < p:
                return fault
        return None

    def _model(self, request: web.Request, body: dict) -> str | None:
        """The model a request is for: its Azure deployment's, else its ``model`` field."""
        deployment = request.match_info.get("deployment")
        if deployment is not None:
            return self.config.deployments.get(deployment)
        return body.get("model") if body.get("model") in self.config.models else None

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        self.paths[request.path] += 1
        self.arrivals.append(time.monotonic())
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return self._error(400, "invalid_request_error", "body is not JSON")
        key = prompt_key(body)
        self.by_prompt[key] += 1
        if not self._auth(request):
            return self._error(401, "invalid_api_key", "Incorrect API key provided")
        model = self._model(request, body)
        if model is None:
            what = request.match_info.get("deployment") or body.get("model")
            return self._error(404, "model_not_found", f"The model or deployment {what!r} does not exist")
        now = time.monotonic()
        while self.window and now - self.window[0] >= 60.0:
            self.window.popleft()
        if self.config.rpm_limit and len(self.window) >= self.config.rpm_limit:
            wait = 60.0 - (now - self.window[0])
            return self._error(429, "rate_limit_exceeded", "Rate limit reached for requests",
                               {"Retry-After": f"{wait:.3f}", **self._rate_headers()})
        self.window.append(now)
        fault = self._fault()
        if fault == "429":
            return self._error(429, "rate_limit_exceeded", "Rate limit reached",
                               {"Retry-After": str(self.config.retry_after_s), **self._rate_headers()})
        if fault in ("500", "502", "503"):
            return self._error(int(fault), "server_error", "The server had an error")
        if fault == "timeout":
            await asyncio.sleep(self.config.timeout_sleep_s)
        if self.config.latency_s:
            await asyncio.sleep(self.config.latency_s)
        if fault == "nonjson":
            self.status[200] += 1
            return web.Response(text="<html>upstream gateway hiccup</html>", content_type="text/html")
        status, payload = self.respond(body, model, key, fault)
        return web.json_response(payload, status=status, headers=self._rate_headers() if status == 200 else {})

    def _refusal(self, body: dict, model: str) -> tuple[int, dict] | None:
        """What the real API answers a GPT-5-family model's request it does not accept."""
        if model not in self.config.gpt5_models:
            return None
        found = None
        if "max_tokens" in body:
            found = ("unsupported_parameter", "max_tokens", "Unsupported parameter: 'max_tokens' is not supported "
                     "with this model. Use 'max_completion_tokens' instead.")
        for name in ("temperature", "top_p"):
            if found is None and name in body and body[name] != 1:
                found = ("unsupported_value", name, f"Unsupported value: '{name}' does not support {body[name]} "
                         "with this model. Only the default (1) value is supported.")
        effort = body.get("reasoning_effort")
        if found is None and effort is not None and effort not in self.config.reasoning_efforts:
            found = ("unsupported_value", "reasoning_effort", f"Unsupported value: 'reasoning_effort' does not "
                     f"support {effort!r} with this model. Supported values are: "
                     f"{', '.join(repr(e) for e in self.config.reasoning_efforts)}.")
        if found is None:
            return None
        code, param, message = found
        self.status[400] += 1
        self.refused[param] += 1
        return 400, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}

    def respond(self, body: dict, model: str, key: str, fault: str | None = None) -> tuple[int, dict]:
        """The status and JSON body of one chat completion (over HTTP or as a batch line)."""
        refused = self._refusal(body, model)
        if refused is not None:
            return refused
        answer = self._answer(body, key)
        finish = "stop"
        if fault == "length":
            answer, finish = answer[: max(10, len(answer) // 3)], "length"
        elif fault == "malformed":
            answer = "<think>\nI think the capacity is wrong.\n</think>\n\nI would increase the capacity."
        elif fault == "rejected":
            rows = re.findall(r"^([A-Za-z_]\w*)\(", self._observation(body).split("## IIS", 1)[-1], re.M)
            family = rows[0] if rows else "output_definition"
            answer = (f"<think>\nStep 1: The whole {family} family looks wrong; drop it.\n</think>\n\n"
                      f"Action: {act.drop(family)}")
        reasoning = self.config.reasoning_tokens if model in self.config.gpt5_models else 0
        answer_tokens = max(1, len(answer) // 4)
        budget = body.get("max_completion_tokens") or body.get("max_tokens")
        if budget is not None and reasoning + answer_tokens > budget:  # the budget runs out
            reasoning = min(reasoning, budget)
            answer_tokens = budget - reasoning
            answer, finish = answer[: answer_tokens * 4], "length"
        message: dict = {"role": "assistant", "content": answer}
        if self.config.reasoning_field and "</think>" in answer:
            think, rest = answer.split("</think>", 1)
            message = {"role": "assistant", "content": rest.strip(),
                       "reasoning_content": think.replace("<think>", "").strip()}
        prompt_text = json.dumps(body.get("messages", []))
        usage: dict = {"prompt_tokens": len(prompt_text) // 4, "completion_tokens": reasoning + answer_tokens}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if model in self.config.gpt5_models:
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        self.status[200] += 1
        self.paid[f"{key}|{budget}"] += 1
        if finish == "stop":
            self.answered[key] += 1
        rid = f"chatcmpl-{self.requests}-{self.batch_lines}"
        self.ids[rid] = key
        return 200, {"id": rid, "object": "chat.completion", "created": int(time.time()), "model": model,
                     "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}

    # -- files and batches ------------------------------------------------------------
    async def upload(self, request: web.Request) -> web.Response:
        if not self._auth(request):
            return self._error(401, "invalid_api_key", "Incorrect API key provided")
        form = await request.post()
        part = form.get("file")
        if not isinstance(part, web.FileField) or form.get("purpose") != "batch":
            return self._error(400, "invalid_request_error", "expected a file with purpose 'batch'")
        data = part.file.read()
        fid = f"file-{len(self.files) + 1}"
        self.files[fid] = {"id": fid, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                           "filename": part.filename, "purpose": "batch", "status": "processed", "data": data}
        return web.json_response({k: v for k, v in self.files[fid].items() if k != "data"})

    async def file_content(self, request: web.Request) -> web.Response:
        if not self._auth(request):
            return self._error(401, "invalid_api_key", "Incorrect API key provided")
        f = self.files.get(request.match_info["file_id"])
        if f is None:
            return self._error(404, "not_found", "No such file")
        return web.Response(body=f["data"], content_type="application/octet-stream")

    async def create_batch(self, request: web.Request) -> web.Response:
        if not self._auth(request):
            return self._error(401, "invalid_api_key", "Incorrect API key provided")
        body = await request.json()
        if body.get("input_file_id") not in self.files:
            return self._error(400, "invalid_request_error", "input_file_id does not exist")
        bid = f"batch_{len(self.batches) + 1}"
        now = int(time.time())
        self.batches[bid] = {
            "id": bid, "object": "batch", "endpoint": body.get("endpoint"), "errors": None,
            "input_file_id": body["input_file_id"], "completion_window": body.get("completion_window", "24h"),
            "status": "in_progress", "output_file_id": None, "error_file_id": None, "created_at": now,
            "in_progress_at": now, "expires_at": now + 86400, "metadata": body.get("metadata"),
            "request_counts": {"total": 0, "completed": 0, "failed": 0}, "_due": time.monotonic()
            + self.config.batch_delay_s, "_n": len(self.batches) + 1, "_azure": request.path.startswith("/openai/")}
        return web.json_response(self._public(self.batches[bid]))

    async def get_batch(self, request: web.Request) -> web.Response:
        if not self._auth(request):
            return self._error(401, "invalid_api_key", "Incorrect API key provided")
        b = self.batches.get(request.match_info["batch_id"])
        if b is None:
            return self._error(404, "not_found", "No such batch")
        if b["status"] == "in_progress" and time.monotonic() >= b["_due"]:
            self._run_batch(b)
        return web.json_response(self._public(b))

    @staticmethod
    def _public(b: dict) -> dict:
        return {k: v for k, v in b.items() if not k.startswith("_")}

    def _store_file(self, lines: list[dict]) -> str | None:
        if not lines:
            return None
        data = "".join(json.dumps(x) + "\n" for x in lines).encode()
        fid = f"file-{len(self.files) + 1}"
        self.files[fid] = {"id": fid, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                           "filename": "batch_output.jsonl", "purpose": "batch_output", "status": "processed",
                           "data": data}
        return fid

    def _run_batch(self, b: dict) -> None:
        """Answer every line of a batch (or fail/expire it, as configured)."""
        now = int(time.time())
        fault = self.config.batch_faults.get(b["_n"])
        lines = [json.loads(x) for x in self.files[b["input_file_id"]]["data"].decode().splitlines() if x.strip()]
        b["request_counts"]["total"] = len(lines)
        if fault == "failed":
            b.update(status="failed", failed_at=now, errors={"object": "list", "data": [
                {"code": "invalid_request", "message": "The batch could not be processed (injected failure)",
                 "line": None, "param": None}]})
            return
        done, errors = [], []
        for i, line in enumerate(lines):
            rid = f"batch_req_{b['id']}_{i}"
            if fault == "expired" and i >= len(lines) // 2:
                errors.append({"id": rid, "custom_id": line["custom_id"], "response": None, "error": {
                    "code": "batch_expired",
                    "message": "This request could not be executed before the completion window expired."}})
                continue
            self.batch_lines += 1
            status, payload = self._batch_line(line, b["_azure"])
            out = {"id": rid, "custom_id": line["custom_id"],
                   "response": {"status_code": status, "request_id": rid, "body": payload}, "error": None}
            (done if status == 200 else errors).append(out)
        b["request_counts"].update(completed=len(done), failed=len(errors))
        b.update(status="expired" if fault == "expired" else "completed", output_file_id=self._store_file(done),
                 error_file_id=self._store_file(errors))
        b["expired_at" if fault == "expired" else "completed_at"] = now

    def _batch_line(self, line: dict, azure: bool) -> tuple[int, dict]:
        body = line.get("body") or {}
        for fault, n in self.config.batch_line_faults.items():
            if self.batch_lines <= n:
                self.status[int(fault)] += 1
                return int(fault), {"error": {"message": "injected", "type": "server_error", "code": fault}}
        model = self.config.deployments.get(body.get("model")) if azure else body.get("model")
        if model is None or (not azure and model not in self.config.models):
            return 404, {"error": {"message": f"model {body.get('model')!r} not found", "code": "model_not_found"}}
        key = prompt_key(body)
        self.by_prompt[key] += 1
        return self.respond(body, model, key)

    # -- the scripted teacher ---------------------------------------------------------
    @staticmethod
    def _observation(body: dict) -> str:
        user = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"]
        return user[0] if user else ""

    def _answer(self, body: dict, key: str) -> str:
        if key in self.answers:
            return self.answers[key]
        obs = self._observation(body)
        pid = re.search(r"^ID: (\S+)$", obs, re.M)
        step = re.search(r"\(step (\d+) of", obs)
        state_key = (pid.group(1) if pid else "", body.get("seed"))
        if step and step.group(1) == "0" or state_key not in self.agents:
            self.agents[state_key] = HeuristicAgent()
        agent = self.agents[state_key]
        skilled = random.Random(f"{key}:{self.config.seed}").random() < self.config.skill
        text = agent.act(obs)
        if not skilled and "Action: SUBMIT()" not in text:
            first = re.search(r"^(\S+): .* (?:<=|>=|=) \S+$", obs.split("## IIS", 1)[-1], re.M)
            if first:
                action = act.drop(first.group(1))
                text = f"<think>\nStep 1: Delete the first IIS row.\n</think>\n\nAction: {action}"
        self.answers[key] = text
        return text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--skill", type=float, default=1.0)
    p.add_argument("--rpm", type=int, default=None)
    p.add_argument("--api-key", default="sk-test-local")
    p.add_argument("--model", action="append", default=[], help="served model names (default: teacher-sim)")
    p.add_argument("--gpt5-model", action="append", default=[],
                   help="a served model that follows the GPT-5 request rules (repeatable)")
    p.add_argument("--reasoning-tokens", type=int, default=0, help="hidden reasoning tokens per gpt5 answer")
    p.add_argument("--deployment", action="append", default=[], metavar="NAME=MODEL", help="an Azure deployment")
    p.add_argument("--fault-rate", action="append", default=[], metavar="FAULT=P",
                   help=f"inject a fault with probability P per request; faults: {', '.join(FAULTS)}")
    args = p.parse_args()
    faults = {f: float(v) for f, v in (x.split("=", 1) for x in args.fault_rate)}
    models = tuple(args.model or ["teacher-sim"]) + tuple(args.gpt5_model)
    deployments = dict(x.split("=", 1) for x in args.deployment)
    server = TeacherServer(ServerConfig(api_key=args.api_key, skill=args.skill, latency_s=args.latency,
                                        rpm_limit=args.rpm, fault_rate=faults, models=models,
                                        gpt5_models=tuple(args.gpt5_model), reasoning_tokens=args.reasoning_tokens,
                                        deployments=deployments))

    async def run() -> None:
        port = await server.start(port=args.port)
        print(f"teacher server on http://127.0.0.1:{port}/v1", flush=True)
        while True:
            await asyncio.sleep(3600)

    asyncio.run(run())


if __name__ == "__main__":
    main()


class ServerThread:
    """Run a TeacherServer on its own event loop in a background thread (for tests/benchmarks)."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        import threading

        self.server = TeacherServer(config)
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.start())
        self._ready.set()
        self.loop.run_forever()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/v1"
