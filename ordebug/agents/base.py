"""The agent interface and the registry of agents by name."""

from __future__ import annotations

from typing import Any, Protocol

from ordebug.answer import format_answer, steps_think


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
