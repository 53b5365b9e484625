"""The LLM agent: the same observation text and parser as every other agent, over any
OpenAI-compatible endpoint. One single-turn request per step (system prompt + the
observation), exactly the format of the SFT samples, so training and inference match.
"""

from __future__ import annotations

from ordebug.actions import ActionError, extract_action
from ordebug.agents.base import USAGE_KEYS, AgentAnswer
from ordebug.answer import THINK, format_answer, prompt_messages, trim_think
from ordebug.llm.client import LLMClient

CORRECTION = (
    "Your answer could not be used: {error}. Reply again with your reasoning inside "
    "<think>...</think> and then exactly one line of the form: Action: NAME(args)"
)


LLMAnswer = AgentAnswer  # the answer type of every agent


def think_text(content: str, reasoning: str) -> str:
    """The teacher's own reasoning: a separate reasoning field if given, else its <think>."""
    if reasoning.strip():
        return reasoning.strip()
    m = THINK.search(content)
    if m:
        return m.group(1).strip()
    return content.split("Action:")[0].strip()


class LLMAgent:
    def __init__(self, name: str, client: LLMClient, max_reprompts: int = 2, max_think_chars: int = 4000) -> None:
        self.name = name
        self.client = client
        self.max_reprompts = max_reprompts
        self.max_think_chars = max_think_chars

    def start(self, problem_id: str, sample: int) -> None:
        """Each request carries the whole observation: nothing to reset between episodes."""

    async def act(self, observation: str, sample: int = 0) -> AgentAnswer:
        messages = prompt_messages(observation)
        usage: dict[str, float] = dict.fromkeys(USAGE_KEYS, 0)
        error = ""
        for attempt in range(self.max_reprompts + 1):
            res = await self.client.complete(messages, sample)
            usage["requests"] += res.get("requests", 0)
            usage["cached"] += res.get("cached_answers", 0)
            for k in ("retries", "rate_limited", "prompt_tokens", "completion_tokens", "reasoning_tokens",
                      "cost_usd"):
                usage[k] += res.get(k, 0)
            content = res["content"]
            if res.get("failure"):  # no answer at all under the budget cap: a failed step, not a malformed one
                return AgentAnswer("", None, str(res["failure"]), attempt, usage)
            if res["finish_reason"] == "length":
                error = "the answer was cut off (finish_reason=length) before its Action line"
            else:
                try:
                    action = extract_action(content)
                    think = trim_think(think_text(content, res["reasoning"]), self.max_think_chars)
                    return AgentAnswer(format_answer(think, action.text), action, None, attempt, usage)
                except ActionError as exc:
                    error = str(exc)
            messages = [*messages, {"role": "assistant", "content": content},
                        {"role": "user", "content": CORRECTION.format(error=error)}]
        return AgentAnswer(content, None, f"malformed answer after {self.max_reprompts} re-prompts: {error}",
                           self.max_reprompts, usage)
