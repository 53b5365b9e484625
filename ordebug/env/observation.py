"""The observation text an agent sees at each step (bounded in size for large models).

It shows the specification (business statement, rules and data), the status, the IIS
written out in algebraic form (sorted by name, so its order tells nothing), the model's
families with their sizes, and the history of actions with their results. It never shows
the error type, the ground truth, the original model or its optimum, and no statistics
(sense counts, value medians, type mixes) that would point at an odd element without
diagnosis.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from ordebug.solver.iis import Iis
from ordebug.solver.spec import ModelSpec, Row, family, fmt_num, natural_key, render_expr

MAX_TERMS = 12
MAX_IIS_ROWS = 24
MAX_IIS_BOUNDS = 24
MAX_FAMILIES = 24
MAX_HISTORY = 8
MAX_RESULT_CHARS = 600
MAX_LAST_RESULT_CHARS = 4000  # the answer to the latest action is shown (nearly) whole
MAX_INT_VARS = 40
NO_SPEC = ("(none: this model came without a specification, so no repair can be checked against one; "
           "only what the solver verifies counts: feasibility, and the original optimum where it is known)")
TYPE_WORD = {"C": "continuous", "I": "integer", "B": "binary"}


def short_row(row: Row, max_terms: int = MAX_TERMS) -> str:
    """Algebraic text of a row; very long rows are cut with a count of the rest."""
    coefs = row.coefs
    extra = ""
    if len(coefs) > max_terms:
        coefs = dict(list(coefs.items())[:max_terms])
        extra = f" ... (+{len(row.coefs) - max_terms} more terms)"
    expr = render_expr(coefs) + extra
    if row.sense == "range":
        return f"{row.name}: {fmt_num(row.lhs)} <= {expr} <= {fmt_num(row.rhs)}"
    return f"{row.name}: {expr} {row.sense} {fmt_num(row.bound)}"


def bound_text(spec: ModelSpec, var: str) -> str:
    lb, ub = spec.var_bounds(var)
    return f"{fmt_num(lb)} <= {var} <= {fmt_num(ub)} ({TYPE_WORD[spec.vars[var].vtype]})"


def _index_dims(name: str) -> str:
    inner = name.partition("(")[2].rstrip(")")
    return f"({','.join('.' for _ in inner.split(','))})" if inner else ""


def structure_summary(spec: ModelSpec) -> str:
    """Families of constraints and variables with their sizes (no statistics of their values)."""
    rows: dict[str, list[str]] = defaultdict(list)
    for r in spec.rows:
        rows[family(r)].append(r)
    vars_: dict[str, list[str]] = defaultdict(list)
    for v in spec.vars:
        vars_[family(v)].append(v)
    lines = [f"Objective: {spec.sense}; {len(spec.vars)} variables, {len(spec.rows)} constraints",
             "Constraint families: " + ", ".join(
                 f"{fam}{_index_dims(m[0])} x{len(m)}" for fam, m in sorted(rows.items())[:MAX_FAMILIES])
             + (f", ... (+{len(rows) - MAX_FAMILIES} more)" if len(rows) > MAX_FAMILIES else ""),
             "Variable families: " + ", ".join(
                 f"{fam}{_index_dims(m[0])} x{len(m)}" for fam, m in sorted(vars_.items())[:MAX_FAMILIES])
             + (f", ... (+{len(vars_) - MAX_FAMILIES} more)" if len(vars_) > MAX_FAMILIES else "")]
    return "\n".join(lines)


@dataclass
class HistoryEntry:
    """One past step: the action as the grammar writes it (or the raw text if invalid)."""

    action: str
    result: str
    valid: bool = True


def shown_order(names: list, salt: str) -> list:
    """The order the IIS is shown in: a hash of the problem id and the member, so that
    neither a member's position nor its name's place in the alphabet tells anything."""
    def key(item: object) -> str:
        return hashlib.sha256(f"{salt}|{item}".encode()).hexdigest()

    return sorted(names, key=key)


def hidden_members(iis: Iis, salt: str = "") -> str:
    """GET_IIS()'s answer where the observation leaves members out: their names (the rows
    and bounds past :data:`MAX_IIS_ROWS` / :data:`MAX_IIS_BOUNDS` in the shown order), for
    INSPECT and SPEC to reach; '' when every member is shown."""
    rows = shown_order(iis.constraints, salt)[MAX_IIS_ROWS:]
    bounds = shown_order(iis.bounds, salt)[MAX_IIS_BOUNDS:]
    parts = []
    if rows:
        parts.append(f"{len(rows)} constraints not shown above: {', '.join(rows)}")
    if bounds:
        parts.append(f"{len(bounds)} bounds not shown above: {', '.join(f'{side} bound of {v}' for v, side in bounds)}")
    return "; ".join(parts)


def render_iis(spec: ModelSpec, iis: Iis | None, salt: str = "") -> str:
    if iis is None:
        return "none: the model is feasible"
    rows = shown_order(iis.constraints, salt)
    bounds = shown_order(iis.bounds, salt)
    lines = [f"{len(rows)} constraints, {len(bounds)} bounds (in no particular order)"]
    for r in rows[:MAX_IIS_ROWS]:
        lines.append(short_row(spec.rows[r]))
    if len(rows) > MAX_IIS_ROWS:
        lines.append(f"... (+{len(rows) - MAX_IIS_ROWS} more constraints: GET_IIS() names them)")
    for v, side in bounds[:MAX_IIS_BOUNDS]:
        lines.append(f"{side} bound of {v}: {bound_text(spec, v)}")
    if len(bounds) > MAX_IIS_BOUNDS:
        lines.append(f"... (+{len(bounds) - MAX_IIS_BOUNDS} more bounds: GET_IIS() names them)")
    ints = sorted({v for r in rows for v in spec.rows[r].coefs if spec.vars[v].vtype != "C"}, key=natural_key)
    more = f" (+{len(ints) - MAX_INT_VARS} more)" if len(ints) > MAX_INT_VARS else ""
    shown = ", ".join(ints[:MAX_INT_VARS]) + more
    lines.append(f"Integer or binary variables in these rows: {shown or 'none'}")
    return "\n".join(lines)


def _clip(text: str, n: int = MAX_RESULT_CHARS) -> str:
    return text if len(text) <= n else text[: n - 20] + f" ... (+{len(text) - n + 20} chars)"


MAX_SPEC_MEMBERS = 16  # IIS members a compact observation cites the specification for (the rest: SPEC)
SPEC_SECTION = "The specification on the IIS members"


def spec_members(spec: ModelSpec, iis: Iis | None, salt: str = "") -> list[str]:
    """The IIS members a compact observation cites the specification for, in the order the
    IIS shows them: rows, the variables of its bounds, the integer variables of its rows."""
    if iis is None:
        return []
    rows = shown_order(iis.constraints, salt)[:MAX_IIS_ROWS]
    bounds = [v for v, _ in shown_order(iis.bounds, salt)[:MAX_IIS_BOUNDS]]
    ints = sorted({v for r in rows for v in spec.rows[r].coefs if spec.vars[v].vtype != "C"}, key=natural_key)
    return list(dict.fromkeys(rows + bounds + ints))[:MAX_SPEC_MEMBERS]


def render_answers(answers: list[tuple[str, str]]) -> str:
    """``- name -> answer`` per member, continuation lines indented (as in History)."""
    return "\n".join(f"- {n} -> " + text.replace("\n", "\n   ") for n, text in answers) or "(none)"


def render_observation(
    problem_id: str,
    spec: ModelSpec,
    status: str,
    iis: Iis | None,
    history: list[HistoryEntry],
    step: int,
    max_steps: int,
    spec_text: str | None = None,
    answers: list[tuple[str, str]] | None = None,
) -> str:
    """The observation text. ``answers`` (a compact observation: ``spec_text`` holds the
    rules only) are what the specification says about the IIS members; the model's families
    are then left out (INSPECT and SPEC reach the rest)."""
    hist_lines = []
    start = max(0, len(history) - MAX_HISTORY)
    if start:
        hist_lines.append(f"({start} earlier steps omitted)")
    for i, h in enumerate(history[start:], start + 1):
        limit = MAX_LAST_RESULT_CHARS if i == len(history) else MAX_RESULT_CHARS
        result = _clip(h.result, limit).replace("\n", "\n   ")
        hist_lines.append(f"{i}. {h.action} -> {result}")
    middle = (["## Model structure", structure_summary(spec)] if answers is None
              else [f"## {SPEC_SECTION}", render_answers(answers)])
    return "\n".join(
        [
            "## Problem",
            f"ID: {problem_id}",
            "## Specification",
            spec_text or NO_SPEC,
            "## Status",
            f"{status} (step {step} of {max_steps}; {max_steps - step} left)",
            "## IIS",
            render_iis(spec, iis, problem_id),
            *middle,
            "## History",
            "\n".join(hist_lines) if hist_lines else "(none)",
        ]
    )
