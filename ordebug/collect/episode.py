"""One episode: an agent against the environment, every step recorded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ordebug.actions import ActionError, extract_action
from ordebug.agents.base import Agent
from ordebug.data.sft import format_output, step_sample
from ordebug.env.environment import EnvConfig, ProblemError, RepairEnv

SUCCESS_LEVELS = ("feasible", "faithful", "exact")


def episode_seed(problem_id: str) -> int:
    """A stable per-problem seed (never Python's hash())."""
    return int(hashlib.sha256(problem_id.encode()).hexdigest()[:8], 16)


@dataclass
class Episode:
    problem: dict
    steps: list[dict] = field(default_factory=list)  # observation, answer, action, valid
    outcome: dict[str, Any] = field(default_factory=dict)

    def succeeded(self, level: str) -> bool:
        return bool(self.outcome.get(level))


def run_episode(agent: Agent, problem: dict, config: EnvConfig | None = None) -> Episode:
    """Play one problem to the end; a bad problem record gives a failed episode, not a crash."""
    env = RepairEnv(config)
    ep = Episode(problem)
    try:
        obs, _ = env.reset(problem)
    except ProblemError as exc:
        ep.outcome = {"feasible": False, "faithful": False, "exact": False,
                      "failure_reason": f"bad problem record: {exc}"}
        return ep
    agent.reset(episode_seed(str(problem["problem_id"])))
    while True:
        answer = agent.act(obs)
        try:
            action = extract_action(answer)
            action_text, valid = action.text, True
        except ActionError:
            action, action_text, valid = None, answer.strip().splitlines()[-1] if answer.strip() else "", False
        ep.steps.append({"observation": obs, "answer": answer, "action": action_text, "valid": valid,
                         "parsed": action})
        obs, _, terminated, truncated, info = env.step(action_text)
        if terminated or truncated:
            break
    outcome = dict(info["outcome"])
    outcome["return"] = info["return"]
    outcome["actions"] = [s["action"] for s in ep.steps]
    if not outcome["feasible"]:
        outcome["failure_reason"] = "still infeasible" + ("" if outcome["submitted"] else " at the step limit")
    elif not outcome["faithful"]:
        outcome["failure_reason"] = "feasible but the objective changed"
    elif outcome.get("exact") is False:
        outcome["failure_reason"] = "faithful, but an edited element disagrees with the specification"
    else:
        outcome["failure_reason"] = None
    ep.outcome = outcome
    return ep


def episode_samples(ep: Episode, agent_name: str, max_think_chars: int | None = None) -> list[dict]:
    """One Alpaca sample per valid step, the input being the observation at that step."""
    valid = [s for s in ep.steps if s["valid"]]
    return [
        step_sample(ep.problem, s["observation"], format_output(s["answer"], s["parsed"], max_think_chars),
                    i, len(valid), agent_name)
        for i, s in enumerate(valid, 1)
    ]


def outcome_record(ep: Episode, agent_name: str, level: str) -> dict:
    from ordebug.eval.metrics import annotate

    p = ep.problem
    return annotate({
        "problem_id": p.get("problem_id"),
        "agent": agent_name,
        "error_type": p.get("error_type"),
        "family": p.get("family"),
        "difficulty": p.get("difficulty"),
        "tier": p.get("tier", "small"),
        "success": ep.succeeded(level),
        **ep.outcome,
    }, p)
