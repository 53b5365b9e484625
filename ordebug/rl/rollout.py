"""Multi-step episodes for RL: the policy acts until ``SUBMIT()`` or the step limit.

The text is the one every other agent sees: the environment's observation under the same
system prompt as SFT samples and evaluation, and the answer read by the same strict parser
(``extract_action``: the last ``Action: NAME(args)`` line after ``</think>``). An answer the
parser rejects is stepped as an invalid action, so the environment charges it like any other.
Episodes advance in lockstep, ``concurrency`` answers per batched generation call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ordebug.actions import ActionError, extract_action
from ordebug.answer import prompt_messages
from ordebug.env.environment import EnvConfig, RepairEnv
from ordebug.rl.reward import EpisodeReturn, episode_return


def step_text(answer: str) -> tuple[str, bool]:
    """What the environment is stepped with: the parsed action's canonical text, or (for an
    answer the strict parser rejects) a line the environment rejects as an invalid action."""
    try:
        return extract_action(answer).text, True
    except ActionError as exc:
        return f"malformed answer: {exc}", False


class Policy(Protocol):
    def answers(self, observations: Sequence[str]) -> list[str]:
        """One answer per observation."""
        ...


@dataclass
class Episode:
    """One episode, replayed to a state and then played on by a policy."""

    problem: dict
    env: RepairEnv
    observation: str
    actions: list[str] = field(default_factory=list)  # every text stepped since reset (for replay)
    start_step: int = 0
    start_invalid: int = 0
    done: bool = False
    outcome: dict | None = None
    answers: list[str] = field(default_factory=list)  # the policy's answers from the start state on

    @property
    def state_step(self) -> int:
        return self.env.state.step  # type: ignore[union-attr]

    def result(self, level: str) -> EpisodeReturn:
        """The return from the start state on (the episode must be over)."""
        if self.outcome is None:
            raise RuntimeError("episode is not over")
        st = self.env.state
        needed = len(self.problem.get("ground_truth", {}).get("fixes", [])) or 1
        return episode_return(self.outcome, level, st.step - self.start_step, st.invalid - self.start_invalid,
                              needed)


def start_episode(problem: dict, env_cfg: EnvConfig, prefix: Sequence[str] = ()) -> Episode:
    """Reset on ``problem`` and replay ``prefix`` (texts stepped before); the episode's return
    counts from there."""
    env = RepairEnv(env_cfg)
    obs, _ = env.reset(problem)
    for text in prefix:
        obs, _, terminated, truncated, _ = env.step(text)
        if terminated or truncated:
            raise ValueError(f"{problem['problem_id']}: the replayed prefix ends the episode")
    st = env.state
    return Episode(problem, env, obs, list(prefix), st.step, st.invalid)


def advance(ep: Episode, answer: str) -> None:
    """Step the episode with one answer of the policy."""
    text, _ = step_text(answer)
    ep.answers.append(answer)
    ep.actions.append(text)
    ep.observation, _, terminated, truncated, info = ep.env.step(text)
    if terminated or truncated:
        ep.done = True
        ep.outcome = info["outcome"]


def play(policy: Policy, episodes: Sequence[Episode], concurrency: int = 8,
         on_state: Any = None) -> None:
    """Let ``policy`` act in every episode until each one is over.

    ``on_state(ep)`` (if given) sees each episode before each of its policy steps."""
    concurrency = max(1, int(concurrency))
    while True:
        active = [e for e in episodes if not e.done]
        if not active:
            return
        for i in range(0, len(active), concurrency):
            chunk = active[i:i + concurrency]
            if on_state is not None:
                for e in chunk:
                    on_state(e)
            for e, answer in zip(chunk, policy.answers([e.observation for e in chunk]), strict=True):
                advance(e, answer)


class HFPolicy:
    """A transformers causal LM (with or without a LoRA adapter) as the policy."""

    def __init__(self, model: Any, tokenizer: Any, max_new_tokens: int, temperature: float = 1.0,
                 do_sample: bool = True, enable_thinking: bool = True) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens, self.temperature = max_new_tokens, temperature
        self.do_sample, self.enable_thinking = do_sample, enable_thinking

    def prompt_text(self, observation: str) -> str:
        return render_prompt(self.tokenizer, observation, self.enable_thinking)

    def answers(self, observations: Sequence[str]) -> list[str]:
        import torch

        tok = self.tokenizer
        enc = tok([self.prompt_text(o) for o in observations], return_tensors="pt", padding=True,
                  padding_side="left", add_special_tokens=False).to(self.model.device)
        kw: dict[str, Any] = {"do_sample": self.do_sample}
        if self.do_sample:
            kw.update(temperature=self.temperature, top_p=1.0, top_k=0)
        with torch.no_grad():
            out = self.model.generate(**enc, max_new_tokens=self.max_new_tokens, pad_token_id=tok.pad_token_id,
                                      **kw)
        return tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)


def render_prompt(tokenizer: Any, observation: str, enable_thinking: bool = True) -> str:
    """The chat template applied to one step's prompt, ready for the assistant's answer."""
    return tokenizer.apply_chat_template(prompt_messages(observation), tokenize=False, add_generation_prompt=True,
                                         enable_thinking=enable_thinking)
