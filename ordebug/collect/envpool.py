"""Environments in worker processes, so solver work never starves the request event loop.

Each problem's environment lives in one worker process (chosen by a stable hash of its
id) for the whole episode; the asyncio side awaits its calls. With environments in
threads, SCIP's solver work held the GIL and delayed sends and receives, which bunched
requests into bursts and idle gaps.
"""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from ordebug.env.environment import EnvConfig, RepairEnv

_ENVS: dict[str, RepairEnv] = {}
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def _reset(pid: str, problem: dict, cfg: EnvConfig) -> tuple[str, dict]:
    env = RepairEnv(cfg)
    _ENVS[pid] = env
    return env.reset(problem)


def _step(pid: str, action: str) -> tuple[str, float, bool, bool, dict]:
    return _ENVS[pid].step(action)


def _evaluate(pid: str) -> dict[str, Any]:
    return _ENVS[pid].evaluate(submitted=False).to_json()


def _close(pid: str) -> None:
    _ENVS.pop(pid, None)


def _ready() -> bool:
    return True


def _worker_init(parent: int) -> None:
    """A worker dies on SIGTERM, whatever handler the parent had when it forked, and with its
    parent: a forked worker holds the write end of its own call queue, so a parent killed
    with SIGKILL (a cancelled job, the OOM killer) left it waiting forever."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


class EnvPool:
    """``workers`` single-process executors; a problem always goes to the same one.

    Workers are forked at construction, before any event loop or thread exists: fork is
    safe then, and unlike spawn it does not re-run the caller's ``__main__`` (a Snakemake
    script) in the children."""

    def __init__(self, workers: int, cfg: EnvConfig) -> None:
        ctx = multiprocessing.get_context("fork")
        self.cfg = cfg
        self.pools = [ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_worker_init,
                                          initargs=(os.getpid(),))
                      for _ in range(max(1, workers))]
        for p in self.pools:
            p.submit(_ready).result()

    def _pool(self, pid: str) -> ProcessPoolExecutor:
        return self.pools[int(hashlib.sha256(pid.encode()).hexdigest()[:8], 16) % len(self.pools)]

    async def _call(self, pid: str, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool(pid), fn, pid, *args)

    async def reset(self, pid: str, problem: dict) -> tuple[str, dict]:
        return await self._call(pid, _reset, problem, self.cfg)

    async def step(self, pid: str, action: str) -> tuple[str, float, bool, bool, dict]:
        return await self._call(pid, _step, action)

    async def evaluate(self, pid: str) -> dict[str, Any]:
        return await self._call(pid, _evaluate)

    async def close(self, pid: str) -> None:
        await self._call(pid, _close)

    def shutdown(self) -> None:
        for p in self.pools:
            p.shutdown(wait=True, cancel_futures=True)
