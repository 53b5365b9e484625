"""Metrics over per-problem outcomes (definitions in the README, worked examples in tests).

- steps: the actions an agent took before its final SUBMIT() (a one-edit repair is 1 step).
- RR@k: share of problems whose submitted model is feasible within k steps.
- faithful RR@k: same, with the optimum within tolerance of the original.
- exact RR@k: same, faithful and every edited element equal to the specification again
  (nothing the specification contains deleted or neutralised); "–" where problems have no
  specification to compare with.
- diagnosis accuracy: per problem, the share of distinct elements the agent edited that
  belong to the initial IIS (its rows, or variables with a listed bound or in an IIS row);
  averaged over problems with at least one edit.
- root-cause accuracy: share of problems whose edits touched the injected element.
- Records without a ground truth (imported models) have no root cause: the metric is over
  the others, n/a (None) when none has one; without an original objective only feasibility
  is scored (the faithful metrics are over the others, n/a when none has an objective).
- objective preservation: mean of max(0, 1 - |obj - orig| / max(1, |orig|)) over feasible outcomes.
- steps / edits: means over faithfully solved problems.
- invalid-action rate: invalid actions / all actions.
- tokens and cost per solved problem: totals divided by faithfully solved problems.
"""

from __future__ import annotations

from collections import defaultdict

from ordebug.collect.outcome import annotate, diagnosis_accuracy, edited_elements, iis_row_vars  # noqa: F401

KS = (1, 3, 5, 10)


def steps_before_submit(outcome: dict) -> int:
    steps = int(outcome.get("steps") or 0)
    return steps - 1 if outcome.get("submitted") and steps > 0 else steps


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def summarize(outcomes: list[dict], price_in: float = 0.0, price_out: float = 0.0) -> dict:
    """Every metric over a list of outcomes."""
    n = len(outcomes)
    if n == 0:
        return {"problems": 0}
    steps = [steps_before_submit(o) for o in outcomes]
    out: dict = {"problems": n}
    scored = [(o, s) for o, s in zip(outcomes, steps, strict=True) if o.get("objective_known", True)]
    for k in KS:
        out[f"rr@{k}"] = sum(1 for o, s in zip(outcomes, steps, strict=True) if o.get("feasible") and s <= k) / n
        out[f"faithful_rr@{k}"] = (sum(1 for o, s in scored if o.get("faithful") and s <= k) / len(scored)
                                   if scored else None)
    judged = [(o, s) for o, s in zip(outcomes, steps, strict=True) if o.get("exact") is not None]
    for k in KS:
        out[f"exact_rr@{k}"] = (sum(1 for o, s in judged if o["exact"] and s <= k) / len(judged)) if judged else None
    out["feasible"] = sum(bool(o.get("feasible")) for o in outcomes) / n
    out["faithful"] = sum(bool(o.get("faithful")) for o, _ in scored) / len(scored) if scored else None
    out["exact"] = sum(bool(o["exact"]) for o, _ in judged) / len(judged) if judged else None
    diag = [o["diagnosis_accuracy"] for o in outcomes if o.get("diagnosis_accuracy") is not None]
    out["diagnosis_accuracy"] = _mean(diag)
    rooted = [o for o in outcomes if o.get("root_cause_known", True)]
    out["root_cause_accuracy"] = (sum(bool(o.get("root_cause_touched")) for o in rooted) / len(rooted)
                                  if rooted else None)
    out["objective_preservation"] = _mean(
        [float(o.get("objective_preservation") or 0.0) for o, _ in scored if o.get("feasible")])
    solved = [o for o in outcomes if o.get("faithful")]
    out["avg_steps_solved"] = _mean([float(steps_before_submit(o)) for o in solved])
    out["avg_edits_solved"] = _mean([float(o.get("n_edits") or 0) for o in solved])
    actions = sum(len(o.get("actions") or []) for o in outcomes)
    out["invalid_action_rate"] = sum(int(o.get("invalid_actions") or 0) for o in outcomes) / max(1, actions)
    tin = sum(int(o.get("prompt_tokens") or 0) for o in outcomes)
    tout = sum(int(o.get("completion_tokens") or 0) for o in outcomes)
    out["tokens_per_solved"] = (tin + tout) / len(solved) if solved and (tin + tout) else None
    cost = (tin * price_in + tout * price_out) / 1e6
    out["cost_per_solved_usd"] = cost / len(solved) if solved and cost else None
    return out


def summarize_by(outcomes: list[dict], key: str, **prices: float) -> dict[str, dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for o in outcomes:
        groups[str(o.get(key))].append(o)
    return {k: summarize(v, **prices) for k, v in sorted(groups.items())}


def full_summary(agent: str, outcomes: list[dict], price_in: float = 0.0, price_out: float = 0.0) -> dict:
    prices = {"price_in": price_in, "price_out": price_out}
    return {
        "agent": agent,
        "overall": summarize(outcomes, **prices),
        "by_error_type": summarize_by(outcomes, "error_type", **prices),
        "by_family": summarize_by(outcomes, "family", **prices),
        "by_difficulty": summarize_by(outcomes, "difficulty", **prices),
        "by_tier": summarize_by(outcomes, "tier", **prices),
    }
