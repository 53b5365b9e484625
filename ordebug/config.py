"""Configuration: load YAML and validate it against config/config.schema.yaml."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ordebug.solver.errors import OrDebugError

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "config" / "config.schema.yaml"


class ConfigError(OrDebugError):
    """A config that does not match the schema; the message names the key."""


def key_path(error: jsonschema.ValidationError) -> str:
    """Dotted path of the offending key (``bench.shard_size``)."""
    parts = [str(p) for p in error.absolute_path if not isinstance(p, int)]
    if error.validator == "additionalProperties":
        extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
        parts += extra[:1]
    if error.validator == "required":
        parts.append(error.message.split("'")[1])
    return ".".join(parts) or "<root>"


def fill_defaults(instance: Any, schema: dict[str, Any]) -> None:
    """Set the schema's ``default`` of every absent property, in the objects present."""
    if not isinstance(instance, dict):
        return
    for key, sub in (schema.get("properties") or {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            fill_defaults(instance[key], sub)


def validate_config(config: dict[str, Any], schema_path: Path = SCHEMA_PATH) -> None:
    """Raise ConfigError naming the first bad key; then fill in the schema's defaults (the one
    validation the workflow does: rules/common.smk calls it once at load time)."""
    schema = yaml.safe_load(schema_path.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        raise ConfigError(f"config key '{key_path(e)}': {e.message}")
    fill_defaults(config, schema)
    check_agents(config)
    check_balance(config)
    check_cross_references(config)


def check_cross_references(config: dict[str, Any]) -> None:
    """What the schema cannot check: each RL run's base run and each evaluated RL run exist,
    each external set's path exists, each fine-tuned or base-model agent names a training run."""
    from ordebug.bench.external import check_external_config
    from ordebug.rl.settings import check_rl_config

    try:
        check_rl_config(config)
        check_external_config(config)
    except OrDebugError as exc:
        raise ConfigError(str(exc)) from None
    runs = (config.get("training") or {}).get("runs") or {}
    for key in ("finetuned", "base"):
        for name in (config.get("eval") or {}).get(key) or []:
            if name not in runs:
                raise ConfigError(f"config key 'eval.{key}': {name!r} is not a run under training.runs "
                                  f"({', '.join(runs) or 'none'})")


# Agent-name prefixes of the agents a model server answers for: fine-tuned, RL, base model
SERVED_PREFIXES = ("ft_", "rl_", "base_")


@dataclass(frozen=True)
class AgentKind:
    """What an agent's name says: ``builtin`` or ``teacher`` (answered by code or an endpoint),
    or ``ft``, ``rl``, ``base`` (a model server over a training run's adapter, an RL run's
    adapter, or the run's base model alone), with that ``run``."""

    kind: str
    run: str | None = None

    @property
    def served(self) -> bool:
        return self.run is not None


def agent_kind(name: str, teachers: Iterable[str] = ()) -> AgentKind:
    """The kind of the agent ``name`` (``ft_<run>``, ``rl_<run>``, ``base_<run>``, a teacher
    configured under ``teachers``, else built in): the one place the prefixes are read."""
    for prefix in SERVED_PREFIXES:
        if name.startswith(prefix):
            return AgentKind(prefix[:-1], name[len(prefix):])
    return AgentKind("teacher" if name in set(teachers) else "builtin")


BALANCE_VALUES = {"error_type": list("ABCDEFGHI"), "difficulty": ["easy", "medium", "hard"]}


def check_balance(config: dict[str, Any]) -> None:
    """``dataset.balance.weights`` are keyed by values of the first key of ``by``."""
    b = (config.get("dataset") or {}).get("balance") or {}
    if not b.get("weights"):
        return
    first = b["by"][0]
    bad = [k for k in b["weights"] if k not in BALANCE_VALUES[first]]
    if bad:
        raise ConfigError(f"config key 'dataset.balance.weights': {bad[0]!r} is not a value of {first} "
                          f"(balance.by starts with {first}; values: {', '.join(BALANCE_VALUES[first])})")


def check_agents(config: dict[str, Any]) -> None:
    """Every agent named in ``collect.agents`` and ``dataset.combine`` is built in or a
    configured teacher: a typo is a config error, not an empty dataset. Teachers' names do
    not use the prefixes of served agents (``ft_``, ``rl_``, ``base_``)."""
    from ordebug.agents.base import BUILTIN_AGENTS

    teachers = sorted(config.get("teachers") or {})
    for name in teachers:
        if agent_kind(name).served:
            raise ConfigError(f"config key 'teachers.{name}': a teacher's name may not start with ft_, rl_ or "
                              "base_ (those name fine-tuned, RL and base-model agents in eval)")
    known = f"known: {', '.join(BUILTIN_AGENTS)} (built in)" + (
        f", {', '.join(teachers)} (teachers)" if teachers else ", no teachers configured")
    named = [("collect.agents", a) for a in (config.get("collect") or {}).get("agents", [])]
    named += [("dataset.combine", a) for a in ((config.get("dataset") or {}).get("combine") or {})]
    for key, agent in named:
        if agent not in BUILTIN_AGENTS and agent not in teachers:
            raise ConfigError(f"config key '{key}': unknown agent {agent!r}; {known}")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and validate a config file."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: config must be a mapping")
    validate_config(config)
    return config
