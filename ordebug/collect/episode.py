"""The one episode loop, for built-in and LLM agents alike.

An agent is anything with ``async act(observation, sample) -> AgentAnswer``; built-in
(synchronous, text-only) agents are wrapped by :class:`BuiltinPlayer`. The environment is
reached through :class:`EnvHandle`: in this process, in a thread, or in a worker process
of an :class:`~ordebug.collect.envpool.EnvPool`. Every step keeps what a reader (the SFT
selection, the trajectory viewer) needs: the observation, the answer, the action, whether
the environment accepted it, its reply and whether the model changed.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from ordebug.actions import ActionError, extract_action
from ordebug.agents.base import USAGE_KEYS, Agent, AgentAnswer
from ordebug.collect.envpool import EnvPool
from ordebug.env.environment import EnvConfig, ProblemError, RepairEnv

SUCCESS_LEVELS = ("feasible", "faithful", "exact")
MAX_FAILED_ANSWER_CHARS = 2000  # of an answer that ended its episode unparsed, kept in the outcome


def episode_seed(problem_id: str) -> int:
    """A stable per-problem seed (never Python's hash())."""
    return int(hashlib.sha256(problem_id.encode()).hexdigest()[:8], 16)


class Player(Protocol):
    name: str

    def start(self, problem_id: str, sample: int) -> None: ...

    async def act(self, observation: str, sample: int) -> AgentAnswer: ...


class BuiltinPlayer:
    """A built-in agent (synchronous ``act(observation) -> text``) as a player."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.name = agent.name

    def start(self, problem_id: str, sample: int) -> None:
        self.agent.reset(episode_seed(problem_id) + sample)

    async def act(self, observation: str, sample: int) -> AgentAnswer:
        text = self.agent.act(observation)
        try:
            return AgentAnswer(text, extract_action(text))
        except ActionError as exc:
            return AgentAnswer(text, None, f"malformed answer: {exc}")


@dataclass
class Step:
    observation: str
    answer: str
    action: str
    valid: bool  # the environment accepted the action
    reply: str  # the environment's answer to it
    changed: bool  # the model changed (an accepted edit or RESET)
    edit: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Episode:
    problem: dict
    sample: int = 0
    steps: list[Step] = field(default_factory=list)
    outcome: dict[str, Any] = field(default_factory=dict)  # the environment's verdict + loop facts

    def succeeded(self, level: str) -> bool:
        return bool(self.outcome.get(level))


class EnvHandle:
    """Async access to one problem's environment: here, in a thread, or in ``pool``."""

    def __init__(self, cfg: EnvConfig, key: str, pool: EnvPool | None = None, threaded: bool = False) -> None:
        self.cfg, self.key, self.pool, self.threaded = cfg, key, pool, threaded
        self.env = RepairEnv(cfg) if pool is None else None

    async def _call(self, name: str, *args: Any) -> Any:
        if self.pool is not None:
            return await getattr(self.pool, name)(self.key, *args)
        assert self.env is not None
        fn = {"reset": self.env.reset, "step": self.env.step,
              "evaluate": lambda: self.env.evaluate(submitted=False).to_json(), "close": lambda: None}[name]
        return await asyncio.to_thread(fn, *args) if self.threaded else fn(*args)

    async def reset(self, problem: dict) -> tuple[str, dict]:
        return await self._call("reset", problem)

    async def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        return await self._call("step", action)

    async def evaluate(self) -> dict:
        return await self._call("evaluate")

    async def close(self) -> None:
        await self._call("close")


def failure_reason(outcome: dict) -> str | None:
    """Why an episode did not reach the exact level (None: it did); one wording for all agents."""
    if outcome.get("agent_failure"):
        return str(outcome["agent_failure"])
    if not outcome.get("feasible"):
        return "still infeasible" + ("" if outcome.get("submitted") else " at the step limit")
    if not outcome.get("faithful"):
        return "feasible but the objective changed"
    if outcome.get("exact") is False:
        return "faithful, but an edited element disagrees with the specification"
    if not outcome.get("submitted"):
        return "repaired but never submitted (step limit)"
    return None


async def play(player: Player, problem: dict, env: EnvHandle, sample: int = 0) -> Episode:
    """Play one problem to the end. A bad problem record gives a failed episode, not a crash;
    an agent that cannot produce an action ends the episode with its reason."""
    ep = Episode(problem, sample)
    usage = dict.fromkeys(USAGE_KEYS, 0)
    reprompts = 0
    try:
        obs, _ = await env.reset(problem)
    except ProblemError as exc:
        ep.outcome = {"feasible": False, "faithful": False, "exact": False, "submitted": False, "steps": 0,
                      "agent_failure": f"bad problem record: {exc}"}
        ep.outcome.update(failure_reason=failure_reason(ep.outcome), actions=[], sample=sample, reprompts=0, **usage)
        return ep
    player.start(str(problem.get("problem_id")), sample)
    failure = None
    failed_answer = ""
    info: dict = {}
    try:
        while True:
            ans = await player.act(obs, sample)
            reprompts += ans.reprompts
            for k, v in ans.usage.items():
                usage[k] = usage.get(k, 0) + v
            if ans.action is None:
                failure = ans.failure or "no action"
                failed_answer = ans.text[:MAX_FAILED_ANSWER_CHARS]
                break
            nxt, _, terminated, truncated, info = await env.step(ans.action.text)
            ep.steps.append(Step(obs, ans.text, ans.action.text, bool(info.get("valid", True)),
                                 str(info.get("reply", "")), bool(info.get("changed")), ans.action.is_edit))
            obs = nxt
            if terminated or truncated:
                break
        outcome = dict(info["outcome"]) if failure is None else await env.evaluate()
    finally:
        await env.close()
    outcome["agent_failure"] = failure
    if failed_answer:  # what the agent wrote instead of an action (a cut or unparsable answer)
        outcome["failed_answer"] = failed_answer
    if failure is not None:  # an episode the agent could not finish repairs nothing
        outcome.update(feasible=False, faithful=False, exact=None if outcome.get("exact") is None else False)
    outcome.update(actions=[s.action for s in ep.steps], sample=sample, reprompts=reprompts,
                   **{k: round(v, 8) if isinstance(v, float) else v for k, v in usage.items()})
    if "return" in info:
        outcome["return"] = info["return"]
    outcome["failure_reason"] = failure_reason(outcome)
    ep.outcome = outcome
    return ep


def run_episode(agent: Agent, problem: dict, config: EnvConfig | None = None) -> Episode:
    """One built-in agent's episode in this process (the synchronous entry point)."""
    cfg = config or EnvConfig()
    return asyncio.run(play(BuiltinPlayer(agent), problem, EnvHandle(cfg, str(problem.get("problem_id")))))
