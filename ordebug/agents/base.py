"""The agent interface and the registry of agents by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ordebug.actions import Action
from ordebug.answer import format_answer, steps_think

USAGE_KEYS = ("requests", "cached", "retries", "rate_limited", "prompt_tokens", "completion_tokens",
              "reasoning_tokens", "cost_usd")


@dataclass
class AgentAnswer:
    """One step's answer: the SFT-format text and its parsed action (None: the agent failed;
    the text is then what it wrote instead, empty when nothing came)."""

    text: str
    action: Action | None
    failure: str | None = None
    reprompts: int = 0
    usage: dict[str, float] = field(default_factory=dict)  # USAGE_KEYS, for LLM agents


class Agent(Protocol):
    """An agent answers each observation with text ending in ``Action: NAME(args)``."""

    name: str

    def reset(self, seed: int = 0) -> None:
        """Start a new episode (``seed`` makes stochastic agents reproducible)."""

    def act(self, observation: str) -> str:
        """Reasoning in ``<think>...</think>`` followed by one ``Action:`` line."""


def answer(thoughts: list[str], action: str) -> str:
    """The SFT/LLM answer format."""
    return format_answer(steps_think(thoughts), action)


BUILTIN_AGENTS = ("heuristic", "random", "drop_first_iis")


def make_agent(name: str, **kwargs: Any) -> Agent:
    """Agents by name: ``heuristic``, ``random``, ``drop_first_iis``."""
    from ordebug.agents.baselines import DropFirstIISAgent, RandomAgent
    from ordebug.agents.heuristic import HeuristicAgent

    registry = {"heuristic": HeuristicAgent, "random": RandomAgent, "drop_first_iis": DropFirstIISAgent}
    assert tuple(registry) == BUILTIN_AGENTS
    if name not in registry:
        raise KeyError(f"unknown agent {name!r}; known: {', '.join(registry)}")
    return registry[name](**kwargs)
