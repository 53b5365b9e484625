"""Alpaca SFT records: one sample per step of a verified trajectory."""

from __future__ import annotations

from ordebug.actions import Action
from ordebug.answer import format_answer, think_of, trim_think
from ordebug.env.prompt import INSTRUCTION


def format_output(answer: str, action: Action, max_think_chars: int | None = None) -> str:
    """``<think>\\n...\\n</think>\\n\\nAction: NAME(args)`` with the action in canonical text."""
    return format_answer(trim_think(think_of(answer), max_think_chars), action.text)


def step_sample(problem: dict, observation: str, output: str, step: int, steps: int, agent: str) -> dict:
    return {
        "instruction": INSTRUCTION,
        "input": observation,
        "output": output,
        "metadata": {
            "problem_id": problem["problem_id"],
            "error_type": problem.get("error_type"),
            "difficulty": problem.get("difficulty"),
            "family": problem.get("family"),
            "split": problem.get("split"),
            "step": step,
            "steps": steps,
            "agent": agent,
        },
    }
