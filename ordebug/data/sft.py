"""Alpaca SFT records: one sample per step of a verified trajectory."""

from __future__ import annotations

import re

from ordebug.actions import Action
from ordebug.env.prompt import INSTRUCTION

_THINK = re.compile(r"<think>\s*(.*?)\s*</think>", re.S)


def format_output(answer: str, action: Action, max_think_chars: int | None = None) -> str:
    """``<think>\\n...\\n</think>\\n\\nAction: NAME(args)`` with the action in canonical text."""
    m = _THINK.search(answer)
    think = m.group(1).strip() if m else ""
    if max_think_chars is not None and len(think) > max_think_chars:
        think = think[:max_think_chars].rsplit(" ", 1)[0] + " ..."
    return f"<think>\n{think}\n</think>\n\nAction: {action.text}"


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
