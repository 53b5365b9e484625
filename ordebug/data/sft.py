"""Alpaca SFT records: one sample per step of a verified trajectory."""

from __future__ import annotations

import re

from ordebug.actions import Action
from ordebug.env.prompt import INSTRUCTION

_THINK = re.compile(r"<think>\s*(.*?)\s*</think>", re.S)
_STEP = re.compile(r"Step \d+:")


def trim_think(think: str, max_chars: int | None) -> str:
    """``think`` within ``max_chars``: its opening lines go first (they restate the situation:
    "the conflict is a, b, c and 5 more"), never the last two (the diagnosis and the
    decision the action follows from); what is still too long is cut at a word, with " ...".
    Kept ``Step N:`` lines are numbered from 1 again."""
    think = think.strip()
    if max_chars is None or len(think) <= max_chars:
        return think
    lines = [x.strip() for x in think.splitlines() if x.strip()]
    while len(lines) > 2 and len("\n".join(lines)) > max_chars:
        lines.pop(0)
    if all(_STEP.match(x) for x in lines):
        lines = [_STEP.sub(f"Step {i}:", x, count=1) for i, x in enumerate(lines, 1)]
    text = "\n".join(lines)
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] + " ..."
    return text


def format_output(answer: str, action: Action, max_think_chars: int | None = None) -> str:
    """``<think>\\n...\\n</think>\\n\\nAction: NAME(args)`` with the action in canonical text."""
    m = _THINK.search(answer)
    think = trim_think(m.group(1) if m else "", max_think_chars)
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
