"""A stand-in for vLLM's OpenAI-compatible server, for machines where vLLM cannot run.

vLLM needs a GPU (its CPU build is compiled from source), so the tests cannot start the real
``python -m vllm.entrypoints.openai.api_server``. This module plays it over real HTTP with
the checks vLLM makes on what ``ordebug.eval.serve.vllm_command`` passes: the options
(unknown ones are an error, as in vLLM's argument parser), ``--lora-modules`` only with
``--enable-lora``, ``--max-lora-rank`` one of vLLM's supported ranks and at least the
adapter's rank (read from its ``adapter_config.json``), the API key from ``VLLM_API_KEY``,
and the served names: the base model under ``--served-model-name`` and each adapter under
its LoRA module name (any other model name is a 404). Answers come from the scripted teacher
(``ordebug.testing.teacher_server``); ``chat_template_kwargs`` must be an object when sent.

Tests put a ``vllm`` package on ``PYTHONPATH`` whose ``entrypoints/openai/api_server.py``
calls :func:`main`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from aiohttp import web

from ordebug.testing.teacher_server import ServerConfig, TeacherServer

# vLLM's LoRAConfig accepts these max_lora_rank values (vllm/config/lora.py)
SUPPORTED_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="vllm.entrypoints.openai.api_server")
    p.add_argument("--model", required=True)
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--served-model-name", nargs="+", default=None)
    p.add_argument("--tensor-parallel-size", type=int, default=1)
    p.add_argument("--enable-lora", action="store_true")
    p.add_argument("--max-lora-rank", type=int, default=16)
    p.add_argument("--lora-modules", nargs="+", default=[])
    return p.parse_args(argv)  # an unknown option exits with code 2, as vLLM does


def check_args(args: argparse.Namespace) -> dict[str, str]:
    """vLLM's start-up checks; returns LoRA module name -> adapter path."""
    if args.lora_modules and not args.enable_lora:
        raise SystemExit("--lora-modules needs --enable-lora")
    if args.max_lora_rank not in SUPPORTED_LORA_RANKS:
        raise SystemExit(f"max_lora_rank ({args.max_lora_rank}) must be one of {SUPPORTED_LORA_RANKS}")
    if args.tensor_parallel_size < 1:
        raise SystemExit("tensor_parallel_size must be >= 1")
    modules = {}
    for spec in args.lora_modules:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"invalid LoRA module {spec!r}: expected name=path")
        cfg = Path(path) / "adapter_config.json"
        if not cfg.is_file():
            raise SystemExit(f"LoRA adapter {path} has no adapter_config.json")
        rank = int(json.loads(cfg.read_text()).get("r", 0))
        if rank > args.max_lora_rank:
            raise SystemExit(f"LoRA rank {rank} is greater than max_lora_rank {args.max_lora_rank}")
        modules[name] = path
    return modules


class StandinServer(TeacherServer):
    async def chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = {}
        if "chat_template_kwargs" in body and not isinstance(body["chat_template_kwargs"], dict):
            return self._error(400, "BadRequestError", "chat_template_kwargs must be an object")
        return await super().chat(request)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    modules = check_args(args)
    served = tuple(args.served_model_name or [args.model]) + tuple(modules)
    key = os.environ.get("VLLM_API_KEY", "")
    server = StandinServer(ServerConfig(api_key=key, models=served))
    print(f"vllm stand-in: {args.model} as {', '.join(served)} on {args.host}:{args.port}", flush=True)

    async def run() -> None:
        await server.start(host=args.host, port=args.port)
        while True:
            await asyncio.sleep(3600)

    asyncio.run(run())
