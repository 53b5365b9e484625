"""Which steps of an episode become SFT samples, with their lineage.

A trajectory qualifies only if it ends with ``SUBMIT()`` at the configured success level.
Of its steps, these never become samples: steps the environment rejected, a repeated
idempotent action while the model did not change (a second identical ``SPEC``/``INSPECT``
or edit), and steps after the repair (between the last change to the model and the
``SUBMIT()``). When steps were removed, the remaining actions are replayed in a fresh
environment: the trajectory is kept only if every action is still accepted and the
verdict is the same; the samples then carry the replayed observations (the history the
model will see at inference has no removed steps in it).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from ordebug.actions import parse_action
from ordebug.collect.episode import Episode, Step
from ordebug.collect.sft import format_output, step_sample
from ordebug.env import observation as _observation
from ordebug.env.environment import EnvConfig, RepairEnv
from ordebug.env.prompt import SYSTEM_PROMPT

IDEMPOTENT = {"GET_IIS", "INSPECT", "SPEC", "CHECK_SLACK", "UPDATE_RHS", "SET_COEF", "UPDATE_BOUNDS", "SET_VAR_TYPE",
              "DROP_CONSTRAINT"}
VERDICT_KEYS = ("feasible", "faithful", "exact", "submitted")
OBJ_TOL = 1e-9


def prompt_version() -> str:
    """A hash of the system prompt and the observation format (the renderer's source)."""
    h = hashlib.sha256(SYSTEM_PROMPT.encode())
    h.update(Path(_observation.__file__).read_bytes())
    return h.hexdigest()[:12]


def config_hash(*parts: object) -> str:
    """A short hash of the settings that shaped the samples (dataclasses or plain data)."""
    norm = [asdict(p) if hasattr(p, "__dataclass_fields__") else p for p in parts]  # type: ignore[arg-type]
    return hashlib.sha256(json.dumps(norm, sort_keys=True, default=str).encode()).hexdigest()[:12]


@dataclass
class Lineage:
    """Where a sample comes from (copied into every sample's metadata)."""

    agent: str
    teacher_model: str | None
    prompt_version: str
    config_hash: str

    def for_problem(self, problem: dict) -> dict:
        return {**asdict(self), "bench_version": problem.get("bench_version")}


def trajectory_rejection(ep: Episode, level: str) -> str | None:
    """Why a whole trajectory cannot teach (None: it can)."""
    if not ep.steps or ep.steps[-1].action != "SUBMIT()" or not ep.outcome.get("submitted"):
        return "no SUBMIT()"
    if not ep.outcome.get(level):
        return f"submitted below the {level} level"
    return None


def good_steps(steps: list[Step]) -> tuple[list[Step], Counter[str]]:
    """The steps that may become samples (the final SUBMIT() included) and, by reason, those dropped."""
    drops: Counter[str] = Counter()
    last_change = max((i for i, s in enumerate(steps) if s.valid and s.changed), default=-1)
    kept: list[Step] = []
    seen: set[str] = set()  # idempotent actions since the model last changed
    for i, s in enumerate(steps[:-1]):
        if not s.valid:
            drops["rejected step"] += 1
            continue
        if i > last_change:
            drops["step after the repair"] += 1
            continue
        if s.action in seen:
            drops["repeated no-op step"] += 1
            continue
        if s.changed:
            seen = set()
        if parse_action(s.action).name in IDEMPOTENT:
            seen.add(s.action)
        kept.append(s)
    return [*kept, steps[-1]], drops


def replay(problem: dict, actions: list[str], env_cfg: EnvConfig) -> tuple[list[str], dict, bool]:
    """Observations before each action, the final verdict, and whether every action was accepted."""
    env = RepairEnv(env_cfg)
    obs, _ = env.reset(problem)
    observations, accepted, info = [], True, {}
    for a in actions:
        observations.append(obs)
        obs, _, term, trunc, info = env.step(a)
        accepted &= bool(info["valid"])
        if term or trunc:
            break
    outcome = info.get("outcome") or env.evaluate(submitted=False).to_json()
    return observations, outcome, accepted and len(observations) == len(actions)


def same_verdict(a: dict, b: dict) -> bool:
    if any(bool(a.get(k)) != bool(b.get(k)) for k in VERDICT_KEYS):
        return False
    oa, ob = a.get("objective"), b.get("objective")
    return (oa is None) == (ob is None) and (oa is None or abs(oa - ob) <= OBJ_TOL * max(1.0, abs(ob)))


def select_samples(ep: Episode, level: str, lineage: Lineage, env_cfg: EnvConfig,
                   max_think_chars: int | None = None) -> tuple[list[dict], Counter[str]]:
    """The episode's samples and what was dropped: ``trajectory: <why>`` counts whole
    trajectories, other keys count steps."""
    why = trajectory_rejection(ep, level)
    if why is not None:
        return [], Counter({f"trajectory: {why}": 1})
    steps, drops = good_steps(ep.steps)
    observations = [s.observation for s in steps]
    if drops:
        observations, verdict, accepted = replay(ep.problem, [s.action for s in steps], env_cfg)
        if not accepted or not same_verdict(verdict, ep.outcome):
            drops["trajectory: does not replay without the dropped steps"] += 1
            return [], drops
    meta = lineage.for_problem(ep.problem)
    samples = []
    for i, (s, obs) in enumerate(zip(steps, observations, strict=True), 1):
        sample = step_sample(ep.problem, obs, format_output(s.answer, parse_action(s.action), max_think_chars),
                             i, len(steps), lineage.agent)
        sample["metadata"].update(meta)
        samples.append(sample)
    return samples, drops


def replay_samples(samples: Iterable[dict], problems: dict[str, dict], env_cfg: EnvConfig | None = None) -> list[str]:
    """Replay SFT samples problem by problem, independently of collection: every input must
    be exactly what the environment shows at that step, every action accepted, and the
    last one a SUBMIT() that the solver accepts. Returns the problems found wrong, with why."""
    cfg = env_cfg or EnvConfig()
    by_problem: dict[str, list[dict]] = {}
    for s in samples:
        by_problem.setdefault(s["metadata"]["problem_id"], []).append(s)
    errors = []
    for pid, ss in by_problem.items():
        ss.sort(key=lambda s: s["metadata"]["step"])
        actions = [s["output"].rsplit("Action: ", 1)[1].strip() for s in ss]
        observations, outcome, accepted = replay(problems[pid], actions, cfg)
        if not accepted:
            errors.append(f"{pid}: an action is rejected on replay")
        elif observations != [s["input"] for s in ss]:
            errors.append(f"{pid}: an input differs from what the environment shows")
        elif actions[-1] != "SUBMIT()" or not outcome.get("feasible"):
            errors.append(f"{pid}: does not end in an accepted SUBMIT()")
    return errors
