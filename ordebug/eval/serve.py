"""Serve base model + LoRA adapter behind an OpenAI-compatible endpoint for evaluation.

One server per evaluate job: vLLM (``vllm serve`` with the LoRA adapter) where it is
installed, otherwise ``llamafactory-cli api`` (CPU or GPU), or (``backend: hf``) our own
batching server for the CPU (:mod:`ordebug.eval.hfserve`: concurrent requests answered in one
``generate``; LLaMA-Factory's answers one at a time). It is started on 127.0.0.1 with a
random port, polled until ``/v1/models`` answers, and always stopped afterwards (its whole
process group), even when the evaluation fails or the job is sent SIGTERM (Slurm's
``scancel``, Snakemake stopping its jobs).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from ordebug.solver.errors import OrDebugError

log = logging.getLogger("ordebug")
SERVE_KEY_ENV = "ORDEBUG_SERVE_KEY"


class ServeError(OrDebugError):
    """The model server could not be started or did not become healthy."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served_model_name(agent: str, adapter: str | Path | None) -> str:
    """The name an agent's adapter is served under: the agent plus a digest of the adapter's
    files, so a response cached for one adapter is never taken for another's."""
    h = hashlib.sha256(agent.encode())
    if adapter is not None and Path(adapter).is_dir():  # a missing one is ServedModel's clear error
        for f in sorted(p for p in Path(adapter).iterdir() if p.is_file()):
            h.update(f.name.encode())
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):  # noqa: B023
                    h.update(chunk)
    return f"{agent}-{h.hexdigest()[:10]}"


BACKENDS = ("auto", "vllm", "llamafactory", "hf")


def pick_backend(backend: str = "auto") -> str:
    """``vllm`` where it is installed (auto), else ``llamafactory``; an explicit choice is checked."""
    if backend not in BACKENDS:
        raise ServeError(f"eval.serve.backend: unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    have_vllm = importlib.util.find_spec("vllm") is not None
    if backend == "vllm" and not have_vllm:
        raise ServeError("eval.serve.backend is 'vllm' but vLLM is not installed (pip install vllm)")
    if backend == "auto":
        return "vllm" if have_vllm else "llamafactory"
    return backend


# max_lora_rank values every recent vLLM accepts (older ones stop at 256; newer add 1)
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def vllm_lora_rank(rank: int) -> int:
    """The smallest max_lora_rank vLLM accepts that holds an adapter of rank ``rank``."""
    for r in VLLM_LORA_RANKS:
        if r >= rank:
            return r
    raise ServeError(f"LoRA rank {rank} is above the largest vLLM supports ({VLLM_LORA_RANKS[-1]})")


def vllm_command(base_model: str, adapter: str | Path | None, model_name: str, port: int, gpus: int,
                 lora_rank: int = 64) -> list[str]:
    """``vllm serve`` of the base model with the adapter (of rank ``lora_rank``) as LoRA module
    ``model_name``; the base model alone is served as ``{model_name}-base``."""
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", base_model,
           "--host", "127.0.0.1", "--port", str(port), "--served-model-name", model_name if adapter is None
           else f"{model_name}-base", "--tensor-parallel-size", str(max(gpus, 1))]
    if adapter is not None:
        cmd += ["--enable-lora", "--max-lora-rank", str(vllm_lora_rank(lora_rank)),
                "--lora-modules", f"{model_name}={adapter}"]
    return cmd


class ServedModel:
    def __init__(self, base_model: str, adapter: str | Path | None, template: str = "qwen3",
                 enable_thinking: bool = True, model_name: str = "ordebug-ft", startup_timeout: float = 600.0,
                 log_path: str | Path | None = None, offline: bool = False, backend: str = "auto",
                 gpus: int = 0, max_batch: int = 8, gather_s: float | None = None) -> None:
        self.backend, self.gpus, self.max_batch = pick_backend(backend), gpus, max_batch
        self.gather_s = gather_s  # hf backend: how long a batch waits for more requests (None: its default)
        self.base_model, self.adapter = base_model, adapter
        self.template, self.enable_thinking = template, enable_thinking
        self.model_name, self.startup_timeout = model_name, startup_timeout
        self.log_path, self.offline = log_path, offline
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.key = "sk-local-" + secrets.token_hex(8)
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._out = None  # the server's log file, closed in __exit__
        self._old_sigterm = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def extra_body(self) -> dict:
        """Greedy decoding and the thinking switch, in each backend's own words."""
        if self.backend in ("vllm", "hf"):
            return {"temperature": 0.0, "chat_template_kwargs": {"enable_thinking": self.enable_thinking}}
        return {"do_sample": False}

    def _adapter_rank(self) -> int:
        import json

        cfg = json.loads((Path(self.adapter) / "adapter_config.json").read_text())
        return int(cfg.get("r", 64))

    def __enter__(self) -> ServedModel:
        if self.adapter is not None and not (Path(self.adapter) / "adapter_config.json").is_file():
            raise ServeError(f"adapter {self.adapter} does not exist (no adapter_config.json)")
        self._catch_sigterm()
        try:
            return self._launch()
        except BaseException:
            self.__exit__()
            raise

    def _catch_sigterm(self) -> None:
        """SIGTERM ends the job through __exit__ (which stops the server) instead of killing
        this process and leaving the server, in its own session, running. The handler acts
        once (a second SIGTERM, e.g. from Slurm and Snakemake both, does not interrupt the
        shutdown) and only in this process: a forked worker gets Python's default back."""
        if threading.current_thread() is not threading.main_thread():
            log.warning("not in the main thread: SIGTERM will not stop the model server")
            return
        owner = os.getpid()

        def on_sigterm(signum: int, frame: object) -> None:
            if os.getpid() != owner:  # a forked child: die as SIGTERM would have made it
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)
                return
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            self._old_sigterm = None  # ending: __exit__ leaves SIGTERM ignored, so a late second one
            raise SystemExit(128 + signum)  # cannot kill the process after the server is stopped

        previous = signal.signal(signal.SIGTERM, on_sigterm)
        self._old_sigterm = signal.SIG_DFL if previous is None else previous

    def _launch(self) -> ServedModel:
        if self.backend == "vllm":
            self.port = free_port()
            cmd = vllm_command(self.base_model, self.adapter, self.model_name, self.port, self.gpus,
                               self._adapter_rank() if self.adapter is not None else 64)
            env = dict(os.environ, VLLM_API_KEY=self.key)  # the key in the environment, not on argv
            return self._start(cmd, env, "vllm")
        if self.backend == "hf":
            self.port = free_port()
            cmd = [sys.executable, "-m", "ordebug.eval.hfserve", "--model", self.base_model, "--name", self.model_name,
                   "--port", str(self.port), "--max-batch", str(self.max_batch)]
            cmd += ["--adapter", str(self.adapter)] if self.adapter is not None else []
            cmd += ["--gather-s", str(self.gather_s)] if self.gather_s is not None else []
            cmd += [] if self.enable_thinking else ["--no-thinking"]
            return self._start(cmd, dict(os.environ, API_KEY=self.key), "ordebug.eval.hfserve")
        exe = shutil.which("llamafactory-cli") or str(Path(sys.executable).with_name("llamafactory-cli"))
        if not Path(exe).exists():
            raise ServeError("llamafactory-cli not found: install the training extra (pip install -e '.[train]')")
        self._tmp = tempfile.TemporaryDirectory(prefix="ordebug-serve-")
        cfg = {"model_name_or_path": self.base_model, "template": self.template, "infer_backend": "huggingface",
               "trust_remote_code": True, "enable_thinking": self.enable_thinking}
        if self.adapter is not None:
            cfg.update(adapter_name_or_path=str(self.adapter), finetuning_type="lora")
        cfg_path = Path(self._tmp.name) / "serve.yaml"
        cfg_path.write_text(yaml.safe_dump(cfg))
        self.port = free_port()
        env = dict(os.environ, API_HOST="127.0.0.1", API_PORT=str(self.port), API_KEY=self.key,
                   API_MODEL_NAME=self.model_name)
        env["PATH"] = f"{Path(exe).parent}{os.pathsep}{env.get('PATH', '')}"
        return self._start([exe, "api", str(cfg_path)], env, "llamafactory-cli api")

    def _start(self, cmd: list[str], env: dict, what: str) -> ServedModel:
        if self.offline:
            env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        if self.log_path:
            self._out = open(self.log_path, "a")  # noqa: SIM115  (closed in __exit__)
        log.info("starting %s on 127.0.0.1:%d (%s + %s)", what, self.port, self.base_model, self.adapter)
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._out or subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self._wait_healthy()
        os.environ[SERVE_KEY_ENV] = self.key
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        req = urllib.request.Request(f"{self.base_url}/models", headers={"Authorization": f"Bearer {self.key}"})
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServeError(f"model server exited with code {self.proc.returncode} before it was healthy"
                                 + (f"; see {self.log_path}" if self.log_path else ""))
            try:
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        waited = self.startup_timeout - (deadline - time.monotonic())
                        log.info("model server healthy after %.0f s", waited)
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.5)
        raise ServeError(f"model server not healthy after {self.startup_timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)
        log.info("model server stopped")

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            os.environ.pop(SERVE_KEY_ENV, None)
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None
            if self._out is not None:
                self._out.close()
                self._out = None
            if self._old_sigterm is not None:
                signal.signal(signal.SIGTERM, self._old_sigterm)
                self._old_sigterm = None
