"""What a request may carry, per model family and per endpoint.

OpenAI's reasoning family (``gpt-5*``, ``o1``/``o3``/``o4``...) takes the completion budget as
``max_completion_tokens`` and refuses ``max_tokens``, and accepts only the default sampling
settings (a ``temperature`` other than 1 is a 400 ``unsupported_value``). Servers of open
models (vLLM, ``llamafactory-cli api``) read ``max_tokens``. ``token_param: auto`` picks
``max_completion_tokens`` for the reasoning family, Azure and api.openai.com, else ``max_tokens``.

A 400 ``unsupported_parameter``/``unsupported_value`` the rules did not foresee is turned
into an :class:`Adaptation` (rename the budget field, or omit a sampling setting), which the
client records once per account (endpoint and model) in the account database, so no job
sends the refused field again. A refusal no adaptation fixes stops the job with one line
naming the teacher's config key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ordebug.llm.config import TeacherConfig

REASONING_FAMILY = re.compile(r"^(gpt-5|o[1-9])([-.]|$)")
SAMPLING = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "seed", "logprobs", "top_logprobs")
BUDGET = ("max_tokens", "max_completion_tokens")
REFUSALS = ("unsupported_parameter", "unsupported_value")


def reasoning_family(model: str) -> bool:
    """Whether ``model`` is one of OpenAI's reasoning models (the GPT-5 request rules)."""
    return bool(REASONING_FAMILY.match(model.lower()))


def token_param(cfg: TeacherConfig) -> str:
    """The request field of the completion budget."""
    if cfg.token_param != "auto":
        return cfg.token_param
    openai_hosted = cfg.provider == "azure" or "api.openai.com" in cfg.endpoint
    return "max_completion_tokens" if openai_hosted or reasoning_family(cfg.model) else "max_tokens"


def base_params(cfg: TeacherConfig, budget: int, sample: int) -> dict[str, Any]:
    """The request's settings by the configuration and the family rules (before adaptations)."""
    p: dict[str, Any] = {token_param(cfg): budget}
    if cfg.temperature is not None and not reasoning_family(cfg.model):
        p["temperature"] = cfg.temperature
    if cfg.reasoning_effort is not None:
        p["reasoning_effort"] = cfg.reasoning_effort
    if cfg.attempts_per_problem > 1 or sample:
        p["seed"] = sample
    return p


@dataclass(frozen=True)
class Adaptation:
    """``param`` is refused: send it as ``rename_to``, or (``rename_to`` None) not at all."""

    param: str
    rename_to: str | None
    note: str

    @property
    def action(self) -> str:
        return f"rename:{self.rename_to}" if self.rename_to else "omit"

    def describe(self) -> str:
        return f"{self.param} -> {self.rename_to}" if self.rename_to else f"{self.param} omitted"


def apply(params: dict[str, Any], adaptations: dict[str, str]) -> dict[str, Any]:
    """``params`` with the recorded adaptations (``param -> action``) applied."""
    out = dict(params)
    for param, action in adaptations.items():
        if param not in out:
            continue
        value = out.pop(param)
        if action.startswith("rename:"):
            out[action.split(":", 1)[1]] = value
    return out


def refusal(body: object) -> tuple[str, str, str] | None:
    """``(code, param, message)`` of a 400 that refuses a parameter or its value, else None."""
    err = body.get("error", body) if isinstance(body, dict) else None
    if not isinstance(err, dict) or err.get("code") not in REFUSALS:
        return None
    param = err.get("param")
    if not param:
        m = re.search(r"'(\w+)'", str(err.get("message", "")))
        param = m.group(1) if m else ""
    return str(err["code"]), str(param), str(err.get("message", ""))


def adaptation_for(param: str, message: str, known: dict[str, str]) -> Adaptation | None:
    """How to avoid the refusal of ``param`` (None: nothing we may change fixes it)."""
    if param in BUDGET:
        other = BUDGET[1 - BUDGET.index(param)]
        if other in known:  # both budget fields refused: no safe choice left
            return None
        return Adaptation(param, other, message)
    if param in (*SAMPLING, "reasoning_effort"):
        return Adaptation(param, None, message)
    return None


def config_key(cfg: TeacherConfig, param: str) -> str:
    """The teacher's config key behind a request field."""
    if param in BUDGET:
        key = "token_param"
    elif param == "seed":
        key = "attempts_per_problem"
    elif param in ("temperature", "reasoning_effort"):
        key = param
    elif param in cfg.extra_body:
        key = f"extra_body.{param}"
    else:
        key = "extra_body"
    return f"teachers.{cfg.name}.{key}"
