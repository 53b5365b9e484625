"""Agents: ``act(observation) -> text`` ending in ``Action: NAME(args)``."""

from ordebug.agents.base import Agent, make_agent

__all__ = ["Agent", "make_agent"]
