"""Teacher (LLM endpoint) configuration and the API key, read from the environment only."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from ordebug.solver.errors import OrDebugError


class MissingKeyError(OrDebugError):
    """The environment variable that should hold the API key is unset or empty."""


@dataclass
class TeacherConfig:
    name: str
    model: str
    base_url: str | None = None  # None: OPENAI_BASE_URL, else the OpenAI default
    api_key_env: str = "OPENAI_API_KEY"
    provider: str = "openai"  # openai | azure
    azure_endpoint: str | None = None  # https://NAME.openai.azure.com (provider azure)
    deployment: str | None = None  # the Azure deployment name (provider azure)
    api_version: str = "2025-04-01-preview"  # Azure's api-version query parameter
    temperature: float | None = None  # None: the model's default (never sent)
    max_tokens: int = 4096  # the completion budget of a request
    max_tokens_cap: int = 16384  # an empty answer cut by the budget is retried with up to this budget
    token_param: str = "auto"  # auto | max_completion_tokens | max_tokens: the field the budget is sent in
    reasoning_effort: str | None = None  # sent as reasoning_effort when set
    on_unsupported: str = "adapt"  # adapt | stop: what a 400 unsupported_parameter/_value does
    extra_body: dict[str, Any] = field(default_factory=dict)
    max_concurrency: int = 64
    requests_per_minute: float = 500
    tokens_per_minute: float = 2_000_000
    timeout_s: float = 300.0
    max_retries: int = 8
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    price_input_per_mtok: float = 0.0
    price_output_per_mtok: float = 0.0
    budget_usd: float | None = None
    attempts_per_problem: int = 1
    max_reprompts: int = 2
    max_think_chars: int = 4000
    cache_path: str = "data/cache/llm_responses.sqlite"
    account_path: str | None = None  # shared rate buckets + spend ledger; None: next to cache_path
    batch: bool = False  # each round of requests goes out as one Batch API job (half price, slower)
    batch_poll_s: float = 30.0  # seconds between polls of a running batch
    batch_completion_window: str = "24h"
    batch_price_factor: float = 0.5  # batch price / list price (the ledger counts batch prices)
    batch_gather_s: float = 60.0  # send a round after this long even if some problems are still stepping

    def __post_init__(self) -> None:
        for key, value, allowed in (("provider", self.provider, ("openai", "azure")),
                                    ("token_param", self.token_param, ("auto", "max_completion_tokens", "max_tokens")),
                                    ("on_unsupported", self.on_unsupported, ("adapt", "stop"))):
            if value not in allowed:
                raise ValueError(f"config key 'teachers.{self.name}.{key}': {value!r} is not one of {list(allowed)}")
        if self.provider == "azure":
            for key in ("azure_endpoint", "deployment"):
                if not getattr(self, key):
                    raise ValueError(f"config key 'teachers.{self.name}.{key}': required with provider: azure")
        if self.max_tokens_cap < self.max_tokens:
            raise ValueError(f"config key 'teachers.{self.name}.max_tokens_cap': {self.max_tokens_cap} is below "
                             f"max_tokens ({self.max_tokens})")

    @property
    def account_file(self) -> str:
        """The SQLite file every job of this machine shares for this endpoint's limits and spend."""
        return self.account_path or os.path.join(os.path.dirname(self.cache_path) or ".", "teacher_accounts.sqlite")

    @property
    def account(self) -> str:
        """The account the limits and the budget apply to: endpoint and model."""
        return f"{self.endpoint}|{self.model}"

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> TeacherConfig:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"teacher {name!r}: unknown key(s) {sorted(unknown)}")
        return cls(name=name, **data)

    @property
    def endpoint(self) -> str:
        """Where requests go: the base URL, or an Azure deployment's URL."""
        if self.provider == "azure":
            return f"{str(self.azure_endpoint).rstrip('/')}/openai/deployments/{self.deployment}"
        return (self.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")

    @property
    def request_model(self) -> str:
        """The ``model`` field of a request: Azure's deployment name, else the model."""
        return str(self.deployment) if self.provider == "azure" else self.model

    def api_key(self) -> str:
        key = os.environ.get(self.api_key_env, "")
        if not key.strip():
            raise MissingKeyError(
                f"teacher {self.name!r}: environment variable {self.api_key_env} is not set; "
                f"export {self.api_key_env}=... to enable it"
            )
        return key.strip()


class RedactFilter(logging.Filter):
    """Replaces secret values in every log record (defence in depth)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        for s in self.secrets:
            msg = msg.replace(s, "***")
        record.msg, record.args = msg, ()
        return True


def redact(text: str, secrets: list[str]) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return text
