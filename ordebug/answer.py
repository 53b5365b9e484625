"""The answer format, in one place: what every agent writes, every SFT sample holds, the
served model is asked for and GRPO rewards; and how long an answer may be.

An answer is ``<think>\\n...\\n</think>\\n\\nAction: NAME(args)``; the request that asks
for it is the system prompt and the observation (:func:`prompt_messages`). The action line
is read by the strict parser in :mod:`ordebug.actions` (``extract_action``).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from ordebug.env.prompt import SYSTEM_PROMPT

THINK = re.compile(r"<think>\s*(.*?)\s*</think>", re.S)
_STEP = re.compile(r"Step \d+:")


def prompt_messages(observation: str) -> list[dict[str, str]]:
    """The chat of one step, as the LLM agent sends it, the SFT samples hold it and GRPO renders it."""
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": observation}]


def format_answer(think: str, action: str) -> str:
    """The answer text: ``think`` in its tags, a blank line, the ``Action:`` line."""
    return f"<think>\n{think}\n</think>\n\nAction: {action}"


def steps_think(thoughts: list[str]) -> str:
    """Reasoning written as numbered steps (``Step 1: ...``), one per line."""
    return "\n".join(f"Step {i}: {t}" for i, t in enumerate(thoughts, 1))


def think_of(text: str) -> str:
    """The ``<think>`` body of an answer (stripped), or "" when it has none."""
    m = THINK.search(text)
    return m.group(1).strip() if m else ""


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


# A generation budget (served evaluation, GRPO rollouts) covers the longest answer the model
# was trained to write, with this margin: the demo's 128 tokens cut 18 of SmolLM2's 36 first
# answers before their Action line; its longest trained answer was 141 tokens.
ANSWER_MARGIN = 1.25


def answer_budget(configured: int, lengths: str | Path | None,
                  key: str = "eval.serve.max_tokens") -> tuple[int, str | None]:
    """A generation budget (``key``: ``eval.serve.max_tokens``, ``rl.max_new_tokens``) raised
    to ``ANSWER_MARGIN`` times the longest answer of the training data (``answer_tokens_max``
    of a run's ``token_lengths.json``) when that is larger, with the reason for the log when
    raised. No file, no change."""
    if not lengths or not Path(lengths).is_file():
        return configured, None
    longest = int(json.loads(Path(lengths).read_text()).get("answer_tokens_max") or 0)
    need = math.ceil(ANSWER_MARGIN * longest)
    if need <= configured:
        return configured, None
    return need, (f"{key} {configured} is below the longest trained answer ({longest} tokens, "
                  f"{lengths}): {need} used")
