"""The one outcome record per (agent, problem), written by collection and evaluation alike,
and the diagnosis fields that need the problem record (evaluation reads them)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ordebug.actions import Action, ActionError, parse_action
from ordebug.agents.base import USAGE_KEYS
from ordebug.collect.episode import Episode


def parsed_actions(actions: Iterable[str]) -> Iterator[Action]:
    """The actions that parse, in order (an invalid one names nothing)."""
    for text in actions:
        try:
            yield parse_action(text)
        except ActionError:
            continue


def edited_elements(actions: Iterable[str]) -> set[str]:
    """Distinct rows/variables the edit actions act on."""
    return {str(a.args[0]) for a in parsed_actions(actions) if a.is_edit}


def diagnosis_accuracy(actions: Iterable[str], iis: dict, row_vars: set[str] | None = None) -> float | None:
    """Share of edited elements that belong to the initial IIS; None without edits.

    ``row_vars``: variables of the IIS rows (a type or bound edit on them counts)."""
    edited = edited_elements(actions)
    if not edited:
        return None
    members = set(iis.get("constraints", [])) | {b["variable"] for b in iis.get("bounds", [])} | (row_vars or set())
    return len(edited & members) / len(edited)


def iis_row_vars(problem: dict) -> set[str]:
    """Variables of the initial IIS rows."""
    from ordebug.solver.lpformat import read_model_text

    rows = problem.get("iis", {}).get("constraints", [])
    if not rows or "model" not in problem:
        return set()
    spec = read_model_text(problem["model"], problem.get("model_format", "lp"),
                           name=str(problem.get("problem_id", "model")))
    return {v for r in rows if r in spec.rows for v in spec.rows[r].coefs}


def annotate(outcome: dict, problem: dict) -> dict:
    """Add the diagnosis fields that need the problem record."""
    outcome["diagnosis_accuracy"] = diagnosis_accuracy(outcome.get("actions", []), problem.get("iis", {}),
                                                       iis_row_vars(problem))
    outcome["root_cause_known"] = bool((problem.get("ground_truth") or {}).get("root_cause"))
    outcome["objective_known"] = problem.get("original_objective") is not None
    return outcome


def _problem_fields(problem: dict, agent: str) -> dict:
    return {"problem_id": problem.get("problem_id"), "agent": agent, "error_type": problem.get("error_type"),
            "family": problem.get("family"), "difficulty": problem.get("difficulty"),
            "tier": problem.get("tier", "small")}


def outcome_record(problem: dict, agent: str, ep: Episode, level: str, episodes: list[Episode] | None = None) -> dict:
    """The outcome of the chosen episode; ``success``: submitted at ``level``. Usage fields
    sum over every episode tried (rejection sampling pays for all of them)."""
    tried = episodes or [ep]
    rec = {**_problem_fields(problem, agent), **ep.outcome, "attempts": len(tried),
           "success": bool(ep.outcome.get(level)) and bool(ep.outcome.get("submitted"))}
    for k in USAGE_KEYS:
        rec[k] = sum(e.outcome.get(k, 0) or 0 for e in tried)
    return annotate(rec, problem)


def error_record(problem: dict, agent: str, reason: str) -> dict:
    """A problem that raised (a bug or a request that failed for good): failed, with why."""
    return {**_problem_fields(problem, agent), "success": False, "feasible": False, "faithful": False,
            "exact": None, "submitted": False, "actions": [], "failure_reason": reason, "diagnosis_accuracy": None,
            **dict.fromkeys(USAGE_KEYS, 0)}
