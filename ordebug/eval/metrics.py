"""Metrics over per-problem outcomes (definitions in docs/evaluation.md, worked examples in tests).

- steps: the actions an agent took before its final SUBMIT() (a one-edit repair is 1 step).
- RR@k: share of problems whose submitted model is feasible within k steps.
- faithful RR@k: same, with the optimum within tolerance of the original.
- exact RR@k: same, faithful and every edited element equal to the specification again
  (nothing the specification contains deleted or neutralised); "–" where problems have no
  specification to compare with.
- diagnosis accuracy (recall): per problem, the share of the ground-truth root-cause elements
  (a constraint as its row, a bound or a type as its variable) that the agent named in any
  action or edited; averaged over problems with a known root cause (an agent that names
  nothing scores 0 there).
- IIS precision (the former "diagnosis accuracy"): per problem, the share of distinct elements
  the agent edited that belong to the initial IIS (its rows, or variables with a listed bound or
  in an IIS row); averaged over problems with at least one edit.
- constraints kept: per problem, the share of the model's constraints not dropped
  (``DROP_CONSTRAINT``) in the submitted model; averaged over all problems.
- root-cause accuracy: share of problems whose edits touched the injected element.
- Records without a ground truth (imported models) have no root cause: the metric is over
  the others, n/a (None) when none has one; without an original objective only feasibility
  is scored (the faithful metrics are over the others, n/a when none has an objective).
- objective preservation: mean of max(0, 1 - |obj - orig| / max(1, |orig|)) over feasible outcomes.
- steps / edits: means over faithfully solved problems.
- invalid-action rate: invalid actions / all actions.
- valid-action rate: 1 - invalid-action rate.
- tokens and cost per solved problem: totals divided by faithfully solved problems.

Every rate comes with a 95% percentile bootstrap interval over problems (``summarize``'s
``ci``: 2,000 resamples of the problems, ratio metrics recomputed as ratios), and
``paired`` compares two agents on the problems both were scored on.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from ordebug.actions import SIGNATURES
from ordebug.collect.outcome import (  # noqa: F401
    annotate,
    diagnosis_accuracy,
    edited_elements,
    iis_row_vars,
    parsed_actions,
)

KS = (1, 3, 5, 10)
BOOTSTRAP = 2000
CI_LEVEL = 0.95


def named_elements(actions: Iterable[str]) -> set[str]:
    """Distinct rows/variables any action names (inspected, asked about or edited)."""
    return {str(v) for a in parsed_actions(actions)
            for v, kind in zip(a.args, SIGNATURES[a.name], strict=False) if kind == "n"}


def root_cause_recall(actions: Iterable[str], roots: list[dict]) -> float | None:
    """Share of the root-cause elements (constraint: its row; bound or type: its variable)
    among the elements the agent named or edited; None without a root cause."""
    wanted = {str(r["name"]) for r in roots or []}
    if not wanted:
        return None
    return len(wanted & named_elements(actions)) / len(wanted)


def constraints_kept(actions: Iterable[str], rows: set[str]) -> float | None:
    """Share of the model's constraints not dropped; None for a model without rows."""
    if not rows:
        return None
    dropped = {str(a.args[0]) for a in parsed_actions(actions) if a.name == "DROP_CONSTRAINT"} & rows
    return 1 - len(dropped) / len(rows)


def model_rows(problem: dict) -> set[str]:
    from ordebug.solver.lpformat import read_model_text

    if "model" not in problem:
        return set()
    spec = read_model_text(problem["model"], problem.get("model_format", "lp"),
                           name=str(problem.get("problem_id", "model")))
    return set(spec.rows)


def annotate_truth(outcome: dict, problem: dict) -> dict:
    """Add the fields that need the problem's ground truth and model: ``root_cause_recall``,
    ``constraints_kept`` and ``failure_kind`` (evaluation's outcomes carry none of them)."""
    acts = outcome.get("actions") or []
    outcome["root_cause_recall"] = root_cause_recall(acts, (problem.get("ground_truth") or {}).get("root_cause"))
    outcome["constraints_kept"] = constraints_kept(acts, model_rows(problem))
    outcome["failure_kind"] = failure_kind(outcome, problem)
    return outcome


# why an episode ended without an exact repair, in the order a reader fixes them
FAILURE_KINDS = ("cut answer", "parse error", "no answer", "step limit", "wrong element", "wrong value")


def failure_kind(outcome: dict, problem: dict | None = None) -> str:
    """``exact`` or why not: the answer was cut at its token limit before an Action line
    (``cut answer``), had none that parses (``parse error``), never came (``no answer``: the
    endpoint failed or the record was bad); the episode ran out of steps before SUBMIT
    (``step limit``); it submitted without editing any root-cause element (``wrong element``)
    or edited one but not to the specified value, or broke something else (``wrong value``).
    Without the problem's root causes, every submitted failure is ``wrong value``."""
    failure = str(outcome.get("agent_failure") or "")
    if failure:
        if "cut off" in failure:
            return "cut answer"
        return "parse error" if failure.startswith("malformed answer") else "no answer"
    if not outcome.get("submitted"):
        return "step limit"
    if outcome.get("exact") or (outcome.get("exact") is None and outcome.get("faithful")):
        return "exact"
    roots = {str(r["name"]) for r in ((problem or {}).get("ground_truth") or {}).get("root_cause") or []}
    if roots and not roots & edited_elements(outcome.get("actions") or []):
        return "wrong element"
    return "wrong value"


def steps_before_submit(outcome: dict) -> int:
    steps = int(outcome.get("steps") or 0)
    return steps - 1 if outcome.get("submitted") and steps > 0 else steps


def answer_counts(outcome: dict) -> tuple[int, int]:
    """(answers the agent gave, answers that were no valid action): every action it sent (the
    environment counts those it refused), every answer a re-prompt asked again for, and the
    malformed answer that ended the episode (a model that never writes an Action line gave
    answers, all invalid, not none)."""
    malformed = int(str(outcome.get("agent_failure") or "").startswith("malformed answer"))
    extra = int(outcome.get("reprompts") or 0) + malformed
    return len(outcome.get("actions") or []) + extra, int(outcome.get("invalid_actions") or 0) + extra


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
    out["diagnosis_accuracy"] = _mean([o["root_cause_recall"] for o in outcomes
                                       if o.get("root_cause_recall") is not None])
    diag = [o["diagnosis_accuracy"] for o in outcomes if o.get("diagnosis_accuracy") is not None]
    out["iis_precision"] = _mean(diag)
    out["constraints_kept"] = _mean([o["constraints_kept"] for o in outcomes if o.get("constraints_kept") is not None])
    rooted = [o for o in outcomes if o.get("root_cause_known", True)]
    out["root_cause_accuracy"] = (sum(bool(o.get("root_cause_touched")) for o in rooted) / len(rooted)
                                  if rooted else None)
    out["objective_preservation"] = _mean(
        [float(o.get("objective_preservation") or 0.0) for o, _ in scored if o.get("feasible")])
    solved = [o for o in outcomes if o.get("faithful")]
    out["avg_steps_solved"] = _mean([float(steps_before_submit(o)) for o in solved])
    out["avg_edits_solved"] = _mean([float(o.get("n_edits") or 0) for o in solved])
    counts = [answer_counts(o) for o in outcomes]
    answers = sum(a for a, _ in counts)
    out["invalid_action_rate"] = sum(b for _, b in counts) / answers if answers else None
    out["valid_action_rate"] = 1 - out["invalid_action_rate"] if answers else None
    tin = sum(int(o.get("prompt_tokens") or 0) for o in outcomes)
    tout = sum(int(o.get("completion_tokens") or 0) for o in outcomes)
    out["tokens_per_solved"] = (tin + tout) / len(solved) if solved and (tin + tout) else None
    cost = (tin * price_in + tout * price_out) / 1e6
    out["cost_per_solved_usd"] = cost / len(solved) if solved and cost else None
    kinds = [o.get("failure_kind") or failure_kind(o) for o in outcomes]
    out["failures"] = {k: kinds.count(k) for k in ("exact", *FAILURE_KINDS)}
    out["ci"] = intervals(outcomes)
    return out


def rate_parts(outcomes: list[dict]) -> dict[str, tuple[list[float], list[float]]]:
    """Per problem, numerator and denominator of every rate (a problem outside a rate's
    population has denominator 0), so a resample of problems recomputes each rate exactly."""
    steps = [steps_before_submit(o) for o in outcomes]
    parts: dict[str, tuple[list[float], list[float]]] = {}

    def add(name: str, pairs: Iterable[tuple[float, float]]) -> None:
        num, den = zip(*pairs, strict=True) if outcomes else ((), ())
        parts[name] = (list(num), list(den))

    rows = [(o, s, 1.0 if o.get("objective_known", True) else 0.0, 0.0 if o.get("exact") is None else 1.0,
             *map(float, answer_counts(o))) for o, s in zip(outcomes, steps, strict=True)]
    for k in KS:
        add(f"rr@{k}", ((float(bool(o.get("feasible")) and s <= k), 1.0) for o, s, *_ in rows))
        add(f"faithful_rr@{k}", ((float(bool(o.get("faithful")) and s <= k) * w, w) for o, s, w, *_ in rows))
        add(f"exact_rr@{k}", ((float(bool(o.get("exact")) and s <= k) * j, j) for o, s, _, j, *_ in rows))
    add("feasible", ((float(bool(o.get("feasible"))), 1.0) for o in outcomes))
    add("faithful", ((float(bool(o.get("faithful"))) * w, w) for o, _, w, *_ in rows))
    add("exact", ((float(bool(o.get("exact"))) * j, j) for o, _, _, j, *_ in rows))
    for key, field in (("diagnosis_accuracy", "root_cause_recall"), ("iis_precision", "diagnosis_accuracy"),
                       ("constraints_kept", "constraints_kept")):
        add(key, ((float(o[field]), 1.0) if o.get(field) is not None else (0.0, 0.0) for o in outcomes))
    add("root_cause_accuracy", ((float(bool(o.get("root_cause_touched"))), 1.0) if o.get("root_cause_known", True)
                                else (0.0, 0.0) for o in outcomes))
    add("invalid_action_rate", ((bad, n) for *_, n, bad in rows))
    add("valid_action_rate", ((n - bad, n) for *_, n, bad in rows))
    return parts


def bootstrap_ratio(num: list[float], den: list[float], n: int = BOOTSTRAP, seed: int = 0,
                    level: float = CI_LEVEL) -> list[float] | None:
    """Percentile bootstrap interval of sum(num)/sum(den) over resampled problems."""
    import numpy as np

    num_a, den_a = np.asarray(num, float), np.asarray(den, float)
    if not len(num_a) or den_a.sum() == 0:
        return None
    idx = np.random.default_rng(seed).integers(0, len(num_a), size=(n, len(num_a)))
    d = den_a[idx].sum(axis=1)
    vals = num_a[idx].sum(axis=1)[d > 0] / d[d > 0]
    lo, hi = np.quantile(vals, [(1 - level) / 2, 1 - (1 - level) / 2])
    return [round(float(lo), 6), round(float(hi), 6)]


def intervals(outcomes: list[dict], n: int = BOOTSTRAP, seed: int = 0) -> dict[str, list[float] | None]:
    """The 95% bootstrap interval of every rate."""
    return {k: bootstrap_ratio(num, den, n, seed) for k, (num, den) in rate_parts(outcomes).items()}


PAIRED = ("exact", "faithful", "feasible", "diagnosis_accuracy", "valid_action_rate")


def paired(a: list[dict], b: list[dict], metric: str = "exact", n: int = BOOTSTRAP, seed: int = 0) -> dict | None:
    """Agent a against agent b on the problems both were scored on (by problem id): their rates,
    the difference a - b with a paired bootstrap 95% interval (problems resampled together),
    the problems only one of them got (for 0/1 metrics) and the exact two-sided sign-test
    (McNemar) p-value of those discordant problems."""
    import numpy as np

    by_a = {o.get("problem_id"): o for o in a}
    by_b = {o.get("problem_id"): o for o in b}
    common = sorted(set(by_a) & set(by_b), key=str)
    if not common:
        return None
    na, da = rate_parts([by_a[p] for p in common])[metric]
    nb, db = rate_parts([by_b[p] for p in common])[metric]
    na, da, nb, db = (np.asarray(x, float) for x in (na, da, nb, db))
    if da.sum() == 0 or db.sum() == 0:
        return None
    idx = np.random.default_rng(seed).integers(0, len(common), size=(n, len(common)))
    dA, dB = da[idx].sum(axis=1), db[idx].sum(axis=1)
    ok = (dA > 0) & (dB > 0)
    diffs = na[idx].sum(axis=1)[ok] / dA[ok] - nb[idx].sum(axis=1)[ok] / dB[ok]
    lo, hi = np.quantile(diffs, [(1 - CI_LEVEL) / 2, 1 - (1 - CI_LEVEL) / 2])
    ra, rb = na.sum() / da.sum(), nb.sum() / db.sum()
    out = {"metric": metric, "problems": len(common), "a": float(ra), "b": float(rb), "diff": float(ra - rb),
           "ci": [round(float(lo), 6), round(float(hi), 6)]}
    binary = all(x in (0.0, 1.0) for x in np.concatenate([na, nb])) and np.array_equal(da, db)
    if binary:
        sel = da > 0
        a_only = int(((na == 1) & (nb == 0) & sel).sum())
        b_only = int(((na == 0) & (nb == 1) & sel).sum())
        out.update(a_only=a_only, b_only=b_only, p_value=sign_test(a_only, b_only))
    return out


def sign_test(k: int, m: int) -> float:
    """Exact two-sided binomial (sign / McNemar) test of k against m discordant pairs."""
    n = k + m
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(0, min(k, m) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def summarize_by(outcomes: list[dict], key: str, **prices: float) -> dict[str, dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for o in outcomes:
        groups[str(o.get(key))].append(o)
    return {k: summarize(v, **prices) for k, v in sorted(groups.items())}


FAILED_EXAMPLES = 3  # failed answers kept per agent in its summary (the report shows them)
EXAMPLE_CHARS = 400


def failed_answers(outcomes: list[dict], n: int = FAILED_EXAMPLES) -> list[dict]:
    """The first ``n`` answers that ended an episode unparsed, with their problem and kind."""
    out = []
    for o in outcomes:
        if o.get("failed_answer") and len(out) < n:
            out.append({"problem_id": o.get("problem_id"), "error_type": o.get("error_type"),
                        "kind": o.get("failure_kind") or failure_kind(o),
                        "text": str(o["failed_answer"])[:EXAMPLE_CHARS]})
    return out


def full_summary(agent: str, outcomes: list[dict], price_in: float = 0.0, price_out: float = 0.0) -> dict:
    prices = {"price_in": price_in, "price_out": price_out}
    return {
        "agent": agent,
        "failed_answers": failed_answers(outcomes),
        "overall": summarize(outcomes, **prices),
        "by_error_type": summarize_by(outcomes, "error_type", **prices),
        "by_family": summarize_by(outcomes, "family", **prices),
        "by_difficulty": summarize_by(outcomes, "difficulty", **prices),
        "by_tier": summarize_by(outcomes, "tier", **prices),
    }
